"""The operator's numbering for the spectral stage: a badly numbered operator is renumbered.

Every Lanczos step multiplies the operator by a block of probe vectors and reads the
block's row ``j`` for every entry ``(i, j)``. When the points come in an order without
locality (shuffled), those reads spread over the whole block, which at a million points is
far larger than the caches: the 8-probe product at 1,000,000 x 64 took 3.1x as long in
random order as in the scaling benchmark's blob-by-blob order, and the order of a
random-projection tree's leaves brought it back (docs/benchmarks/spectral_stage.md).
NN-descent computes such an order anyway (:func:`fastdse._numba.nndescent.tree_order`);
when its graph built the operator and the operator's numbering is poor
(:func:`numbering_spread` above :data:`RENUMBER_MIN_SPREAD`), the spectral stage runs on
the operator renumbered in that order (:func:`spectral_layout`).

The spectrum does not depend on the numbering, so the measure is that of the same
operator; the probes are drawn in the new numbering, so the estimate is another draw of the
same estimator. The order and the decision depend on the data and the seed only: same
seed, same number.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from fastdse._numba import sparse as _sparse_jit

__all__ = ["RENUMBER_MAX_BYTES", "RENUMBER_MIN_SPREAD", "numbering_spread", "permuted",
           "spectral_layout"]

#: Renumber when the median ``|i - j| / n`` over the operator's entries exceeds this. A
#: random numbering gives about 0.29; the scaling benchmark's blob-by-blob data 0.036 and
#: a tree's order 0.032 at 1,000,000 x 64 (docs/benchmarks/spectral_stage.md).
RENUMBER_MIN_SPREAD = 0.1
#: The renumbered copy is made while the operator exists: not above this size (bytes of
#: the operator's arrays). 0.88 GB at 1,000,000 x 64 (the peak grew from 2.43 to 2.82 GiB
#: there); at 10,000,000 points the copy would add several GB to a peak of 17.8 GiB.
RENUMBER_MAX_BYTES = 2**31
#: Rows sampled (evenly spaced) by :func:`numbering_spread`.
SPREAD_SAMPLE_ROWS = 1000


def numbering_spread(A: sp.csr_matrix) -> float:
    """Median of ``|i - j| / n`` over the entries of up to 1,000 evenly spaced rows.

    0 for a diagonal matrix; about 0.29 for a random numbering of a sparse graph.
    """
    n = A.shape[0]
    rows = np.unique(np.linspace(0, n - 1, min(n, SPREAD_SAMPLE_ROWS)).astype(np.int64))
    starts = A.indptr[rows].astype(np.int64)
    lengths = A.indptr[rows + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    if total == 0:
        return 0.0
    # the positions of the sampled rows' entries
    first = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    cols = A.indices[first + np.arange(total)].astype(np.int64)
    return float(np.median(np.abs(cols - np.repeat(rows, lengths)))) / n


def permuted(A: sp.csr_matrix, order: np.ndarray) -> sp.csr_matrix:
    """Return ``A[order][:, order]`` (row ``i`` is row ``order[i]``), entries in sequence.

    One parallel pass; index dtypes kept. Permuting back with the inverse order gives
    ``A`` again, entry for entry.
    """
    order = np.ascontiguousarray(order, dtype=A.indices.dtype)
    lengths = np.diff(A.indptr)[order]
    indptr = np.zeros(A.shape[0] + 1, dtype=A.indptr.dtype)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.empty_like(A.indices)
    data = np.empty_like(A.data)
    _sparse_jit.permute_symmetric(A.indptr, A.indices, A.data, order, indptr, indices, data)
    return sp.csr_matrix((data, indices, indptr), shape=A.shape, copy=False)


Layout = tuple[sp.csr_matrix, np.ndarray | None, np.ndarray | None, dict[str, Any]]


def spectral_layout(A: sp.csr_matrix, known: np.ndarray | None,
                    order: np.ndarray | None) -> Layout:
    """Return the operator and known vectors for the spectral stage, renumbered if it pays.

    ``order``: a locality order of the points (NN-descent's tree order), or None. Returns
    ``(A', known', order', info)``: ``A`` and ``known`` themselves with ``order' = None``,
    or both renumbered in ``order`` with ``order' = order``; ``info`` holds ``spread``
    (:func:`numbering_spread` of ``A``), ``renumbered`` and, when renumbered,
    ``spread_after`` and ``seconds``; ``too_large`` when the copy would exceed
    :data:`RENUMBER_MAX_BYTES`.
    """
    if order is None:
        return A, known, None, {"renumbered": False}
    spread = numbering_spread(A)
    if spread <= RENUMBER_MIN_SPREAD:
        return A, known, None, {"renumbered": False, "spread": spread}
    if A.data.nbytes + A.indices.nbytes + A.indptr.nbytes > RENUMBER_MAX_BYTES:
        return A, known, None, {"renumbered": False, "spread": spread, "too_large": True}
    start = time.perf_counter()
    B = permuted(A, order)
    known_b = None if known is None else np.ascontiguousarray(known[order])
    info = {"renumbered": True, "spread": spread, "spread_after": numbering_spread(B),
            "seconds": time.perf_counter() - start}
    return B, known_b, order, info
