import numpy as np
import pytest

from fastdse.operator.neighbors import _ExactSearcher, knn_search, widen_to_radius


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


def test_widen_to_radius_covers_radius(rng):
    X = rng.normal(size=(400, 3))
    s = _ExactSearcher(X)
    idx, dist = s.query(np.arange(400), 4)
    radius = np.full(400, 0.6)
    indptr, nbr, nd, trunc, info = widen_to_radius(s, idx, dist, radius, max_neighbors=399,
                                                   multiplier=3)
    assert len(trunc) == 0 and info["rounds"] >= 1
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    for i in range(400):
        row = nbr[indptr[i]:indptr[i + 1]]
        assert row[0] == i
        within = set(np.nonzero(D[i] < 0.6)[0])
        assert within <= set(row.tolist())
    # a cap reports the truncated rows
    *_, trunc, _ = widen_to_radius(s, idx, dist, np.full(400, 10.0), max_neighbors=20)
    assert len(trunc) == 400


def test_bad_parameters(rng):
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


def test_two_hop_widening(rng, monkeypatch):
    import fastdse.operator.neighbors as nb

    X = rng.normal(size=(600, 3))
    s = _ExactSearcher(X)
    s.two_hop = True  # as the pynndescent searcher
    idx, dist = s.query(np.arange(600), 20)
    radius = np.full(600, 0.5)
    monkeypatch.setattr(nb, "EXACT_WIDEN_MAX_PAIRS", 0)
    indptr, nbr, nd, trunc, info = widen_to_radius(s, idx, dist, radius, max_neighbors=599)
    assert info["two_hop_rows"] > 0 and len(trunc) == 0
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    found = total = 0
    for i in range(600):
        row = nbr[indptr[i]:indptr[i + 1]]
        d = nd[indptr[i]:indptr[i + 1]]
        assert row[0] == i and d[0] == 0.0 and np.all(np.diff(d) >= 0)
        np.testing.assert_allclose(d, D[i, row], atol=1e-12)
        want = set(np.nonzero(D[i] <= 0.5)[0].tolist())
        found += len(want & set(row.tolist()))
        total += len(want)
    assert found / total > 0.99  # two hops of 20 find nearly all in-radius points in 3-d


def test_radius_query_lists_exactly_the_points_in_radius(rng):
    X = rng.normal(size=(500, 4))
    X[7] = X[3]  # a duplicate: distance exactly 0, listed after self
    s = _ExactSearcher(X)
    rows = np.array([3, 7, 0, 499, 250])
    radius = np.array([0.9, 0.9, 1.3, 0.01, 2.0])
    indptr, idx, dist, trunc = s.query_radius(rows, radius, 500)
    D = np.sqrt(((X[rows][:, None] - X[None]) ** 2).sum(-1))
    assert not trunc.any()
    for r, i in enumerate(rows):
        got = idx[indptr[r]:indptr[r + 1]]
        d = dist[indptr[r]:indptr[r + 1]]
        assert got[0] == i and d[0] == 0.0
        want = np.nonzero(D[r] <= radius[r])[0]
        assert set(got.tolist()) == set(want.tolist())
        np.testing.assert_allclose(d, D[r, got], atol=1e-12)
        order = np.lexsort((got[1:], d[1:]))  # ascending by (distance, index)
        np.testing.assert_array_equal(order, np.arange(len(got) - 1))
    assert idx[indptr[0] + 1] == 7 and dist[indptr[0] + 1] == 0.0


def test_radius_query_caps_and_reports_truncation(rng):
    X = rng.normal(size=(300, 2))
    s = _ExactSearcher(X)
    rows = np.arange(300)
    indptr, idx, dist, trunc = s.query_radius(rows, np.full(300, 10.0), 21)
    assert trunc.all() and np.all(np.diff(indptr) == 21)
    knn_idx, knn_dist = s.query(rows, 21)  # the cap keeps the 21 nearest
    np.testing.assert_allclose(dist.reshape(300, 21), knn_dist, atol=1e-12)


def test_fused_search_radius_query_and_rounds_give_the_same_kernel(rng, monkeypatch):
    from fastdse.operator import kernel as kn

    X = rng.uniform(size=(700, 64))  # concentrated distances: most rows need widening
    # neighbors="exact": one pass over the Gram matrix (search and widening fused)
    K_fused, info = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, neighbors="exact",
                                       return_info=True)
    assert info["rounds"] == 1 and info["widened_rows"] > 0
    first = knn_search(X, 35, method="exact")  # the fused pass's first lists (6 * (knn + 1))
    # a given first search widened by one radius query ...
    K_radius, info2 = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, knn_result=first,
                                         return_info=True)
    assert info2["rounds"] == 1 and info2["widened_rows"] == info["widened_rows"]
    # ... and by graphtools-style rounds of growing exact k-NN searches
    monkeypatch.delattr(_ExactSearcher, "query_radius")
    K_rounds, info3 = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, knn_result=first,
                                         return_info=True)
    assert info3["rounds"] >= 1
    for K in (K_radius, K_rounds):
        assert ((K != 0) != (K_fused != 0)).nnz == 0
        np.testing.assert_allclose(K.toarray(), K_fused.toarray(), rtol=1e-12, atol=1e-15)




def test_fused_search_widens_only_short_rows_and_threads_do_not_change_it(rng):
    from fastdse.operator import kernel as kn

    # 64-d uniform points (concentrated distances: widened) and a 2-d Gaussian cloud far
    # away (the 35th neighbour lies well beyond the radius: not widened)
    flat = np.zeros((300, 64))
    flat[:, :2] = rng.normal(size=(300, 2))
    X = np.vstack([rng.uniform(size=(400, 64)), flat + 50.0])
    K1, info1 = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, neighbors="exact",
                                   n_jobs=1, return_info=True)
    K2, info2 = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, neighbors="exact",
                                   n_jobs=2, return_info=True)
    assert 0 < info1["widened_rows"] < 700 and info1["widened_rows"] == info2["widened_rows"]
    assert (K1 != K2).nnz == 0  # blocks in threads: the same numbers bit for bit
    first = knn_search(X, 35, method="exact")
    K_radius = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, knn_result=first)
    assert ((K_radius != 0) != (K1 != 0)).nnz == 0
    np.testing.assert_allclose(K_radius.toarray(), K1.toarray(), rtol=1e-12, atol=1e-15)


def test_fused_search_reports_rows_cut_at_max_neighbors(rng):
    from fastdse.operator import kernel as kn

    X = rng.uniform(size=(300, 64))
    # below the first search's 35 neighbours, and above (where some rows fill their room of
    # cap + 2 slots exactly and some overflow it: all three paths of the fused search)
    for cap in (10, 36):
        K, info = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, neighbors="exact",
                                     max_neighbors=cap, return_info=True)
        first = knn_search(X, 35, method="exact")
        Kr, info_r = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, knn_result=first,
                                        max_neighbors=cap, return_info=True)
        assert info["truncated_rows"] == info_r["truncated_rows"] > 0
        np.testing.assert_allclose(K.toarray(), Kr.toarray(), rtol=1e-12, atol=1e-15)
        D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
        radius = np.sort(D, axis=1)[:, 5] * np.log(1e4) ** (1 / 40)
        inside = (D <= radius[:, None]).sum(1)  # self included
        # a cap below the first lists: a row is reported when its 36th point (self included)
        # is inside the radius; above: when more than cap + 1 points are
        want = inside >= 36 if cap < 35 else inside > cap + 1
        assert info["truncated_rows"] == np.count_nonzero(want)
