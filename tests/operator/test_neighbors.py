"""k-NN search, the auto rule and first searches given by the caller (operator/neighbors)."""

import numpy as np
import pytest

from fastdse.operator import widen
from fastdse.operator.neighbors import (
    EXACT_SEARCH_MAX_N,
    ExactSearcher,
    NNDescentSearcher,
    PynndescentSearcher,
    auto_exact_max_n,
    check_knn_result,
    knn_search,
    resolve_method,
)
from reference import collapsed_classes, kth_distance_error


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def brute(X, k):
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    return np.sort(D, axis=1)[:, : k + 1]


def test_exact_matches_brute_force(rng):
    X = rng.normal(size=(300, 7))
    idx, dist = knn_search(X, 10, method="exact")
    assert idx.shape == dist.shape == (300, 11)
    assert idx.dtype == np.int64 and dist.dtype == np.float64
    np.testing.assert_array_equal(idx[:, 0], np.arange(300))
    assert np.all(dist[:, 0] == 0.0)
    np.testing.assert_allclose(dist, brute(X, 10), rtol=1e-10, atol=1e-12)
    # indices are consistent with distances
    true = np.sqrt(((X[:, None, :] - X[idx]) ** 2).sum(-1))
    np.testing.assert_allclose(dist, true, rtol=1e-10, atol=1e-12)
    assert np.all(np.diff(dist, axis=1) >= 0)


def test_duplicates_self_first_and_deterministic(rng):
    base = rng.normal(size=(20, 3))
    X = np.vstack([base] * 5)  # every point has 4 exact duplicates
    idx, dist = knn_search(X, 6, method="exact")
    np.testing.assert_array_equal(idx[:, 0], np.arange(100))
    # distances recomputed from differences: duplicates are exactly 0 apart
    assert np.all(dist[:, :5] == 0.0) and np.all(dist[:, 5:] > 1e-3)
    idx2, _ = knn_search(X, 6, method="exact")
    np.testing.assert_array_equal(idx, idx2)
    # ties broken by ascending index after self
    for i in range(100):
        dups = [j for j in range(i % 20, 100, 20) if j != i]
        np.testing.assert_array_equal(idx[i, 1:5], dups)


def test_int_and_float32_input(rng):
    Xi = rng.integers(0, 50, size=(80, 4))
    a, da = knn_search(Xi, 3, method="exact")
    b, db = knn_search(Xi.astype(np.float32), 3, method="exact")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(da, db)


def test_knn_search_bad_parameters(rng):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match="k must be <= 9"):
        knn_search(X, 10)
    with pytest.raises(TypeError, match="k must be an integer"):
        knn_search(X, 2.5)
    with pytest.raises(ValueError, match="method must be one of"):
        knn_search(X, 2, method="kdtree")
    with pytest.raises(ValueError, match="n_jobs must be"):
        knn_search(X, 2, n_jobs=0)
    with pytest.raises(TypeError, match="pynndescent parameters"):
        knn_search(X, 2, method="exact", n_trees=3)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        knn_search(np.zeros(5), 2)


def test_auto_searches_exactly_up_to_a_work_bound():
    # 70,000 points up to d = 256, then n^2 d <= 70,000^2 * 256
    for d in (1, 8, 32, 64, 128, 256):
        assert auto_exact_max_n(d) == EXACT_SEARCH_MAX_N == 70_000
    assert auto_exact_max_n(512) == 49_497  # 70,000 / sqrt(2) = 49,497.5
    assert auto_exact_max_n(1024) == 35_000
    assert resolve_method("auto", 70_000, 128) == "exact"
    assert resolve_method("auto", 70_001, 128) == "nndescent"
    assert resolve_method("auto", 49_497, 512) == "exact"
    assert resolve_method("auto", 49_498, 512) == "nndescent"
    assert resolve_method("exact", 10**9, 128) == "exact"
    assert resolve_method("pynndescent", 10, 2) == "pynndescent"


def test_check_knn_result_refuses_what_knn_search_cannot_return(rng):
    X = rng.normal(size=(12, 2))
    idx, dist = knn_search(X, 4, method="exact")
    got_idx, got_dist = check_knn_result((idx.astype(np.int32), dist), 12, 4)
    assert got_idx.dtype == np.int64 and got_dist.dtype == np.float64
    np.testing.assert_array_equal(got_idx, idx)
    with pytest.raises(TypeError, match="knn_result must be a pair"):
        check_knn_result(idx, 12, 4)
    with pytest.raises(TypeError, match="knn_result must be a pair"):
        check_knn_result(3, 12, 4)
    with pytest.raises(ValueError, match=r"shape \(n, k \+ 1\) with n=12"):
        check_knn_result((idx[:5], dist[:5]), 12, 4)
    with pytest.raises(ValueError, match=r"shape \(n, k \+ 1\) with n=12"):
        check_knn_result((idx, dist[:, :3]), 12, 4)
    with pytest.raises(ValueError, match="at least knn \\+ 1 = 6 columns"):
        check_knn_result((idx, dist), 12, 5)
    with pytest.raises(ValueError, match="first in its own row"):
        check_knn_result((idx[::-1], dist[::-1]), 12, 4)


@pytest.mark.pynndescent
def test_pynndescent_self_first_recall_and_seed(rng):
    from sklearn.datasets import make_blobs

    X = make_blobs(3000, 16, centers=5, random_state=0)[0]
    X[1] = X[0]  # a duplicate
    ei, ed = knn_search(X, 10, method="exact")
    ai, ad = knn_search(X, 10, method="pynndescent", random_state=0)
    assert ai.shape == (3000, 11) and ai.dtype == np.int64 and ad.dtype == np.float64
    np.testing.assert_array_equal(ai[:, 0], np.arange(3000))
    assert np.all(ad[:, 0] == 0.0)
    hits = np.mean([len(np.intersect1d(ai[i, 1:], ei[i, 1:])) / 10 for i in range(3000)])
    assert hits > 0.95
    bi, bd = knn_search(X, 10, method="pynndescent", random_state=0)
    np.testing.assert_array_equal(ai, bi)


@pytest.mark.pynndescent
def test_pynndescent_re_searches_exactly_while_affordable_else_by_the_index(rng, monkeypatch):
    X = rng.normal(size=(500, 8))
    with pytest.raises(TypeError, match=r"\['metric'\] are set by fastdse"):
        PynndescentSearcher(X, 10, 0, None, {"metric": "cosine"})
    s = PynndescentSearcher(X, 10, 0, None, {})
    rows = np.array([5, 0, 77, 499])
    ei, ed = ExactSearcher(X).query(rows, 15)
    i1, d1 = s.query(rows, 15)  # exact: 4 x 500 distances are affordable
    np.testing.assert_array_equal(i1, ei)
    np.testing.assert_array_equal(d1, ed)
    monkeypatch.setattr(widen, "EXACT_WIDEN_MAX_PAIRS", 0)
    assert s.query_radius(rows, np.ones(4), 20) is None  # no exact radius query either
    i2, d2 = s.query(rows, 15)  # the index's approximate query
    np.testing.assert_array_equal(i2[:, 0], rows)
    assert d2.dtype == np.float64 and np.all(d2[:, 0] == 0.0) and np.all(np.diff(d2) >= 0)
    true = np.sqrt(((X[rows][:, None, :] - X[i2]) ** 2).sum(-1))  # float64, not float32
    np.testing.assert_allclose(d2, true, rtol=1e-12, atol=1e-12)
    hits = np.mean([len(np.intersect1d(i2[r], ei[r])) / 15 for r in range(4)])
    assert hits > 0.9


@pytest.mark.pynndescent
def test_pynndescent_float32_graph_cannot_order_near_identical_points():
    # the failure PynndescentSearcher guards against: pynndescent's float32 copies of
    # points 1e-9 apart at |x| ~ 2 are equal, so its lists are arbitrary class members
    from pynndescent import NNDescent

    X = collapsed_classes(400, 1e-9)
    idx, _ = NNDescent(X, n_neighbors=36, random_state=7).neighbor_graph
    assert np.median(kth_distance_error(idx, X, 5)) > 0.05


@pytest.mark.parametrize("searcher", [
    NNDescentSearcher, pytest.param(PynndescentSearcher, marks=pytest.mark.pynndescent)])
def test_unresolved_rows_are_searched_again_exactly_when_affordable(searcher):
    # both float32 graphs: rows whose neighbours float32 cannot resolve get exact lists
    X = collapsed_classes(400, 1e-9)
    s = searcher(X, 36, 7, None, {})
    assert s.unresolved_rows == 1200 and not s.float64
    idx, dist = s.graph(36)
    ref_idx, ref_dist = knn_search(X, 35, method="exact")
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12, atol=0)


@pytest.mark.pynndescent
def test_pynndescent_unresolved_rows_beyond_the_exact_budget_use_a_float64_graph(
        monkeypatch):
    monkeypatch.setattr(widen, "EXACT_WIDEN_MAX_PAIRS", 1000)
    X = collapsed_classes(400, 1e-9)
    s = PynndescentSearcher(X, 36, 7, None, {})
    assert s.unresolved_rows == 1200 and s.float64 and s.n_neighbors == 60
    assert s.index is None  # the float32 index is no longer held
    idx, dist = s.graph(36)
    assert np.median(kth_distance_error(idx, X, 5)) < 1e-3  # float32: > 5 %
    ref_idx, _ = knn_search(X, 35, method="exact")
    assert np.mean([len(np.intersect1d(a, b)) / 36 for a, b in zip(idx, ref_idx)]) > 0.9
    rows = np.array([3, 500, 1100])
    q_idx, _ = s.query(rows, 36)  # re-searches go to the float64 graph, not the index
    np.testing.assert_array_equal(q_idx[:, 0], rows)
    true = [np.sort(np.linalg.norm(X - X[r], axis=1))[5] for r in rows]
    got = np.linalg.norm(X[rows] - X[q_idx[:, 5]], axis=1)
    assert np.max(np.abs(got / true - 1)) < 1e-3


@pytest.mark.pynndescent
def test_pynndescent_resolved_data_keep_the_index_graph():
    X = collapsed_classes(400, 1e-3)  # 1e-3 apart: float32 rounding is 1e-4 of the distances
    s = PynndescentSearcher(X, 36, 7, None, {})
    assert s.unresolved_rows == 0 and not s.float64
    idx, _ = s.graph(36)
    g_idx = s.index.neighbor_graph[0][:, :36]
    assert np.mean(idx == g_idx) > 0.99  # the index's lists (ties may reorder)
    again, _ = s.graph(36)  # the first read's graph is dropped; a second reads the index
    np.testing.assert_array_equal(again, idx)
