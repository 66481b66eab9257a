"""The all-points k-NN graph: pynndescent vs fastdse's own NN-descent (vs faiss HNSW).

Each measurement runs in a fresh Python process, as a user's script meets it: the time
of the graph counts numba compilation (pynndescent compiles its distance-taking functions
in every process; fastdse's kernels load from numba's on-disk cache after the first run
on a machine, so each method runs once before the timed runs). Recall@36 (the first
search of ``knn=5``: 6 x (knn + 1) lists) is measured against exact neighbours of 1,000
random points. Peak memory is the process's maximum RSS, data included. faiss's HNSW
(``faiss-cpu``, if installed) is a reference: not a dependency of fastdse.

Part ``graph``: the graph alone (for fastdse's NN-descent with the seconds spent in each
of its kernels, summed over the build). Part ``dse``: ``fastdse.dse(X, [1, 2, 5, 10],
mode="approx", neighbors=...)`` end to end, with its stage table. Part ``cap``: where
the default list cap is the graph's own width (from ~850,000 points: 5e7 / n <= 59), is
the two-hop widening worth its time? DSE with the default cap set to 59 at a smaller n
(``MAX_LIST_ENTRIES = 59 n``), for exact neighbours, NN-descent as fastdse runs it, and
NN-descent with the two-hop step replaced by the graph's own lists (rows short of their
radius cut at the cap, as they are at the end of the two-hop step when it finds no
more: the graph built at the width the kernel needs, no widening pass).

    python benchmarks/bench_knn_graph.py graph --cases 100000:128 1000000:64
    python benchmarks/bench_knn_graph.py dse --cases 100000:128
    python benchmarks/bench_knn_graph.py cap --cases 200000:64

Data: ``fastdse.cli.bench.make_data`` (the scaling benchmark's float32 blobs). Rows are
written to docs/benchmarks/knn_graph.csv / knn_graph_dse.csv; docs/benchmarks/knn_graph.md
is written by hand from them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _machine import cpu_name
from _output import write_csv

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
K = 36  # the first search's width for knn = 5
METHODS = ("pynndescent", "nndescent", "faiss_hnsw")


def exact_neighbours(X: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The k nearest other points of ``rows`` (blocks of 100 rows, float64)."""
    Xf = X.astype(np.float64)
    sq = np.einsum("ij,ij->i", Xf, Xf)
    out = np.empty((len(rows), k), dtype=np.int64)
    for lo in range(0, len(rows), 100):
        r = rows[lo:lo + 100]
        d2 = sq[r, None] - 2.0 * Xf[r] @ Xf.T + sq[None, :]
        d2[np.arange(len(r)), r] = np.inf
        part = np.argpartition(d2, k, axis=1)[:, :k]
        out[lo:lo + 100] = part
    return out


def time_kernels() -> dict[str, float]:
    """Time every call of fastdse's NN-descent kernels from here on, summed by kernel.

    The driver looks its kernels up on their modules at each call, so wrapping the
    modules' functions times them (a few microseconds a call of overhead).
    """
    from fastdse._numba import heaps, nndescent

    spent: dict[str, float] = {}

    def timed(module: object, name: str) -> None:
        kernel = getattr(module, name)

        def call(*args: object) -> object:
            start = time.perf_counter()
            out = kernel(*args)
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
            return out

        setattr(module, name, call)

    for module in (nndescent, heaps):
        for name in module.__all__:
            timed(module, name)
    return spent


def graph_child(method: str, n: int, d: int) -> dict:
    """Build the graph in this process; return time, recall and peak memory."""
    import resource

    from fastdse.cli.bench import make_data

    X = make_data(n, d, "blobs", 0)
    t0 = time.perf_counter()
    if method == "pynndescent":
        from pynndescent import NNDescent

        idx = NNDescent(X, metric="euclidean", n_neighbors=60, low_memory=True,
                        random_state=0).neighbor_graph[0]
        idx = idx[:, 1:K + 1]  # self first in pynndescent's graph of distinct points
    elif method == "nndescent":
        from fastdse.operator.neighbors import NNDESCENT_DEFAULTS
        from fastdse.operator.nn_descent import nn_descent

        kernels = time_kernels()
        idx = nn_descent(X, 59, 12345, **NNDESCENT_DEFAULTS)[0][:, 1:K + 1]
    else:
        import faiss

        index = faiss.IndexHNSWFlat(d, 32)
        index.hnsw.efConstruction = 80
        index.add(X)
        index.hnsw.efSearch = 256
        idx = index.search(X, K + 1)[1][:, 1:]
    seconds = time.perf_counter() - t0
    split = {k: round(v, 2) for k, v in kernels.items()} if method == "nndescent" else None
    rows = np.sort(np.random.default_rng(1).choice(n, 1000, replace=False))
    true = exact_neighbours(X, rows, K)
    rec = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(idx[rows], true)]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "n": n, "d": d, "graph_seconds": round(seconds, 2),
            "recall_at_36": round(rec, 4), "peak_mib_incl_recall_check": round(peak),
            "kernel_seconds": split}


def dse_child(method: str, n: int, d: int) -> dict:
    import resource

    import fastdse
    from fastdse.cli.bench import make_data

    X = make_data(n, d, "blobs", 0)
    t0 = time.perf_counter()
    res = fastdse.dse(X, [1, 2, 5, 10], mode="approx", neighbors=method, random_state=0)
    seconds = time.perf_counter() - t0
    return {"method": method, "n": n, "d": d, "dse_seconds": round(seconds, 2),
            "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "value": [round(float(v), 5) for v in res.value],
            "stderr": [round(float(v), 5) for v in res.stderr],
            "nnz": res.info["nnz"], "n_probes": res.info.get("n_probes"),
            "stages": {r["stage"]: round(r["seconds"], 2) for r in res.info["stages"]},
            "two_hop_rows": res.info["operator"].get("two_hop_rows"),
            "widened_rows": res.info["operator"].get("widened_rows"),
            "truncated_rows": res.info["operator"].get("truncated_rows"),
            "dropped_mass": res.info["operator"].get("dropped_mass_fraction")}


def cap_child(method: str, n: int, d: int) -> dict:
    """``dse_child`` with the default cap at 59 neighbours; ``graph_lists``: no two hops."""
    import fastdse.operator.sparse_kernel as sparse_kernel
    import fastdse.operator.widen as widen

    sparse_kernel.MAX_LIST_ENTRIES = 59 * n  # the default cap as at ~850,000 points
    if method == "graph_lists":
        def keep_graph_lists(X: np.ndarray, indices: np.ndarray, need: np.ndarray,
                             radius: np.ndarray, cap1: int, lists: object,
                             order: object) -> tuple[np.ndarray, np.ndarray]:
            # the rows keep their first lists (the whole graph, cap1 wide): all cut
            assert cap1 <= indices.shape[1], (cap1, indices.shape)
            return np.zeros(0, dtype=np.int64), np.sort(need)

        widen._widen_two_hop = keep_graph_lists
    row = dse_child("nndescent" if method == "graph_lists" else method, n, d)
    row["method"] = method
    return row


def run(part: str, method: str, n: int, d: int) -> dict | None:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, f"_{part}", method, str(n), str(d)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        print(proc.stderr[-2000:], flush=True)
        return None
    row = json.loads(line[0][7:])
    row["process_seconds"] = round(wall, 2)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("part", choices=["graph", "dse", "cap", "_graph", "_dse", "_cap"])
    p.add_argument("args", nargs="*")
    p.add_argument("--cases", nargs="+", default=["100000:128"])
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--out", type=Path, default=None,
                   help="CSV to append to (default: knn_graph.csv, knn_graph_dse.csv or "
                        "knn_graph_cap.csv under docs/benchmarks by part)")
    a = p.parse_args()
    if a.part.startswith("_"):
        fn = {"_graph": graph_child, "_dse": dse_child, "_cap": cap_child}[a.part]
        print("RESULT " + json.dumps(fn(a.args[0], int(a.args[1]), int(a.args[2]))),
              flush=True)
        return
    path = a.out or OUT / {"graph": "knn_graph.csv", "dse": "knn_graph_dse.csv",
                           "cap": "knn_graph_cap.csv"}[a.part]
    if a.part == "cap" and a.methods == list(METHODS):
        a.methods = ["exact", "nndescent", "graph_lists"]
    cpu = cpu_name()
    for case in a.cases:
        n, d = map(int, case.split(":"))
        for method in a.methods:
            if method == "faiss_hnsw" and a.part != "graph":
                continue
            if method == "faiss_hnsw":
                try:
                    import faiss  # noqa: F401
                except ImportError:
                    continue
            if method in METHODS:
                run("graph", method, 2000, d)  # compile / fill numba's caches first
            row = run(a.part, method, n, d)
            if row is None:
                continue
            row = {k: json.dumps(v) if isinstance(v, (dict, list)) else v
                   for k, v in row.items()}
            print(row, flush=True)
            write_csv(path, [{**row, "cpu": cpu, "date": time.strftime("%Y-%m-%d %H:%M")}],
                      append=True)


if __name__ == "__main__":
    main()
