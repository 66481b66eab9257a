"""DSMI's defaults: textbook answers, the k-NN bandwidth rule, subsamples, t="auto".

The defaults (a Gaussian kernel with ``sigma="knn"``, t = 1, at most 5,000 points per
estimate) were chosen by ``benchmarks/bench_dsmi_defaults.py``; these tests hold the
suite's criteria on small data, so that a change of defaults that breaks them fails here.
Reference values come from scikit-learn's exact neighbour search and from fastdse's
own functions called with the numbers the rule produced.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs

import fastdse
from fastdse.dsmi_tasks import stratified_subsamples
from fastdse.operator.bandwidth import EXACT_QUERIES, KNN_SIGMA_RANK, knn_sigma


def reference_knn_sigma(X, rank=KNN_SIGMA_RANK):
    """scipy's all-pairs distances (coordinate differences), sorted: the rule by hand."""
    X = np.unique(X, axis=0)
    dist = np.sort(cdist(X, X), axis=1)
    return float(np.median(dist[:, rank]))  # column 0: the point itself


@pytest.fixture(scope="module")
def blobs():
    out = {}
    for k in (2, 5, 10):
        X, y = make_blobs(600, n_features=10, centers=k, random_state=k)
        out[k] = (X, y)
    return out


# --------------------------------------------------------------------------- textbook cases


def test_separable_classes_are_clearly_positive_and_grow_with_k(blobs):
    values = []
    for k in (2, 5, 10):
        X, y = blobs[k]
        res = fastdse.dsmi(X, y, random_state=0)
        assert res.value > max(10 * res.stderr, 0.3), (k, res)
        values.append(res.value)
    assert values[0] < values[1] < values[2]


def test_independent_labels_give_zero_within_the_null_spread(blobs):
    X, y = blobs[5]
    for seed in range(3):
        res = fastdse.dsmi(X, np.random.default_rng(seed).permutation(y), random_state=seed)
        assert abs(res.value) < 3 * res.info["null_stderr"], res
        assert res.info["null_stderr"] > res.stderr  # the subsets' error alone is too small


def test_corruption_lowers_dsmi_monotonically_to_zero(blobs):
    X, y = blobs[5]
    rng = np.random.default_rng(1)
    values = []
    for ratio in (0.0, 0.25, 0.5, 1.0):
        yc = y.copy()
        hit = rng.random(y.shape[0]) < ratio
        yc[hit] = rng.integers(0, 5, size=int(hit.sum()))
        res = fastdse.dsmi(X, yc, random_state=0)
        assert res.value > -3 * res.stderr
        values.append(res.value)
    assert values[0] > values[1] > values[2] > values[3] - 0.01
    assert abs(values[3]) < 0.05


def test_nested_labels_the_fine_labelling_carries_more():
    X, fine = make_blobs(900, n_features=10, centers=9, cluster_std=1.0, random_state=3)
    centers = np.array([X[fine == c].mean(axis=0) for c in range(9)])
    # three coarse groups: the fine blobs merged by their nearest-centre order
    coarse = np.argsort(np.argsort(centers[:, 0]))[fine] // 3
    c = fastdse.dsmi(X, coarse, random_state=0)
    f = fastdse.dsmi(X, fine, random_state=0)
    assert f.value > c.value + 3 * np.hypot(f.stderr, c.stderr)


def test_the_old_default_stays_reachable_and_is_what_the_issue_reported():
    X, y = make_blobs(1500, n_features=20, centers=5, random_state=0)
    old = fastdse.dsmi(X, y, kernel="alpha_decay", random_state=0)
    new = fastdse.dsmi(X, y, random_state=0)
    assert old.value < 0 < new.value  # the textbook case the old default got wrong
    assert old.info["kernel"] == "alpha_decay" and new.info["kernel"] == "gaussian"
    # a bandwidth is the Gaussian's: the alpha-decay result names none
    assert old.info["sigma"] is None and old.info["sigma_rule"] is None


# --------------------------------------------------------------------------- sigma="knn"


def test_knn_sigma_is_the_median_distance_to_the_30th_neighbour(rng):
    X = rng.normal(size=(800, 6))
    X = np.vstack([X, X[:100]])  # repeated rows do not count
    assert knn_sigma(np.unique(X, axis=0)) == pytest.approx(reference_knn_sigma(X), rel=1e-13)
    res = fastdse.dse(X, [1, 5], kernel="gaussian", sigma="knn", mode="exact")
    assert res.info["sigma"] == knn_sigma(np.unique(X, axis=0))
    ref = fastdse.dse(X, [1, 5], kernel="gaussian", sigma=res.info["sigma"], mode="exact")
    np.testing.assert_array_equal(res.value, ref.value)


def test_knn_sigma_follows_the_scale_and_ignores_an_offset(rng):
    X = rng.normal(size=(300, 4))
    base = knn_sigma(X)
    assert knn_sigma(X * 1e-120) == pytest.approx(base * 1e-120, rel=1e-12)
    assert knn_sigma(X + 1e6) == pytest.approx(base, rel=1e-6)
    with pytest.raises(ValueError, match="the points are \\(nearly\\) identical"):
        knn_sigma(np.zeros((1, 3)).repeat(2, axis=0) + [[0, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize("noise", [1e-7, 1e-10])
def test_knn_sigma_ranks_by_differences_in_a_collapsed_representation(rng, noise):
    # three classes of near-identical points far from the origin (a collapsed layer):
    # the Gram form's rounding exceeds the distances it would rank (it made sigma 3 % and
    # 27 % too large); the exact search's bound and differences find the true 30th
    centres = rng.uniform(size=(3, 24)) * 10.0
    X = np.repeat(centres, 200, axis=0) + rng.normal(size=(600, 24)) * noise
    assert knn_sigma(X) == pytest.approx(reference_knn_sigma(X), rel=1e-12)


def test_knn_sigma_beyond_the_exact_queries_is_a_seeded_sample(rng):
    X = rng.normal(size=(EXACT_QUERIES + 2000, 3))
    a = knn_sigma(X, rng=np.random.default_rng(0))
    assert a == knn_sigma(X, rng=np.random.default_rng(0))
    exact = np.median(np.sort(cdist(X[:3000], X), axis=1)[:, KNN_SIGMA_RANK])
    assert a == pytest.approx(exact, rel=0.02)
    with pytest.raises(ValueError, match="needs rng"):
        knn_sigma(X)


def test_dsmi_measures_sigma_once_on_z_and_reports_it(blobs):
    X, y = blobs[5]
    res = fastdse.dsmi(X, y, [1, 2], random_state=0)
    assert res.info["sigma"] == pytest.approx(reference_knn_sigma(X), rel=1e-13)
    assert res.info["sigma_rule"] == "knn" and res.info["kernel"] == "gaussian"
    ref = fastdse.dsmi(X, y, [1, 2], sigma=res.info["sigma"], random_state=0)
    np.testing.assert_array_equal(res.value, ref.value)
    assert ref.info["sigma_rule"] is None
    # every term is a DSE on the same bandwidth: the class term from fastdse.dse
    term = res.per_class[0]
    cls = fastdse.dse(X[y == term.label], [1, 2], kernel="gaussian",
                      sigma=res.info["sigma"], mode="exact")
    np.testing.assert_allclose(term.conditional, cls.value, rtol=1e-12)


# --------------------------------------------------------------------------- subsamples


def test_stratified_subsamples_keep_the_class_shares_and_are_disjoint():
    inverse = np.repeat([0, 1, 2], [6000, 3000, 30])
    counts = np.bincount(inverse)
    subs = stratified_subsamples(inverse, counts, 900, 3, 2, np.random.default_rng(0))
    assert len(subs) == 3
    for rows in subs:
        got = np.bincount(inverse[rows], minlength=3)
        assert got.tolist() == [598, 299, 3]  # shares of 900 by largest remainders
        assert np.all(np.diff(rows) > 0)
    assert len(np.unique(np.concatenate(subs))) == 3 * 900  # disjoint while points last
    # a class too small to share out: drawn afresh, at least min_size points
    tiny = np.repeat([0, 1], [10000, 3])
    subs = stratified_subsamples(tiny, np.bincount(tiny), 500, 4, 2, np.random.default_rng(0))
    assert all(np.bincount(tiny[rows]).tolist() == [500, 2] for rows in subs)


def test_dsmi_above_max_points_pools_class_stratified_subsamples(blobs):
    X, y = blobs[5]
    res = fastdse.dsmi(X, y, max_points=200, n_subsamples=4, random_state=0)
    assert res.info["n_subsamples"] == 4 and res.info["max_points"] == 200
    assert res.info["subsample_sizes"] == [200] * 4 and res.n == 600
    assert res.value == pytest.approx(np.mean(res.info["subsample_values"]), rel=1e-12)
    spread = np.std(res.info["subsample_values"], ddof=1) / 2
    assert res.stderr >= spread
    assert len(res.info["sigmas"]) == 4 and res.info["sigma"] == np.median(res.info["sigmas"])
    assert [t.size for t in res.per_class] == np.bincount(y).tolist()
    again = fastdse.dsmi(X, y, max_points=200, n_subsamples=4, random_state=0)
    assert again.value == res.value  # same seed, same number
    whole = fastdse.dsmi(X, y, random_state=0)
    assert abs(res.value - whole.value) < 0.5  # the same estimator at a third of the points
    # max_points at or above n: the whole data, as max_points=None
    same = fastdse.dsmi(X, y, max_points=600, random_state=0)
    assert same.value == fastdse.dsmi(X, y, max_points=None, random_state=0).value
    assert "n_subsamples" not in same.info


def test_null_stderr_is_the_spread_of_an_independent_class(blobs):
    X, y = blobs[2]
    res = fastdse.dsmi(X, y, num_repetitions=4, random_state=0)
    p = np.bincount(y) / y.shape[0]
    var = [np.var(t.unconditional_reps, ddof=1) * (1 + 1 / 4) for t in res.per_class]
    assert res.info["null_stderr"] == pytest.approx(np.sqrt(np.sum(p**2 * var)), rel=1e-12)
    one = fastdse.dsmi(X, y, num_repetitions=1, random_state=0)
    assert "null_stderr" not in one.info and np.isnan(one.stderr)


# --------------------------------------------------------------------------- t="auto"


def test_t_auto_is_chosen_once_on_z_and_reported(blobs):
    X, y = blobs[5]
    res = fastdse.dsmi(X, y, "auto", random_state=0)
    knee = fastdse.dse(X, "auto", kernel="gaussian", sigma=res.info["sigma"], mode="exact")
    assert res.t == res.info["t_auto"] == knee.t
    assert np.ndim(res.value) == 0 and res.value > 0
    sub = fastdse.dsmi(X, y, "auto", max_points=300, n_subsamples=2, random_state=0)
    assert sub.t == sub.info["t_auto"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kw, exc, match", [
    ({"max_points": 3}, ValueError, "max_points must be >= 4"),
    ({"max_points": 2.5}, TypeError, "max_points must be an integer"),
    ({"n_subsamples": 0}, ValueError, "n_subsamples must be >= 1"),
    ({"sigma": "median"}, ValueError, "sigma must be one of 'knn'; got 'median'"),
    ({"t": "knee"}, TypeError, "or 'auto'; got 'knee'"),
])
def test_bad_dsmi_arguments_name_the_parameter(blobs, kw, exc, match):
    X, y = blobs[2]
    with pytest.raises(exc, match=match):
        fastdse.dsmi(X, y, **kw)
