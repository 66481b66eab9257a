"""numba kernels of the sparse kernel: kernel rows, row mass, CSR compaction and symmetrisation.

Plain arrays in, plain arrays out. Neighbour lists come in CSR layout
``(indptr, indices, distances)`` (see :mod:`.search`); kernels leave as CSR
arrays ``(indptr, indices, data)``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from fastdse._numba.jit import jit, pjit

_EPS = np.finfo(np.float64).eps


@pjit
def decay_kernel_rows(indptr, nbr, dist, scale, decay, thresh, out_indices, out_data,
                      lengths):  # pragma: no cover - jitted
    """Kernel rows ``exp(-(d_ij / scale_i)^decay)``, the entries ``>= thresh``, in one pass.

    Row ``i`` is written in place of its neighbour list (from ``indptr[i]``;
    ``out_*`` are as long as the lists) and its length into ``lengths[i]``.
    ``scale_i`` is clipped at machine epsilon (zero bandwidths of duplicated
    points), as in the dense path. The alpha-decay kernel has ``scale`` = the
    bandwidths; the Gaussian ``exp(-d^2 / 2 sigma^2)`` has ``scale = sigma
    sqrt(2)`` and ``decay = 2``.
    """
    n = indptr.shape[0] - 1
    for i in prange(n):
        s = max(scale[i], _EPS)
        q = indptr[i]
        for p in range(indptr[i], indptr[i + 1]):
            v = np.exp(-((dist[p] / s) ** decay))
            if v >= thresh:
                out_indices[q] = nbr[p]
                out_data[q] = v
                q += 1
        lengths[i] = q - indptr[i]


@pjit
def row_mass(indptr, data):  # pragma: no cover - jitted
    """Row sums of a CSR matrix."""
    n = indptr.shape[0] - 1
    out = np.zeros(n, dtype=np.float64)
    for i in prange(n):
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p]
        out[i] = acc
    return out


@pjit
def scale_sym_inplace(indptr, indices, data, s):  # pragma: no cover - jitted
    """``K <- diag(s) K diag(s)`` on CSR arrays, in place."""
    n = indptr.shape[0] - 1
    for i in prange(n):
        si = s[i]
        for p in range(indptr[i], indptr[i + 1]):
            data[p] = data[p] * si * s[indices[p]]


# --------------------------------------------------------------------------- full rows
# (the truncation estimate: the exact kernel mass of whole rows)


@pjit
def gram_block_to_dist_inplace(G, sq_rows, sq_all):  # pragma: no cover - jitted
    """Turn a block ``X[rows] @ X.T`` into Euclidean distances, in place."""
    b, n = G.shape
    for r in prange(b):
        for j in range(n):
            v = G[r, j] * -2.0 + sq_rows[r] + sq_all[j]
            G[r, j] = np.sqrt(v) if v > 0.0 else 0.0


@pjit
def decay_row_mass_dense(D, scale, decay, thresh, out):  # pragma: no cover - jitted
    """Add each row's kernel mass over a block of distances to ``out`` (entries < thresh dropped).

    Columns of one row may come in several blocks: ``out`` carries the running
    sums, added to in column order. Distances beyond the threshold radius
    ``scale * (-ln thresh)^(1/decay)`` (with a 1e-9 relative margin, far above
    rounding) cannot reach ``thresh`` and skip the exponential.
    """
    b, n = D.shape
    reach = max(-np.log(thresh), 0.0) ** (1.0 / decay) * (1.0 + 1e-9) if thresh > 0.0 else np.inf
    for r in prange(b):
        s = max(scale[r], _EPS)
        radius = s * reach
        acc = out[r]
        for j in range(n):
            if D[r, j] <= radius:
                v = np.exp(-((D[r, j] / s) ** decay))
                if v >= thresh:
                    acc += v
        out[r] = acc


# --------------------------------------------------------------------------- CSR assembly


@pjit
def _sort_rows_by_column(starts, indptr, indices, data, out_indices,
                         out_data):  # pragma: no cover - jitted
    """Copy each row to its place in a compact CSR layout, sorted by column index.

    Row ``i`` has ``indptr[i + 1] - indptr[i]`` entries from ``starts[i]`` and
    goes to ``out_*[indptr[i]:indptr[i + 1]]``. A row's column indices are distinct;
    a row that is ascending after its first entry (a neighbour list listed self
    first, then by index) is merged in one pass, the others are sorted.
    """
    n = indptr.shape[0] - 1
    for i in prange(n):
        lo = starts[i]
        m = indptr[i + 1] - indptr[i]
        o = indptr[i]
        if _ascending_after_first(indices, lo + 1, lo + m):
            _insert_first(indices, data, lo, m, out_indices, out_data, o)
            continue
        order = np.argsort(indices[lo:lo + m])
        for c in range(m):
            out_indices[o + c] = indices[lo + order[c]]
            out_data[o + c] = data[lo + order[c]]


@jit
def _ascending_after_first(indices, lo, hi):  # pragma: no cover - jitted
    """Whether ``indices[lo:hi]`` is strictly ascending."""
    for c in range(lo + 1, hi):
        if indices[c] <= indices[c - 1]:
            return False
    return True


@jit
def _insert_first(indices, data, lo, m, out_indices, out_data, o):  # pragma: no cover
    """Copy the ``m`` entries from ``lo`` to ``o``, the first moved to its place by index.

    The entries after the first are ascending by index (and none equals the first's).
    """
    head = indices[lo]
    head_value = data[lo]
    for c in range(1, m):
        if head < indices[lo + c]:
            out_indices[o] = head
            out_data[o] = head_value
            for r in range(c, m):
                out_indices[o + 1 + r - c] = indices[lo + r]
                out_data[o + 1 + r - c] = data[lo + r]
            return
        out_indices[o] = indices[lo + c]
        out_data[o] = data[lo + c]
        o += 1
    if m > 0:
        out_indices[o] = head
        out_data[o] = head_value


@pjit
def _pair_sums(indptr, indices, data, lonely):  # pragma: no cover - jitted
    """Write ``K[i, j] + K[j, i]`` over both entries of each mirrored pair, in place.

    A diagonal entry becomes ``2 K[i, i]``. ``lonely`` comes in filled with 1 and
    keeps 1 only where the mirrored entry is absent. Each pair is looked up once,
    from the row with the smaller index (binary search in the other, sorted row);
    its two positions belong to that pair alone, so no two threads read or write
    the same element.
    """
    n = indptr.shape[0] - 1
    for i in prange(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j <= i:
                if j == i:
                    data[p] = data[p] + data[p]
                    lonely[p] = 0
                continue
            lo = indptr[j]
            hi = indptr[j + 1]
            while lo < hi:
                mid = (lo + hi) // 2
                if indices[mid] < i:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < indptr[j + 1] and indices[lo] == i:
                s = data[p] + data[lo]  # the same float either way round
                data[p] = s
                data[lo] = s
                lonely[p] = 0
                lonely[lo] = 0


@pjit
def _half_sum_own(indptr, indices, data, lonely, out_ptr, out_ind, out_dat,
                  count_only):  # pragma: no cover - jitted
    """Row ``i``'s own entries of ``(K + K^T) / 2`` (``data`` holds the pair sums).

    A lonely entry adds 0 (``-0.0`` becomes ``0.0``, as in scipy's sum). With
    ``count_only`` the number of nonzero sums goes to ``out_ptr[i + 1]``; otherwise
    they are written, halved, from ``out_ptr[i]``.
    """
    n = indptr.shape[0] - 1
    for i in prange(n):
        w = out_ptr[i]
        c = 0
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p] + 0.0 if lonely[p] else data[p]
            if v != 0.0:
                if not count_only:
                    out_ind[w + c] = indices[p]
                    out_dat[w + c] = v * 0.5
                c += 1
        if count_only:
            out_ptr[i + 1] = c


@jit
def _half_sum_mirrored(indptr, indices, data, lonely, fill, out_ind, out_dat,
                       count_only):  # pragma: no cover - jitted
    """Add the entries of ``(K + K^T) / 2`` that only ``K^T`` has (``K[j, i]``, no ``K[i, j]``).

    Rows ``j`` are visited in increasing order, so each output row gets them
    sorted by column. With ``count_only`` they are counted into ``fill[i]``;
    otherwise written, halved, at ``fill[i]`` (advanced).
    """
    n = indptr.shape[0] - 1
    for j in range(n):
        for p in range(indptr[j], indptr[j + 1]):
            if lonely[p]:
                i = indices[p]
                v = 0.0 + data[p]
                if v != 0.0:
                    if not count_only:
                        out_ind[fill[i]] = j
                        out_dat[fill[i]] = v * 0.5
                    fill[i] += 1


@pjit
def _merge_runs(out_ptr, own_end, out_ind, out_dat):  # pragma: no cover - jitted
    """Merge each row's two column-sorted runs (own entries, then mirrored ones) in place.

    Rows are taken in 64 fixed chunks, each with one buffer as long as its longest
    row: a linear merge per row, no allocation per row.
    """
    n = out_ptr.shape[0] - 1
    nchunk = min(64, max(n, 1))
    step = (n + nchunk - 1) // nchunk
    for b in prange(nchunk):
        lo_row = b * step
        hi_row = min(n, lo_row + step)
        longest = 0
        for i in range(lo_row, hi_row):
            longest = max(longest, out_ptr[i + 1] - out_ptr[i])
        buf_ind = np.empty(longest, dtype=out_ind.dtype)
        buf_dat = np.empty(longest, dtype=out_dat.dtype)
        for i in range(lo_row, hi_row):
            lo = out_ptr[i]
            mid = own_end[i]
            hi = out_ptr[i + 1]
            if mid == lo or mid == hi:
                continue
            p = lo
            q = mid
            w = 0
            while p < mid or q < hi:
                if q >= hi or (p < mid and out_ind[p] < out_ind[q]):
                    buf_ind[w] = out_ind[p]
                    buf_dat[w] = out_dat[p]
                    p += 1
                else:
                    buf_ind[w] = out_ind[q]
                    buf_dat[w] = out_dat[q]
                    q += 1
                w += 1
            for c in range(w):
                out_ind[lo + c] = buf_ind[c]
                out_dat[lo + c] = buf_dat[c]


def index_dtype(n: int, nnz: int) -> type:
    """int32 while ``n`` and ``nnz`` fit in it (as scipy chooses), else int64."""
    return np.int32 if max(n, nnz) < np.iinfo(np.int32).max else np.int64


def compact_sorted_rows(starts, lengths, indices, data):
    """Rows stored from ``starts[i]`` with ``lengths[i]`` entries, as sorted CSR.

    Returns ``(indptr, indices, data)``: int64 row pointers, column indices
    sorted within each row (the dtype of ``indices``), float64 values.
    """
    n = lengths.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    out_ind = np.empty(indptr[-1], dtype=indices.dtype)
    out_dat = np.empty(indptr[-1], dtype=np.float64)
    _sort_rows_by_column(np.asarray(starts, dtype=np.int64), indptr, indices, data, out_ind,
                         out_dat)
    return indptr, out_ind, out_dat


def symmetrize_half(indptr, indices, data):
    """``(K + K^T) / 2`` of an ``n x n`` CSR matrix whose rows are sorted by column.

    The same numbers as scipy's ``(K + K.T) * 0.5`` (each sum formed once and
    halved; sums that are exactly zero dropped), with sorted column indices.
    No transpose is built: each pair of mirrored entries ``(i, j)``, ``(j, i)``
    is found once by binary search in the sorted row and its sum written over
    both, and the entries only the transpose has (flagged, one byte each) are
    scattered into their rows: the memory beyond ``K`` and the output is one byte
    per entry of ``K`` (a transpose with values took twelve).

    ``data`` is overwritten (with the pair sums): pass a copy to keep it.

    Returns ``(indptr, indices, data)``: row pointers and column indices in
    :func:`index_dtype` (int32 while they fit, as scipy keeps them), float64.
    """
    n = indptr.shape[0] - 1
    indptr = np.asarray(indptr, dtype=np.int64)
    lonely = np.ones(indptr[-1], dtype=np.uint8)
    _pair_sums(indptr, indices, data, lonely)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    _half_sum_own(indptr, indices, data, lonely, out_ptr, indices[:0], data[:0], True)
    mirrored = np.zeros(n, dtype=np.int64)
    _half_sum_mirrored(indptr, indices, data, lonely, mirrored, indices[:0], data[:0], True)
    out_ptr[1:] += mirrored
    np.cumsum(out_ptr, out=out_ptr)
    itype = index_dtype(n, int(out_ptr[-1]))
    out_ind = np.empty(out_ptr[-1], dtype=itype)
    out_dat = np.empty(out_ptr[-1], dtype=np.float64)
    _half_sum_own(indptr, indices, data, lonely, out_ptr, out_ind, out_dat, False)
    own_end = out_ptr[1:] - mirrored  # where each row's mirrored entries begin
    fill = own_end.copy()
    _half_sum_mirrored(indptr, indices, data, lonely, fill, out_ind, out_dat, False)
    del lonely
    _merge_runs(out_ptr, own_end, out_ind, out_dat)
    return out_ptr.astype(itype), out_ind, out_dat


@jit
def splice_rows(indptr, nbr, dist, rows, new_ptr, new_nbr, new_dist):  # pragma: no cover
    """Replace the lists of ``rows`` (sorted) by ``new_*`` (CSR, in the order of ``rows``).

    Returns the spliced lists ``(indptr, nbr, dist)``; the other rows are copied as they are.
    """
    n = indptr.shape[0] - 1
    out_ptr = np.empty(n + 1, dtype=np.int64)
    out_ptr[0] = 0
    j = 0
    for i in range(n):
        if j < rows.shape[0] and rows[j] == i:
            length = new_ptr[j + 1] - new_ptr[j]
            j += 1
        else:
            length = indptr[i + 1] - indptr[i]
        out_ptr[i + 1] = out_ptr[i] + length
    out_nbr = np.empty(out_ptr[n], dtype=nbr.dtype)
    out_dist = np.empty(out_ptr[n], dtype=dist.dtype)
    j = 0
    for i in range(n):
        o = out_ptr[i]
        if j < rows.shape[0] and rows[j] == i:
            for q in range(new_ptr[j], new_ptr[j + 1]):
                out_nbr[o] = new_nbr[q]
                out_dist[o] = new_dist[q]
                o += 1
            j += 1
        else:
            for q in range(indptr[i], indptr[i + 1]):
                out_nbr[o] = nbr[q]
                out_dist[o] = dist[q]
                o += 1
    return out_ptr, out_nbr, out_dist


@pjit
def permute_symmetric(indptr, indices, data, order, out_ptr, out_ind, out_dat
                      ):  # pragma: no cover - jitted
    """``B = A[order][:, order]`` for a CSR matrix ``A``: row ``i`` of ``B`` is row ``order[i]``.

    ``out_ptr`` must hold ``B``'s row pointers already (the cumulative row lengths in the
    new order). Each row keeps its entries in their sequence, columns renamed by the
    inverse of ``order``; rows are independent, split over threads.
    """
    n = order.shape[0]
    inv = np.empty(n, dtype=indices.dtype)
    for i in prange(n):
        inv[order[i]] = i
    for i in prange(n):
        src = order[i]
        o = out_ptr[i]
        for q in range(indptr[src], indptr[src + 1]):
            out_ind[o] = inv[indices[q]]
            out_dat[o] = data[q]
            o += 1
