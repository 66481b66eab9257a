"""The sparse operator's layout: locality order and float32 values, for the Lanczos stage.

Issue 14 asked whether the spectral stage would gain from (a) numbering the points in a
locality order, so that a product ``A @ X`` reads the rows of ``X`` from near places in
memory instead of gathering from all over it, and (b) float32 kernel values (8 bytes an
entry instead of 12 with the int32 column indices). This script builds the approximate
operator of the scaling benchmark's data (``fastdse.cli.bench.make_data``, blobs,
``build_sparse_operator(X, random_state=0)``, as ``fastdse.dse(X, mode="approx")`` builds
it) and measures, on the same matrix:

- the time of fastdse's block product (``fastdse._numba.lanczos.csr_matmat``, the kernel
  of every Lanczos step) for blocks of ``p`` probes, median of ``--repeats`` products:
  the matrix as built (the input's order: ``make_data`` lists the points blob by blob),
  in a random order (a user's points may come so), renumbered in the order of the leaves
  of a random-projection tree (``fastdse._numba.nndescent.tree_order``, the order
  NN-descent uses inside), renumbered by reverse Cuthill-McKee (``scipy.sparse.csgraph``,
  from the random order), and each of these with float32 values;
- what float32 values would do to DSE: ``slq_measure`` (same seed, so the same probes)
  on the matrix and on its values rounded to float32 (then held in float64: the same
  numbers a float32 product would multiply), at t = 1, 2, 5, 10.

    python benchmarks/bench_matvec_layout.py --cases 100000:128 1000000:64

Rows go to docs/benchmarks/matvec_layout.csv (appended, with the CPU); the page
docs/benchmarks/matvec_layout.md is written by hand from them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from _machine import cpu_name
from _output import write_csv
from scipy.sparse.csgraph import reverse_cuthill_mckee

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "matvec_layout.csv"
T = np.array([1.0, 2.0, 5.0, 10.0])


def renumbered(A: sp.csr_matrix, order: np.ndarray) -> sp.csr_matrix:
    """``A`` with point ``order[i]`` renumbered ``i`` (rows and columns), indices sorted."""
    P = A[order][:, order].tocsr()
    P.sort_indices()
    return P


def product_ms(A: sp.csr_matrix, p: int, repeats: int) -> float:
    """Median milliseconds of one ``csr_matmat`` with an (n, p) block."""
    from fastdse._numba.lanczos import csr_matmat

    X = np.random.default_rng(0).standard_normal((A.shape[0], p))
    Y = np.empty_like(X)
    csr_matmat(A.indptr, A.indices, A.data, X, Y)  # compile / warm the caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        csr_matmat(A.indptr, A.indices, A.data, X, Y)
        times.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(times))


def dse_values(A: sp.csr_matrix, known: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """DSE (bits) at :data:`T`, standard errors and probes, by ``slq_measure`` (seed 0)."""
    from fastdse.entropy import dse_from_measure
    from fastdse.spectral.lanczos import slq_measure

    m = slq_measure(A, known_vectors=known, random_state=0, t_hint=T)
    vals, errs = dse_from_measure(m, T)
    return np.asarray(vals), np.asarray(errs), int(m.info.get("n_probes", 0))


def run_case(n: int, d: int, probes: list[int], repeats: int) -> list[dict[str, Any]]:
    """Every row of one case."""
    from fastdse._numba.nndescent import tree_order
    from fastdse.cli.bench import make_data
    from fastdse.operator.build import build_sparse_operator

    X = make_data(n, d, "blobs", 0)
    t0 = time.perf_counter()
    A, _, known, _ = build_sparse_operator(X, random_state=0)
    build_s = time.perf_counter() - t0
    base = {"n": n, "d": d, "nnz": A.nnz, "build_seconds": round(build_s, 1),
            "cpu": cpu_name(), "date": time.strftime("%Y-%m-%d %H:%M")}
    # make_data lists the points blob by blob (random within a blob): an order with some
    # locality already. A user's points may come in random order: "shuffled".
    layouts: dict[str, tuple[sp.csr_matrix, float]] = {"input order (blob by blob)": (A, 0.0)}
    shuffled = renumbered(A, np.random.default_rng(0).permutation(n))
    layouts["shuffled"] = (shuffled, 0.0)
    t0 = time.perf_counter()
    order = tree_order(X, 12345, 0, 60)
    layouts["tree order"] = (renumbered(A, order), time.perf_counter() - t0)
    del X
    t0 = time.perf_counter()
    rcm = reverse_cuthill_mckee(shuffled, symmetric_mode=True)  # from the shuffled order
    layouts["reverse Cuthill-McKee"] = (renumbered(shuffled, rcm), time.perf_counter() - t0)
    del shuffled
    rows = []
    for name, (M, reorder_s) in layouts.items():
        M32 = sp.csr_matrix((M.data.astype(np.float32), M.indices, M.indptr), shape=M.shape)
        bandwidth = float(np.median(np.abs(M.indices - np.repeat(
            np.arange(n, dtype=np.int64), np.diff(M.indptr)))))
        for values, mat in (("float64", M), ("float32", M32)):
            for p in probes:
                ms = product_ms(mat, p, repeats)
                row = {**base, "part": "product", "layout": name, "values": values,
                       "probes": p, "ms": round(ms, 2),
                       "ms_per_probe": round(ms / p, 3),
                       "reorder_seconds": round(reorder_s, 2),
                       "median_column_distance": bandwidth}
                print(row, flush=True)
                rows.append(row)
        del M32
    del layouts
    # float32 values: the DSE of the rounded matrix against the matrix's own
    v64, e64, p64 = dse_values(A, known)
    A32 = A.copy()
    A32.data = A32.data.astype(np.float32).astype(np.float64)
    v32, e32, p32 = dse_values(A32, known)
    for t, a, ea, b, eb in zip(T, v64, e64, v32, e32):
        row = {**base, "part": "float32 values", "t": float(t), "dse_float64": repr(float(a)),
               "stderr_float64": float(ea), "dse_float32_values": repr(float(b)),
               "stderr_float32_values": float(eb), "difference": float(b - a),
               "probes": f"{p64}/{p32}"}
        print(row, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=["100000:128", "1000000:64"])
    ap.add_argument("--probes", nargs="+", type=int, default=[1, 8, 20])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    fields = ["n", "d", "nnz", "part", "layout", "values", "probes", "ms", "ms_per_probe",
              "reorder_seconds", "median_column_distance", "t", "dse_float64",
              "stderr_float64", "dse_float32_values", "stderr_float32_values",
              "difference", "build_seconds", "cpu", "date"]
    for case in a.cases:
        n, d = map(int, case.split(":"))
        rows = run_case(n, d, a.probes, a.repeats)
        write_csv(a.out, rows, fields, append=True)


if __name__ == "__main__":
    main()
