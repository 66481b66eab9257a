"""Same numbers before and after a refactoring: DSE and DSMI through the public API, bit for bit.

Computes a fixed set of values through the public entry points only (``fastdse.dse``,
``fastdse.dsmi``, ``fastdse.DiffusionGraph``, ``fastdse.compat``, ``fastdse.shannon_entropy``),
covering every mode (exact, approx with exact and pynndescent neighbours, landmark with both
coarse operators), every kernel (alpha-decay, Gaussian, precomputed dense and sparse),
anisotropy, ``t="auto"``, and DSMI with discrete, continuous and multi-dimensional Y. Each value
is written with its float64 hex form, so two runs compare bit for bit.

Run it on the commits that bracket a change (one process each, same machine)::

    python benchmarks/bench_refactor_parity.py --out before.csv          # on the old commit
    python benchmarks/bench_refactor_parity.py --out after.csv           # on the new commit
    python benchmarks/bench_refactor_parity.py --compare before.csv after.csv \
        --report docs/benchmarks/refactor_parity.md

Because the script uses the public API only, the same file runs on both commits (for the old
one, point ``PYTHONPATH`` at its ``src``).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

TS = [1.0, 2.0, 5.0, 10.0, 50.0]


def _blobs(n: int, d: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=n)
    centres = rng.normal(scale=4.0, size=(k, d))
    return centres[labels] + rng.normal(size=(n, d)), labels


def _values(res) -> list[float]:
    return [float(v) for v in np.atleast_1d(res.value)]


def _stderrs(res) -> list[float]:
    return [float(v) for v in np.atleast_1d(res.stderr)]


def cases() -> Iterator[tuple[str, Callable[[], list[float]]]]:
    """Yield (name, function returning the values) for every case."""
    import scipy.sparse as sp

    import fastdse
    from fastdse import compat

    X, y = _blobs(600, 8, 3, seed=0)
    big, big_y = _blobs(3500, 12, 4, seed=1)

    def dse_case(data: np.ndarray, **kw):
        def run() -> list[float]:
            res = fastdse.dse(data, **kw)
            return _values(res) + _stderrs(res)
        return run

    yield "exact alpha_decay", dse_case(X, t=TS, mode="exact")
    yield "exact alpha_decay knn=10 decay=10", dse_case(X, t=TS, mode="exact", knn=10, decay=10)
    yield "exact gaussian sigma=10", dse_case(X, t=TS, mode="exact", kernel="gaussian",
                                              sigma=10.0)
    yield "exact gaussian sigma=3 anisotropy=0.5", dse_case(
        X, t=TS, mode="exact", kernel="gaussian", sigma=3.0, anisotropy=0.5)
    yield "exact base e", dse_case(X, t=TS, mode="exact", base=np.e)
    yield "approx exact-neighbours", dse_case(big, t=TS, mode="approx", neighbors="exact",
                                              random_state=0)
    yield "approx anisotropy=1 n_deflate=0", dse_case(
        big, t=[1, 2], mode="approx", neighbors="exact", anisotropy=1.0, n_deflate=0,
        random_state=1)
    yield "approx gaussian sigma=4", dse_case(big, t=TS, mode="approx", kernel="gaussian",
                                              sigma=4.0, random_state=2)
    yield "approx pynndescent", dse_case(big, t=TS, mode="approx", neighbors="pynndescent",
                                         random_state=3)
    yield "auto n=3500", dse_case(big, t=[1, 5], random_state=4)
    yield "landmark operator", dse_case(big, t=[10, 50], mode="landmark", n_landmarks=300,
                                        random_state=5)
    yield "landmark nystrom", dse_case(big, t=[10, 50], mode="landmark", n_landmarks=300,
                                       landmark_method="nystrom", random_state=6)

    def auto_t() -> list[float]:
        res = fastdse.dse(X, t="auto", mode="exact")
        return [float(res.t), float(res.value)]
    yield "t=auto", auto_t

    rng = np.random.default_rng(7)
    K = np.exp(-rng.uniform(0, 5, size=(400, 400)))
    K = (K + K.T) / 2
    yield "precomputed dense exact", dse_case(K, t=TS, kernel="precomputed")
    Ks = sp.csr_matrix(np.where(K > 0.3, K, 0.0))
    yield "precomputed sparse approx", dse_case(Ks, t=TS, kernel="precomputed", mode="approx",
                                                random_state=8)

    def graph_curve() -> list[float]:
        g = fastdse.DiffusionGraph(X, mode="exact", knn=7)
        return list(np.asarray(g.dse_curve(20).value, dtype=float)) + [
            float(np.sum(g.eigenvalues()))]
    yield "DiffusionGraph curve + eigenvalue sum", graph_curve

    def dsmi_case(Z: np.ndarray, Y, **kw):
        def run() -> list[float]:
            res = fastdse.dsmi(Z, Y, **kw)
            out = _values(res) + _stderrs(res)
            for term in res.per_class:
                out += [float(v) for v in np.atleast_1d(term.conditional)]
            return out
        return run

    # the DSMI defaults before issue 13, written out (alpha-decay rebuilt per class and
    # subset, all points): their values must not move
    old = dict(kernel="alpha_decay", max_points=None)
    yield "dsmi exact labels", dsmi_case(X, y, t=[1, 5, 50], mode="exact", random_state=9,
                                         **old)
    yield "dsmi exact gaussian", dsmi_case(X, y, t=1, mode="exact", kernel="gaussian",
                                           sigma=float(np.sqrt(8)), random_state=10)
    yield "dsmi continuous Y", dsmi_case(X, X[:, 0] + 0.1 * rng.normal(size=600), t=[1, 10],
                                         mode="exact", n_clusters=4, random_state=11, **old)
    yield "dsmi multi-d Y", dsmi_case(X, X[:, :2], t=[1, 10], mode="exact", n_clusters=3,
                                      random_state=12, **old)
    yield "dsmi approx", dsmi_case(big, big_y, t=[1, 10], mode="approx", neighbors="exact",
                                   num_repetitions=2, random_state=13, **old)
    yield "dsmi n_jobs=2", dsmi_case(X, y, t=[1, 5], mode="exact", n_jobs=2, random_state=14,
                                     **old)
    # the defaults since issue 13 (Gaussian, sigma="knn", subsamples above 5,000 points)
    yield "dsmi defaults", dsmi_case(X, y, t=[1, 5], random_state=15)
    yield "dsmi defaults subsampled", dsmi_case(X, y, t=1, max_points=300, n_subsamples=2,
                                                random_state=16)

    def compat_case() -> list[float]:
        Xs = X[:300]
        out = [float(compat.diffusion_spectral_entropy(Xs, t=t)) for t in (1, 5)]
        out.append(float(compat.diffusion_spectral_mutual_information(
            Xs, y[:300], random_seed=0)[0]))
        return out
    yield "compat dse / dsmi", compat_case

    def shannon_case() -> list[float]:
        return [float(fastdse.shannon_entropy(X, bins_per_dim=b)) for b in (2, 3)]
    yield "shannon_entropy", shannon_case


def run(out: Path) -> None:
    """Compute every case and write ``case, index, value, hex`` rows."""
    import fastdse

    rows = []
    for name, fn in cases():
        for i, v in enumerate(fn()):
            rows.append((name, i, repr(float(v)), float(v).hex()))
        print(f"{name}: {len([r for r in rows if r[0] == name])} values", flush=True)
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case", "index", "value", "hex"])
        w.writerows(rows)
    print(f"fastdse {fastdse.__version__} from {Path(fastdse.__file__).parent}: "
          f"{len(rows)} values -> {out}")


def _read(path: Path) -> dict[tuple[str, int], tuple[str, str]]:
    with open(path, newline="") as fh:
        return {(r["case"], int(r["index"])): (r["value"], r["hex"]) for r in csv.DictReader(fh)}


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    names = [ln.split(":", 1)[1].strip() for ln in out.splitlines()
             if ln.startswith("Model name")]
    return names[0] if names else "unknown CPU"


def compare(before: Path, after: Path, report: Path | None, labels: tuple[str, str]) -> int:
    """Compare two runs bit for bit; write a markdown table; return the number of differences."""
    a, b = _read(before), _read(after)
    keys = list(a)
    missing = sorted(set(a) ^ set(b))
    per_case: dict[str, list[bool]] = {}
    for k in keys:
        if k in b:
            per_case.setdefault(k[0], []).append(a[k][1] == b[k][1])
    n_diff = sum(not s for same in per_case.values() for s in same) + len(missing)
    lines = [
        "# Refactoring parity: the same numbers before and after",
        "",
        f"Generated by `benchmarks/bench_refactor_parity.py` on "
        f"{datetime.date.today().isoformat()}, {_cpu()}, Python {platform.python_version()}.",
        "",
        f"- Before: {labels[0]}.",
        f"- After: {labels[1]}.",
        "",
        "Each value is compared by its float64 hex form (bit for bit); the values are DSE /",
        "DSMI (bits unless noted), their standard errors and, for DSMI, the per-class",
        "conditional DSE. The runs' values are in the CSV files beside this page.",
        "",
        "| case | values | first value before | first value after | identical |",
        "|---|---|---|---|---|",
    ]
    for name, same in per_case.items():
        first = (name, 0)
        before_value = repr(float.fromhex(a[first][1]))
        after_value = repr(float.fromhex(b[first][1]))
        lines.append(f"| {name} | {len(same)} | {before_value} | {after_value} | "
                     f"{'yes' if all(same) else f'NO ({same.count(False)} differ)'} |")
    lines += ["", f"{sum(len(s) for s in per_case.values())} values compared, "
                  f"{n_diff} differ" + (f"; missing on one side: {missing}" if missing else "")
              + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if report is not None:
        report.write_text(text)
    return n_diff


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="write this run's values to a CSV")
    p.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    p.add_argument("--labels", nargs=2, default=("before", "after"))
    p.add_argument("--report", type=Path, help="markdown table of the comparison")
    args = p.parse_args(argv)
    if args.compare:
        return 1 if compare(*args.compare, args.report, tuple(args.labels)) else 0
    if args.out is None:
        p.error("give --out FILE or --compare BEFORE AFTER")
    run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
