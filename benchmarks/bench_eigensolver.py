"""Dense symmetric eigenvalues: scipy's eigvalsh (one-stage dsytrd) vs LAPACK dsyevd_2stage.

The matrix is the one the exact path diagonalises: the normalised Gaussian operator
``D^-1/2 K D^-1/2`` of uniform data in d = 256 (sigma = 10, as bench_exact_vs_reference).
For every n the two solvers run alternately on fresh copies (``--repeats`` times each); the
table gives median seconds, the ratio and the largest eigenvalue difference. It sets
``fastdse.spectral.dense.TWO_STAGE_MIN_N``.

    python benchmarks/bench_eigensolver.py [--sizes 1000 2000 ...] [--out PREFIX]
"""

import argparse
import os
import platform
import time

import numpy as np
import scipy
import scipy.linalg
import threadpoolctl
from _output import write_csv

from fastdse.operator.kernel import dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace
from fastdse.spectral import _lapack2stage
from fastdse.spectral import dense as spectrum


def operator(n, seed=0):
    X = np.random.default_rng(seed).uniform(size=(n, 256))
    K, deg = dense_affinity(X, "gaussian", knn=5, decay=40.0, sigma=10.0, thresh=0.0,
                            return_degrees=True)
    normalize_dense_inplace(K, 0.0, deg)
    return K


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+",
                    default=[1000, 2000, 2500, 3000, 4000, 5000, 7000, 10000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="docs/benchmarks/eigensolver")
    args = ap.parse_args()
    if not _lapack2stage.available():
        raise SystemExit("dsyevd_2stage is not available in this process's BLAS")
    blas = [(i["internal_api"], i["version"], i["num_threads"])
            for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    rows = []
    for n in args.sizes:
        A = operator(n)
        ref = None
        one, two = [], []
        for _ in range(args.repeats):
            B = np.array(A.T, order="F")  # what dense_eigenvalues hands to scipy
            t = time.perf_counter()
            w1 = scipy.linalg.eigvalsh(B, lower=True, overwrite_a=True, check_finite=False,
                                       driver="evd")
            one.append(time.perf_counter() - t)
            del B
            B = A.copy()
            t = time.perf_counter()
            w2 = _lapack2stage.eigvalsh_2stage(B)
            two.append(time.perf_counter() - t)
            del B
            ref = w1
        diff = float(np.abs(w2 - ref).max())
        row = {"n": n, "one_stage_s": float(np.median(one)), "two_stage_s": float(np.median(two)),
               "speedup": float(np.median(one) / np.median(two)), "max_abs_diff": diff}
        rows.append(row)
        print(f"n={n:6d}  one-stage {row['one_stage_s']:8.3f} s  two-stage "
              f"{row['two_stage_s']:8.3f} s  x{row['speedup']:.2f}  max|diff| {diff:.1e}",
              flush=True)
        del A
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    write_csv(args.out + ".csv", rows)
    with open(args.out + ".md", "w") as fh:
        fh.write("# Dense eigenvalues: one-stage vs two-stage LAPACK\n\n")
        fh.write("Produced by `python benchmarks/bench_eigensolver.py` on "
                 f"{time.strftime('%Y-%m-%d')}: {platform.machine()}, {os.cpu_count()} cores, "
                 f"numpy {np.__version__}, scipy {scipy.__version__}, BLAS {blas}. The matrix is "
                 "the exact path's normalised Gaussian operator of uniform data in d = 256 "
                 "(sigma = 10); median of "
                 f"{args.repeats} alternating runs per solver. One-stage: "
                 "`scipy.linalg.eigvalsh(driver='evd')`; two-stage: LAPACKE `dsyevd_2stage` "
                 "from the same OpenBLAS (`fastdse.spectral._lapack2stage`).\n\n")
        fh.write("| n | one-stage (s) | two-stage (s) | speed-up | max abs eigenvalue diff |\n")
        fh.write("|---:|---:|---:|---:|---:|\n")
        for r in rows:
            fh.write(f"| {r['n']:,} | {r['one_stage_s']:.3f} | {r['two_stage_s']:.3f} | "
                     f"{r['speedup']:.2f} | {r['max_abs_diff']:.1e} |\n")
        fh.write(f"\n`fastdse.spectral.dense.TWO_STAGE_MIN_N = {spectrum.TWO_STAGE_MIN_N}`: "
                 "the exact path switches to the two-stage solver from where it is faster in this "
                 "table.\n")
    print(f"wrote {args.out}.csv and {args.out}.md")


if __name__ == "__main__":
    main()
