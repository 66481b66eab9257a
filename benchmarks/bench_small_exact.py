"""Small problems: all threads against one thread (numba and BLAS).

``fastdse.dse(X, t=[1, 5], mode=...)`` for ``mode="exact"`` and ``"approx"`` on standard
normal points, two settings (the Gaussian kernel in 128-d, the default alpha-decay kernel
in 16-d), each size timed with ``fastdse._util.threads.SERIAL_MAX_N`` set to 0 (every
thread) and above ``n`` (one thread), alternating, medians of ``--repeats`` calls. It sets
``SERIAL_MAX_N``: the size up to which the builders run on one thread. ``--dsmi`` adds DSMI
at its defaults on 200,000 x 128 blobs (300 evaluations of ~500 points), exact (the
default) and ``mode="approx"``, one run each way.

    python benchmarks/bench_small_exact.py [--sizes 100 200 ...] [--dsmi] [--out PREFIX]
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
from fastdse._util import threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402
from _output import write_csv  # noqa: E402

SETTINGS = {"gaussian, d = 128": (128, {"kernel": "gaussian", "sigma": 11.5}),
            "alpha-decay, d = 16": (16, {})}


def _median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _case(name: str, mode: str, n: int, repeats: int) -> dict:
    d, kw = SETTINGS[name]
    X = np.random.default_rng(0).normal(size=(n, d))
    both: dict[str, list[float]] = {"threads": [], "serial": []}
    for _ in range(3):  # alternate, three rounds
        for label, limit in (("threads", 0), ("serial", 10**9)):
            threads.SERIAL_MAX_N = limit
            both[label].append(_median_ms(
                lambda: fastdse.dse(X, [1, 5], mode=mode, random_state=0, **kw), repeats))
    row = {"setting": name, "mode": mode, "n": n,
           "threads_ms": statistics.median(both["threads"]),
           "serial_ms": statistics.median(both["serial"])}
    row["ratio"] = row["threads_ms"] / row["serial_ms"]
    return row


def _dsmi() -> dict:
    from sklearn.datasets import make_blobs

    Z, y = make_blobs(200_000, n_features=128, centers=10, cluster_std=5, random_state=0)
    out = {}
    for mode in ("auto", "approx"):
        for label, limit in (("threads", 0), ("serial", 10**9)):
            threads.SERIAL_MAX_N = limit
            start = time.perf_counter()
            res = fastdse.dsmi(Z, y, mode=mode, random_state=0, progress=False)
            out[mode, label] = (time.perf_counter() - start, float(res.value),
                                float(res.stderr))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+",
                    default=[100, 200, 300, 400, 500, 600, 700, 850, 1000, 1200])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--dsmi", action="store_true")
    ap.add_argument("--out", default="docs/benchmarks/small_exact")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    chosen = threads.SERIAL_MAX_N
    started = time.perf_counter()
    rows = []
    for mode in ("exact", "approx"):
        for n in args.sizes:
            for name in SETTINGS:
                rows.append(_case(name, mode, n, args.repeats))
                r = rows[-1]
                print(f"{mode:6s} {name:20s} n={n:5d} all threads {r['threads_ms']:8.2f} ms, "
                      f"one thread {r['serial_ms']:8.2f} ms ({r['ratio']:.2f}x)", flush=True)
    dsmi = _dsmi() if args.dsmi else None
    elapsed = time.perf_counter() - started
    write_csv(f"{args.out}.csv", rows)
    with open(f"{args.out}.md", "w") as fh:
        fh.write("# Small problems: all threads or one\n\n")
        fh.write(f"Produced by `python benchmarks/bench_small_exact.py` "
                 f"({datetime.date.today().isoformat()}, {cpu_name()}, {elapsed / 60:.1f} min "
                 "in one process). `fastdse.dse(X, [1, 5], mode=mode, random_state=0)` on "
                 "standard normal points; each figure is the median of three alternating "
                 f"rounds of {args.repeats} calls. Ratio: all threads / one thread (above 1: "
                 "one thread faster).\n\n")
        fh.write("| mode | setting | n | all threads (ms) | one thread (ms) | ratio |\n")
        fh.write("|---|---|---:|---:|---:|---:|\n")
        for r in rows:
            fh.write(f"| {r['mode']} | {r['setting']} | {r['n']:,} | {r['threads_ms']:.2f} | "
                     f"{r['serial_ms']:.2f} | {r['ratio']:.2f} |\n")
        fh.write(f"\n`SERIAL_MAX_N = {chosen}`: the builders run on one thread up to there.\n")
        if dsmi is not None:
            fh.write("\nDSMI at its defaults, `make_blobs(200_000, n_features=128, centers=10, "
                     "cluster_std=5)`, one run each:\n\n")
            fh.write("| mode | all threads (s) | one thread per evaluation (s) | ratio | value "
                     "(bits) |\n|---|---:|---:|---:|---|\n")
            for mode in ("auto", "approx"):
                (tt, vt, st), (ts, vs, ss) = dsmi[mode, "threads"], dsmi[mode, "serial"]
                fh.write(f"| {mode} | {tt:.1f} | {ts:.1f} | {tt / ts:.2f} | {vt:.6f} +- "
                         f"{st:.4f} / {vs:.6f} +- {ss:.4f} |\n")
    print(f"wrote {args.out}.csv and {args.out}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
