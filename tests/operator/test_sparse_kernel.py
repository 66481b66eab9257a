"""The sparse kernel's rule for a row and its steps (operator/sparse_kernel)."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from fastdse._numba import sparse as _sparse_jit
from fastdse._util.threads import numba_threads
from fastdse.operator.kernel import sparse_affinity
from fastdse.operator.neighbors import knn_search
from fastdse.operator.sparse_kernel import RowKernel


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


@pytest.mark.parametrize("kernel,decay,sigma", [("alpha_decay", 40.0, 1.0),
                                                ("alpha_decay", 3.0, 1.0),
                                                ("gaussian", 40.0, 0.7)])
@pytest.mark.parametrize("thresh", [1e-4, 0.3])
def test_row_rule_radius_is_where_the_kernel_meets_thresh(rng, kernel, decay, sigma, thresh):
    dist = np.sort(rng.uniform(0.0, 2.0, size=(50, 8)), axis=1)
    dist[:, 0] = 0.0  # self first
    dist[:3, :] = 0.0  # duplicated points: a zero bandwidth
    rule = RowKernel.of(kernel, 4, decay, sigma, thresh)
    scale, radius = rule.scale(dist), rule.radius(dist)
    if kernel == "alpha_decay":
        assert rule.adaptive and rule.power == decay
        np.testing.assert_array_equal(scale[3:], dist[3:, 4])
        np.testing.assert_array_equal(scale[:3], np.finfo(np.float64).eps)
    else:  # exp(-d^2 / (2 sigma^2)) = exp(-(d / (sigma sqrt 2))^2)
        assert not rule.adaptive and rule.power == 2.0
        np.testing.assert_allclose(scale, sigma * np.sqrt(2.0), rtol=1e-15)
    # the kernel exp(-(d / s)^p) equals thresh at the radius
    np.testing.assert_allclose(np.exp(-((radius / scale) ** rule.power)), thresh, rtol=1e-12)
    np.testing.assert_allclose(rule.factor, np.log(1 / thresh) ** (1 / rule.power),
                               rtol=1e-15)


def test_approximate_neighbours_get_exact_bandwidths_from_the_radius_pass(rng):
    X = rng.uniform(size=(700, 256))  # concentrated distances: every row is widened
    exact, info_exact = sparse_affinity(X, "alpha_decay", knn=5, decay=40, neighbors="exact",
                                        return_info=True)
    # an "approximate" search that missed each point's three nearest neighbours
    idx, dist = knn_search(X, 24, method="exact")
    approx = (np.hstack([idx[:, :1], idx[:, 4:]]), np.hstack([dist[:, :1], dist[:, 4:]]))
    assert np.all(approx[1][:, 5] > dist[:, 5])  # its 5th-neighbour bandwidths are too wide
    K, info = sparse_affinity(X, "alpha_decay", knn=5, decay=40, knn_result=approx,
                              return_info=True)
    assert info["exact_bandwidth_rows"] == 700
    # values to rounding (the radius lists' distances come from the Gram
    # expansion, the exact path's bandwidths from differences: ~1e-15 apart, ^40 in the kernel)
    assert ((K != 0) != (exact != 0)).nnz == 0  # the same entries
    np.testing.assert_allclose(K.toarray(), exact.toarray(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(info["bandwidth"], info_exact["bandwidth"], rtol=1e-14)


@pytest.mark.parametrize(("n", "density"), [(400, 0.002), (400, 0.05), (3000, 0.03)])
def test_symmetrize_half_equals_scipys_sum_bit_for_bit(rng, n, density):
    # 3,000 rows at 3 %: 270,000 entries, above the size where the kernels run in parallel
    A = sp.random(n, n, density=density, random_state=3, format="csr")
    A.data[::7] = 0.0  # explicit zeros: scipy's sum drops entries that add to 0
    lengths = np.diff(A.indptr)
    starts = 3 * A.indptr[:-1]  # rows with gaps between them, each in shuffled order
    idx = np.full(3 * A.nnz + 1, -1, dtype=np.int32)
    val = np.full(3 * A.nnz + 1, np.nan)
    for i in range(n):
        row = slice(A.indptr[i], A.indptr[i + 1])
        perm = rng.permutation(lengths[i])
        idx[starts[i]:starts[i] + lengths[i]] = A.indices[row][perm]
        val[starts[i]:starts[i] + lengths[i]] = A.data[row][perm]
    ptr, ind, dat = _sparse_jit.compact_sorted_rows(starts, lengths, idx, val)
    K = sp.csr_matrix((dat, ind, ptr), shape=(n, n))
    assert K.has_sorted_indices and (K != A).nnz == 0
    ref = (A + A.T).tocsr()
    ref.data *= 0.5
    ref.sort_indices()
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        with numba_threads(threads):
            sym_ptr, sym_ind, sym_dat = _sparse_jit.symmetrize_half(ptr, ind, dat.copy())
        np.testing.assert_array_equal(sym_ptr, ref.indptr)
        np.testing.assert_array_equal(sym_ind, ref.indices)
        np.testing.assert_array_equal(sym_dat, ref.data)  # the same floats, not just close


def test_compact_sorted_rows_sorts_lists_given_self_first_then_by_index(rng):
    # the fused exact search lists a row self first, then by index: merged in one pass;
    # the head can belong first, in the middle or last; other rows are sorted in full
    rows = [np.array([5, 1, 2, 9]), np.array([0, 3, 4]), np.array([8, 1, 2, 3]),
            np.array([4]), np.array([], dtype=int), np.array([2, 6, 3, 1]),
            np.array([1, 2, 3]), rng.permutation(40)[:25],
            np.concatenate([[17], np.setdiff1d(np.arange(40), [17])[::2]])]
    lengths = np.array([len(r) for r in rows])
    starts = np.concatenate([[0], np.cumsum(lengths + 2)[:-1]])  # gaps between rows
    idx = np.full(int(starts[-1] + lengths[-1]) + 1, -1, dtype=np.int32)
    val = np.full(len(idx), np.nan)
    for r, st in zip(rows, starts):
        idx[st:st + len(r)] = r
        val[st:st + len(r)] = r * 0.5 + 1.0  # a value tied to its column
    ptr, ind, dat = _sparse_jit.compact_sorted_rows(starts, lengths, idx, val)
    np.testing.assert_array_equal(ptr, np.concatenate([[0], np.cumsum(lengths)]))
    np.testing.assert_array_equal(ind, np.concatenate([np.sort(r) for r in rows]))
    np.testing.assert_array_equal(dat, ind * 0.5 + 1.0)


def test_kernel_rows_keep_the_entries_at_or_above_thresh():
    # two rows of neighbour lists; k = exp(-(d / s)^p) against thresh just below exp(-1):
    # d <= s kept
    indptr = np.array([0, 3, 5])
    nbr = np.array([0, 2, 1, 1, 0])
    dist = np.array([0.0, 1.0, 1.5, 0.0, 2.0])
    scale = np.array([1.0, 2.0])
    out_idx = np.full(5, -1, dtype=np.int64)
    out_val = np.full(5, np.nan)
    lengths = np.zeros(2, dtype=np.int64)
    _sparse_jit.decay_kernel_rows(indptr, nbr, dist, scale, 2.0, np.exp(-1.0) * (1 - 1e-9),
                                  out_idx, out_val, lengths)
    np.testing.assert_array_equal(lengths, [2, 2])
    np.testing.assert_array_equal(out_idx[[0, 1, 3, 4]], [0, 2, 1, 0])
    np.testing.assert_allclose(out_val[[0, 1, 3, 4]], [1.0, np.exp(-1.0), 1.0, np.exp(-1.0)],
                               rtol=1e-15)
    # an entry exactly at the threshold is kept: thresh = 1 keeps the points themselves
    _sparse_jit.decay_kernel_rows(indptr, nbr, dist, scale, 2.0, 1.0, out_idx, out_val,
                                  lengths)
    np.testing.assert_array_equal(lengths, [1, 1])
    np.testing.assert_array_equal(out_idx[[0, 3]], [0, 1])
