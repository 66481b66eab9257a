"""mode="approx" through the public API, against the exact path on the same kernel."""

import numpy as np
import pytest

import fastdse
from fastdse import DiffusionGraph
from fastdse import settings as settings_module

TS = [1, 2, 5, 10, 50]


def tolerance(exact):
    # the project's accuracy target: max(0.5 % of the exact value, 0.02 bits)
    return np.maximum(0.005 * np.abs(exact), 0.02)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(3)
    return np.vstack([
        rng.normal(size=(700, 8)),
        rng.normal(size=(400, 8)) * 0.4 + 3.0,
        rng.normal(size=(200, 8)) * 2.0 - 4.0,
    ])


@pytest.fixture(scope="module")
def exact_blobs(blobs):
    return fastdse.dse(blobs, TS, mode="exact")


@pytest.fixture(scope="module")
def approx_blobs(blobs):
    return fastdse.dse(blobs, TS, mode="approx", neighbors="exact", random_state=0)


def test_approx_matches_exact(exact_blobs, approx_blobs):
    err = np.abs(approx_blobs.value - exact_blobs.value)
    assert np.all(err <= tolerance(exact_blobs.value)), err
    assert approx_blobs.mode == "approx" and approx_blobs.eigenvalues is None


def test_stderr_and_bias_reported(exact_blobs, approx_blobs):
    se = approx_blobs.stderr
    assert se.shape == (5,) and np.all(se >= 0) and se[0] > 0
    assert approx_blobs.info["quadrature_bias"].shape == (5,)
    err = np.abs(approx_blobs.value - exact_blobs.value)
    # the reported error bar covers the actual error (the project's criterion)
    assert np.mean(err <= 3 * se + 0.01) >= 0.8


def test_same_seed_same_number(blobs, approx_blobs):
    again = fastdse.dse(blobs, TS, mode="approx", neighbors="exact", random_state=0)
    np.testing.assert_array_equal(again.value, approx_blobs.value)
    other = fastdse.dse(blobs, TS, mode="approx", neighbors="exact", random_state=1)
    assert not np.array_equal(other.value, approx_blobs.value)


def test_generator_seed_is_accepted(blobs):
    a = fastdse.dse(blobs, 1, mode="approx", random_state=np.random.default_rng(5))
    b = fastdse.dse(blobs, 1, mode="approx", random_state=np.random.default_rng(5))
    assert a.value == b.value


def test_narrow_gaussian(rng):
    X = rng.normal(size=(1200, 3))
    exact = fastdse.dse(X, [1, 5], mode="exact", kernel="gaussian", sigma=0.3, thresh=1e-4)
    approx = fastdse.dse(X, [1, 5], mode="approx", kernel="gaussian", sigma=0.3,
                         thresh=1e-4, random_state=0)
    assert np.all(np.abs(approx.value - exact.value) <= tolerance(exact.value))


def test_wide_gaussian_warns_instead_of_silently_truncating(rng):
    # more points than the widest neighbourhood the sparse kernel searches
    n = fastdse.operator.kernel.MAX_NEIGHBORS + 500
    X = rng.uniform(size=(n, 4))
    with pytest.warns(fastdse.operator.kernel.TruncationWarning, match="mass"):
        fastdse.dse(X, 1, mode="approx", kernel="gaussian", sigma=10.0, random_state=0)


def test_graph_reuse_and_eigenvalues_refused(blobs):
    g = DiffusionGraph(blobs, mode="approx", random_state=0)
    first = g.dse(1)
    assert g.dse([1, 2]).value[0] == pytest.approx(first.value, rel=1e-13)
    assert g.operator_.shape == (len(blobs), len(blobs))
    with pytest.raises(ValueError, match="eigenvalues\\(\\) needs mode='exact'"):
        g.eigenvalues()


def test_auto_switches_to_approx_above_threshold(monkeypatch, blobs):
    monkeypatch.setattr(settings_module, "AUTO_EXACT_MAX_N", 1000)
    assert fastdse.dse(blobs, 1, random_state=0).mode == "approx"
    assert fastdse.dse(blobs[:900], 1).mode == "exact"


@pytest.mark.parametrize(
    "kw,exc,match",
    [
        ({"n_probes": 1}, ValueError, "n_probes must be >= 2; got 1"),
        ({"n_steps": 1}, ValueError, "n_steps must be >= 2; got 1"),
        ({"n_deflate": -1}, ValueError, "n_deflate must be >= 0"),
        ({"n_deflate": "many"}, ValueError, "n_deflate must be one of 'auto'"),
        ({"neighbors": "annoy"}, ValueError, "neighbors must be one of 'auto', 'exact'"),
        ({"n_jobs": 0}, ValueError,
         r"n_jobs must be None \(all cores\), a positive integer, or a negative one"),
    ],
)
def test_bad_approx_parameters(rng, kw, exc, match):
    with pytest.raises(exc, match=match):
        fastdse.dse(rng.normal(size=(50, 3)), mode="approx", **kw)
