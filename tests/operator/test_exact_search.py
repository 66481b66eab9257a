"""Exact search by blocked BLAS: radius queries and the one-pass search-and-widen."""

import numpy as np
import pytest

from fastdse._numba import screen as screen_jit
from fastdse.operator import exact_search as es
from fastdse.operator import kernel as kn
from fastdse.operator.exact_search import RADIUS_MARGIN, ExactSearcher, exact_knn_radius
from fastdse.operator.neighbors import knn_search
from fastdse.operator.sparse_kernel import RowKernel


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pairwise(X):
    return np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))


def test_radius_query_lists_exactly_the_points_in_radius(rng):
    X = rng.normal(size=(500, 4))
    X[7] = X[3]  # a duplicate: distance exactly 0, listed after self
    s = ExactSearcher(X)
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
    s = ExactSearcher(X)
    rows = np.arange(300)
    indptr, idx, dist, trunc = s.query_radius(rows, np.full(300, 10.0), 21)
    assert trunc.all() and np.all(np.diff(indptr) == 21)
    knn_idx, knn_dist = s.query(rows, 21)  # the cap keeps the 21 nearest
    np.testing.assert_allclose(dist.reshape(300, 21), knn_dist, atol=1e-12)


@pytest.mark.parametrize("kernel", ["alpha_decay", "gaussian"])
def test_one_pass_lists_match_brute_force(rng, kernel):
    X = rng.uniform(size=(400, 6))
    rule = RowKernel.of(kernel, 4, 10.0, 0.12, 1e-3)
    k1 = 12
    indptr, nbr, dist, trunc, info, first_dist = exact_knn_radius(X, k1, rule, 399)
    D = pairwise(X)
    Ds = np.sort(D, axis=1)
    np.testing.assert_allclose(first_dist, Ds[:, :k1], rtol=1e-12, atol=1e-12)
    # the radius rule from brute-force distances: s_i (-log thresh)^(1/p)
    scale = Ds[:, 4] if kernel == "alpha_decay" else np.full(400, 0.12 * np.sqrt(2))
    radius = scale * (-np.log(1e-3)) ** (1 / rule.power)
    widened = Ds[:, k1 - 1] < radius
    assert 0 < widened.sum() < 400 and len(trunc) == 0
    assert info["widened_rows"] == widened.sum() and info["rounds"] == 1
    for i in range(400):
        got = nbr[indptr[i]:indptr[i + 1]]
        assert got[0] == i
        np.testing.assert_allclose(dist[indptr[i]:indptr[i + 1]], D[i, got], atol=1e-12)
        if widened[i]:  # every point within the radius (and its margin), no other
            want = np.nonzero(D[i] <= radius[i] * (1 + RADIUS_MARGIN))[0]
        else:  # the k-NN list
            want = np.argsort(D[i], kind="stable")[:k1]
        assert set(got.tolist()) == set(want.tolist())


def test_fused_search_radius_query_and_rounds_give_the_same_kernel(rng, monkeypatch):
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
    monkeypatch.delattr(ExactSearcher, "query_radius")
    K_rounds, info3 = kn.sparse_affinity(X, "alpha_decay", knn=5, decay=40, knn_result=first,
                                         return_info=True)
    assert info3["rounds"] >= 1
    for K in (K_radius, K_rounds):
        assert ((K != 0) != (K_fused != 0)).nnz == 0
        np.testing.assert_allclose(K.toarray(), K_fused.toarray(), rtol=1e-12, atol=1e-15)


def test_fused_search_widens_only_short_rows_and_threads_do_not_change_it(rng):
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


# --------------------------------------------------------------------------- float32 screen


@pytest.mark.parametrize("offset, scale", [(0.0, 1.0), (1e3, 1.0), (0.0, 1e-150), (5.0, 1e120)])
def test_screen_bound_holds_for_every_pair(rng, offset, scale):
    # the float32 Gram expansion of the centred, scaled points lies within its bound of
    # the squared distance (reference: float64 differences, ~1e-16 relative) for all pairs
    X = (rng.normal(size=(300, 40)) * rng.uniform(0.01, 3.0, size=40) + offset) * scale
    X[5] = X[4]  # a duplicate
    Y32, sqy, ny, consts = es.screen_points(X)
    cb, cd, ca, scale2, _ = consts
    v = sqy[:, None] + sqy[None] - 2.0 * (Y32 @ Y32.T).astype(np.float64)
    e = cb * np.outer(ny, ny) + cd * (sqy[:, None] + sqy[None]) + ca
    true = ((X[:, None] - X[None]) ** 2).sum(-1) * scale2
    assert np.all(np.abs(v - true) <= e)
    assert np.median(e / np.maximum(true, 1e-300)) < 1e-4  # and the bound is tight


def test_screen_cannot_serve_identical_points():
    assert es.screen_points(np.ones((20, 3))) is None
    X = np.ones((20, 3))
    rule = RowKernel.of("alpha_decay", 4, 10.0, 0.0, 1e-3)
    indptr, nbr, dist, trunc, info, first = exact_knn_radius(X, 12, rule, 19)
    assert np.all(dist == 0.0) and np.all(first == 0.0)


@pytest.mark.parametrize("kernel", ["alpha_decay", "gaussian"])
@pytest.mark.parametrize("cap", [10, 40, 299])
def test_screened_search_lists_what_float64_blocks_list(rng, kernel, cap):
    # uniform 32-d points (widened rows, rows cut at the cap) and duplicates: the same
    # lists and cut rows as the float64 Gram blocks, distances to rounding
    X = np.vstack([rng.uniform(size=(250, 32)), np.repeat(rng.uniform(size=(1, 32)), 50, 0)])
    rule = RowKernel.of(kernel, 4, 10.0, 0.35, 1e-3)
    got = exact_knn_radius(X, 12, rule, cap)
    ref = exact_knn_radius(X, 12, rule, cap, screen=False)
    for a, b in zip(got[:2] + got[3:4], ref[:2] + ref[3:4]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-13, atol=0)
    np.testing.assert_allclose(got[5], ref[5], rtol=1e-13, atol=0)
    assert got[4]["widened_rows"] == ref[4]["widened_rows"]
    assert got[4]["float64_rows"] == 0 and ref[4]["float64_rows"] == 300


def test_rows_the_screen_cannot_resolve_go_through_float64_blocks(rng):
    # two tight clusters far apart in 16-d: the float32 bound (~1e-5 of |y|^2) dwarfs the
    # clusters' distances (~1e-8 of it), so every cluster point is a candidate and rows
    # exceed the budget; float64 blocks resolve them (rounding ~1e-15 of |y|^2)
    X = np.vstack([rng.normal(size=(400, 16)) * 1e-4 + 1.0,
                   rng.normal(size=(400, 16)) * 1e-4 - 1.0])
    rule = RowKernel.of("alpha_decay", 4, 10.0, 0.0, 1e-3)
    Y32, sqy, ny, consts = es.screen_points(X)
    b, k1, room = 800, 12, 22
    state = np.empty(b, dtype=np.int64)
    screen_jit.knn_radius_rows_screened(
        Y32 @ Y32.T, np.arange(b), sqy, ny, X, consts, rule.knn, rule.fixed_scale,
        rule.factor, RADIUS_MARGIN, 4 * room + 64, np.empty((b, k1), dtype=np.int64),
        np.empty((b, k1)), np.empty((b, room), dtype=np.int64), np.empty((b, room)), state)
    assert np.all(state == screen_jit.FALLBACK)
    indptr, nbr, dist, trunc, info, first = exact_knn_radius(X, k1, rule, room - 2)
    assert info["float64_rows"] == 800
    D = pairwise(X)
    np.testing.assert_allclose(first, np.sort(D, axis=1)[:, :k1], rtol=1e-12, atol=0)
    for i in range(0, 800, 37):
        got = nbr[indptr[i]:indptr[i + 1]]
        np.testing.assert_allclose(dist[indptr[i]:indptr[i + 1]], D[i, got], rtol=1e-12)


# --------------------------------------------------------------------------- cancellation


@pytest.mark.parametrize("offset, scale", [(0.0, 1.0), (1e3, 1.0), (0.0, 1e-150), (5.0, 1e120)])
def test_float64_bound_holds_for_every_pair(rng, offset, scale):
    # the float64 Gram expansion of the points lies within its bound of the squared
    # distance (reference: differences in extended precision, exact to ~1e-19) for all pairs
    X = (rng.normal(size=(300, 40)) * rng.uniform(0.01, 3.0, size=40) + offset) * scale
    X[5] = X[4]  # a duplicate
    sq = np.einsum("ij,ij->i", X, X)
    _, norms, (cb, cd, ca, scale2, _) = es.float64_bound(X, sq)
    v = sq[:, None] + sq[None] - 2.0 * (X @ X.T)
    e = cb * np.outer(norms, norms) + cd * (sq[:, None] + sq[None]) + ca
    Xl = X.astype(np.longdouble)
    true = ((Xl[:, None] - Xl[None]) ** 2).sum(-1)
    assert scale2 == 1.0
    assert np.all(np.abs(v - true) <= e)


def _collapsed(rng, m, noise, dim=24):
    """Three classes of ``m`` near-identical points (a collapsed representation)."""
    centres = rng.uniform(size=(3, dim)) * 10.0
    return np.repeat(centres, m, axis=0) + rng.normal(size=(3 * m, dim)) * noise


def _knn_by_differences(X, k1):
    D = pairwise(X)
    D[np.arange(len(X)), np.arange(len(X))] = -1.0  # self first
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=1)[:, :k1]
    return order, np.maximum(np.take_along_axis(D, order, axis=1), 0.0)


@pytest.mark.parametrize("noise", [1e-6, 1e-10])
def test_knn_queries_are_exact_where_the_gram_expansion_cancels(rng, noise):
    # the clusters' distances (~1e-6 and ~1e-10 of |x|) are at or below the float64
    # expansion's rounding (~1e-14 of |x|^2): chosen by the expansion, the lists would
    # be arbitrary members of the cluster; chosen within its bound, they are exact
    X = _collapsed(rng, 150, noise)
    want_idx, want_dist = _knn_by_differences(X, 8)
    idx, dist = ExactSearcher(X).query(np.arange(len(X)), 8)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(dist, want_dist, rtol=1e-12, atol=0)


def test_fused_search_is_exact_where_the_float32_screen_and_gram_expansion_fail(rng):
    # clusters bigger than the screen's budget of candidates: every row takes the
    # float64 pass, whose bound still cannot tell the members apart at 1e-10: the first
    # lists, bandwidths and radius lists match differences all the same
    X = _collapsed(rng, 200, 1e-10)
    rule = RowKernel.of("alpha_decay", 4, 10.0, 0.0, 1e-3)
    k1, cap = 12, 20  # budget 4 (cap + 2) + 64 = 152 < 199 cluster mates
    indptr, nbr, dist, trunc, info, first = exact_knn_radius(X, k1, rule, cap)
    assert info["float64_rows"] == len(X)
    want_idx, want_dist = _knn_by_differences(X, cap + 1)
    np.testing.assert_allclose(first, want_dist[:, :k1], rtol=1e-12, atol=0)
    lengths = np.diff(indptr)
    radius = rule.radius(first)
    cut = set(trunc.tolist())
    for i in range(0, len(X), 23):
        got = nbr[indptr[i]:indptr[i + 1]]
        want = want_idx[i, :lengths[i]]  # self, then by (distance, index)
        if first[i, k1 - 1] < radius[i] and i not in cut:  # widened, not cut: by index
            want = np.concatenate([want[:1], np.sort(want[1:])])
        np.testing.assert_array_equal(got, want)
        assert np.all(dist[indptr[i]:indptr[i + 1]] <= radius[i] * (1 + 1e-9))


@pytest.mark.parametrize("noise", [1e-6, 1e-10])
def test_radius_queries_are_exact_where_the_gram_expansion_cancels(rng, noise):
    # radius queries (the widening of approximate graphs, rows cut at the cap) choose
    # candidates within the float64 bound and list those inside by their distances
    # from differences: no point of the near-collapsed cluster outside the radius is
    # listed (the expansion's rounding, ~1e-14 of |x|^2, dwarfs the radius), none
    # inside is missed, and the listed distances are those from differences
    X = _collapsed(rng, 150, noise)
    D = pairwise(X)
    Ds = np.sort(D, axis=1)
    radius = 0.5 * (Ds[:, 10] + Ds[:, 11])  # halfway between the 10th and 11th others
    rows = np.arange(0, len(X), 7)
    indptr, idx, dist, trunc = ExactSearcher(X).query_radius(rows, radius[rows], 40)
    assert not trunc.any()
    want_idx, want_dist = _knn_by_differences(X, 11)
    for r, i in enumerate(rows):
        np.testing.assert_array_equal(idx[indptr[r]:indptr[r + 1]], want_idx[i])
        np.testing.assert_allclose(dist[indptr[r]:indptr[r + 1]], want_dist[i], rtol=1e-12,
                                   atol=0)
