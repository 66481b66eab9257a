"""DiffusionGraph: settings and what they resolve to, the mode table, caching, seeds."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

import fastdse
from fastdse import DiffusionGraph, modes
from fastdse import settings as settings_module
from fastdse.operator.kernel import dense_affinity


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(2).normal(size=(400, 5))


def test_settings_are_frozen_and_resolved_on_the_data(X):
    g = DiffusionGraph(X, kernel="gaussian", sigma=None, thresh=None, n_jobs=-2)
    assert g.settings.sigma is None and g.settings.thresh is None and g.settings.n_jobs == -2
    # the reference's bandwidth; the dense and the sparse Gaussian drop what falls below 1e-4
    assert (g.resolved.sigma, g.resolved.thresh, g.resolved.sparse_thresh) == (10.0, 1e-4, 1e-4)
    assert g.resolved.mode == g.mode_ == "exact" and g.kernel_ == "gaussian"
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.settings.knn = 7


def test_auto_resolves_by_size_and_by_affinity_kind(X, monkeypatch):
    monkeypatch.setattr(settings_module, "AUTO_EXACT_MAX_N", 399)
    assert DiffusionGraph(X).mode_ == "approx"
    K = dense_affinity(X, "alpha_decay", knn=5, decay=40.0, thresh=1e-4)
    # a dense affinity is already n x n: eigvalsh beats matvecs at any size
    assert DiffusionGraph(K, kernel="precomputed").mode_ == "exact"
    assert DiffusionGraph(sp.csr_matrix(K), kernel="precomputed").mode_ == "approx"
    monkeypatch.setattr(settings_module, "AUTO_EXACT_MAX_N", 400)
    assert DiffusionGraph(X).mode_ == "exact"


def test_the_measure_is_built_once_by_the_mode_table(X, monkeypatch):
    calls = []
    exact = modes.BUILDERS["exact"]

    def counting(*args):
        calls.append(args[2].mode)  # the resolved settings the builder receives
        return exact(*args)

    monkeypatch.setitem(modes.BUILDERS, "exact", counting)
    g = DiffusionGraph(X, mode="exact")
    g.dse([1, 2])
    g.dse(5)
    g.eigenvalues()
    assert calls == ["exact"]
    assert g.degrees_.shape == (400,) and "spectral_measure" in g.timings_


def test_dse_and_the_graph_give_the_same_numbers(X, stochastic_plan):
    kw = dict(mode="approx", neighbors="exact", knn=7, random_state=3)
    a = fastdse.dse(X, [1, 4], **kw)
    b = DiffusionGraph(X, **kw).dse([1, 4])
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.stderr, b.stderr)


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_the_value_at_one_t_does_not_depend_on_the_other_t_requested(mode):
    # same data, settings and seed: the estimator is sized for a fixed range of t, so t = 1
    # asked alone and t = 1 asked with t = 100 are the same computation, bit for bit (on
    # these 3,000 points in 8-d, deflation sized for t = 100 would differ from t = 1's)
    X = np.random.default_rng(2).normal(size=(3000, 8))
    kw = dict(mode=mode, neighbors="exact", random_state=5)
    alone = fastdse.dse(X, 1, **kw)
    among = fastdse.dse(X, [100, 1, 20], **kw)
    assert float(alone.value) == among.value[1]
    assert float(alone.stderr) == among.stderr[1]
    if mode == "approx":
        assert alone.info["n_deflate"] == among.info["n_deflate"]


def test_stage_seeds_do_not_depend_on_which_stage_asks_first():
    a, b = modes.Seeds(np.random.default_rng(4)), modes.Seeds(np.random.default_rng(4))
    neighbors_first = (a("neighbors"), a("spectrum"))
    spectrum_first = b("spectrum")
    assert (b("neighbors"), spectrum_first) == neighbors_first
    assert len(set(neighbors_first)) == 2


@pytest.mark.parametrize(
    "kw,exc,match",
    [
        ({"n_jobs": 0}, ValueError, r"n_jobs must be None \(all cores\)"),
        ({"knn": 400}, ValueError, r"knn must be <= 399 \(n - 1"),
        ({"n_deflate": 400}, ValueError, "n_deflate must be <= 399"),
        ({"mode": "approx", "thresh": 0.0}, ValueError, "thresh must be > 0 for a sparse"),
        ({"landmark_method": "svd"}, ValueError, "landmark_method must be one of"),
        ({"progress": "yes"}, TypeError, "progress must be None, True or False"),
        ({"verbose": 3}, TypeError, "verbose must be False, True, 0, 1 or 2"),
    ],
)
def test_bad_settings_are_refused_when_the_graph_is_made(X, kw, exc, match):
    with pytest.raises(exc, match=match):
        DiffusionGraph(X, **kw)


def test_repr_names_what_runs(X):
    assert repr(DiffusionGraph(X, mode="exact")) == (
        "DiffusionGraph(n=400, d=5, mode='exact', kernel='alpha_decay')")


def test_info_reports_the_threshold_of_the_kernel_that_ran(X):
    # one default threshold in every mode; thresh=0 (exact only) keeps every pair
    approx = fastdse.dse(X, mode="approx", kernel="gaussian", sigma=0.5, random_state=0)
    exact = fastdse.dse(X, mode="exact", kernel="gaussian", sigma=0.5)
    assert approx.info["thresh"] == approx.info["operator"]["thresh"] == 1e-4
    assert exact.info["thresh"] == 1e-4
    assert fastdse.dse(X, mode="exact", kernel="gaussian", sigma=0.5, thresh=0).info["thresh"] == 0


def test_an_estimate_above_log_n_is_brought_to_the_bound():
    from fastdse.spectral.measure import SpectralMeasure

    g = DiffusionGraph(np.random.default_rng(0).normal(size=(4, 2)), mode="exact", knn=2)
    # two probes whose quadrature weights overestimate the trace: Z = 5.5 > n = 4 with
    # every node at 1, so the raw estimate is log2(5.5) bits, above log2(4) = 2
    g._measure = SpectralMeasure(nodes=np.ones(4), weights=np.array([1.5, 1.5, 1.25, 1.25]),
                                 probe=np.array([0, 0, 1, 1]), n=4, n_probes=2, method="slq")
    res = g.dse([1.0, 3.0])
    np.testing.assert_array_equal(res.value, [2.0, 2.0])
    np.testing.assert_array_equal(res.info["clipped_to_log_n"], [True, True])
    assert "clipped_to_log_n" not in fastdse.dse(np.eye(5), kernel="precomputed").info
