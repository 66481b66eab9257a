"""DSMI at scale: serial vs n_jobs vs a Dask LocalCluster; approx vs exact agreement.

Part ``scale`` (issue 4 target): DSMI(Z; Y) with 10 classes, n = 200,000, d = 128, t = 1,
float32 Gaussian blobs with their labels, mode="approx", 5 repetitions (60 DSE
evaluations of 20,000 points each); target within 5 minutes and 4 GiB on 2 cores. Every
configuration runs in a fresh process; peak memory is the largest sum of the resident
memory of that process and all its descendants (loky or Dask workers), sampled every
0.2 s with psutil. JIT caches and worker pools are warmed by a small DSMI on the same
backend before the timed call.

Part ``agreement``: approx vs exact DSMI on n = 4,000 points, four data shapes, with a
discrete, a continuous 1-D and a continuous multi-D reference; target
|approx - exact| <= 0.02 bits + 3 combined stderr.

    python benchmarks/bench_dsmi_scale.py scale [--configs serial threads2 dask2 loky2]
    python benchmarks/bench_dsmi_scale.py agreement
    python benchmarks/bench_dsmi_scale.py breakdown      # one 20,000-point class, per step
    python benchmarks/bench_dsmi_scale.py defaults       # dsmi's defaults at 200,000 points

Part ``defaults`` (issue 13): ``fastdse.dsmi(Z, y)`` with its defaults (Gaussian kernel,
``sigma="knn"``, t = 1, class-stratified subsamples of ``max_points=5000``) on the issue's
data, ``make_blobs(200_000, n_features=128, centers=10, cluster_std=5)``, and on this
script's own blobs; each call in a fresh process (time, peak memory), with ``mode="auto"``
and ``mode="approx"``, against the exact path on independent random 5,000-point
subsamples with the same settings; and the value against ``max_points``. Writes
``dsmi_defaults_scale.csv``.

Results are appended to docs/benchmarks/dsmi_scale.csv / dsmi_agreement.csv and printed;
docs/benchmarks/dsmi_scale.md is written by hand from them.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from _machine import cpu_name
from _output import write_csv

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
N = int(os.environ.get("DSMI_BENCH_N", 200_000))  # the target size by default
D, C, T, REPS = 128, 10, 1.0, 5


def blobs(n=N, d=D, c=C, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(c, d)).astype(np.float32)
    labels = np.repeat(np.arange(c), n // c)
    Z = rng.standard_normal((labels.size, d), dtype=np.float32)
    Z *= rng.uniform(0.5, 2.0, size=c).astype(np.float32)[labels, None]
    Z += centres[labels]
    return Z, labels


class PeakMemory:
    """Largest RSS of this process plus all its descendants, sampled in a thread."""

    def __init__(self, interval=0.2):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # a worker that just ended
                pass
        self.peak = max(self.peak, total)
        return total

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self.start_rss = self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


def run_case(config):
    """One timed configuration, in this process; prints one JSON line."""
    import joblib

    import fastdse

    Z, labels = blobs()
    # the settings of this part's measurements (the defaults before issue 13): the
    # alpha-decay kernel rebuilt on every class and subset, all points
    kw = dict(t=T, mode="approx", kernel="alpha_decay", max_points=None,
              num_repetitions=REPS, random_state=0, progress=False)
    small_Z, small_labels = blobs(n=6000, c=3, seed=1)
    warm_kw = dict(kw, num_repetitions=1)
    cluster = client = None
    startup = 0.0
    if config.startswith("dask"):
        import distributed

        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=int(config[4:]), threads_per_worker=1,
                                           processes=True, host="127.0.0.1",
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        startup = time.perf_counter() - t0
        ctx = lambda: joblib.parallel_backend("dask")  # noqa: E731
        n_jobs = None
    elif config.startswith("loky"):
        ctx = lambda: joblib.parallel_config(backend="loky")  # noqa: E731
        n_jobs = int(config[4:])
    elif config.startswith("threads"):
        ctx = lambda: joblib.parallel_config(backend="threading")  # noqa: E731
        n_jobs = int(config[7:])
    else:
        import contextlib

        ctx = contextlib.nullcontext
        n_jobs = None
    t0 = time.perf_counter()
    with ctx():
        fastdse.dsmi(small_Z, small_labels, n_jobs=n_jobs, **warm_kw)
    warm = time.perf_counter() - t0
    with PeakMemory() as mem, ctx():
        t0 = time.perf_counter()
        res = fastdse.dsmi(Z, labels, n_jobs=n_jobs, **kw)
        seconds = time.perf_counter() - t0
    row = {
        "config": config, "n": N, "d": D, "classes": C, "t": T, "repetitions": REPS,
        "seconds": round(seconds, 2), "peak_rss_mib": round(mem.peak / 2**20),
        "rss_before_mib": round(mem.start_rss / 2**20),
        "data_mib": round(Z.nbytes / 2**20), "value": res.value, "stderr": res.stderr,
        "mode": res.mode, "n_jobs": res.info["n_jobs"],
        "dse_sum_s": round(res.info["timings"]["dse_sum"], 2),
        "quadrature_bias": res.info.get("quadrature_bias"),
        "warmup_s": round(warm, 2), "cluster_startup_s": round(startup, 2),
        "conditional": [round(p.conditional, 5) for p in res.per_class],
        "unconditional": [round(p.unconditional, 5) for p in res.per_class],
    }
    if client is not None:
        client.close()
        cluster.close()
    print("RESULT " + json.dumps(row), flush=True)


def breakdown():
    """Per-step timings of one class's DSE and one subset's (20,000 points, approx)."""
    from fastdse import DiffusionGraph

    Z, labels = blobs()
    g = DiffusionGraph(Z[labels == 0], mode="approx", t_hint=T, random_state=0)
    g.dse(np.array([1.0]), base=2.0)  # warm
    for name, rows in [("class 0", labels == 0),
                       ("random subset", np.sort(np.random.default_rng(1).choice(N, N // C,
                                                                                replace=False)))]:
        t0 = time.perf_counter()
        g = DiffusionGraph(Z[rows], mode="approx", t_hint=T, random_state=0)
        res = g.dse(T)
        total = time.perf_counter() - t0
        op = res.info.get("operator", {})
        print(json.dumps({
            "what": name, "n": int(np.count_nonzero(rows) if rows.dtype == bool else rows.size),
            "total_s": round(total, 2), "graph_timings": g.timings_,
            "operator_timings": op.get("timings"), "neighbors": op.get("neighbors"),
            "neighbor_timings": {k: v for k, v in op.items() if "time" in k or k == "rounds"},
            "spectrum_timings": res.info.get("timings"), "n_deflate": res.info.get("n_deflate"),
            "nnz": res.info.get("nnz"), "value": res.value, "stderr": res.stderr,
        }, default=float), flush=True)


def scale(configs):
    path = OUT / "dsmi_scale.csv"
    for config in configs:
        print(f"--- {config}", flush=True)
        proc = subprocess.run([sys.executable, __file__, "_case", config], capture_output=True,
                              text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(proc.stdout[-3000:], proc.stderr[-3000:], flush=True)
            continue
        row = json.loads(line[0][7:])
        print(row, flush=True)
        write_csv(path, [{**row, "machine": f"{platform.machine()} {os.cpu_count()} cpu",
                          "date": time.strftime("%Y-%m-%d %H:%M")}], append=True)


# --------------------------------------------------------------------------- agreement


def shapes(n, rng):
    from sklearn.datasets import make_swiss_roll

    out = {}
    # blobs of unequal size and spread, 10-D; discrete Y = blob id
    sizes = np.array([0.4, 0.3, 0.2, 0.1]) * n
    lab = np.repeat(np.arange(4), sizes.astype(int))
    centres = rng.normal(scale=6, size=(4, 10))
    Zb = centres[lab] + rng.normal(size=(lab.size, 10)) * np.array([0.5, 1, 2, 3])[lab, None]
    out["blobs_10d"] = (Zb, lab)
    # swiss roll in 20-D; discrete Y = position along the roll in 4 bins
    X, tt = make_swiss_roll(n, noise=0.1, random_state=int(rng.integers(2**31)))
    Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    Zs = np.hstack([X, 0.05 * rng.normal(size=(n, 17))]) @ Q
    out["swiss_roll_20d"] = (Zs, np.digitize(tt, np.quantile(tt, [0.25, 0.5, 0.75])))
    # uniform 32-D; discrete Y = signs of the first two coordinates
    Zu = rng.uniform(-1, 1, size=(n, 32))
    out["uniform_32d"] = (Zu, (Zu[:, 0] > 0).astype(int) * 2 + (Zu[:, 1] > 0))
    # anisotropic Gaussian 16-D (scales 0.01 .. 10); discrete Y = sign of the widest axis
    Za = rng.normal(size=(n, 16)) * np.logspace(-2, 1, 16)
    out["anisotropic_16d"] = (Za, (Za[:, -1] > 0).astype(int))
    return out


def agreement(n=4000, ts=(1.0, 5.0)):
    import fastdse

    rng = np.random.default_rng(0)
    rows = []
    start = time.perf_counter()
    for shape, (Z, lab) in shapes(n, rng).items():
        noise = np.random.default_rng(1).normal(size=(Z.shape[0], 3))
        refs = {
            "discrete": dict(Y=lab),
            "continuous_1d": dict(Y=Z[:, -1] + 0.1 * Z[:, -1].std() * noise[:, 0],
                                  n_clusters=4),
            "continuous_3d": dict(Y=Z[:, -3:] + 0.1 * Z[:, -3:].std(0) * noise, n_clusters=4),
        }
        for ref, yk in refs.items():
            Y = yk.pop("Y")
            # the settings the committed agreement tables were measured with (the DSMI
            # defaults before issue 13): alpha-decay per class and subset, all points
            kw = dict(t=list(ts), kernel="alpha_decay", max_points=None, num_repetitions=5,
                      random_state=0, n_jobs=2, progress=False, **yk)
            t0 = time.perf_counter()
            try:
                ex = fastdse.dsmi(Z, Y, mode="exact", **kw)
                t1 = time.perf_counter()
                ap = fastdse.dsmi(Z, Y, mode="approx", **kw)
                t2 = time.perf_counter()
            except ValueError as exc:
                print({"shape": shape, "reference": ref, "error": str(exc)}, flush=True)
                continue
            assert np.array_equal(ex.clusters, ap.clusters)
            for j, t in enumerate(ts):
                comb = float(np.hypot(ex.stderr[j], ap.stderr[j]))
                diff = float(ap.value[j] - ex.value[j])
                row = {"shape": shape, "reference": ref, "n": n,
                       "classes": len(ex.per_class), "t": t,
                       "exact": round(float(ex.value[j]), 5),
                       "approx": round(float(ap.value[j]), 5),
                       "diff": round(diff, 5), "stderr_exact": round(float(ex.stderr[j]), 5),
                       "stderr_approx": round(float(ap.stderr[j]), 5),
                       "bound": round(0.02 + 3 * comb, 5), "ok": abs(diff) <= 0.02 + 3 * comb,
                       "exact_s": round(t1 - t0, 1), "approx_s": round(t2 - t1, 1)}
                rows.append(row)
                print(row, flush=True)
    # n = 2,000 keeps the original file name; other sizes get their own file
    path = OUT / ("dsmi_agreement.csv" if n == 2000 else f"dsmi_agreement_n{n}.csv")
    write_csv(path, rows)
    print(f"{sum(r['ok'] for r in rows)}/{len(rows)} within the bound; "
          f"total {time.perf_counter() - start:.0f} s; wrote {path}")


# --------------------------------------------------------------------------- defaults

DEFAULT_CASES = {
    # the data set
    "make_blobs_std5": lambda: _sklearn_blobs(),
    # this script's blobs (centres in [-10, 10]^128, spreads 0.5-2)
    "blobs_scale": lambda: blobs(),
}


def _sklearn_blobs(n=N):
    from sklearn.datasets import make_blobs

    Z, y = make_blobs(n, n_features=D, centers=C, cluster_std=5, random_state=0)
    return Z, y


def run_defaults_case(spec):
    """One call of dsmi at its defaults (plus the keywords in spec), timed; one JSON line."""
    import fastdse

    case, extra = spec.split(":", 1)
    kw = json.loads(extra)
    Z, y = DEFAULT_CASES[case]()
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        res = fastdse.dsmi(Z, y, random_state=0, progress=False, **kw)
        seconds = time.perf_counter() - t0
    row = {"case": case, "call": json.dumps(kw), "n": int(Z.shape[0]), "d": int(Z.shape[1]),
           "seconds": round(seconds, 2), "peak_rss_mib": round(mem.peak / 2**20),
           "rss_before_mib": round(mem.start_rss / 2**20), "value": res.value,
           "stderr": res.stderr, "null_stderr": res.info.get("null_stderr"),
           "sigma": res.info["sigma"], "mode": res.mode,
           "n_subsamples": res.info.get("n_subsamples"),
           "subsample_values": res.info.get("subsample_values")}
    print("RESULT " + json.dumps(row, default=float), flush=True)


def defaults(n_exact=3):
    path = OUT / "dsmi_defaults_scale.csv"
    specs = []
    for case in DEFAULT_CASES:
        specs += [f"{case}:{{}}", f'{case}:{{"mode": "approx"}}']
    specs += [f'make_blobs_std5:{{"max_points": {m}}}' for m in (1000, 2000, 10000)]
    rows = []
    for spec in specs:
        print(f"--- {spec}", flush=True)
        proc = subprocess.run([sys.executable, __file__, "_defaults", spec],
                              capture_output=True, text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(proc.stdout[-3000:], proc.stderr[-3000:], flush=True)
            continue
        rows.append(json.loads(line[0][7:]))
        print(rows[-1], flush=True)
    # the exact path on independent random 5,000-point subsamples, same settings
    import fastdse

    for case, make in DEFAULT_CASES.items():
        Z, y = make()
        for seed in range(n_exact):
            idx = np.sort(np.random.default_rng(100 + seed).choice(Z.shape[0], 5000,
                                                                   replace=False))
            t0 = time.perf_counter()
            res = fastdse.dsmi(Z[idx], y[idx], mode="exact", random_state=seed, progress=False)
            rows.append({"case": case, "call": json.dumps({"subsample_seed": 100 + seed,
                                                           "mode": "exact"}),
                         "n": 5000, "d": int(Z.shape[1]),
                         "seconds": round(time.perf_counter() - t0, 2), "peak_rss_mib": None,
                         "rss_before_mib": None, "value": res.value, "stderr": res.stderr,
                         "null_stderr": res.info.get("null_stderr"), "sigma": res.info["sigma"],
                         "mode": res.mode, "n_subsamples": None, "subsample_values": None})
            print(rows[-1], flush=True)
    cpu = cpu_name()
    date = time.strftime("%Y-%m-%d %H:%M")
    write_csv(path, [{**r, "cpu": cpu, "date": date} for r in rows])
    print(f"wrote {path}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("part", choices=["scale", "agreement", "breakdown", "defaults", "_case",
                                    "_defaults"])
    p.add_argument("config", nargs="?")
    p.add_argument("--configs", nargs="+", default=["serial", "threads2", "dask2", "loky2"])
    p.add_argument("--agree-n", type=int, default=4000)
    args = p.parse_args()
    if args.part == "_case":
        run_case(args.config)
    elif args.part == "_defaults":
        run_defaults_case(args.config)
    elif args.part == "defaults":
        defaults()
    elif args.part == "scale":
        scale(args.configs)
    elif args.part == "breakdown":
        breakdown()
    else:
        agreement(n=args.agree_n)


if __name__ == "__main__":
    main()
