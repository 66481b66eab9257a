"""Accuracy of ``mode="landmark"`` against the exact DSE of the same kernel.

For each data shape (n points) and kernel:

1. the sparse operator ``A`` of ``mode="landmark"`` is built with
   :func:`fastdse.operator.build.build_sparse_operator` (exact neighbours, ``thresh=1e-4``);
2. the reference is the *same* kernel built densely
   (:func:`fastdse.operator.kernel.dense_affinity` with the same ``thresh``,
   :func:`fastdse.operator.normalize.normalize_dense_inplace`) and all its eigenvalues
   (LAPACK ``eigvalsh``): exact DSE, and the DSE of its ``m`` largest ``|lambda|``
   ("top-m exact": the best any ``m``-atom measure of the top can do);
3. :func:`fastdse.spectral.landmark.landmark_measure` runs for every ``m`` and method (seed 0) and
   its DSE is compared with both, for every ``t``.

Data (seeded): ``blobs`` (``sklearn.datasets.make_blobs``, 10 centres in 10-d, std 1),
``swiss_roll_40d`` (``make_swiss_roll``, noise 0.05, rotated into 40-d by a random
orthonormal map), ``uniform_256d`` (uniform on [0, 1]^256, the reference's setting).
Kernels: ``alpha_decay`` (knn 5, decay 40); ``gaussian_narrow`` (sigma = half the median
distance to the 5th neighbour); ``gaussian_wide`` (sigma = median pairwise distance: the
kernel reaches every point: the sparse path truncates its rows at ``max_neighbors`` and warns,
so the landmark measure sees a different kernel); opt-in ``gaussian_wide_complete`` (the same
with ``max_neighbors = n - 1``: only the landmark approximation is measured).

Everything runs in this one process on one thread (BLAS, OpenMP and numba), so the timings
are single-core. Usage::

    python benchmarks/bench_landmark_accuracy.py            # full run, writes docs
    python benchmarks/bench_landmark_accuracy.py --n 1000 --no-write   # quick check
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
from pathlib import Path

import _output
import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "docs" / "benchmarks"
NAME = "landmark_accuracy"

TS = (1.0, 2.0, 5.0, 10.0, 50.0)
MS = (100, 500, 2000)
METHODS = ("operator", "nystrom")
THRESH = 1e-4
DEFAULT_KERNELS = ("alpha_decay", "gaussian_narrow", "gaussian_wide")


def make_data(shape: str, n: int, seed: int = 0) -> np.ndarray:
    from sklearn.datasets import make_blobs, make_swiss_roll

    rng = np.random.default_rng(seed)
    if shape == "blobs":
        return make_blobs(n, n_features=10, centers=10, cluster_std=1.0, random_state=seed)[0]
    if shape == "swiss_roll_40d":
        X3 = make_swiss_roll(n, noise=0.05, random_state=seed)[0]
        Q, _ = np.linalg.qr(rng.normal(size=(40, 3)))
        return X3 @ Q.T
    if shape == "uniform_256d":
        return rng.uniform(size=(n, 256))
    raise ValueError(shape)


def kernels_for(X: np.ndarray) -> dict[str, dict]:
    from scipy.spatial.distance import pdist
    from sklearn.neighbors import NearestNeighbors

    dist5 = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X)[0][:, 5]
    rng = np.random.default_rng(1)
    sub = X[rng.choice(X.shape[0], size=min(1000, X.shape[0]), replace=False)]
    return {
        "alpha_decay": {"kernel": "alpha_decay", "knn": 5, "decay": 40.0, "sigma": None},
        "gaussian_narrow": {"kernel": "gaussian", "sigma": float(np.median(dist5) / 2)},
        "gaussian_wide": {"kernel": "gaussian", "sigma": float(np.median(pdist(sub)))},
        # opt-in (--kernels): the same wide kernel with complete neighbour lists, so that the
        # sparse operator is the whole kernel and only the landmark approximation is measured
        "gaussian_wide_complete": {"kernel": "gaussian", "sigma": float(np.median(pdist(sub))),
                                   "max_neighbors": X.shape[0] - 1},
    }


def topm_dse(lam: np.ndarray, m: int, ts: np.ndarray) -> np.ndarray:
    from fastdse.entropy import dse_from_eigenvalues

    top = np.sort(np.abs(lam))[-m:]
    return dse_from_eigenvalues(top, ts)


def run(n: int, shapes: list[str], ms: list[int], kernels: list[str]) -> list[dict]:
    from fastdse.entropy import dse_from_eigenvalues, dse_from_measure
    from fastdse.operator.build import build_sparse_operator
    from fastdse.operator.kernel import dense_affinity
    from fastdse.operator.normalize import normalize_dense_inplace
    from fastdse.spectral.dense import dense_eigenvalues
    from fastdse.spectral.landmark import landmark_measure

    ts = np.asarray(TS)
    rows = []
    # warm the JIT and imports on a small problem
    Xw = make_data("blobs", 300)
    Aw, dw, Vw, _ = build_sparse_operator(Xw, neighbors="exact", n_jobs=1)
    landmark_measure(Aw, dw, n_landmarks=20, random_state=0)
    for shape in shapes:
        X = make_data(shape, n)
        for kname, kp in kernels_for(X).items():
            if kname not in kernels:
                continue
            sparse_kw = {k: v for k, v in kp.items() if v is not None}
            t0 = time.perf_counter()
            A, d, V, info = build_sparse_operator(X, thresh=THRESH, neighbors="exact",
                                                  random_state=0, n_jobs=1, **sparse_kw)
            t_op = time.perf_counter() - t0
            t0 = time.perf_counter()
            K = dense_affinity(X, kp["kernel"], knn=kp.get("knn", 5),
                               decay=kp.get("decay", 40.0), sigma=kp["sigma"] or 10.0,
                               thresh=THRESH)
            normalize_dense_inplace(K)
            lam = dense_eigenvalues(K, overwrite=True)
            del K
            t_exact = time.perf_counter() - t0
            exact = dse_from_eigenvalues(lam, ts)
            density = info["nnz"] / n**2
            print(f"{shape} {kname}: operator {t_op:.1f}s (density {density:.3f}, "
                  f"{info['n_components']} components), exact {t_exact:.1f}s, "
                  f"DSE {np.round(exact, 3)}", flush=True)
            for m in ms:
                if m >= n:
                    continue
                best = topm_dse(lam, m, ts)
                for method in METHODS:
                    t0 = time.perf_counter()
                    mu = landmark_measure(A, d, n_landmarks=m, method=method,
                                          known_vectors=V, random_state=0)
                    t_lm = time.perf_counter() - t0
                    val = dse_from_measure(mu, ts)[0]
                    print(f"  m={m:5d} {method:9s} {t_lm:6.1f}s  err "
                          f"{np.round(val - exact, 3)}", flush=True)
                    for j, t in enumerate(ts):
                        rows.append({
                            "shape": shape, "kernel": kname,
                            "sigma": "" if kp["sigma"] is None else f"{kp['sigma']:.4g}",
                            "n": n, "m": m, "method": method, "t": t,
                            "exact": exact[j], "landmark": val[j],
                            "error": val[j] - exact[j],
                            "rel_error": (val[j] - exact[j]) / exact[j],
                            "topm_exact": best[j], "landmark_vs_topm": val[j] - best[j],
                            "atoms": mu.info["atoms"],
                            "captured_t2": mu.info["captured_fraction_t2"],
                            "kernel_density": density,
                            "seconds_landmark": t_lm, "seconds_sparse_operator": t_op,
                            "seconds_exact": t_exact,
                        })
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    _output.write_csv(path, [{k: (f"{v:.6g}" if isinstance(v, float) else v)
                              for k, v in r.items()} for r in rows])


def table(rows: list[dict], method: str) -> str:
    """Signed error (bits) per (shape, kernel, m) and t, for one method."""
    lines = ["| shape | kernel | m | " + " | ".join(f"t={t:g}" for t in TS)
             + " | captured tr(A^2) | s |",
             "|---|---|---:|" + "---:|" * len(TS) + "---:|---:|"]
    keys = []
    for r in rows:
        key = (r["shape"], r["kernel"], r["m"])
        if r["method"] == method and key not in keys:
            keys.append(key)
    for key in keys:
        sel = [r for r in rows if (r["shape"], r["kernel"], r["m"]) == key
               and r["method"] == method]
        errs = " | ".join(f"{r['error']:+.3f}" for r in sel)
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {errs} | "
                     f"{sel[0]['captured_t2']:.3f} | {sel[0]['seconds_landmark']:.1f} |")
    return "\n".join(lines)


def exact_table(rows: list[dict]) -> str:
    lines = ["| shape | kernel | sigma | kernel density | " + " | ".join(f"t={t:g}" for t in TS)
             + " | exact eigvalsh s |",
             "|---|---|---:|---:|" + "---:|" * len(TS) + "---:|"]
    seen = []
    for r in rows:
        key = (r["shape"], r["kernel"])
        if key in seen:
            continue
        seen.append(key)
        sel = [x for x in rows if (x["shape"], x["kernel"]) == key
               and x["m"] == r["m"] and x["method"] == r["method"]]
        vals = " | ".join(f"{x['exact']:.3f}" for x in sel)
        lines.append(f"| {key[0]} | {key[1]} | {r['sigma'] or '-'} | {r['kernel_density']:.3f}"
                     f" | {vals} | {r['seconds_exact']:.1f} |")
    return "\n".join(lines)


def topm_table(rows: list[dict]) -> str:
    """Truncation error alone: DSE of the exact top-m |lambda| minus exact DSE."""
    lines = ["| shape | kernel | m | " + " | ".join(f"t={t:g}" for t in TS) + " |",
             "|---|---|---:|" + "---:|" * len(TS)]
    keys = []
    for r in rows:
        key = (r["shape"], r["kernel"], r["m"])
        if key not in keys:
            keys.append(key)
    for key in keys:
        sel = [r for r in rows if (r["shape"], r["kernel"], r["m"]) == key
               and r["method"] == "operator"]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | "
                     + " | ".join(f"{r['topm_exact'] - r['exact']:+.3f}" for r in sel) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--shapes", nargs="+",
                        default=["blobs", "swiss_roll_40d", "uniform_256d"])
    parser.add_argument("--m", type=int, nargs="+", default=list(MS))
    parser.add_argument("--kernels", nargs="+", default=list(DEFAULT_KERNELS))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    with threadpool_limits(1):
        rows = run(args.n, args.shapes, args.m, args.kernels)
    total = time.perf_counter() - start
    print(f"total {total:.0f}s")
    if args.no_write:
        return
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_csv(rows, OUT_DIR / f"{NAME}.csv")
    header = (
        f"<!-- generated by benchmarks/bench_landmark_accuracy.py on "
        f"{datetime.date.today().isoformat()}; {platform.machine()}, "
        f"python {platform.python_version()}, n={args.n}, one thread, total {total:.0f} s -->"
    )
    generated = "\n\n".join([
        header,
        f"### Exact DSE (bits) of each kernel, n = {args.n:d}", exact_table(rows),
        "### `method=\"operator\"`: landmark DSE minus exact DSE (bits)", table(rows, "operator"),
        "### `method=\"nystrom\"`: landmark DSE minus exact DSE (bits)", table(rows, "nystrom"),
        "### Truncation alone: DSE of the exact top-m |lambda| minus exact DSE (bits)",
        topm_table(rows),
    ])
    md = OUT_DIR / f"{NAME}.md"
    begin, stop = "<!-- begin generated tables -->", "<!-- end generated tables -->"
    text = md.read_text() if md.exists() else f"# Landmark accuracy\n\n{begin}\n{stop}\n"
    if begin not in text or stop not in text:
        text += f"\n{begin}\n{stop}\n"
    head, rest = text.split(begin, 1)
    tail = rest.split(stop, 1)[1]
    md.write_text(f"{head}{begin}\n{generated}\n{stop}{tail}")
    print(f"wrote {OUT_DIR / (NAME + '.md')} and .csv")


if __name__ == "__main__":
    main()
