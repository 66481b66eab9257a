"""Exact neighbour search: float32-screened Gram blocks against float64 blocks.

The one pass of ``neighbors="exact"`` (:func:`fastdse.operator.exact_search.exact_knn_radius`:
k-NN lists widened to the alpha-decay kernel's radius) run both ways on the same data,
in one process, alternating, median of the repeats; the lists compared entry by entry.

Run from the repository root on an otherwise idle machine (about 3 minutes on 2 cores):

    python benchmarks/bench_exact_screen.py

Writes docs/benchmarks/exact_screen.csv and prints the table of neighbors.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numba
import numpy as np
from _machine import cpu_name
from _output import write_csv

from fastdse.cli.bench import make_data
from fastdse.operator.exact_search import exact_knn_radius
from fastdse.operator.sparse_kernel import SEARCH_MULTIPLIER, RowKernel, list_cap

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "exact_screen.csv"
CASES = [("uniform", 10_000, 256), ("blobs", 10_000, 256), ("blobs", 25_000, 128),
         ("blobs", 50_000, 128), ("blobs", 50_000, 32)]


def points(kind: str, n: int, d: int) -> np.ndarray:
    """The scaling benchmark's blobs, or uniform noise in the unit cube."""
    if kind == "uniform":
        return np.random.default_rng(0).uniform(size=(n, d))
    return np.asarray(make_data(n, d, "blobs", 0), dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rule = RowKernel.of("alpha_decay", 5, 40.0, 0.0, 1e-4)  # the default kernel
    k1 = SEARCH_MULTIPLIER * (rule.knn + 1)
    warm = points("uniform", 500, 8)
    for screen in (True, False):  # compile or load every kernel before timing
        exact_knn_radius(warm, k1, rule, 60, screen=screen)
    rows = []
    for kind, n, d in CASES:
        X = points(kind, n, d)
        cap = list_cap(k1, n, None)
        times: dict[bool, list[float]] = {True: [], False: []}
        out = {}
        for _ in range(args.repeats):
            for screen in (True, False):
                t0 = time.perf_counter()
                out[screen] = exact_knn_radius(X, k1, rule, cap, screen=screen)
                times[screen].append(time.perf_counter() - t0)
        a, b = out[True], out[False]
        same = (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                and np.array_equal(a[3], b[3]))
        rel = float(np.max(np.abs(a[2] - b[2]) / np.maximum(b[2], 1e-300))) if same else np.nan
        t32, t64 = float(np.median(times[True])), float(np.median(times[False]))
        row = {"data": kind, "n": n, "d": d, "cap": cap, "repeats": args.repeats,
               "float32_screen_s": round(t32, 3), "float64_blocks_s": round(t64, 3),
               "speedup": round(t64 / t32, 2), "same_lists": same, "max_rel_dist_diff": rel,
               "entries": int(a[0][-1]), "widened_rows": a[4]["widened_rows"],
               "truncated_rows": len(a[3]), "float64_rows": a[4]["float64_rows"]}
        rows.append(row)
        print(row, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(args.out, rows)
    print(f"\nCPU: {cpu_name()}, {numba.get_num_threads()} threads; numpy {np.__version__}\n")
    print("| data | n | d | float32 screen (s) | float64 blocks (s) | speed-up | same lists "
          "| max rel. distance diff. | rows from float64 |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['data']} | {r['n']:,} | {r['d']} | {r['float32_screen_s']:.2f} | "
              f"{r['float64_blocks_s']:.2f} | {r['speedup']:.2f}x | {r['same_lists']} | "
              f"{r['max_rel_dist_diff']:.1e} | {r['float64_rows']} |")


if __name__ == "__main__":
    main()
