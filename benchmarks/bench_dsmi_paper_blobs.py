"""The Gaussian-blob DSMI experiment of the DSE paper (Liao et al., CISS 2024, Fig. 3).

Data: ``sklearn.datasets.make_blobs(n_samples=5000, n_features=d, centers=3)`` (cluster
std 1, centres uniform in [-10, 10]^d), Y = the blob labels with a fraction ``ratio``
replaced by uniformly random labels. DSMI_t(Z; Y) at t = 1, in bits, with the reference
estimator (5 random subsets per class) and the reference kernel (fixed-bandwidth
Gaussian, plain random-walk normalisation), all eigenvalues (``mode="exact"``).

Panels: DSMI vs corruption ratio 0..1 at d = 20 and d = 100; DSMI vs dimension
20..20,000 at ratio 0; published values read off the paper's figure.

    python benchmarks/bench_dsmi_paper_blobs.py [--sigma sqrt_d|10] [--quick]
    python benchmarks/bench_dsmi_paper_blobs.py --plot-only

Writes docs/benchmarks/dsmi_paper_blobs.{csv,md,png} (the CSV row by row, as it goes).
"""

import argparse
import csv
import math
import platform
import time
from pathlib import Path

import numpy as np
from _output import write_csv
from sklearn.datasets import make_blobs

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
CSV = OUT / "dsmi_paper_blobs.csv"

#: read off Fig. 3 of the paper (DSMI vs dimension, ratio 0)
PUBLISHED_DIMS = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]
PUBLISHED_VS_DIM = [1.31, 1.14, 1.03, 0.94, 0.75, 0.71, 0.65, 0.61, 0.59, 0.58]
#: DSMI vs ratio at d = 20: 1.31 at ratio 0, about 0 at ratio 1
PUBLISHED_VS_RATIO_D20 = {0.0: 1.31, 1.0: 0.0}
RATIOS = [round(0.1 * i, 1) for i in range(11)]
N = 5000
FIELDS = ["panel", "d", "ratio", "sigma_rule", "sigma", "dsmi", "stderr", "seconds",
          "published"]


def data(d, ratio, seed=0):
    Z, y = make_blobs(n_samples=N, n_features=d, centers=3, random_state=seed)
    rng = np.random.default_rng(seed + 1)
    y = y.copy()
    k = int(round(ratio * N))
    idx = rng.choice(N, size=k, replace=False)
    y[idx] = rng.integers(0, 3, size=k)
    return Z, y


def sigma_of(rule, d):
    return math.sqrt(d) if rule == "sqrt_d" else float(rule)


def one(panel, d, ratio, rule, n_jobs, published=None):
    import fastdse

    Z, y = data(d, ratio)
    sigma = sigma_of(rule, d)
    t0 = time.perf_counter()
    res = fastdse.dsmi(Z, y, 1, mode="exact", kernel="gaussian", sigma=sigma, thresh=0,
                       max_points=None, num_repetitions=5, random_state=0, n_jobs=n_jobs,
                       progress=False)
    row = {"panel": panel, "d": d, "ratio": ratio, "sigma_rule": rule,
           "sigma": round(sigma, 4), "dsmi": round(res.value, 4),
           "stderr": round(res.stderr, 4), "seconds": round(time.perf_counter() - t0, 1),
           "published": "" if published is None else published}
    append(row)
    return row


def append(row):
    write_csv(CSV, [row], FIELDS, append=True)
    print(row, flush=True)


def read_rows():
    with open(CSV) as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k in ("d",):
            r[k] = int(r[k])
        for k in ("ratio", "sigma", "dsmi", "stderr", "seconds"):
            r[k] = float(r[k])
    return rows


def plot(rows, rule):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, d in zip(axes[:2], (20, 100)):
        rs = sorted((r for r in rows if r["panel"] == "ratio" and r["d"] == d
                     and r["sigma_rule"] == rule), key=lambda r: r["ratio"])
        if rs:
            ax.errorbar([r["ratio"] for r in rs], [r["dsmi"] for r in rs],
                        yerr=[r["stderr"] for r in rs], marker="o", label="fastdse")
        if d == 20:
            ax.plot(list(PUBLISHED_VS_RATIO_D20), list(PUBLISHED_VS_RATIO_D20.values()), "s",
                    color="k", label="published (endpoints)")
        else:
            ax.plot([0.0], [PUBLISHED_VS_DIM[PUBLISHED_DIMS.index(100)]], "s", color="k",
                    label="published (ratio 0, from the dimension panel)")
        ax.set_xlabel("label corruption ratio")
        ax.set_ylabel("DSMI(Z; Y), t = 1 (bits)")
        ax.set_title(f"d = {d}")
        ax.axhline(math.log2(3), color="grey", lw=0.5, ls=":")
        ax.legend()
    ax = axes[2]
    rs = sorted((r for r in rows if r["panel"] == "dim" and r["sigma_rule"] == rule),
                key=lambda r: r["d"])
    if rs:
        ax.errorbar([r["d"] for r in rs], [r["dsmi"] for r in rs],
                    yerr=[r["stderr"] for r in rs], marker="o", label="fastdse")
    ax.plot(PUBLISHED_DIMS, PUBLISHED_VS_DIM, "s--", color="k", label="published")
    ax.set_xscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("DSMI(Z; Y), t = 1 (bits)")
    ax.set_title("ratio 0")
    ax.axhline(math.log2(3), color="grey", lw=0.5, ls=":")
    ax.legend()
    sig = "sqrt(d)" if rule == "sqrt_d" else rule
    fig.suptitle(f"make_blobs, 3 centres, n = {N}; Gaussian kernel sigma = {sig}; "
                 "fastdse.dsmi(mode='exact'), 5 subsets per class")
    fig.tight_layout()
    fig.savefig(OUT / "dsmi_paper_blobs.png", dpi=120)


def write_md(rows, rule, total):
    lines = [
        "<!-- generated by benchmarks/bench_dsmi_paper_blobs.py -->",
        f"Run: {time.strftime('%Y-%m-%d')}, {platform.machine()}, python "
        f"{platform.python_version()}, total {total:.0f} s (n_jobs=2).",
        "",
        "### Kernel bandwidth check (ratio 0)",
        "",
        "| d | sigma rule | sigma | DSMI | stderr | published |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    check = [r for r in rows if r["panel"] == "sigma"
             or (r["panel"] in ("ratio", "dim") and r["ratio"] == 0.0 and r["d"] in (20, 1000)
                 and not (r["panel"] == "dim" and r["d"] == 20))]
    for r in sorted(check, key=lambda r: (r["d"], r["sigma_rule"])):
        pub = PUBLISHED_VS_DIM[PUBLISHED_DIMS.index(r["d"])]
        lines.append(f"| {r['d']} | {r['sigma_rule']} | {r['sigma']:g} | {r['dsmi']:.3f} | "
                     f"{r['stderr']:.3f} | {pub:.2f} |")
    lines += ["", f"### DSMI vs dimension (ratio 0, sigma rule {rule})", "",
              "| d | DSMI (fastdse) | stderr | published | difference | seconds |",
              "|---:|---:|---:|---:|---:|---:|"]
    for r in sorted((r for r in rows if r["panel"] == "dim" and r["sigma_rule"] == rule),
                    key=lambda r: r["d"]):
        pub = PUBLISHED_VS_DIM[PUBLISHED_DIMS.index(r["d"])]
        lines.append(f"| {r['d']:,} | {r['dsmi']:.3f} | {r['stderr']:.3f} | {pub:.2f} | "
                     f"{r['dsmi'] - pub:+.3f} | {r['seconds']:.1f} |")
    for d in (20, 100):
        rs = sorted((r for r in rows if r["panel"] == "ratio" and r["d"] == d
                     and r["sigma_rule"] == rule), key=lambda r: r["ratio"])
        if not rs:
            continue
        lines += ["", f"### DSMI vs label-corruption ratio, d = {d} (sigma rule {rule})", "",
                  "| ratio | " + " | ".join(f"{r['ratio']:g}" for r in rs) + " |",
                  "|---|" + "---:|" * len(rs),
                  "| DSMI | " + " | ".join(f"{r['dsmi']:.3f}" for r in rs) + " |",
                  "| stderr | " + " | ".join(f"{r['stderr']:.3f}" for r in rs) + " |"]
    # pasted by hand under "## Tables" of dsmi_paper_blobs.md
    (OUT / "dsmi_paper_blobs_tables.md").write_text("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sigma", default="sqrt_d", help="sqrt_d or a number (default: sqrt_d)")
    p.add_argument("--quick", action="store_true", help="ratios 0, 0.5, 1 and 4 dimensions")
    p.add_argument("--dims", type=int, nargs="+", default=PUBLISHED_DIMS)
    p.add_argument("--ratios", type=float, nargs="+", default=RATIOS)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--skip-sigma-check", action="store_true")
    p.add_argument("--plot-only", action="store_true")
    args = p.parse_args()
    start = time.perf_counter()
    if not args.plot_only:
        ratios = [0.0, 0.5, 1.0] if args.quick else args.ratios
        dims = [20, 100, 1000, 20000] if args.quick else args.dims
        if not args.skip_sigma_check:
            # (at d = 100 both rules give sigma = 10)
            for d in (20, 1000):
                pub = PUBLISHED_VS_DIM[PUBLISHED_DIMS.index(d)]
                other = "10" if args.sigma == "sqrt_d" else "sqrt_d"
                one("sigma", d, 0.0, other, args.n_jobs, pub)
        done = {}
        for d in (20, 100):
            for ratio in ratios:
                pub = PUBLISHED_VS_RATIO_D20.get(ratio) if d == 20 else None
                done[(d, ratio)] = one("ratio", d, ratio, args.sigma, args.n_jobs, pub)
        for d in dims:
            pub = PUBLISHED_VS_DIM[PUBLISHED_DIMS.index(d)] if d in PUBLISHED_DIMS else None
            if (d, 0.0) in done:  # same data and seed as the ratio panel's first point
                append({**done[(d, 0.0)], "panel": "dim", "published": pub})
            else:
                one("dim", d, 0.0, args.sigma, args.n_jobs, pub)
    rows = read_rows()
    total = time.perf_counter() - start
    plot(rows, args.sigma)
    write_md(rows, args.sigma, total)
    print(f"total {total:.0f} s; wrote {OUT / 'dsmi_paper_blobs.png'}")


if __name__ == "__main__":
    main()
