"""DSMI: definition, label kinds, errors; at scale: approximate mode and parallel runs."""

import random
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp

import fastdse
from fastdse import settings as settings_module
from fastdse.mutual_information import discretize


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(7)
    labels = np.repeat([0, 1, 2, 3], 60)
    Z = rng.normal(size=(240, 4)) + 30 * np.eye(4)[labels]
    return Z, labels


KW = dict(mode="exact", kernel="gaussian", sigma=3.0, num_repetitions=3, random_state=0)


def test_variable_with_itself_vs_random_labels(blobs):
    Z, labels = blobs
    informative = fastdse.dsmi(Z, labels, t=50, **KW)
    shuffled = fastdse.dsmi(Z, np.random.default_rng(1).permutation(labels), t=50, **KW)
    # at large t only the components count: each class has one (0 bits), a random subset
    # of the class's size spans all four blobs (2 bits), so DSMI = log2(4)
    assert informative.value == pytest.approx(2.0, abs=0.02)
    assert abs(shuffled.value) < 0.02
    assert informative.stderr >= 0 and shuffled.stderr >= 0
    # at t = 1 the subsets differ, so the matched unconditional term has a spread
    assert fastdse.dsmi(Z, labels, **KW).stderr > 0


def test_definition_from_per_class_terms(blobs):
    Z, labels = blobs
    res = fastdse.dsmi(Z, labels, t=[1, 3], **KW)
    # each conditional term is the DSE of that class alone
    for term in res.per_class:
        alone = fastdse.dse(Z[labels == term.label], t=[1, 3], mode="exact", kernel="gaussian",
                            sigma=3.0)
        np.testing.assert_allclose(term.conditional, alone.value, rtol=1e-12)
        np.testing.assert_allclose(term.unconditional, term.unconditional_reps.mean(axis=0))
        assert term.size == 60
    p = np.array([t.size for t in res.per_class]) / len(labels)
    gap = np.array([t.unconditional - t.conditional for t in res.per_class])
    np.testing.assert_allclose(res.value, (p[:, None] * gap).sum(axis=0), rtol=1e-12)


def test_conditional_terms_match_dse_dsmi(blobs):
    with warnings.catch_warnings():
        import dse_dsmi
    Z, labels = blobs
    res = fastdse.dsmi(Z, labels, **KW)
    state = random.getstate()
    try:
        for term in res.per_class:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = dse_dsmi.diffusion_spectral_entropy(Z[labels == term.label],
                                                          gaussian_kernel_sigma=3.0)
            assert term.conditional == pytest.approx(ref, rel=1e-9, abs=1e-11)
    finally:
        random.setstate(state)


def test_label_dtypes_give_identical_results(blobs):
    Z, labels = blobs
    base = fastdse.dsmi(Z, labels, **KW)
    names = np.array(["a", "b", "c", "d"])[labels]
    as_obj = names.astype(object)
    for Y in (names, as_obj, labels.astype(np.uint8), labels.reshape(-1, 1)):
        other = fastdse.dsmi(Z, Y, **KW)
        assert other.value == pytest.approx(base.value, rel=1e-12)
    bools = fastdse.dsmi(Z[:120], labels[:120] == 1, **KW)
    assert [t.label for t in bools.per_class] == [False, True]


def test_continuous_1d_is_binned_like_explicit_clusters(rng):
    Z = rng.normal(size=(200, 3))
    y = Z[:, 0] + 0.1 * rng.normal(size=200)
    res = fastdse.dsmi(Z, y, n_clusters=4, **KW)
    bins = discretize(y, n_clusters=4)
    assert set(np.unique(bins)) <= {1, 2, 3, 4}
    np.testing.assert_array_equal(res.clusters, bins)
    again = fastdse.dsmi(Z, None, clusters=bins, **KW)
    assert again.value == pytest.approx(res.value, rel=1e-12)
    # Y carries information about Z's first coordinate
    assert res.value > 0.2


def test_continuous_multid_is_clustered(rng):
    centres = np.repeat(np.eye(3) * 20, 50, axis=0)
    Y = centres + rng.normal(size=(150, 3))
    Z = Y @ rng.normal(size=(3, 5))
    # separated clusters leave the kNN graph of Y with one component each: fastdse's own
    # clustering (fastdse.cluster) takes the components as they are, with no warning
    # (scikit-learn's SpectralClustering, used before, warned "not fully connected")
    res = fastdse.dsmi(Z, Y, n_clusters=3, **KW)
    assert len(res.per_class) == 3 and res.clusters.shape == (150,)
    assert sorted(t.size for t in res.per_class) == [50, 50, 50]
    truth = np.repeat([0, 1, 2], 50)
    for c in range(3):  # every cluster is one blob
        assert np.unique(truth[res.clusters == c]).shape == (1,)


def test_seed_determinism(blobs):
    Z, labels = blobs
    a = fastdse.dsmi(Z, labels, **KW)
    b = fastdse.dsmi(Z, labels, **KW)
    c = fastdse.dsmi(Z, labels, **{**KW, "random_state": 1})
    assert a.value == b.value
    assert a.value != c.value


def test_sequence_of_t(blobs):
    Z, labels = blobs
    res = fastdse.dsmi(Z, labels, t=[1, 2], **KW)
    assert res.value.shape == (2,) and res.stderr.shape == (2,)
    with pytest.raises(TypeError, match="single t"):
        float(res)


@pytest.mark.parametrize(
    "Y,kw,exc,match",
    [
        (np.zeros(10, dtype=int), {}, ValueError, "same number of points.*40.*10"),
        (np.zeros(40, dtype=int), {}, ValueError, "single class"),
        (np.r_[np.zeros(39, dtype=int), 1], {}, ValueError, "class 1 of Y has 1 point"),
        (np.r_[np.zeros(37, dtype=int), 1, 1, 1], {"kernel": "alpha_decay"}, ValueError,
         r"class 1 of Y has 3 point.*knn \+ 1 = 6"),
        (np.r_[np.full(39, 0.5), np.nan], {}, ValueError, "NaN"),
        (np.linspace(0, 1, 40), {"n_clusters": 1}, ValueError, "n_clusters must be >= 2"),
        (np.linspace(0, 1, 40), {"n_clusters": 41}, ValueError, "n_clusters must be <= 40"),
        (np.full(40, 3.0), {}, ValueError, "single class"),
        (np.repeat(["a", "b"], 20), {"y_kind": "continuous"}, TypeError, "must be numeric"),
        (np.repeat([0, 1], 20), {"y_kind": "sometimes"}, ValueError, "kind must be one of"),
        (np.repeat([0, 1], 20), {"num_repetitions": 0}, ValueError,
         "num_repetitions must be >= 1"),
        # continuous multi-dimensional Y
        (np.r_[np.ones((39, 2)), [[np.nan, 0.0]]], {}, ValueError, "Y contains 1 NaN"),
        (np.ones((10, 2)), {}, ValueError, "same number of points.*40.*10"),
        (np.arange(80.0).reshape(40, 2), {"n_clusters": 1}, ValueError,
         "n_clusters must be >= 2"),
        (np.arange(80.0).reshape(40, 2), {"n_clusters": 41}, ValueError,
         "n_clusters must be <= 40"),
        # labels of mixed types cannot be ordered
        (np.array([1, "a"] * 20, dtype=object), {}, TypeError, "mutually comparable"),
        (np.repeat(["a"], 40), {}, ValueError, r"single class \('a'\)"),
        (np.repeat(["a", "b"], 20), {"n_deflate": 20}, ValueError,
         r"n_deflate must be <= 19.*'a' of Y with 20 points"),
        (np.repeat([0, 1], 20), {"n_jobs": 0}, ValueError, "n_jobs must be None"),
        (np.repeat([0, 1], 20), {"n_jobs": 1.5}, TypeError, "n_jobs must be an integer"),
        (np.repeat([0, 1], 20), {"progress": "yes"}, TypeError, "progress must be None, True"),
        (np.repeat([0, 1], 20), {"n_probes": 1}, ValueError, "n_probes must be >= 2"),
        (np.repeat([0, 1], 20), {"neighbors": "faiss"}, ValueError, "neighbors must be one of"),
        (np.repeat([0, 1], 20), {"base": 1.0}, ValueError, "base must be greater than 1"),
    ],
)
def test_bad_input(rng, Y, kw, exc, match):
    Z = rng.normal(size=(40, 3))
    with pytest.raises(exc, match=match):
        fastdse.dsmi(Z, Y, **{**KW, **kw})


def test_bad_z(rng):
    with pytest.raises(ValueError, match="Z contains 1 NaN"):
        fastdse.dsmi(np.r_[rng.normal(size=(9, 2)), [[np.nan, 0]]], np.repeat([0, 1], 5))


def test_bad_clusters(rng):
    Z = rng.normal(size=(40, 3))
    with pytest.raises(ValueError, match="Z and clusters must have the same number of points"):
        fastdse.dsmi(Z, None, clusters=np.repeat([0, 1], 10), **KW)
    with pytest.raises(ValueError, match="clusters must be 1-D labels"):
        fastdse.dsmi(Z, None, clusters=np.zeros((40, 2)), **KW)


def test_class_smaller_than_neighbourhood_names_class_and_size(rng):
    Z = rng.normal(size=(40, 3))
    y = np.array(["big"] * 36 + ["tiny"] * 4)
    with pytest.raises(ValueError, match=r"class 'tiny' of Y has 4 point.*knn \+ 1 = 6"):
        fastdse.dsmi(Z, y, **{**KW, "kernel": "alpha_decay"})
    # a smaller knn admits it
    res = fastdse.dsmi(Z, y, **{**KW, "kernel": "alpha_decay", "knn": 3})
    assert [t.size for t in res.per_class] == [36, 4]


def test_precomputed_clusters_equal_discrete_labels(blobs):
    Z, labels = blobs
    direct = fastdse.dsmi(Z, labels, **KW)
    reused = fastdse.dsmi(Z, None, clusters=labels, **KW)
    assert reused.value == direct.value
    np.testing.assert_array_equal(reused.clusters, labels)


def test_progress_false_writes_nothing(blobs, capfd):
    Z, labels = blobs
    fastdse.dsmi(Z, labels, progress=False, **KW)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_progress_true_draws_a_bar(blobs, capfd):
    Z, labels = blobs
    fastdse.dsmi(Z, labels, progress=True, **KW)
    _, err = capfd.readouterr()
    assert "DSMI" in err and "16/16" in err  # 4 classes x (1 + 3 repetitions)


def test_progress_default_is_silent_off_a_terminal(blobs, capfd):
    Z, labels = blobs
    fastdse.dsmi(Z, labels, **KW)  # pytest's captured stderr is not a TTY
    assert capfd.readouterr().err == ""


def test_result_info(blobs):
    Z, labels = blobs
    res = fastdse.dsmi(Z, labels, **KW)
    assert res.info["n_evaluations"] == 16 and res.info["n_classes"] == 4
    assert res.info["n_jobs"] == 1
    assert set(res.info["timings"]) >= {"labels", "dse_wall", "dse_sum", "total"}


def test_precomputed_fixed_bandwidth_affinity_equals_points():
    from fastdse.operator.kernel import dense_affinity

    rng = np.random.default_rng(5)
    labels = np.repeat([0, 1, 2], 60)
    Z = rng.normal(size=(180, 4)) + 3.0 * labels[:, None]
    K = dense_affinity(Z, "gaussian", knn=5, decay=40.0, sigma=2.0, thresh=0.0)
    from_points = fastdse.dsmi(Z, labels, [1, 4], kernel="gaussian", sigma=2.0, thresh=0,
                               mode="exact", random_state=3)
    from_K = fastdse.dsmi(K, labels, [1, 4], kernel="precomputed", mode="exact",
                          random_state=3)
    np.testing.assert_allclose(from_K.value, from_points.value, rtol=1e-10, atol=1e-12)
    sparse_K = fastdse.dsmi(sp.csr_matrix(K), labels, [1, 4], kernel="precomputed",
                            mode="exact", random_state=3)
    np.testing.assert_allclose(sparse_K.value, from_points.value, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="square"):
        fastdse.dsmi(K[:, :-1], labels, kernel="precomputed")


# --------------------------------------------------------------------------- at scale


def _blobs(rng, sizes, d=8, scale=6.0):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    centres = rng.normal(scale=scale, size=(len(sizes), d))
    return centres[labels] + rng.normal(size=(labels.size, d)), labels



@pytest.fixture(scope="module")
def mid_blobs():
    # classes of 400-600 points: solved densely under the automatic plan (up to
    # AUTO_DENSE_MAX_N points), stochastically with the stochastic_plan fixture
    return _blobs(np.random.default_rng(3), [600, 500, 400])


# --------------------------------------------------------------------------- approx


@pytest.mark.parametrize("t", [1.0, 5.0])
def test_approx_agrees_with_exact(mid_blobs, t, stochastic_plan):
    Z, labels = mid_blobs
    kw = dict(num_repetitions=3, random_state=0, n_jobs=1)  # n_jobs: same numbers, see below
    exact = fastdse.dsmi(Z, labels, t, mode="exact", **kw)
    approx = fastdse.dsmi(Z, labels, t, mode="approx", **kw)
    assert exact.mode == "exact" and approx.mode == "approx"
    assert approx.stderr > 0
    # different random subsets and probes: the combined stderr of both covers the gap
    both = np.hypot(exact.stderr, approx.stderr)
    assert abs(approx.value - exact.value) <= 0.02 + 3 * both
    # the same subsets are drawn in both modes (seeds per task), so the conditional
    # terms are on identical points: compare them directly
    for e, a in zip(exact.per_class, approx.per_class):
        assert a.conditional == pytest.approx(e.conditional, abs=0.02)
    assert np.all(approx.info["quadrature_bias"] >= 0)


def test_auto_mode_runs_small_classes_exact(mid_blobs, monkeypatch):
    Z, labels = mid_blobs
    res = fastdse.dsmi(Z, labels, mode="auto", num_repetitions=2, random_state=0, n_jobs=1)
    assert res.mode == "exact"  # every class and subset is below AUTO_EXACT_MAX_N
    monkeypatch.setattr(settings_module, "AUTO_EXACT_MAX_N", 450)
    mixed = fastdse.dsmi(Z, labels, mode="auto", num_repetitions=2, random_state=0, n_jobs=1)
    assert mixed.mode == "mixed"  # the 400-point class exact, the others approximate
    assert abs(mixed.value - res.value) <= 0.05 + 3 * np.hypot(mixed.stderr, res.stderr)


def test_approx_parameters_pass_through(mid_blobs):
    Z, labels = mid_blobs
    a = fastdse.dsmi(Z, labels, mode="approx", num_repetitions=2, n_probes=4, n_steps=20,
                     n_deflate=0, neighbors="exact", random_state=0)
    b = fastdse.dsmi(Z, labels, mode="approx", num_repetitions=2, random_state=0)
    assert a.value != b.value
    assert a.stderr > b.stderr  # 4 probes, not 20


# --------------------------------------------------------------------------- parallel


@pytest.fixture(scope="module")
def serial_approx(mid_blobs):
    Z, labels = mid_blobs
    return fastdse.dsmi(Z, labels, [1, 4], mode="approx", num_repetitions=2, random_state=5)


@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_n_jobs_gives_the_serial_numbers(mid_blobs, serial_approx, n_jobs):
    Z, labels = mid_blobs
    res = fastdse.dsmi(Z, labels, [1, 4], mode="approx", num_repetitions=2, random_state=5,
                       n_jobs=n_jobs)
    np.testing.assert_array_equal(res.value, serial_approx.value)
    np.testing.assert_array_equal(res.stderr, serial_approx.stderr)
    for a, b in zip(res.per_class, serial_approx.per_class):
        np.testing.assert_array_equal(a.unconditional_reps, b.unconditional_reps)


def test_threads_give_the_serial_numbers_of_the_stochastic_estimate(mid_blobs, stochastic_plan):
    Z, labels = mid_blobs
    kw = dict(mode="approx", num_repetitions=2, random_state=5)
    serial = fastdse.dsmi(Z, labels, [1, 4], n_jobs=1, **kw)
    assert serial.info["quadrature_bias"][0] > 0  # the Lanczos quadrature ran (t = 1)
    res = fastdse.dsmi(Z, labels, [1, 4], n_jobs=2, **kw)
    np.testing.assert_array_equal(res.value, serial.value)
    np.testing.assert_array_equal(res.stderr, serial.stderr)


@pytest.mark.slow
def test_process_backend_gives_the_serial_numbers(mid_blobs, serial_approx):
    Z, labels = mid_blobs
    with joblib.parallel_config(backend="loky", n_jobs=2):
        res = fastdse.dsmi(Z, labels, [1, 4], mode="approx", num_repetitions=2,
                           random_state=5)
    assert res.info["n_jobs"] == 2
    np.testing.assert_array_equal(res.value, serial_approx.value)


def test_generator_seed_is_consumed_once(mid_blobs):
    Z, labels = mid_blobs
    a = fastdse.dsmi(Z, labels, mode="exact", num_repetitions=2,
                     random_state=np.random.default_rng(9))
    b = fastdse.dsmi(Z, labels, mode="exact", num_repetitions=2, random_state=9)
    assert a.value == b.value


def test_multid_y_through_dsmi_and_reuse(rng):
    Y, truth = _blobs(rng, [250, 250, 250], d=3, scale=8.0)
    Z = Y @ rng.normal(size=(3, 6)) + 0.1 * rng.normal(size=(750, 6))
    res = fastdse.dsmi(Z, Y, n_clusters=3, num_repetitions=2, random_state=0)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, res.clusters) > 0.95
    again = fastdse.dsmi(Z, None, clusters=res.clusters, num_repetitions=2, random_state=0)
    assert again.value == pytest.approx(res.value, abs=0.05 + 3 * np.hypot(res.stderr,
                                                                           again.stderr))


def test_dsmi_at_one_t_does_not_depend_on_the_other_t_requested():
    # every evaluation sizes its estimator for a fixed range of t, as dse does (classes of
    # 3,000 points in 8-d: sized for t = 100 their deflation would differ from t = 1's)
    rng = np.random.default_rng(11)
    labels = np.repeat([0, 1], 3000)
    Z = rng.normal(size=(6000, 8)) + 3.0 * labels[:, None]
    kw = dict(mode="approx", kernel="alpha_decay", max_points=None, neighbors="exact",
              num_repetitions=2, random_state=4)
    alone = fastdse.dsmi(Z, labels, 1, **kw)
    among = fastdse.dsmi(Z, labels, [100, 1], **kw)
    assert alone.value == among.value[1] and alone.stderr == among.stderr[1]
