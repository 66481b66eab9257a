"""Helpers shared by the tests that draw figures (importable from every test folder)."""


def data_lines(ax):
    """Label -> the line that carries its data (an error bar's line is in its container)."""
    lines = {c.get_label(): c.lines[0] for c in ax.containers}
    lines.update({line.get_label(): line for line in ax.lines
                  if not line.get_label().startswith("_")})
    return lines


def bench_rows():
    """Rows as fastdse bench writes them: two modes, one failed case."""
    rows = []
    for n in (1000, 2000, 4000, 8000):
        rows.append({"n": n, "d": 32, "mode": "approx", "seconds": 1e-3 * n,
                     "peak_mib": 100 + n / 100, "status": "ok"})
        rows.append({"n": n, "d": 32, "mode": "exact", "seconds": 1e-9 * n**3,
                     "peak_mib": 8 * n * n / 2**20, "status": "ok"})
    rows.append({"n": 16000, "d": 32, "mode": "exact", "seconds": float("nan"),
                 "peak_mib": float("nan"), "status": "timeout"})
    return rows
