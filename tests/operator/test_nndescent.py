"""fastdse's own NN-descent (neighbors="nndescent"): recall, determinism, the searcher."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import fastdse
from fastdse._numba.search import two_hop_knn
from fastdse._util.threads import numba_threads
from fastdse.operator import widen as _widen
from fastdse.operator.neighbors import NNDescentSearcher, knn_search
from fastdse.operator.nn_descent import nn_descent
from reference import collapsed_classes, kth_distance_error


def blobs(n, d, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(8, d))
    return (centres[rng.integers(0, 8, size=n)] + rng.normal(size=(n, d))).astype(np.float64)


def recall(idx, ref):
    k = ref.shape[1] - 1
    return np.mean([len(set(a[1:]) & set(b[1:])) / k for a, b in zip(idx, ref)])


def test_graph_has_high_recall_and_exact_lists_where_found():
    X = blobs(3000, 12)
    idx, dist, report = nn_descent(X.astype(np.float32), 30, seed=7)
    ref_idx, ref_dist = knn_search(X, 30, method="exact")
    assert idx.shape == (3000, 31) and np.array_equal(idx[:, 0], np.arange(3000))
    assert recall(idx, ref_idx) > 0.98, report
    # distances ascending, the listed ones true distances (float32 sums: ~1e-6 relative)
    assert np.all(np.diff(dist, axis=1) >= 0)
    rows = np.arange(0, 3000, 97)
    true = np.linalg.norm(X[rows, None, :] - X[idx[rows]], axis=2)
    np.testing.assert_allclose(dist[rows], true, rtol=1e-5, atol=1e-6)


def test_graph_depends_on_the_seed_only_not_on_threads():
    X = blobs(25_000, 8, seed=1)  # 200,000 values: the kernels run in parallel
    X32 = X.astype(np.float32)
    with numba_threads(1):
        one = nn_descent(X32, 20, seed=3, n_iters=3)
    with numba_threads(numba.config.NUMBA_NUM_THREADS):
        many = nn_descent(X32, 20, seed=3, n_iters=3)
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])
    other = nn_descent(X32, 20, seed=4, n_iters=3)
    assert not np.array_equal(one[0], other[0])


def test_two_hop_re_search_matches_the_exact_one_on_a_good_graph():
    X = blobs(2000, 6, seed=2)
    graph, _ = knn_search(X, 25, method="exact")
    rows = np.arange(0, 2000, 13, dtype=np.int64)
    idx = np.empty((len(rows), 40), dtype=np.int64)
    dist = np.empty((len(rows), 40))
    two_hop_knn(X, graph, rows, 40, idx, dist)
    ref_idx, ref_dist = knn_search(X, 39, method="exact")
    assert recall(idx, ref_idx[rows]) > 0.99
    assert np.array_equal(idx[:, 0], rows) and np.all(dist[:, 0] == 0)


def test_dse_with_nndescent_agrees_with_exact_neighbours():
    X = blobs(4000, 10, seed=3)
    kw = dict(mode="approx", random_state=0)
    ours = fastdse.dse(X, [1, 5, 20], neighbors="nndescent", **kw)
    ref = fastdse.dse(X, [1, 5, 20], neighbors="exact", **kw)
    assert ours.info["operator"]["neighbors"] == "nndescent"
    # the standard error does not cover the approximate graph's error, and says so
    assert "searched approximately (nndescent)" in ours.info["stderr_note"]
    assert "stderr_note" not in ref.info
    bar = np.maximum(0.005 * np.abs(ref.value), 0.02)  # the approx-accuracy bar
    assert np.all(np.abs(ours.value - ref.value) <= bar), (ours.value, ref.value)
    again = fastdse.dse(X, [1, 5, 20], neighbors="nndescent", **kw)
    np.testing.assert_array_equal(ours.value, again.value)


def test_rows_beyond_the_exact_budget_are_widened_from_the_graph(monkeypatch):
    # noise in 60-d: some rows' kernel radius reaches past the graph's 60 neighbours
    X = np.random.default_rng(4).normal(size=(3000, 60))
    monkeypatch.setattr(_widen, "EXACT_WIDEN_MAX_PAIRS", 10)  # no exact re-search allowed
    res = fastdse.dse(X, [1, 5], mode="approx", neighbors="nndescent", random_state=0)
    ref = fastdse.dse(X, [1, 5], mode="approx", neighbors="exact", random_state=0)
    assert res.info["operator"]["two_hop_rows"] > 0
    assert np.all(np.abs(res.value - ref.value) <= np.maximum(0.005 * ref.value, 0.02))


def test_unknown_parameters_are_refused():
    with pytest.raises(TypeError, match=r"nndescent parameters \['n_tres'\] are not known"):
        NNDescentSearcher(blobs(100, 3), 10, 0, None, {"n_tres": 4})


@pytest.mark.parametrize(("block_pairs", "fill"), [(1000, 0.5), (1 << 22, 50.0)])
def test_graph_does_not_depend_on_the_block_size(monkeypatch, block_pairs, fill):
    # pairs are kept against the heaps' roots as a block begins: any blocking of the
    # rows gives the pushes of one thread pushing every pair as it comes. 1000 pairs:
    # one row a part and block; fill 50: every part runs out of room, the blocks end
    # early and the rows after are joined again
    from fastdse.operator import nn_descent as driver

    # points of a small integer grid: many equal distances, where the order of the
    # pushes decides which of them a full heap keeps
    X32 = np.random.default_rng(5).integers(0, 4, size=(25_000, 8)).astype(np.float32)
    ref = nn_descent(X32, 20, seed=3, n_iters=3)
    monkeypatch.setattr(driver, "_BLOCK_PAIRS", block_pairs)
    monkeypatch.setattr(driver, "_FILL", fill)
    other = nn_descent(X32, 20, seed=3, n_iters=3)
    np.testing.assert_array_equal(ref[0], other[0])
    np.testing.assert_array_equal(ref[1], other[1])


@pytest.mark.parametrize("shift", [0, 30])
def test_graph_does_not_depend_on_the_bucket_size(monkeypatch, shift):
    # pushes are grouped by buckets of heaps: one heap a bucket (0), or all in one (30,
    # the pairs' own order) give the same graph
    from fastdse.operator import nn_descent as driver

    X32 = np.random.default_rng(5).integers(0, 4, size=(25_000, 8)).astype(np.float32)
    ref = nn_descent(X32, 20, seed=3, n_iters=3)  # a grid: ties, see above
    monkeypatch.setattr(driver, "_BUCKET_SHIFT", shift)
    other = nn_descent(X32, 20, seed=3, n_iters=3)
    np.testing.assert_array_equal(ref[0], other[0])
    np.testing.assert_array_equal(ref[1], other[1])


@pytest.mark.parametrize(("shift", "parts"), [(0, 1), (2, 2), (4, 3), (30, 2)])
def test_grouped_pushes_end_as_the_pairs_pushed_one_by_one(monkeypatch, shift, parts):
    from fastdse.operator import nn_descent as driver

    monkeypatch.setattr(driver, "_BUCKET_SHIFT", shift)
    rng = np.random.default_rng(shift + parts)
    n, k, R, per = 200, 6, 7, 700  # 7 buffer rows of up to 700 pairs
    lists = [{int(j): float(d) for j, d in zip(rng.choice(np.delete(np.arange(n), i), k,
                                                         replace=False), rng.uniform(1, 2, k))}
             for i in range(n)]
    # heaps: a row sorted by descending distance is a valid max-heap
    order = [sorted(row.items(), key=lambda e: -e[1]) for row in lists]
    idx = np.array([[j for j, _ in row] for row in order], dtype=np.int32)
    dist = np.array([[d for _, d in row] for row in order], dtype=np.float32)
    flag = np.zeros((n, k), dtype=np.uint8)
    p = rng.integers(0, n, (R, per)).astype(np.int32)
    q = ((p + rng.integers(1, n, (R, per))) % n).astype(np.int32)
    d = rng.uniform(0, 2.2, (R, per)).astype(np.float32)
    m = rng.integers(1, 4, (R, per)).astype(np.uint8)  # push into p's heap, q's, or both
    cnt = rng.integers(0, per + 1, R)
    kept = driver._KeptPairs(n, np.float32, parts)
    kept.push(idx, dist, flag, (p, q, d, m, cnt))
    entered = 0
    for r in range(R):  # the reference: every pair in order, each asked-for end
        for a in range(cnt[r]):
            for end, (i, j) in enumerate(((p[r, a], q[r, a]), (q[r, a], p[r, a]))):
                row = lists[i]
                worst = max(row, key=row.get)
                if m[r, a] & (1 << end) and d[r, a] < np.float32(row[worst]) and j not in row:
                    del row[worst]
                    row[int(j)] = float(d[r, a])
                    entered += 1
    assert kept.pushes == entered > 0
    for i in range(n):
        got = sorted(zip(idx[i].tolist(), dist[i].tolist()))
        want = sorted((j, float(np.float32(v))) for j, v in lists[i].items())
        assert got == want, i
        assert np.all(dist[i, 0] >= dist[i, 1:])  # still a max-heap at the root
    assert flag.sum() > 0


def test_knn_search_returns_int64_indices_from_the_int32_graph():
    X = blobs(500, 6)
    idx, dist = knn_search(X, 8, method="nndescent", random_state=0)
    graph = nn_descent(X.astype(np.float32), 8, seed=1)[0]
    assert graph.dtype == np.int32  # 4 bytes a neighbour while the graph is built and widened
    assert idx.dtype == np.int64 and dist.dtype == np.float64  # the public contract
    assert idx.shape == (500, 9) and np.array_equal(idx[:, 0], np.arange(500))


def test_candidates_skip_rows_with_nothing_new_and_sample_the_others():
    from fastdse._numba import nndescent as nnd
    n, k = 6, 3
    rng = np.random.default_rng(0)
    idx = np.array([rng.permutation([j for j in range(n) if j != i])[:k] for i in range(n)],
                   dtype=np.int32)
    flag = np.zeros((n, k), dtype=np.uint8)
    flag[2, 1] = 1  # row 2's second neighbour is new: rows 2 and idx[2, 1] have a new one
    rev_ptr = np.empty(n + 1, dtype=np.int64)
    rev = np.empty(n * k, dtype=np.int32)
    rev_flag = np.empty(n * k, dtype=np.uint8)
    nnd.reverse_lists(idx, flag, rev_ptr, rev, rev_flag, np.empty((2, n), dtype=np.int64))
    new_c = np.full((n, k), 99, dtype=np.int32)
    old_c = np.full((n, k), 99, dtype=np.int32)
    nnd.candidates(idx, flag, rev_ptr, rev, rev_flag, new_c, old_c, 1, 0)
    fresh = {2, int(idx[2, 1])}
    for i in range(n):
        if i in fresh:
            assert int(idx[2, 1] if i == 2 else 2) in new_c[i]
        else:  # nothing new: no candidates at all (no pair to join)
            assert np.all(new_c[i] == -1) and np.all(old_c[i] == -1)
    assert flag[2, 1] == 0  # sampled: now old


def test_float32_graph_cannot_order_near_identical_points():
    # the failure the searcher guards against: float32 copies of points 1e-9 apart at
    # |x| ~ 2 (rounding ~1e-7) are equal, so the lists are arbitrary class members
    X = collapsed_classes(400, 1e-9)
    idx, _, _ = nn_descent(X, 30, seed=7)
    assert np.median(kth_distance_error(idx, X, 5)) > 0.05


def test_unresolved_rows_beyond_the_exact_budget_rebuild_the_graph_in_float64(monkeypatch):
    monkeypatch.setattr(_widen, "EXACT_WIDEN_MAX_PAIRS", 1000)
    X = collapsed_classes(400, 1e-9)
    s = NNDescentSearcher(X, 36, 7, None, {})
    assert s.unresolved_rows == 1200 and s.float64
    idx, _ = s.graph(36)
    assert np.median(kth_distance_error(idx, X, 5)) < 1e-3  # float32: > 5 %
    ref_idx, _ = knn_search(X, 35, method="exact")
    assert recall(idx, ref_idx) > 0.9


def test_resolved_data_keeps_the_float32_graph():
    X = collapsed_classes(400, 1e-3)  # 1e-3 apart: float32 rounding is 1e-4 of the distances
    s = NNDescentSearcher(X, 36, 7, None, {})
    assert s.unresolved_rows == 0 and not s.float64
