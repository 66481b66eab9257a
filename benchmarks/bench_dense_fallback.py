"""Small approximate problems: the stochastic estimate vs the dense solve of the same operator.

``mode="approx"`` builds a sparse operator and, by default, estimates its spectral measure
with a pilot run, ARPACK's top eigenpairs and Lanczos probes (``n_probes="auto"``,
``n_deflate="auto"``). On a small operator the dense eigenvalue solver gives the exact
measure of that same operator, and it can be the cheaper of the two: this benchmark sets
``fastdse.spectral.lanczos.AUTO_DENSE_MAX_N``, the size up to which the automatic plan
solves densely.

For every (shape, n), ``fastdse.dse(X, t=[1, 2, 5, 10], mode="approx", random_state=0)``
runs ``--repeats`` times each way, alternating: once with the threshold set to 0 (the
stochastic estimate, as fastdse did up to 200 points) and once with it set above n (the
dense solve). The table gives the medians of the spectral stage (pilot + deflation +
Lanczos + quadrature, or the dense eigensolver) and of the whole call, the plan the pilot
chose (deflated pairs ``k``, probes ``p``) and how far the estimate is from the dense value,
in its own standard errors (the largest over the four t).

``--dsmi`` adds one DSMI case (15,000 points in 32-d, 10 classes; DSMI subsamples to 5,000
points, whose class terms are ~500 points), one run each way.

    python benchmarks/bench_dense_fallback.py [--sizes 500 1000 ...] [--dsmi] [--out PREFIX]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import fastdse
from fastdse.cli.bench import make_data
from fastdse.spectral import lanczos

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402
from _output import write_csv  # noqa: E402

TS = [1.0, 2.0, 5.0, 10.0]
SPECTRAL = ("pilot", "deflation", "lanczos", "quadrature", "eigensolver")


def _circle(n: int, rng: np.random.Generator) -> np.ndarray:
    theta = rng.uniform(0.0, 2.0 * np.pi, n)
    return np.c_[np.cos(theta), np.sin(theta)] + 0.01 * rng.normal(size=(n, 2))


SHAPES = {
    "normal 32-d": lambda n, rng: rng.normal(size=(n, 32)),
    "normal 64-d": lambda n, rng: rng.normal(size=(n, 64)),
    "uniform 256-d": lambda n, rng: rng.uniform(size=(n, 256)),
    "blobs 128-d": lambda n, rng: make_data(n, 128, "blobs", 0).astype(np.float64),
    "circle in 2-d": _circle,
}


def _run(X: np.ndarray, threshold: int) -> tuple[float, float, fastdse.DSEResult]:
    lanczos.AUTO_DENSE_MAX_N = threshold
    start = time.perf_counter()
    res = fastdse.dse(X, t=TS, mode="approx", random_state=0)
    wall = time.perf_counter() - start
    spectral = sum(s["seconds"] for s in res.info["stages"] if s["stage"] in SPECTRAL)
    return wall, spectral, res


def _case(name: str, n: int, repeats: int) -> dict:
    X = SHAPES[name](n, np.random.default_rng(1))
    slq, dense = [], []
    for _ in range(repeats):
        slq.append(_run(X, 0))
        dense.append(_run(X, 10**9))
    res_s, res_d = slq[0][2], dense[0][2]
    assert res_d.info["method"] == "exact" and res_s.info["method"] != "exact"
    gap = np.abs(res_s.value - res_d.value) / res_s.stderr
    auto = res_s.info.get("auto", {})
    row = {
        "shape": name, "n": n, "nnz_per_row": res_s.info["nnz"] / n,
        "k": res_s.info["n_deflate"], "pilot_k": auto.get("pilot_k"),
        "p": res_s.info["n_probes"],
        "slq_spectral_s": statistics.median(s for _, s, _ in slq),
        "dense_spectral_s": statistics.median(s for _, s, _ in dense),
        "slq_total_s": statistics.median(w for w, _, _ in slq),
        "dense_total_s": statistics.median(w for w, _, _ in dense),
        "max_gap_in_stderr": float(gap.max()), "repeats": repeats,
    }
    row["spectral_ratio"] = row["slq_spectral_s"] / row["dense_spectral_s"]
    row["total_ratio"] = row["slq_total_s"] / row["dense_total_s"]
    return row


def _dsmi_case() -> dict:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15000, 32))
    y = rng.integers(0, 10, 15000)
    X[:, 0] += 2.0 * y
    out = {}
    for label, threshold in (("slq", 0), ("dense", 10**9)):
        lanczos.AUTO_DENSE_MAX_N = threshold
        start = time.perf_counter()
        res = fastdse.dsmi(X, y, t=1, mode="approx", random_state=0)
        out[label] = (time.perf_counter() - start, float(res.value), float(res.stderr))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 1500, 2000, 2500, 3000])
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dsmi", action="store_true", help="add the DSMI case")
    ap.add_argument("--out", default="docs/benchmarks/dense_fallback")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    chosen = lanczos.AUTO_DENSE_MAX_N
    fastdse.dse(np.random.default_rng(0).normal(size=(400, 8)), t=1, mode="approx",
                random_state=0)  # load the compiled kernels
    started = time.perf_counter()
    rows = []
    for name in args.shapes:
        for n in args.sizes:
            rows.append(_case(name, n, args.repeats))
            r = rows[-1]
            print(f"{name:14s} n={n:5d} k={r['k']:3d} p={r['p']:2d} spectral slq "
                  f"{r['slq_spectral_s']:.3f} dense {r['dense_spectral_s']:.3f} "
                  f"({r['spectral_ratio']:.2f}x) total {r['slq_total_s']:.3f} / "
                  f"{r['dense_total_s']:.3f} gap {r['max_gap_in_stderr']:.2f} se", flush=True)
    dsmi = _dsmi_case() if args.dsmi else None
    elapsed = time.perf_counter() - started
    write_csv(f"{args.out}.csv", rows)
    _markdown(args, rows, dsmi, chosen, elapsed)
    print(f"wrote {args.out}.csv and {args.out}.md")
    return 0


def _markdown(args: argparse.Namespace, rows: list[dict], dsmi: dict | None, chosen: int,
              elapsed: float) -> None:
    day = datetime.date.today().isoformat()
    with open(f"{args.out}.md", "w") as fh:
        fh.write("# Small approximate problems: stochastic estimate vs dense solve\n\n")
        fh.write(f"Produced by `python benchmarks/bench_dense_fallback.py` ({day}, "
                 f"{cpu_name()}, {elapsed / 60:.1f} min in one process). "
                 "`fastdse.dse(X, t=[1, 2, 5, 10], mode=\"approx\", random_state=0)`, the "
                 f"automatic plan; medians of {args.repeats} calls each way, alternating. "
                 "Spectral: pilot + deflation + Lanczos + quadrature (stochastic) or the dense "
                 "eigensolver (dense), same operator. `k`, `p`: the deflated pairs and probes "
                 "the pilot chose; gap: the largest |stochastic - dense| over the four t, in "
                 "the stochastic run's standard errors.\n\n")
        fh.write("| shape | n | k | p | spectral, stochastic (s) | spectral, dense (s) | ratio "
                 "| call, stochastic (s) | call, dense (s) | ratio | gap (stderr) |\n")
        fh.write("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
        for r in rows:
            fh.write(f"| {r['shape']} | {r['n']:,} | {r['k']} | {r['p']} | "
                     f"{r['slq_spectral_s']:.3f} | {r['dense_spectral_s']:.3f} | "
                     f"{r['spectral_ratio']:.2f} | {r['slq_total_s']:.3f} | "
                     f"{r['dense_total_s']:.3f} | {r['total_ratio']:.2f} | "
                     f"{r['max_gap_in_stderr']:.2f} |\n")
        for n in sorted({r["n"] for r in rows}):
            ratios = [r["total_ratio"] for r in rows if r["n"] == n]
            fh.write(f"\nn = {n:,}: the call with the dense solve is {min(ratios):.2f}-"
                     f"{max(ratios):.2f}x faster" if min(ratios) >= 1 else
                     f"\nn = {n:,}: the stochastic call is faster on "
                     f"{sum(x < 1 for x in ratios)} of {len(ratios)} shapes (ratios "
                     f"{min(ratios):.2f}-{max(ratios):.2f})")
            fh.write(".\n")
        fh.write(f"\n`AUTO_DENSE_MAX_N = {chosen:,}`: the automatic plan solves densely up to "
                 "there.\n")
        if dsmi is not None:
            (ts, vs, ss), (td, vd, sd) = dsmi["slq"], dsmi["dense"]
            fh.write(f"\nDSMI, 15,000 x 32, 10 classes, t = 1, `mode=\"approx\"`, one run each: "
                     f"stochastic class terms {ts:.1f} s ({vs:.4f} +- {ss:.4f} bits), dense "
                     f"{td:.1f} s ({vd:.4f} +- {sd:.4f} bits): {ts / td:.2f}x.\n")


if __name__ == "__main__":
    raise SystemExit(main())
