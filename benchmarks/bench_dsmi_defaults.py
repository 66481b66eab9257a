"""Which defaults make DSMI answer textbook questions right?

With the library defaults (``kernel="alpha_decay"``, ``knn=5``, ``decay=40``, ``t=1``,
``anisotropy=0``) DSMI(Z; Y) of well-separated blobs against their own labels is slightly
*negative*. This study measures what ``fastdse.dsmi(mode="exact")`` returns (value and
stderr, default ``num_repetitions=5``) as a function of the kernel and its bandwidth rule,
the diffusion time rule and the anisotropy, on a suite of cases whose right answer is known:

- k well-separated equal blobs, k = 2, 5, 10, 20, 50, and unequal sizes (one class 10x
  another): clearly positive, growing with k;
- label corruption 0 .. 1 (a fraction of the labels replaced by uniform random ones): falls
  monotonically to ~0;
- labels independent of Z (blobs with permuted labels, Gaussian noise with random labels,
  shuffled digit labels): ~0 within the error bar;
- nested classes (3 groups of 3 sub-blobs): the fine labelling carries more than the coarse;
- continuous Y = f(Z) + noise (the swiss-roll parameter, uniform noise of 0 .. 3 sd),
  ``y_kind="continuous"``: falls with the noise;
- real data: scikit-learn digits (raw and standardised pixels) and the hidden layer of an
  MLPClassifier after 1, 5 and 30 epochs (held-out half), true vs shuffled labels;
- the blobs multiplied by 0.1 (scale invariance; not one of the issue's criteria).

Kernel rules (bandwidths computed from Z, the whole cloud, then applied to every class and
subset): alpha-decay knn 5 / 15; Gaussian sigma = 10 (the reference's default), sqrt(d),
the median pairwise distance, the median distance to the 5th / 10th neighbour. Time rules:
t = 1, 2, 5, 10, 20, 50 and t = "auto" (the knee t of ``fastdse.dse(Z, t="auto")`` with the
same kernel, chosen once on Z). All t come from one ``dsmi`` call (t as a sequence).
Anisotropy 0 and 0.5.

Stage 1 ("core") runs the full kernel x anisotropy grid (all t) on every case; stage 2 runs
the best configurations (and the current default) on sweeps of d, n and class imbalance,
and on the estimator's behaviour for labels independent of Z with class sizes 20 .. 2,000
("bias").

    python benchmarks/bench_dsmi_defaults.py            # full run (~35 min, shared 2 cores)
    python benchmarks/bench_dsmi_defaults.py --quick    # smoke test, seconds, to /tmp
    python benchmarks/bench_dsmi_defaults.py --report-only   # tables and plots from the CSVs

Writes docs/benchmarks/dsmi_defaults{,_summary,_sweeps,_bias}.csv, dsmi_defaults_*.png and
the generated part of dsmi_defaults.md (between the ``generated`` markers; the text around
them is kept).
"""

import argparse
import csv
import math
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from _output import write_csv

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"

T_FIXED = (1, 2, 5, 10, 20, 50)
T_RULES = tuple(str(t) for t in T_FIXED) + ("auto",)
KERNEL_RULES = ("ad5", "ad15", "g10", "g_sqrtd", "g_median", "g_knn5", "g_knn10", "g_knn20",
                "g_knn30", "ad5_Z")
GAUSS_RULES = ("g10", "g_sqrtd", "g_median", "g_knn5", "g_knn10", "g_knn20", "g_knn30")
#: a probe, anisotropy 0 only: the alpha-decay kernel built once on Z (bandwidths from all
#: of Z) and passed as kernel="precomputed", so that every class and subset uses its induced
#: sub-graph instead of a kernel rebuilt with its own bandwidths
PROBE_RULES = ("ad5_Z",)
KERNEL_LABEL = {
    "ad5": "alpha-decay knn=5",
    "ad15": "alpha-decay knn=15",
    "g10": "Gaussian sigma=10",
    "g_sqrtd": "Gaussian sigma=sqrt(d)",
    "g_median": "Gaussian sigma=median pairwise dist.",
    "g_knn5": "Gaussian sigma=median 5th-NN dist.",
    "g_knn10": "Gaussian sigma=median 10th-NN dist.",
    "g_knn20": "Gaussian sigma=median 20th-NN dist.",
    "g_knn30": "Gaussian sigma=median 30th-NN dist.",
    "ad5_Z": "alpha-decay knn=5 built on Z, induced sub-graphs (precomputed)",
}
ANISOTROPIES = (0.0, 0.5)
BASELINE = ("ad5", "1", 0.0)  # today's defaults
PAPER = ("g10", "1", 0.0)  # the reference implementation's defaults

FIELDS = ["stage", "dataset", "labels", "family", "param", "n", "d", "k", "min_class",
          "h_y", "kernel_rule", "sigma", "nnz_row", "anisotropy", "t_rule", "t", "dsmi", "stderr",
          "seconds"]
SUMMARY_FIELDS = ["kernel_rule", "t_rule", "anisotropy", "passed", "sep_positive",
                  "grows_with_k", "never_negative", "independent_zero",
                  "corruption_monotone", "noise_monotone", "fine_gt_coarse",
                  "digits_positive", "scale_invariant", "mlp_rises", "min_sep_ratio",
                  "sep_calibration"]
CRITERIA = ["sep_positive", "grows_with_k", "never_negative", "independent_zero",
            "corruption_monotone", "noise_monotone", "fine_gt_coarse", "digits_positive"]

#: "clearly positive": above max(POS_SE stderr, POS_ABS bits)
POS_SE, POS_ABS = 5.0, 0.1
#: "~0": |value| <= max(ZERO_SE stderr, ZERO_ABS bits); "never negative": >= -that
ZERO_SE, ZERO_ABS = 3.0, 0.02
NEG_ABS = 0.01
#: "monotone": no step up by more than MONO_SE combined stderr + MONO_ABS bits
MONO_SE, MONO_ABS = 2.0, 0.005

CORRUPTION = (0.1, 0.25, 0.5, 0.75, 1.0)
ROLL_NOISE = (0.0, 0.1, 0.3, 1.0, 3.0)
SEPARABLE_K = (2, 5, 10, 20, 50)
MLP_EPOCHS = (1, 5, 30)


# --------------------------------------------------------------------------- data


def entropy_bits(labels):
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def blobs(n, d, k, seed, sizes=None, std=1.0):
    """make_blobs: k centres uniform in [-10, 10]^d, unit spread (or explicit sizes)."""
    from sklearn.datasets import make_blobs

    if sizes is not None:
        rng = np.random.default_rng(seed)
        centres = rng.uniform(-10, 10, size=(len(sizes), d))
        return make_blobs(n_samples=list(sizes), n_features=d, centers=centres,
                          cluster_std=std, random_state=seed)
    return make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=std,
                      center_box=(-10.0, 10.0), random_state=seed)


def corrupt(y, ratio, k, seed):
    """Replace a fraction ``ratio`` of the labels by uniform random labels (the paper's)."""
    rng = np.random.default_rng(seed)
    y = y.copy()
    m = int(round(ratio * y.size))
    idx = rng.choice(y.size, size=m, replace=False)
    y[idx] = rng.integers(0, k, size=m)
    return y


def nested(n, d, seed):
    """3 groups far apart, each of 3 sub-blobs (sub-centre spacing ~13, unit spread)."""
    rng = np.random.default_rng(seed)
    groups = rng.uniform(-30, 30, size=(3, d))
    centres = np.repeat(groups, 3, axis=0) + rng.normal(scale=2.0, size=(9, d))
    fine = np.arange(n) % 9
    Z = centres[fine] + rng.normal(size=(n, d))
    return Z, fine // 3, fine


def swiss_roll(n, d, seed):
    """make_swiss_roll (noise 0.5) rotated into d dimensions; returns Z and the roll parameter."""
    from sklearn.datasets import make_swiss_roll

    X3, tt = make_swiss_roll(n, noise=0.5, random_state=seed)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, 3)))
    return X3 @ Q.T, tt


def noisy(f, level, seed):
    """f + uniform noise with sd = level * sd(f) (uniform keeps the min-max bins populated)."""
    rng = np.random.default_rng(seed)
    return f + level * f.std() * math.sqrt(3.0) * rng.uniform(-1.0, 1.0, size=f.shape)


def mlp_hidden(epochs, seed=0):
    """Hidden layer (64 ReLU) of an MLPClassifier on half the digits, on the held-out half.

    As examples/training_dynamics.py: pixels / 16, 50/50 stratified split, Adam step 1e-3,
    minibatches of 64, one epoch per ``partial_fit``. Returns {epoch: Z}, y_test, accuracy.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y,
                                              random_state=seed)
    clf = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=1e-3, batch_size=64,
                        random_state=np.random.RandomState(seed))
    out, acc = {}, {}
    for epoch in range(1, max(epochs) + 1):
        clf.partial_fit(X_tr, y_tr, classes=np.arange(10))
        if epoch in epochs:
            out[epoch] = np.maximum(X_te @ clf.coefs_[0] + clf.intercepts_[0], 0.0)
            acc[epoch] = float(clf.score(X_te, y_te))
    return out, y_te, acc


class Dataset:
    """A point cloud Z and the labellings (Y) to run against it."""

    def __init__(self, name, Z, family):
        self.name, self.Z, self.family = name, np.ascontiguousarray(Z, dtype=np.float64), family
        self.labelings = []  # (label name, Y, y_kind, param)

    def add(self, labels, Y, param="", y_kind="discrete"):
        self.labelings.append((labels, np.asarray(Y), y_kind, param))
        return self


def core_datasets(quick):
    """The textbook suite (stage 1)."""
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    n, d = (300, 10) if quick else (1500, 20)
    ks = (2, 5) if quick else SEPARABLE_K
    ds = []
    for k in ks:
        Z, y = blobs(n, d, k, seed=k)
        data = Dataset(f"blobs_k{k}", Z, "separable").add("true", y, k)
        if k == 5:
            for r in ((0.5, 1.0) if quick else CORRUPTION):
                data.add(f"corrupt_{r:g}", corrupt(y, r, k, seed=100 + int(100 * r)), r)
            data.add("permuted", np.random.default_rng(7).permutation(y), "perm")
            ds.append(Dataset("blobs_k5_x0.1", 0.1 * Z, "scale").add("true", y, 0.1))
        ds.append(data)
    sizes = np.array([10, 5, 8 / 3, 4 / 3, 1.0])
    sizes = np.round(sizes / sizes.sum() * n).astype(int)
    sizes[-1] = sizes[0] // 10
    sizes[0] = n - sizes[1:].sum()
    Z, y = blobs(None, d, None, seed=11, sizes=sizes)
    ds.append(Dataset("blobs_unequal", Z, "separable").add("true", y, "10:1"))
    rng = np.random.default_rng(12)
    ds.append(Dataset("noise", rng.normal(size=(n, d)), "independent")
              .add("random5", rng.integers(0, 5, size=n), 5))
    Z, coarse, fine = nested(n, d, seed=13)
    ds.append(Dataset("nested", Z, "nested").add("coarse", coarse, 3).add("fine", fine, 9))
    Z, f = swiss_roll(n, 10, seed=14)
    roll = Dataset("swiss_roll", Z, "continuous")
    for lev in ((0.0, 1.0) if quick else ROLL_NOISE):
        roll.add(f"noise_{lev:g}", noisy(f, lev, seed=15), lev, y_kind="continuous")
    ds.append(roll)
    X, y = load_digits(return_X_y=True)
    if quick:
        idx = np.random.default_rng(0).choice(len(y), 400, replace=False)
        X, y = X[idx], y[idx]
    shuffled = np.random.default_rng(16).permutation(y)
    ds.append(Dataset("digits_raw", X, "digits").add("true", y).add("shuffled", shuffled))
    Xs = StandardScaler().fit_transform(X)
    ds.append(Dataset("digits_std", Xs, "digits").add("true", y).add("shuffled", shuffled))
    hidden, y_te, acc = mlp_hidden((1, 5) if quick else MLP_EPOCHS)
    shuffled = np.random.default_rng(17).permutation(y_te)
    for epoch, Z in hidden.items():
        ds.append(Dataset(f"mlp_e{epoch}", Z, "digits")
                  .add("true", y_te, f"acc {acc[epoch]:.3f}")
                  .add("shuffled", shuffled, f"acc {acc[epoch]:.3f}"))
    return ds


def sweep_datasets(quick):
    """Stage 2: d, n and class imbalance."""
    ds = []
    for d in ((2, 50) if quick else (2, 5, 10, 50, 200)):
        Z, y = blobs(300 if quick else 1500, d, 5, seed=5)
        ds.append(Dataset(f"blobs_k5_d{d}", Z, "sweep_d").add("true", y, d))
    for n in ((150,) if quick else (250, 500, 1000, 2000)):
        Z, y = blobs(n, 20, 5, seed=5)
        ds.append(Dataset(f"blobs_k5_n{n}", Z, "sweep_n").add("true", y, n))
    for ratio in ((1, 10) if quick else (1, 3, 10, 30)):
        m = 300 if quick else 1500
        small = int(round(m / (ratio + 1)))
        Z, y = blobs(None, 20, None, seed=21, sizes=[m - small, small])
        ds.append(Dataset(f"blobs_2_ratio{ratio}", Z, "sweep_imbalance").add("true", y, ratio))
    return ds


def bias_grid(quick):
    """(n, k, seeds): labels independent of Z, k equal classes of n / k points."""
    if quick:
        return [(200, 10, 2), (200, 2, 2)]
    return [(500, 25, 6), (500, 5, 6), (1000, 50, 6), (1000, 10, 6),
            (2000, 100, 6), (2000, 40, 6), (2000, 20, 6), (2000, 10, 6), (2000, 4, 4),
            (2000, 2, 4), (4000, 2, 2)]


# --------------------------------------------------------------------------- kernels


#: a Gaussian entry exp(-r^2 / 2 sigma^2) is >= 1e-4 (the sparse modes' thresh) up to
#: r = sqrt(2 ln 1e4) sigma
THRESH_RADIUS = math.sqrt(2.0 * math.log(1e4))


def sigmas(Z):
    """The Gaussian bandwidth rules, from the whole cloud Z, and the rows' kernel sizes.

    Returns ({rule: sigma}, {rule: mean number of other points per row whose Gaussian
    entry is >= 1e-4}, i.e. how many neighbours a sparse (thresh 1e-4) kernel would keep).
    """
    from scipy.spatial.distance import pdist
    from sklearn.neighbors import NearestNeighbors

    dist, _ = NearestNeighbors(n_neighbors=31).fit(Z).kneighbors(Z)  # column 0: the point
    pd = pdist(Z)
    sig = {
        "g10": 10.0,
        "g_sqrtd": math.sqrt(Z.shape[1]),
        "g_median": float(np.median(pd)),
        "g_knn5": float(np.median(dist[:, 5])),
        "g_knn10": float(np.median(dist[:, 10])),
        "g_knn20": float(np.median(dist[:, 20])),
        "g_knn30": float(np.median(dist[:, 30])),
    }
    nnz = {rule: 2.0 * np.count_nonzero(pd <= THRESH_RADIUS * s) / Z.shape[0]
           for rule, s in sig.items()}
    return sig, nnz


def kernel_kwargs(rule, sigs):
    sig = sigs[0]
    if rule == "ad5":
        return {"kernel": "alpha_decay", "knn": 5}
    if rule == "ad15":
        return {"kernel": "alpha_decay", "knn": 15}
    return {"kernel": "gaussian", "sigma": sig[rule]}


def alpha_decay_affinity(Z, knn, decay=40.0, thresh=1e-4):
    """The dense alpha-decay kernel of Z (bandwidth: distance to the knn-th other point)."""
    from scipy.spatial.distance import cdist

    D = cdist(Z, Z)
    bw = np.sort(D, axis=1)[:, knn]
    k = np.exp(-((D / bw[:, None]) ** decay))
    K = 0.5 * (k + k.T)
    K[K < thresh] = 0.0
    return K


def operand(rule, Z, sigs):
    """What dsmi / dse get for a kernel rule: (points or affinity, keywords, nnz per row)."""
    if rule == "ad5_Z":
        K = alpha_decay_affinity(Z, 5)
        return K, {"kernel": "precomputed"}, float(np.count_nonzero(K)) / K.shape[0] - 1.0
    return Z, kernel_kwargs(rule, sigs), sigs[1].get(rule, float("nan"))


def auto_t(Z, kw, aniso):
    import fastdse

    return float(fastdse.dse(Z, t="auto", mode="exact", anisotropy=aniso, random_state=0,
                             **kw).t)


def run_dsmi(Z, Y, y_kind, kw, aniso, ts, seed, n_jobs):
    import fastdse

    start = time.perf_counter()
    res = fastdse.dsmi(Z, Y, list(ts), mode="exact", anisotropy=aniso, y_kind=y_kind,
                       random_state=seed, n_jobs=n_jobs, progress=False, **kw)
    return res, time.perf_counter() - start


# --------------------------------------------------------------------------- running


class Writer:
    """Append rows to a CSV as they come (a crash keeps what was done)."""

    def __init__(self, path, resume):
        self.path = path
        self.done = set()
        if resume and path.exists():
            for r in read_csv(path):
                self.done.add((r["dataset"], r["labels"], r["kernel_rule"], r["anisotropy"]))
        elif path.exists():
            path.unlink()

    def is_done(self, dataset, labels, rule, aniso):
        return (dataset, labels, rule, float(aniso)) in self.done

    def write(self, rows):
        write_csv(self.path, rows, FIELDS, append=True)


def run_datasets(stage, datasets, pairs, writer, n_jobs, seed=0):
    """Every labelling of every dataset with every (kernel rule, anisotropy): all t rules."""
    for data in datasets:
        Z = data.Z
        todo = [(rule, aniso) for rule, aniso in pairs
                if not all(writer.is_done(data.name, lab[0], rule, aniso)
                           for lab in data.labelings)]
        if not todo:
            continue
        sig = sigmas(Z)
        for rule, aniso in todo:
            X, kw, nnz = operand(rule, Z, sig)
            t0 = time.perf_counter()
            ta = auto_t(X, kw, aniso)
            t_auto_s = time.perf_counter() - t0
            for labels, Y, y_kind, param in data.labelings:
                if writer.is_done(data.name, labels, rule, aniso):
                    continue
                res, secs = run_dsmi(X, Y, y_kind, kw, aniso, (*T_FIXED, ta), seed, n_jobs)
                cls = res.clusters
                base = {"stage": stage, "dataset": data.name, "labels": labels,
                        "family": data.family, "param": param, "n": Z.shape[0],
                        "d": Z.shape[1], "k": len(res.per_class),
                        "min_class": min(c.size for c in res.per_class),
                        "h_y": round(entropy_bits(cls), 5), "kernel_rule": rule,
                        "sigma": round(kw.get("sigma", float("nan")), 5),
                        "nnz_row": round(nnz, 1),
                        "anisotropy": aniso, "seconds": round(secs + t_auto_s, 2)}
                rows = [{**base, "t_rule": rname, "t": t, "dsmi": round(float(v), 5),
                         "stderr": round(float(e), 5)}
                        for rname, t, v, e in zip(T_RULES, (*T_FIXED, ta), res.value,
                                                  res.stderr)]
                writer.write(rows)
                v1, va = rows[0]["dsmi"], rows[-1]["dsmi"]
                print(f"[{stage}] {data.name}/{labels} {rule} a={aniso:g}: t=1 {v1:+.3f}, "
                      f"t_auto={ta:g} {va:+.3f} ({secs:.1f} s + {t_auto_s:.1f} s)", flush=True)


def run_bias(configs, grid, writer, n_jobs):
    """Labels independent of Z (blobs, 5 centres, d = 20): k equal classes, several seeds."""
    pairs = sorted({(rule, aniso) for rule, _, aniso in configs})
    for n in sorted({g[0] for g in grid}):
        Z, _ = blobs(n, 20, 5, seed=30)
        sets = []
        for n_, k, seeds in grid:
            if n_ != n:
                continue
            for s in range(seeds):
                y = np.random.default_rng(1000 + s).permutation(np.arange(n) % k)
                sets.append((f"random_k{k}_s{s}", y, s))
        data = Dataset(f"bias_n{n}", Z, "bias")
        for labels, y, s in sets:
            data.add(labels, y, s)
        for rule, aniso in pairs:
            todo = [lab for lab in data.labelings
                    if not writer.is_done(data.name, lab[0], rule, aniso)]
            for lab in todo:  # the dsmi seed is the seed of the labels
                one = Dataset(data.name, Z, "bias")
                one.labelings = [lab]
                run_datasets_cached(one, rule, aniso, writer, n_jobs, seed=lab[3])


_T_AUTO_CACHE = {}


def run_datasets_cached(data, rule, aniso, writer, n_jobs, seed):
    """As run_datasets for one pair, with t_auto and sigma cached per dataset."""
    key = (data.name, rule, aniso)
    if key not in _T_AUTO_CACHE:
        X, kw, nnz = operand(rule, data.Z, sigmas(data.Z))
        t0 = time.perf_counter()
        _T_AUTO_CACHE[key] = (X, kw, auto_t(X, kw, aniso), time.perf_counter() - t0, nnz)
    Z, kw, ta, t_auto_s, nnz = _T_AUTO_CACHE[key]
    for labels, Y, y_kind, param in data.labelings:
        res, secs = run_dsmi(Z, Y, y_kind, kw, aniso, (*T_FIXED, ta), seed, n_jobs)
        base = {"stage": "bias", "dataset": data.name, "labels": labels, "family": "bias",
                "param": param, "n": data.Z.shape[0], "d": data.Z.shape[1],
                "k": len(res.per_class),
                "min_class": min(c.size for c in res.per_class),
                "h_y": round(entropy_bits(res.clusters), 5), "kernel_rule": rule,
                "sigma": round(kw.get("sigma", float("nan")), 5),
                "nnz_row": round(nnz, 1), "anisotropy": aniso,
                "seconds": round(secs, 2)}
        writer.write([{**base, "t_rule": rname, "t": t, "dsmi": round(float(v), 5),
                       "stderr": round(float(e), 5)}
                      for rname, t, v, e in zip(T_RULES, (*T_FIXED, ta), res.value,
                                                res.stderr)])
        print(f"[bias] {data.name}/{labels} {rule} a={aniso:g} t_auto={ta:g}: "
              f"{res.value[-1]:+.4f} +- {res.stderr[-1]:.4f} ({secs:.1f} s)", flush=True)


# --------------------------------------------------------------------------- evaluation


def read_csv(path):
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for key in ("n", "d", "k", "min_class"):
            r[key] = int(r[key])
        for key in ("h_y", "sigma", "nnz_row", "anisotropy", "t", "dsmi", "stderr", "seconds"):
            r[key] = float(r[key])
    return rows


def index(rows):
    return {(r["dataset"], r["labels"], r["kernel_rule"], r["t_rule"], r["anisotropy"]): r
            for r in rows}


def positive(r):
    return r["dsmi"] > max(POS_SE * r["stderr"], POS_ABS)


def near_zero(r):
    return abs(r["dsmi"]) <= max(ZERO_SE * r["stderr"], ZERO_ABS)


def not_negative(r):
    return r["dsmi"] >= -max(ZERO_SE * r["stderr"], NEG_ABS)


def non_increasing(seq):
    return all(b["dsmi"] <= a["dsmi"] + MONO_SE * math.hypot(a["stderr"], b["stderr"])
               + MONO_ABS for a, b in zip(seq, seq[1:]))


def evaluate(rows):
    """Pass/fail of every criterion per (kernel rule, t rule, anisotropy)."""
    idx = index(rows)
    datasets = {r["dataset"] for r in rows}
    ks = [k for k in SEPARABLE_K if f"blobs_k{k}" in datasets]
    corr = [r for r in CORRUPTION
            if any(key[0] == "blobs_k5" and key[1] == f"corrupt_{r:g}" for key in idx)]
    noise = [lv for lv in ROLL_NOISE
             if any(key[0] == "swiss_roll" and key[1] == f"noise_{lv:g}" for key in idx)]
    mlps = sorted({r["dataset"] for r in rows if r["dataset"].startswith("mlp_e")},
                  key=lambda s: int(s[5:]))
    out = []
    configs = sorted({(r["kernel_rule"], r["t_rule"], r["anisotropy"]) for r in rows},
                     key=lambda c: (KERNEL_RULES.index(c[0]), T_RULES.index(c[1]), c[2]))
    for rule, tr, an in configs:
        def g(ds, lab, rule=rule, tr=tr, an=an):
            return idx[(ds, lab, rule, tr, an)]

        sep = [g(f"blobs_k{k}", "true") for k in ks] + [g("blobs_unequal", "true")]
        indep = ([g("blobs_k5", "permuted"), g("noise", "random5")]
                 + ([g("blobs_k5", "corrupt_1")] if 1.0 in corr else [])
                 + [g(ds, "shuffled") for ds in ("digits_raw", "digits_std", *mlps)])
        corr_seq = [g("blobs_k5", "true")] + [g("blobs_k5", f"corrupt_{r:g}") for r in corr]
        noise_seq = [g("swiss_roll", f"noise_{lv:g}") for lv in noise]
        digits = [g(ds, "true") for ds in ("digits_raw", "digits_std", *mlps)]
        allrows = [r for r in rows if (r["kernel_rule"], r["t_rule"], r["anisotropy"])
                   == (rule, tr, an)]
        coarse, fine = g("nested", "coarse"), g("nested", "fine")
        sc, s0 = g("blobs_k5_x0.1", "true"), g("blobs_k5", "true")
        res = {
            "kernel_rule": rule, "t_rule": tr, "anisotropy": an,
            "sep_positive": all(positive(r) for r in sep),
            "grows_with_k": all(b["dsmi"] > a["dsmi"] for a, b in zip(sep[:len(ks)],
                                                                      sep[1:len(ks)])),
            "never_negative": all(not_negative(r) for r in allrows),
            "independent_zero": all(near_zero(r) for r in indep),
            "corruption_monotone": (non_increasing(corr_seq) and near_zero(corr_seq[-1])
                                    and corr_seq[0]["dsmi"] - corr_seq[-1]["dsmi"] > POS_ABS),
            "noise_monotone": (non_increasing(noise_seq) and positive(noise_seq[0])
                               and noise_seq[0]["dsmi"] - noise_seq[-1]["dsmi"]
                               > MONO_SE * math.hypot(noise_seq[0]["stderr"],
                                                      noise_seq[-1]["stderr"]) + MONO_ABS),
            "fine_gt_coarse": fine["dsmi"] > coarse["dsmi"]
            + MONO_SE * math.hypot(fine["stderr"], coarse["stderr"]),
            "digits_positive": all(positive(r) for r in digits),
            "scale_invariant": positive(sc) and abs(sc["dsmi"] - s0["dsmi"])
            <= max(ZERO_SE * math.hypot(sc["stderr"], s0["stderr"]), 0.05),
            "mlp_rises": len(mlps) > 1 and g(mlps[-1], "true")["dsmi"]
            > g(mlps[0], "true")["dsmi"],
            "min_sep_ratio": round(min(r["dsmi"] / r["h_y"] for r in sep), 4),
            # how close DSMI is to H(Y) on the separable cases: min of min(r, 1/r)
            "sep_calibration": round(min(min(max(r["dsmi"], 0.0) / r["h_y"],
                                             r["h_y"] / max(r["dsmi"], 1e-12))
                                         for r in sep), 4),
        }
        res["passed"] = sum(bool(res[c]) for c in CRITERIA)
        out.append(res)
    return out


def ranked(summary):
    """Most criteria first; among equals, those that pass the scale check, the real data
    (digits) and the null (independent labels), then the better calibrated (to 0.01),
    anisotropy 0 before 0.5, the smaller t."""
    return sorted(summary, key=lambda s: (-s["passed"], -s["scale_invariant"],
                                          -s["digits_positive"], -s["independent_zero"],
                                          -round(s["sep_calibration"], 2), -s["mlp_rises"],
                                          s["anisotropy"], T_RULES.index(s["t_rule"]),
                                          KERNEL_RULES.index(s["kernel_rule"])))


def choose(summary, n=3):
    """The best config, the best of the other kernel family, then the best other rule."""
    order = [s for s in ranked(summary) if s["kernel_rule"] not in PROBE_RULES]
    chosen = [order[0]]
    fam = order[0]["kernel_rule"][0]
    for s in order:
        if s["kernel_rule"][0] != fam:
            chosen.append(s)
            break
    for s in order:
        if len(chosen) >= n:
            break
        if s["kernel_rule"] not in {c["kernel_rule"] for c in chosen}:
            chosen.append(s)
    return [(c["kernel_rule"], c["t_rule"], c["anisotropy"]) for c in chosen]


def parse_config(text):
    rule, tr, an = text.split(":")
    if rule not in KERNEL_RULES or tr not in T_RULES:
        raise SystemExit(f"bad config {text!r}: RULE:T:ANISO, RULE in {KERNEL_RULES}, "
                         f"T in {T_RULES}")
    return rule, tr, float(an)


def cname(c):
    rule, tr, an = c
    return f"{rule}, t={tr}, a={an:g}"


# --------------------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_vs_t(rows, out):
    plt = _plt()
    idx = index(rows)
    cases = [("blobs_k5", "true", "5 blobs (d=20), true labels"),
             ("blobs_k5", "permuted", "5 blobs, permuted labels"),
             ("digits_raw", "true", "digits, raw pixels, true labels"),
             ("mlp_e30", "true", "MLP hidden layer (30 epochs), true labels")]
    cases = [c for c in cases if any(k[0] == c[0] and k[1] == c[1] for k in idx)]
    fig, axes = plt.subplots(1, len(cases), figsize=(4.3 * len(cases), 4), squeeze=False)
    for ax, (ds, lab, title) in zip(axes[0], cases):
        for rule in KERNEL_RULES:
            pts = [idx.get((ds, lab, rule, tr, 0.0)) for tr in T_RULES[:-1]]
            pts = [p for p in pts if p is not None]
            if not pts:
                continue
            line, = ax.plot([p["t"] for p in pts], [p["dsmi"] for p in pts], marker=".",
                            label=rule)
            a = idx.get((ds, lab, rule, "auto", 0.0))
            if a is not None:
                ax.plot([a["t"]], [a["dsmi"]], marker="*", ms=12, color=line.get_color(),
                        ls="none")
        ax.set_xscale("log")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel("t (star: t = auto)")
        ax.set_title(title, fontsize=9)
    axes[0][0].set_ylabel("DSMI (bits), anisotropy 0")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "dsmi_defaults_t.png", dpi=110)
    plt.close(fig)


def plot_criteria(summary, out):
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, an in zip(axes, ANISOTROPIES):
        M = np.full((len(KERNEL_RULES), len(T_RULES)), np.nan)
        for s in summary:
            if s["anisotropy"] == an:
                M[KERNEL_RULES.index(s["kernel_rule"]), T_RULES.index(s["t_rule"])] = \
                    s["passed"]
        im = ax.imshow(M, vmin=0, vmax=len(CRITERIA), cmap="viridis")
        for i in range(M.shape[0]):
            for j in range(M.shape[1]):
                if np.isfinite(M[i, j]):
                    ax.text(j, i, f"{int(M[i, j])}", ha="center", va="center",
                            color="w" if M[i, j] < 5 else "k", fontsize=9)
        ax.set_xticks(range(len(T_RULES)), T_RULES)
        ax.set_yticks(range(len(KERNEL_RULES)), KERNEL_RULES)
        ax.set_xlabel("t rule")
        ax.set_title(f"criteria passed (of {len(CRITERIA)}), anisotropy {an:g}")
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.savefig(out / "dsmi_defaults_criteria.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_suite(rows, configs, out):
    plt = _plt()
    idx = index(rows)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    for c in configs:
        rule, tr, an = c

        def g(ds, lab, rule=rule, tr=tr, an=an):
            return idx.get((ds, lab, rule, tr, an))

        ks = [k for k in SEPARABLE_K if g(f"blobs_k{k}", "true")]
        pts = [g(f"blobs_k{k}", "true") for k in ks]
        line, = axes[0].plot(ks, [p["dsmi"] / p["h_y"] for p in pts], marker="o",
                             label=cname(c))
        col = line.get_color()
        rs = [0.0] + [r for r in CORRUPTION if g("blobs_k5", f"corrupt_{r:g}")]
        pts = [g("blobs_k5", "true" if r == 0 else f"corrupt_{r:g}") for r in rs]
        axes[1].errorbar(rs, [p["dsmi"] for p in pts], [p["stderr"] for p in pts],
                         marker="o", color=col)
        lv = [x for x in ROLL_NOISE if g("swiss_roll", f"noise_{x:g}")]
        pts = [g("swiss_roll", f"noise_{x:g}") for x in lv]
        axes[2].errorbar(lv, [p["dsmi"] for p in pts],
                         [p["stderr"] for p in pts], marker="o", color=col)
        names = [("nested", "coarse"), ("nested", "fine"), ("digits_raw", "true"),
                 ("digits_raw", "shuffled"), ("digits_std", "true"), ("mlp_e1", "true"),
                 ("mlp_e5", "true"), ("mlp_e30", "true"), ("mlp_e30", "shuffled")]
        names = [nm for nm in names if g(*nm)]
        off = (configs.index(c) - (len(configs) - 1) / 2) * 0.8 / len(configs)
        axes[3].bar(np.arange(len(names)) + off, [g(*nm)["dsmi"] for nm in names],
                    width=0.8 / len(configs), yerr=[g(*nm)["stderr"] for nm in names],
                    color=col)
    axes[0].set_xscale("log")
    axes[0].set_xticks(SEPARABLE_K, [str(k) for k in SEPARABLE_K])
    axes[0].minorticks_off()
    axes[0].set_xlabel("k equal well-separated blobs (n = 1,500, d = 20)")
    axes[0].set_ylabel("DSMI / H(Y) = DSMI / log2 k")
    axes[0].axhline(1, color="grey", lw=0.5)
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("label corruption ratio (5 blobs)")
    axes[1].set_ylabel("DSMI (bits)")
    axes[2].set_xscale("symlog", linthresh=0.1)
    axes[2].set_xlabel("noise sd / sd(f) (swiss roll, 10 bins)")
    axes[3].set_xticks(range(len(names)), [f"{a}\n{b}" for a, b in names], fontsize=6,
                       rotation=45)
    axes[3].set_ylabel("DSMI (bits)")
    for ax in axes[1:]:
        ax.axhline(0, color="grey", lw=0.5)
    fig.tight_layout()
    fig.savefig(out / "dsmi_defaults_suite.png", dpi=110)
    plt.close(fig)


def plot_sweeps(rows, configs, out):
    plt = _plt()
    idx = index(rows)
    fams = [("sweep_d", "d (5 blobs, n = 1,500)"), ("sweep_n", "n (5 blobs, d = 20)"),
            ("sweep_imbalance", "size ratio of 2 blobs (d = 20)")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for c in configs:
        rule, tr, an = c
        for ax, (fam, xlabel) in zip(axes, fams):
            pts = sorted((r for r in rows if r["family"] == fam and r["kernel_rule"] == rule
                          and r["t_rule"] == tr and r["anisotropy"] == an),
                         key=lambda r: float(r["param"]))
            if fam != "sweep_imbalance":
                extra = idx.get(("blobs_k5", "true", rule, tr, an))
                if extra is not None:
                    pts = sorted(pts + [{**extra, "param": 20 if fam == "sweep_d"
                                         else extra["n"]}], key=lambda r: float(r["param"]))
            if pts:
                ax.errorbar([float(p["param"]) for p in pts],
                            [p["dsmi"] / p["h_y"] for p in pts],
                            [p["stderr"] / p["h_y"] for p in pts], marker="o",
                            label=cname(c))
            ax.set_xscale("log")
            ax.set_xlabel(xlabel)
    axes[0].set_ylabel("DSMI / H(Y)")
    for ax in axes:
        ax.axhline(1, color="grey", lw=0.5)
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "dsmi_defaults_sweeps.png", dpi=110)
    plt.close(fig)


def bias_table(rows, configs):
    """Per config and (n, k): mean and spread of DSMI over label seeds, mean stderr."""
    out = []
    for c in configs:
        rule, tr, an = c
        groups = {}
        for r in rows:
            if (r["kernel_rule"], r["t_rule"], r["anisotropy"]) == c:
                k = int(r["labels"].split("_")[1][1:])
                groups.setdefault((r["n"], k), []).append(r)
        for (n, k), rs in sorted(groups.items(), key=lambda x: (x[0][0] // x[0][1], x[0][0])):
            v = np.array([r["dsmi"] for r in rs])
            se = np.array([r["stderr"] for r in rs])
            sd = float(v.std(ddof=1)) if v.size > 1 else float("nan")
            out.append({"config": c, "n": n, "k": k, "n_y": n // k, "seeds": v.size,
                        "t": rs[0]["t"], "mean": float(v.mean()), "sd": sd,
                        "sem": sd / math.sqrt(v.size), "mean_stderr": float(se.mean()),
                        "ratio": sd / float(se.mean()) if se.mean() > 0 else float("nan"),
                        "outside3": int(np.sum(np.abs(v) > ZERO_SE * se))})
    return out


def plot_bias(table, configs, out):
    plt = _plt()
    fig, axes = plt.subplots(1, len(configs), figsize=(4.6 * len(configs), 4), squeeze=False)
    for ax, c in zip(axes[0], configs):
        rs = [r for r in table if r["config"] == c]
        for n in sorted({r["n"] for r in rs}):
            pts = sorted((r for r in rs if r["n"] == n), key=lambda r: r["n_y"])
            x = np.array([p["n_y"] for p in pts], dtype=float) * (1 + 0.03 * math.log2(n / 500))
            line = ax.errorbar(x, [p["mean"] for p in pts], [p["sd"] for p in pts],
                               marker="o", capsize=3, label=f"n = {n:,}: mean +- sd")
            col = line[0].get_color()
            ax.plot(x, [3 * p["mean_stderr"] for p in pts], ls=":", color=col)
            ax.plot(x, [-3 * p["mean_stderr"] for p in pts], ls=":", color=col)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("class size n_y (labels independent of Z)")
        ax.set_title(cname(c), fontsize=9)
    axes[0][0].set_ylabel("DSMI (bits); dotted: +-3 x mean reported stderr")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "dsmi_defaults_bias.png", dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- report


def machine():
    try:
        txt = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in txt.splitlines()
                     if line.startswith("Model name"))
        cpus = next(line.split(":", 1)[1].strip() for line in txt.splitlines()
                    if line.startswith("CPU(s)"))
        return f"{model}, {cpus} CPUs ({platform.machine()})"
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.machine()


def versions():
    import matplotlib
    import numba
    import scipy
    import sklearn

    import fastdse

    return (f"python {platform.python_version()}, fastdse {fastdse.__version__}, numpy "
            f"{np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
            f"numba {numba.__version__}, matplotlib {matplotlib.__version__}")


def fmt(r):
    return "n/a" if r is None else f"{r['dsmi']:+.3f} ± {r['stderr']:.3f}"


def mark(ok):
    return "✓" if ok else "✗"


def report(core, sweeps, bias, configs, summary, runtime, out, n_jobs):
    idx = index(core)
    L = ["<!-- generated:begin (benchmarks/bench_dsmi_defaults.py; edits here are lost) -->",
         f"Run: {time.strftime('%Y-%m-%d')}; {machine()}; {versions()}; "
         f"`n_jobs={n_jobs}`; " + runtime + ".", ""]
    # ---- summary matrix
    L += ["### Criteria passed per configuration", "",
          f"Cells: criteria passed of {len(CRITERIA)} (the issue's), then `s` when the "
          "scale check also passes. Rows: kernel rule, anisotropy; columns: t rule. "
          "Per-criterion detail: `dsmi_defaults_summary.csv`.", "",
          "| kernel rule | a | " + " | ".join(f"t={t}" for t in T_RULES) + " |",
          "|---|---:|" + "---:|" * len(T_RULES)]
    by = {(s["kernel_rule"], s["t_rule"], s["anisotropy"]): s for s in summary}
    for rule in KERNEL_RULES:
        for an in ANISOTROPIES:
            cells = []
            for tr in T_RULES:
                s = by.get((rule, tr, an))
                cells.append("" if s is None else
                             f"{s['passed']}{' s' if s['scale_invariant'] else ''}")
            if any(cells):
                L.append(f"| {rule} | {an:g} | " + " | ".join(cells) + " |")
    L += ["", "### The best configurations, criterion by criterion", "",
          "Ranked by criteria passed; among equals: the scale check, digits_positive and "
          "independent_zero (what a user sees on real data and under the null), the "
          "calibration on the separable cases (min over them of min(r, 1/r), r = DSMI / "
          "H(Y): 1 when DSMI = H(Y) everywhere; to 0.01), whether the MLP's DSMI rises "
          "from epoch 1 to 30, anisotropy 0 first, smaller t first. "
          "Today's default and the reference's "
          "(sigma = 10, t = 1) are added at the end.", "",
          "| rank | config | " + " | ".join(CRITERIA) + " | scale | MLP rises | "
          "min DSMI/H(Y) | calibration |", "|---:|---|" + "---:|" * (len(CRITERIA) + 4)]
    order = ranked(summary)
    shown = order[:12] + [s for s in order if (s["kernel_rule"], s["t_rule"],
                                               s["anisotropy"]) in (BASELINE, PAPER)
                          and s not in order[:12]]
    for s in shown:
        c = (s["kernel_rule"], s["t_rule"], s["anisotropy"])
        L.append(f"| {order.index(s) + 1} | {cname(c)} | "
                 + " | ".join(mark(s[k]) for k in CRITERIA)
                 + f" | {mark(s['scale_invariant'])} | {mark(s['mlp_rises'])} | "
                 f"{s['min_sep_ratio']:.2f} | {s['sep_calibration']:.2f} |")
    # ---- case table for the chosen configs
    cols = list(dict.fromkeys([*configs, BASELINE, PAPER]))
    L += ["", "### Every case, for the configurations studied further", "",
          "DSMI ± stderr in bits (exact, 5 subsets per class, `random_state=0`). H(Y) is the "
          "label entropy (log2 k for k equal classes); the t that t = auto chose is in the "
          "next table.", "",
          "| case | H(Y) | " + " | ".join(cname(c) for c in cols) + " |",
          "|---|---:|" + "---:|" * len(cols)]
    order = ["blobs_k2", "blobs_k5", "blobs_k10", "blobs_k20", "blobs_k50", "blobs_unequal",
             "blobs_k5_x0.1", "noise", "nested", "swiss_roll", "digits_raw", "digits_std",
             *(f"mlp_e{e}" for e in MLP_EPOCHS)]
    cases = sorted(dict.fromkeys((r["dataset"], r["labels"]) for r in core),
                   key=lambda c: (order.index(c[0]) if c[0] in order else len(order),
                                  c[0], c[1] != "true"))
    for ds, lab in cases:
        any_r = next(r for r in core if r["dataset"] == ds and r["labels"] == lab)
        L.append(f"| {ds} / {lab} | {any_r['h_y']:.2f} | "
                 + " | ".join(fmt(idx.get((ds, lab, *c))) for c in cols) + " |")
    # ---- t auto per dataset
    L += ["", "### t = auto per data set (knee of DSE(Z) over t = 1..100, anisotropy 0)", "",
          "| data set | n | d | " + " | ".join(KERNEL_RULES) + " |",
          "|---|---:|---:|" + "---:|" * len(KERNEL_RULES)]
    for ds in dict.fromkeys(r["dataset"] for r in core):
        r0 = next(r for r in core if r["dataset"] == ds)
        cells = []
        for rule in KERNEL_RULES:
            r = next((r for r in core if r["dataset"] == ds and r["kernel_rule"] == rule
                      and r["t_rule"] == "auto" and r["anisotropy"] == 0.0), None)
            cells.append("" if r is None else f"{r['t']:g}")
        L.append(f"| {ds} | {r0['n']} | {r0['d']} | " + " | ".join(cells) + " |")
    # ---- bandwidths
    L += ["", "### Gaussian bandwidths per data set (from Z)", "",
          "| data set | " + " | ".join(GAUSS_RULES) + " |",
          "|---|" + "---:|" * len(GAUSS_RULES)]
    for ds in dict.fromkeys(r["dataset"] for r in core):
        cells = []
        for rule in GAUSS_RULES:
            r = next((r for r in core if r["dataset"] == ds and r["kernel_rule"] == rule), None)
            cells.append("" if r is None else f"{r['sigma']:.3g}")
        L.append(f"| {ds} | " + " | ".join(cells) + " |")
    # ---- sweeps
    if sweeps:
        sidx = index(sweeps)
        L += ["", "### Sweeps: d, n, class imbalance (DSMI ± stderr; DSMI / H(Y))", ""]
        scols = list(dict.fromkeys([*configs, BASELINE]))
        L += ["| case | n | H(Y) | " + " | ".join(cname(c) for c in scols) + " |",
              "|---|---:|---:|" + "---:|" * len(scols)]
        fam_order = ("sweep_d", "sweep_n", "sweep_imbalance")
        firsts = {}
        for r in sweeps:
            firsts.setdefault(r["dataset"], r)
        for ds, r0 in sorted(firsts.items(), key=lambda x: (fam_order.index(x[1]["family"]),
                                                            float(x[1]["param"]))):
            cells = []
            for c in scols:
                r = sidx.get((ds, "true", *c))
                cells.append("n/a" if r is None else
                             f"{fmt(r)} ({r['dsmi'] / r['h_y']:.2f})")
            L.append(f"| {ds} | {r0['n']} | {r0['h_y']:.2f} | " + " | ".join(cells) + " |")
    # ---- bias
    if bias:
        table = bias_table(bias, configs)
        L += ["", "### Labels independent of Z: DSMI vs class size", "",
              "Blobs (5 centres, d = 20, n points), k equal classes drawn at random "
              "(independent of Z); one row per (n, k) over label seeds (the dsmi seed = the "
              "label seed). mean ± sem over seeds; sd: spread over seeds; stderr: mean "
              "reported stderr; sd/stderr: how much the reported stderr understates the "
              "spread; |v| > 3 se: seeds whose value is more than 3 reported stderr from 0.",
              "", "| config | n | k | n_y | seeds | t | mean ± sem | sd | stderr | sd/stderr "
              "| \\|v\\| > 3 se |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in table:
            L.append(f"| {cname(r['config'])} | {r['n']} | {r['k']} | {r['n_y']} | "
                     f"{r['seeds']} | {r['t']:g} | {r['mean']:+.4f} ± {r['sem']:.4f} | "
                     f"{r['sd']:.4f} | {r['mean_stderr']:.4f} | {r['ratio']:.1f} | "
                     f"{r['outside3']}/{r['seeds']} |")
    L += ["", "Plots: `dsmi_defaults_t.png` (DSMI vs t per kernel rule), "
          "`dsmi_defaults_criteria.png` (the summary matrix), `dsmi_defaults_suite.png` "
          "(the suite for the configurations above), `dsmi_defaults_sweeps.png`, "
          "`dsmi_defaults_bias.png`.", "<!-- generated:end -->"]
    block = "\n".join(L)
    md = out / "dsmi_defaults.md"
    begin, end = "<!-- generated:begin", "<!-- generated:end -->"
    if md.exists() and begin in md.read_text() and end in md.read_text():
        text = md.read_text()
        head = text[:text.index(begin)]
        tail = text[text.index(end) + len(end):]
        md.write_text(head + block + tail)
    else:
        md.write_text("# DSMI defaults: which kernel, bandwidth, t and anisotropy\n\n"
                      "`python benchmarks/bench_dsmi_defaults.py`\n\n## Tables\n\n" + block
                      + "\n\n## Reading the results\n\n(to be written)\n")


def write_summary(summary, path):
    write_csv(path, ({k: (int(v) if isinstance(v, bool) else v) for k, v in s.items()}
                     for s in summary), SUMMARY_FIELDS)


# --------------------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="small n, few cases and kernels (smoke test; writes to a temp dir)")
    p.add_argument("--out", type=Path, default=None, help=f"output directory (default {OUT})")
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--resume", action="store_true", help="keep the CSV rows already written")
    p.add_argument("--report-only", action="store_true",
                   help="tables and plots from the CSVs, no computation")
    p.add_argument("--configs", nargs="+", default=None, metavar="RULE:T:ANISO",
                   help="configurations for stage 2 (default: chosen from stage 1)")
    p.add_argument("--skip", nargs="+", default=[], choices=["sweeps", "bias"])
    args = p.parse_args()
    out = args.out or (Path(tempfile.gettempdir()) / "dsmi_defaults_quick" if args.quick
                       else OUT)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"dsmi_defaults{suffix}.csv" for name, suffix in
             (("core", ""), ("sweeps", "_sweeps"), ("bias", "_bias"))}
    start = time.perf_counter()
    stage_s = {}
    if args.quick:
        pairs = [("ad5", 0.0), ("g_knn5", 0.0), ("ad5_Z", 0.0)]
    else:
        pairs = [(rule, an) for rule in KERNEL_RULES if rule not in PROBE_RULES
                 for an in ANISOTROPIES] + [(rule, 0.0) for rule in PROBE_RULES]
    if not args.report_only:
        w = Writer(paths["core"], args.resume)
        t0 = time.perf_counter()
        run_datasets("core", core_datasets(args.quick), pairs, w, args.n_jobs)
        stage_s["core"] = time.perf_counter() - t0
    core = read_csv(paths["core"])
    summary = evaluate(core)
    write_summary(summary, out / "dsmi_defaults_summary.csv")
    configs = ([parse_config(c) for c in args.configs] if args.configs
               else choose(summary, 2 if args.quick else 3))
    print("stage 2 configurations:", [cname(c) for c in configs], flush=True)
    if not args.report_only:
        if "sweeps" not in args.skip:
            w = Writer(paths["sweeps"], args.resume)
            t0 = time.perf_counter()
            sweep_pairs = list(dict.fromkeys([(c[0], c[2]) for c in [*configs, BASELINE]]))
            run_datasets("sweeps", sweep_datasets(args.quick), sweep_pairs, w, args.n_jobs)
            stage_s["sweeps"] = time.perf_counter() - t0
        if "bias" not in args.skip:
            w = Writer(paths["bias"], args.resume)
            t0 = time.perf_counter()
            run_bias(configs, bias_grid(args.quick), w, args.n_jobs)
            stage_s["bias"] = time.perf_counter() - t0
    sweeps = read_csv(paths["sweeps"]) if paths["sweeps"].exists() else []
    bias = read_csv(paths["bias"]) if paths["bias"].exists() else []
    plot_vs_t(core, out)
    plot_criteria(summary, out)
    plot_suite(core, list(dict.fromkeys([*configs, BASELINE])), out)
    if sweeps:
        plot_sweeps(sweeps + core, list(dict.fromkeys([*configs, BASELINE])), out)
    if bias:
        plot_bias(bias_table(bias, configs), configs, out)
    total = time.perf_counter() - start
    if args.report_only:
        import re

        md = out / "dsmi_defaults.md"
        found = (re.search(r"last invocation: wall time [^)]*\)", md.read_text())
                 if md.exists() else None)
        runtime = found.group(0) if found else "tables regenerated from the CSVs"
    else:
        runtime = (f"last invocation: wall time {total / 60:.1f} min ("
                   + ", ".join(f"{k} {v / 60:.1f} min" for k, v in stage_s.items()) + ")")
    report(core, sweeps, bias, configs, summary, runtime, out, args.n_jobs)
    for s in ranked(summary)[:8]:
        print(f"{cname((s['kernel_rule'], s['t_rule'], s['anisotropy']))}: "
              f"{s['passed']}/{len(CRITERIA)}, scale {s['scale_invariant']}, "
              f"min ratio {s['min_sep_ratio']}, calibration {s['sep_calibration']}")
    print(f"total {total:.0f} s; wrote {out}")


if __name__ == "__main__":
    main()
