"""Scaling benchmark: time, peak memory and accuracy over sizes, dimensions and modes.

Every case runs in a fresh Python process, so its time is end to end as a
user meets it: interpreter start-up, importing fastdse, neighbour search,
numba compilation (from the on-disk cache when warm) and the spectral
estimate. The parent times the whole child; the child's data generation is
timed separately and subtracted. Peak memory is the child's
maximum resident set size (``ru_maxrss``), data included.

Used by ``fastdse bench``; the tables and plots under ``docs/benchmarks/`` are
produced by it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fastdse.plotting import fit_slope

__all__ = ["Case", "run_case", "run_benchmark", "fit_slope", "format_results", "plot_results"]

DATASETS = ("blobs", "uniform")


@dataclass
class Case:
    """One benchmark case and its measurements."""

    n: int
    d: int
    mode: str
    t: list = field(default_factory=lambda: [1.0])
    data: str = "blobs"
    seed: int = 0
    # measurements
    seconds: float = float("nan")  # end to end in a new process, data generation excluded
    import_seconds: float = float("nan")  # interpreter start-up and imports
    dse_seconds: float = float("nan")
    peak_mib: float = float("nan")
    data_mib: float = float("nan")
    value: list = field(default_factory=list)
    stderr: list = field(default_factory=list)
    error: list = field(default_factory=list)
    status: str = "pending"
    message: str = ""


def make_data(n: int, d: int, data: str, seed: int) -> np.ndarray:
    """Benchmark data as float32: Gaussian blobs of unequal size and spread, or uniform noise."""
    rng = np.random.default_rng(seed)
    if data == "uniform":
        return rng.uniform(size=(n, d)).astype(np.float32)
    n_blobs = 10
    sizes = rng.dirichlet(np.full(n_blobs, 2.0)) * n
    counts = np.floor(sizes).astype(int)
    counts[: n - counts.sum()] += 1
    centres = rng.normal(scale=6.0, size=(n_blobs, d)).astype(np.float32)
    spreads = rng.uniform(0.5, 2.0, size=n_blobs).astype(np.float32)
    labels = np.repeat(np.arange(n_blobs), counts)
    X = rng.standard_normal(size=(n, d), dtype=np.float32)
    X *= spreads[labels, None]
    X += centres[labels]
    return X


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case in this (fresh) process and return its measurements."""
    import resource

    import fastdse

    start = time.perf_counter()
    X = make_data(spec["n"], spec["d"], spec["data"], spec["seed"])
    generated = time.perf_counter()
    res = fastdse.dse(X, spec["t"], mode=spec["mode"], random_state=spec["seed"])
    done = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "data_seconds": generated - start,
        "dse_seconds": done - generated,
        "peak_mib": peak_kib / 1024.0,
        "data_mib": X.nbytes / 2**20,
        "value": np.atleast_1d(res.value).tolist(),
        "stderr": np.atleast_1d(res.stderr).tolist(),
        "mode": res.mode,
    }


def run_case(case: Case, timeout: float | None = None) -> Case:
    """Measure one case in a fresh subprocess (fills the measurement fields)."""
    spec = {"n": case.n, "d": case.d, "mode": case.mode, "t": case.t, "data": case.data,
            "seed": case.seed}
    cmd = [sys.executable, "-m", "fastdse.cli.bench", "--child", json.dumps(spec)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        case.status, case.message = "timeout", f"did not finish within {timeout:.0f} s"
        return case
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        case.status, case.message = "failed", lines[-1] if lines else f"exit {proc.returncode}"
        return case
    wall = time.perf_counter() - start
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # end to end: interpreter start, imports, neighbours, compilation, estimate; not the data
    case.seconds = wall - out["data_seconds"]
    case.import_seconds = case.seconds - out["dse_seconds"]
    for key in ("dse_seconds", "peak_mib", "data_mib", "value", "stderr"):
        setattr(case, key, out[key])
    case.status = "ok"
    return case


def run_benchmark(
    sizes: Sequence[int],
    dims: Sequence[int],
    modes: Sequence[str],
    t: Sequence[float] = (1.0,),
    *,
    data: str = "blobs",
    seed: int = 0,
    exact_max_n: int = 10_000,
    timeout: float | None = None,
    log: Any = None,
) -> list[Case]:
    """Run every (n, d, mode) case; the exact mode only where ``n <= exact_max_n``.

    Errors against the exact value are filled in where both ran.
    """
    cases = []
    for d in dims:
        for n in sizes:
            for mode in modes:
                if mode == "exact" and n > exact_max_n:
                    continue
                case = run_case(Case(n=n, d=d, mode=mode, t=list(map(float, t)), data=data,
                                     seed=seed), timeout=timeout)
                cases.append(case)
                if log is not None:
                    log(format_results([case], header=False))
    exact = {(c.n, c.d): c for c in cases if c.mode == "exact" and c.status == "ok"}
    for c in cases:
        ref = exact.get((c.n, c.d))
        if ref is not None and c.status == "ok":
            c.error = (np.asarray(c.value) - np.asarray(ref.value)).tolist()
    return cases


def _fmt_list(values: Sequence[float], spec: str = ".4g") -> str:
    return " ".join(format(v, spec) for v in values) if len(values) else "-"


def format_results(cases: Sequence[Case], header: bool = True) -> str:
    """Format the cases as a plain-text table."""
    cols = ["n", "d", "mode", "seconds", "import s", "dse s", "peak MiB", "value (bits)", "stderr",
            "error vs exact", "status"]
    rows = []
    for c in cases:
        rows.append([
            str(c.n), str(c.d), c.mode,
            f"{c.seconds:.2f}", f"{c.import_seconds:.2f}", f"{c.dse_seconds:.2f}",
            f"{c.peak_mib:.0f}",
            _fmt_list(c.value), _fmt_list(c.stderr, ".2g"), _fmt_list(c.error, ".2g"),
            c.status if c.status == "ok" else f"{c.status}: {c.message}",
        ])
    widths = [max(len(cols[i]), *(len(r[i]) for r in rows)) if rows else len(cols[i])
              for i in range(len(cols))]
    lines = []
    if header:
        lines.append("  ".join(h.ljust(w) for h, w in zip(cols, widths)))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def write_csv(cases: Sequence[Case], path: str) -> None:
    """One row per case (lists joined with spaces)."""
    with open(path, "w", newline="") as fh:
        fields = list(asdict(cases[0]).keys()) if cases else list(Case.__dataclass_fields__)
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for c in cases:
            row = asdict(c)
            for k, v in row.items():
                if isinstance(v, list):
                    row[k] = " ".join(f"{x:.10g}" for x in v)
            writer.writerow(row)


def plot_results(cases: Sequence[Case], path: str) -> bool:
    """Write a log-log plot of time and peak memory against n, one line per (mode, d).

    Drawn by :func:`fastdse.plotting.plot_scaling` on a figure of its own (Agg
    canvas; matplotlib's global backend is left alone).

    Returns False (and writes nothing) when matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    from fastdse.plotting import plot_scaling

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    ok = [c for c in cases if c.status == "ok"]
    if ok:
        plot_scaling(ok, ax=axes[0], x="n", y="seconds", by=("mode", "d"))
        plot_scaling(ok, ax=axes[1], x="n", y="peak_mib", by=("mode", "d"), slope=False)
    for ax in axes:
        ax.set_xlabel("n (points)")
    axes[0].set_ylabel("seconds, end to end in a new process")
    axes[1].set_ylabel("peak memory (MiB)")
    fig.savefig(path, dpi=120)
    return True


def _main(argv: Sequence[str]) -> int:
    if len(argv) == 2 and argv[0] == "--child":
        print(json.dumps(_child(json.loads(argv[1]))))
        return 0
    print("usage: python -m fastdse.cli.bench --child SPEC (internal); use `fastdse bench`",
          file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    sys.exit(_main(sys.argv[1:]))
