"""The kernel mass lost at the list cap: estimate and warning (operator/truncation)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from fastdse.operator import truncation as truncation_module
from fastdse.operator.kernel import TruncationWarning, dense_affinity, sparse_affinity
from fastdse.operator.truncation import TRUNCATION_TOL, truncation_report, warn_if_truncated


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def test_rows_beyond_the_default_cap_are_listed_in_full(rng):
    # sigma 10 on the unit cube: every row's radius holds all 2,000 points, twice the
    # default cap of 1,000; the full lists fit the memory budget, so nothing is dropped
    X = rng.uniform(size=(2000, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K, info = sparse_affinity(X, "gaussian", sigma=10.0, neighbors="exact",
                                  return_info=True)
    assert info["completed_rows"] == 2000 and info["truncated_rows"] == 0
    Kd = dense_affinity(X, "gaussian", sigma=10.0, thresh=1e-4)
    np.testing.assert_allclose(K.toarray(), Kd, rtol=1e-12, atol=1e-13)


def test_an_outlier_row_is_listed_in_full(rng):
    # one far point: its alpha-decay bandwidth spans the cloud (heavy-tailed data)
    X = np.vstack([rng.normal(size=(1500, 3)), [[60.0, 0.0, 0.0]] * 1 + [[0, 70.0, 0]]
                   + [[0, 0, 80.0]] * 1 + [[-90.0, 0, 0]] + [[0, -100.0, 0]] + [[0, 0, -110.0]]])
    K, info = sparse_affinity(X, "alpha_decay", neighbors="exact", max_neighbors=None,
                              return_info=True)
    assert info["completed_rows"] >= 1 and info["truncated_rows"] == 0
    Kd = dense_affinity(X, "alpha_decay", thresh=1e-4)
    np.testing.assert_allclose(K.toarray(), Kd, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("how", ["explicit max_neighbors", "over the memory budget"])
def test_truncation_warning_wide_gaussian(rng, monkeypatch, how):
    X = rng.uniform(size=(2000, 4))
    kw = {}
    if how == "explicit max_neighbors":
        kw["max_neighbors"] = 500  # a cap the caller chose is kept
    else:
        from fastdse.operator import sparse_kernel
        monkeypatch.setattr(sparse_kernel, "MAX_LIST_ENTRIES", 3_000_000)
    with pytest.warns(TruncationWarning, match=r"dropped an estimated .*smaller sigma"):
        K, info = sparse_affinity(X, "gaussian", sigma=10.0, neighbors="exact",
                                  return_info=True, **kw)
    assert info["truncated_rows"] == 2000 and info["completed_rows"] == 0
    assert info["dropped_mass_fraction"] > 0.3
    # the estimate agrees with the truth computed densely
    Kd = dense_affinity(X, "gaussian", sigma=10.0, thresh=1e-4)
    K_row = sp.csr_matrix(K)
    true_frac = 1 - K_row.sum() / Kd.sum()
    assert abs(true_frac - info["dropped_mass_fraction"]) < 0.05


def test_no_truncation_warning_narrow_gaussian(rng):
    X = rng.uniform(size=(2000, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K, info = sparse_affinity(X, "gaussian", sigma=0.03, neighbors="exact",
                                  return_info=True)
    assert info["truncated_rows"] == 0
    Kd = dense_affinity(X, "gaussian", sigma=0.03, thresh=1e-4)
    assert sp.isspmatrix_csr(K) and K.dtype == np.float64
    Ks = K.toarray()
    np.testing.assert_array_equal(Ks > 0, Kd > 0)
    np.testing.assert_allclose(Ks, Kd, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("block", [None, 35])
def test_report_is_exact_when_every_truncated_row_is_sampled(rng, monkeypatch, block):
    # kept rows: each point's 5 nearest (self included) of a Gaussian kernel exp(-(d/s)^2);
    # block=35: the 5 sampled rows' distances come 7 columns at a time (the last block short)
    if block is not None:
        monkeypatch.setattr(truncation_module, "TRUNCATION_BLOCK", block)
    X = rng.uniform(size=(120, 2))
    s, thresh = 0.2, 1e-3
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    full = np.exp(-((D / s) ** 2))
    full[full < thresh] = 0.0
    keep = np.argsort(D, axis=1)[:, :5]
    kept = sp.csr_matrix((full[np.arange(120)[:, None], keep].ravel(), keep.ravel(),
                          np.arange(121) * 5), shape=(120, 120))
    truncated = np.array([3, 10, 11, 50, 119])
    report = truncation_report(X, truncated, kept.indptr, kept.data, np.full(120, s), 2.0,
                               thresh, np.random.default_rng(0))
    row_kept = np.asarray(kept.sum(axis=1)).ravel()
    dropped = full[truncated].sum(axis=1) - row_kept[truncated]
    assert report["truncated_rows"] == 5
    np.testing.assert_allclose(report["dropped_mass_fraction"],
                               dropped.sum() / (row_kept.sum() + dropped.sum()), rtol=1e-12)
    np.testing.assert_allclose(report["max_row_dropped_fraction"],
                               (dropped / full[truncated].sum(axis=1)).max(), rtol=1e-12)
    none = truncation_report(X, truncated[:0], kept.indptr, kept.data, np.full(120, s), 2.0,
                             thresh, np.random.default_rng(0))
    assert none == {"truncated_rows": 0, "dropped_mass_fraction": 0.0,
                    "max_row_dropped_fraction": 0.0}


def test_warning_above_the_tolerance_only():
    report = {"truncated_rows": 7, "dropped_mass_fraction": TRUNCATION_TOL,
              "max_row_dropped_fraction": 0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_truncated(report, "alpha_decay", 10.0, 1e-4, 100, 20, stacklevel=1)
    report["dropped_mass_fraction"] = 2 * TRUNCATION_TOL
    with pytest.warns(TruncationWarning, match=r"7 of 100 points .*max_neighbors=20 .*"
                                               r"a larger thresh or decay"):
        warn_if_truncated(report, "alpha_decay", 10.0, 1e-4, 100, 20, stacklevel=1)
