"""Neighbour search: exact vs pynndescent (time, recall) and the effect of ANN error on DSE.

Run from the repository root (one process; 104 s on the idle 2-core reference machine):

    python benchmarks/bench_neighbors.py

Writes docs/benchmarks/neighbors.csv and prints the tables of neighbors.md.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _output import write_csv
from sklearn.datasets import make_blobs, make_swiss_roll

from fastdse.operator.kernel import sparse_affinity
from fastdse.operator.neighbors import ExactSearcher, knn_search
from fastdse.operator.normalize import normalize_sparse

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "neighbors.csv"
K = 15
rows: list[dict] = []


def record(**kw):
    rows.append(kw)
    print(kw, flush=True)


def blobs(n, d, seed=0):
    return make_blobs(n, d, centers=10, random_state=seed)[0]


def recall(a, b, k):
    hits = sum(len(np.intersect1d(a[i, 1:k + 1], b[i, 1:k + 1])) for i in range(len(a)))
    return hits / (k * len(a))


def cold_times():
    """Fresh-process times: import + first call, for both searches (numba caches warm)."""
    code = (
        "import time; t=time.perf_counter(); import numpy as np; "
        "from fastdse.operator.neighbors import ExactSearcher, knn_search; "
        "X=np.random.default_rng(0).normal(size=(5000,64)); t1=time.perf_counter(); "
        "knn_search(X, 15, method='{m}', random_state=0); t2=time.perf_counter(); "
        "knn_search(X, 15, method='{m}', random_state=0); t3=time.perf_counter(); "
        "print(t1-t, t2-t1, t3-t2)"
    )
    for m in ("exact", "pynndescent"):
        out = subprocess.run([sys.executable, "-c", code.format(m=m)], capture_output=True,
                             text=True, check=True).stdout.split()
        imp, first, second = map(float, out)
        record(part="cold", method=m, n=5000, d=64, import_s=imp, first_call_s=first,
               second_call_s=second)


def search_grid():
    """Exact vs pynndescent on blobs (and uniform 256-d, the hard case for ANN).

    At n = 100k the exact search runs on 10k query rows (its cost is linear in the
    number of query rows) and its time is scaled by 10; recall is measured on those rows.
    """
    rng = np.random.default_rng(3)
    for n, d, shape in [(5000, 64, "blobs"), (5000, 128, "blobs"), (20000, 64, "blobs"),
                        (20000, 128, "blobs"), (20000, 256, "uniform"),
                        (100000, 64, "blobs")]:
        X = blobs(n, d) if shape == "blobs" else rng.uniform(size=(n, d))
        sub = np.arange(n) if n <= 20000 else np.sort(rng.choice(n, 10000, replace=False))
        searcher = ExactSearcher(X)
        t = time.perf_counter()
        ei, ed = searcher.query(sub, K + 1)
        te = (time.perf_counter() - t) * n / len(sub)
        t = time.perf_counter()
        ai, ad = knn_search(X, K, method="pynndescent", random_state=0)
        ta = time.perf_counter() - t
        ai, ad = ai[sub], ad[sub]
        record(part="search", shape=shape, n=n, d=d, k=K, exact_s=te,
               exact_extrapolated=len(sub) < n, pynndescent_s=ta,
               recall5=recall(ai, ei, 5), recall15=recall(ai, ei, K),
               bw5_median_relerr=float(np.median(ad[:, 5] / np.maximum(ed[:, 5], 1e-300) - 1)),
               bw5_max_relerr=float(np.max(ad[:, 5] / np.maximum(ed[:, 5], 1e-300) - 1)))


def kernel_at_scale():
    """Whole sparse alpha-decay kernel (search + widening) at n = 100k."""
    X = blobs(100000, 64)
    t = time.perf_counter()
    K_, info = sparse_affinity(X, knn=5, neighbors="pynndescent", random_state=0,
                               return_info=True)
    record(part="kernel", n=100000, d=64, neighbors="pynndescent",
           total_s=time.perf_counter() - t, search_s=info["search_seconds"],
           widen_s=info["widen_seconds"], widened_rows=info["widened_rows"],
           two_hop_rows=info["two_hop_rows"], exact_requery_rounds=info["rounds"],
           nnz_per_row=K_.nnz / 100000)


def dse_from_A(A, ts):
    lam = np.abs(np.linalg.eigvalsh(A.toarray()))
    out = []
    for t in ts:
        p = lam ** t
        p = p[p > 0] / p.sum()
        out.append(float(-(p * np.log2(p)).sum()))
    return out


def shapes(n):
    rng = np.random.default_rng(1)
    S = make_swiss_roll(n, random_state=0)[0]
    Q = np.linalg.qr(rng.normal(size=(40, 40)))[0]
    swiss = np.hstack([S, 0.01 * rng.normal(size=(n, 37))]) @ Q
    return {"blobs64": blobs(n, 64), "uniform256": rng.uniform(size=(n, 256)),
            "swiss40": swiss}


def dse_effect():
    ts = (1.0, 5.0)
    n = 3000
    for name, X in shapes(n).items():
        ref = None
        for label, kw in [("exact", {"neighbors": "exact"}),
                          ("pynndescent", {"neighbors": "pynndescent", "random_state": 0}),
                          ("pynndescent-36nn", {"neighbors": "pynndescent", "random_state": 0,
                                                "n_neighbors": 36}),
                          ("pynndescent-weak", {"neighbors": "pynndescent", "random_state": 0,
                                                "n_trees": 1, "n_iters": 1,
                                                "n_neighbors": 36})]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                K_, info = sparse_affinity(X, knn=5, return_info=True, **kw)
            A, _ = normalize_sparse(K_)
            v = dse_from_A(A, ts)
            if ref is None:
                ref, Kref, bwref = v, K_, info["bandwidth"]
            bwerr = info["bandwidth"] / bwref - 1
            diff = abs(K_ - Kref)
            record(part="dse", shape=name, n=n, neighbors=label, dse_t1=v[0], dse_t5=v[1],
                   err_t1=v[0] - ref[0], err_t5=v[1] - ref[1],
                   bw_relerr_p99=float(np.quantile(bwerr, 0.99)),
                   bw_relerr_max=float(bwerr.max()),
                   kernel_max_abs_diff=float(diff.max()),
                   kernel_rel_fro=float(np.sqrt(diff.multiply(diff).sum())
                                        / np.sqrt(Kref.multiply(Kref).sum())))


def main():
    start = time.perf_counter()
    # warm both searches' JIT in this process first
    Xw = blobs(2000, 64)
    knn_search(Xw, K, method="exact")
    t = time.perf_counter()
    knn_search(Xw, K, method="pynndescent", random_state=0)
    record(part="warmup", pynndescent_first_build_s=time.perf_counter() - t)
    sparse_affinity(Xw, knn=5, neighbors="exact")
    cold_times()
    search_grid()
    dse_effect()
    kernel_at_scale()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_csv(OUT, rows, sorted({k for r in rows for k in r}))
    print(f"total {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
