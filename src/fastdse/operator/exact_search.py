"""Exact neighbour search by blocked BLAS: k-NN lists, radius lists, and the two in one pass.

Candidates come from blocks of the Gram matrix ``X[rows] @ X.T`` (one block per
thread, :func:`fastdse._util.blocks.map_row_blocks`) and numba passes over them
(:mod:`fastdse._numba.screen`, :mod:`fastdse._numba.search`). Lists follow the conventions of
:mod:`fastdse.operator.neighbors`: self first with distance 0, then ascending by
(distance, index), int64 indices and float64 distances.

- :class:`ExactSearcher` answers k-NN queries (:meth:`~ExactSearcher.query`) and
  radius queries (:meth:`~ExactSearcher.query_radius`) for rows of ``X``. A k-NN
  list is chosen among the points whose Gram-expanded distance is within its proven
  rounding bound of the nearest (:func:`float64_bound`), by float64 distances from
  differences: the expansion alone picks the wrong neighbours where it cancels
  (a cluster whose spread is ~1e-6 of its distance from the origin).
- :func:`exact_knn_radius` finds every row's k-NN list and widens it to the row's
  threshold radius in one pass over the Gram matrix: the radius depends on the
  row's own neighbours (:class:`RadiusRule`), so the numba pass evaluates that rule
  while the row is in cache. Its Gram blocks are float32 products of the centred
  points, which only choose candidates within a proven error bound
  (:func:`screen_points`, :mod:`fastdse._numba.screen`); every listed distance is
  computed in float64 from differences. At 50,000 x 128 this pass takes 6.4 s
  instead of 9.1 s with float64 blocks (AMD EPYC, 2 threads;
  docs/benchmarks/neighbors.md, "Exact search: float32 screen").
"""

from __future__ import annotations

from typing import Any, Protocol

import numba
import numpy as np

from fastdse._numba import screen as _screen_jit
from fastdse._numba import search as _search_jit
from fastdse._util import progress as _progress
from fastdse._util.blocks import Scratch, kernels, map_row_blocks

__all__ = ["ExactSearcher", "RadiusRule", "RADIUS_MARGIN", "exact_knn_radius", "float64_bound",
           "screen_points"]

#: Bytes per block of the Gram matrix in the exact search.
_BLOCK_BYTES = 64 * 2**20

#: Relative margin on the radius of a radius query: points out to ``radius * (1 + margin)``
#: are listed, so rounding never drops a point the kernel keeps (the kernel's own threshold
#: test then decides).
RADIUS_MARGIN = 1e-9


class RadiusRule(Protocol):
    """A row's threshold radius from its own neighbour list (the sparse kernel's rule).

    ``radius(dist)`` gives the radius of each row of ``(b, k1)`` neighbour-list
    distances (self first): ``scale * factor``, with ``scale = fixed_scale`` when
    positive, else the distance to the row's ``knn``-th neighbour clipped at
    machine epsilon. The numbers are those the fused numba pass evaluates.
    :class:`fastdse.operator.kernel.RowKernel` is the one implementation.
    """

    @property
    def knn(self) -> int:
        """List column whose distance is the row's scale (when not fixed)."""
        ...

    @property
    def fixed_scale(self) -> float:
        """One scale for every row when positive."""
        ...

    @property
    def factor(self) -> float:
        """Radius over scale."""
        ...

    def radius(self, dist: np.ndarray) -> np.ndarray:
        """Each row's radius from its neighbour list's distances ``(b, k1)``."""
        ...


def _block_rows(n: int, b: int) -> int:
    """Rows per Gram block: :data:`_BLOCK_BYTES` of float64 shared by the block threads."""
    return max(1, min(b, _BLOCK_BYTES // (8 * n * max(1, numba.get_num_threads()))))


def _ragged(lengths: list[np.ndarray], idx: list[np.ndarray], dist: list[np.ndarray]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate blocks of ragged lists into one CSR layout ``(indptr, idx, dist)``."""
    lens = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    indptr = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    return (indptr,
            np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64),
            np.concatenate(dist) if dist else np.zeros(0))


# --------------------------------------------------------------------------- float32 screen

#: Unit roundoffs of float32 and float64.
_U32 = 2.0 ** -24
_U64 = 2.0 ** -53


def screen_points(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Return the float32 points of the screened search and the constants of its bound.

    ``Y = (X - mean) * 2^-e``, with ``e`` the smallest integer that brings every
    coordinate into ``[-1, 1]`` (a power of two: squared distances scale by
    ``scale2 = 2^-2e`` exactly). For ``G = fl32(Y) @ fl32(Y).T`` (any summation
    order) and ``v_ij = s_i + s_j - 2 G_ij`` (``s``: float64 squared norms of
    ``Y``, ``n``: their roots), the true squared distance of points ``i`` and ``j``
    times ``scale2`` lies within ``e_ij = cb n_i n_j + cd (s_i + s_j) + ca`` of
    ``v_ij``:

    - ``cb = 2 (gamma_d (1 + u)^2 + 2u + u^2)``, ``u = 2^-24``, ``gamma_d = d u / (1 - d u)``:
      the float32 rounding of the coordinates (``2u + u^2``) and of the dot product,
      ``|fl(x.y) - x.y| <= gamma_d |x|.|y|`` in any summation order (Higham,
      *Accuracy and Stability of Numerical Algorithms*, 2nd ed., section 3.1), with
      ``|y_i|.|y_j| <= n_i n_j``;
    - ``cd = 4 (d + 16) 2^-53``: the float64 centring, norms and arithmetic;
    - ``ca = d 2^-140``: float32 underflow of coordinates and products below 2^-126.

    A float64 distance from differences is within ``(d + 2) 2^-53`` relative of
    the true one; ``grow = 1 + 4 (d + 4) 2^-53 + 1e-12`` covers it on both sides of a
    comparison. Returns ``(Y32, s, n, consts)`` with ``consts = (cb, cd, ca, scale2,
    grow)``, or None when the screen cannot serve (every point the same).
    """
    d = X.shape[1]
    Y = X - X.mean(axis=0)
    top = float(np.max(np.abs(Y))) if Y.size else 0.0
    if not top > 0.0 or d * _U32 >= 0.5:
        return None
    e = int(np.ceil(np.log2(top)))
    if abs(e) > 500:  # 2^-2e would leave float64's normal range
        return None
    Y *= 2.0 ** -e
    scale2 = 2.0 ** (-2 * e)
    sqy = np.einsum("ij,ij->i", Y, Y)
    ny = np.sqrt(sqy)
    gamma = d * _U32 / (1.0 - d * _U32)
    cb = 2.0 * (gamma * (1.0 + _U32) ** 2 + 2.0 * _U32 + _U32 ** 2) * (1.0 + 1e-6)
    consts = np.array([cb, 4.0 * (d + 16) * _U64, d * 2.0 ** -140, scale2,
                       1.0 + 4.0 * (d + 4) * _U64 + 1e-12])
    return Y.astype(np.float32), sqy, ny, consts


def float64_bound(X: np.ndarray, sq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the norms and the bound constants of float64 Gram blocks ``X[rows] @ X.T``.

    For ``G`` computed in float64 (any summation order), ``sq`` the float64 squared
    norms and ``v_ij = sq_i + sq_j - 2 G_ij`` evaluated as
    :func:`fastdse._numba.screen.knn_radius_rows_screened` does, the true squared
    distance lies within ``e_ij = cb n_i n_j + cd (sq_i + sq_j) + ca`` of ``v_ij``:

    - ``cb = 2 gamma_d``: the dot product (Higham, section 3.1, as in
      :func:`screen_points`, with ``u = 2^-53`` and no rounding of the coordinates);
    - ``cd = (gamma_d + 4u) / (1 - gamma_d)``: the norms and the two additions;
    - ``ca = 4 d 2^-1074``: products below float64's normal range.

    Both with a 1e-6 relative safety; ``grow`` as in :func:`screen_points`. Returns
    ``(sq, n, consts)`` with ``consts = (cb, cd, ca, 1, grow)``.
    """
    d = X.shape[1]
    gamma = d * _U64 / (1.0 - d * _U64)
    consts = np.array([2.0 * gamma * (1.0 + 1e-6),
                       (gamma + 4.0 * _U64) / (1.0 - gamma) * (1.0 + 1e-6),
                       4.0 * d * 2.0 ** -1074, 1.0, 1.0 + 4.0 * (d + 4) * _U64 + 1e-12])
    return sq, np.sqrt(sq), consts


# --------------------------------------------------------------------------- k-NN lists


def _exact_rows(X: np.ndarray, sq: np.ndarray, rows: np.ndarray, k1: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Find the ``k1`` nearest points (self first) of the points ``rows`` by blocked BLAS.

    The float64 Gram blocks choose candidates within :func:`float64_bound`; their
    distances from differences decide (the screened kernel with no radius).
    """
    n = X.shape[0]
    b = len(rows)
    idx = np.empty((b, k1), dtype=np.int64)
    dist = np.empty((b, k1), dtype=np.float64)
    bound = float64_bound(X, sq)
    scratch = Scratch()

    def run(lo: int, hi: int, serial: bool) -> int:
        r = rows[lo:hi]
        G = np.matmul(X[r], X.T, out=scratch.array(len(r), n))
        room = (np.empty((hi - lo, 2), dtype=np.int64), np.empty((hi - lo, 2)))
        _screen_rows(G, X, r, bound, (1, 0.0, 0.0), n, (idx[lo:hi], dist[lo:hi]), room,
                     serial)
        return hi - lo

    with _progress.bar(b, f"kNN (exact, n={n})", unit="pt") as bar:
        for done in map_row_blocks(run, b, _block_rows(n, b)):
            bar.update(done)
    return idx, dist


def _screen_rows(G: np.ndarray, X: np.ndarray, r: np.ndarray, bound: tuple[np.ndarray, ...],
                 rule: tuple[int, float, float], budget: int,
                 first: tuple[np.ndarray, np.ndarray], room: tuple[np.ndarray, np.ndarray],
                 serial: bool) -> np.ndarray:
    """Run :func:`fastdse._numba.screen.knn_radius_rows_screened` on a block; its states.

    ``bound`` is ``(sq, n, consts)`` of the points ``G`` multiplies, ``rule`` the
    radius rule's ``(knn, fixed_scale, factor)``.
    """
    state = np.empty(len(r), dtype=np.int64)
    sq, norms, consts = bound
    (screened,) = kernels(serial, _screen_jit.knn_radius_rows_screened)
    screened(G, r, sq, norms, X, consts, *rule, RADIUS_MARGIN, budget, *first, *room, state)
    return state


# --------------------------------------------------------------------------- radius lists


def _radius_block(G: np.ndarray, X: np.ndarray, bound: tuple[np.ndarray, ...], r: np.ndarray,
                  radius: np.ndarray, cap1: int, serial: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """List the points within ``radius`` of the points ``r`` from their float64 Gram block ``G``.

    ``bound`` is :func:`float64_bound`'s ``(sq, norms, consts)``: the Gram expansion
    within that bound chooses the candidates, their distances from differences decide.
    Returns per-row lengths, the concatenated lists (self first, ascending), and
    which rows were cut at ``cap1`` with the ``(cap1 + 1)``-th point truly inside
    the radius.
    """
    sq, norms, consts = bound
    lim = (radius * (1.0 + RADIUS_MARGIN)) ** 2
    count, fill = (kernels(serial, _search_jit.radius_count_from_gram,
                           _search_jit.radius_fill_from_gram))
    rooms = count(G, sq[r], sq, norms[r], norms, consts, r, lim)
    indptr = np.zeros(len(r) + 1, dtype=np.int64)
    np.cumsum(rooms, out=indptr[1:])
    idx = np.empty(indptr[-1], dtype=np.int64)
    dist = np.empty(indptr[-1], dtype=np.float64)
    counts = np.empty(len(r), dtype=np.int64)
    fill(G, sq[r], sq, norms[r], norms, consts, r, lim, X, indptr, idx, dist, counts)
    truncated = np.zeros(len(r), dtype=bool)
    long_rows = np.nonzero(counts > cap1)[0]
    # more than cap1 listed: truncated if the (cap1 + 1)-th is truly inside
    truncated[long_rows] = dist[indptr[long_rows] + cap1] <= radius[long_rows]
    counts = np.minimum(counts, cap1)
    if not np.array_equal(counts, rooms):  # keep each row's first counts[i] entries
        keep = np.arange(indptr[-1]) - np.repeat(indptr[:-1], rooms) < np.repeat(counts,
                                                                                  rooms)
        idx, dist = idx[keep], dist[keep]
    return counts, idx, dist, truncated


def _exact_radius_rows(X: np.ndarray, sq: np.ndarray, rows: np.ndarray, radius: np.ndarray,
                       cap1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """List every point within ``radius[i]`` of each point ``rows[i]``, by blocked BLAS.

    One Gram pass: each block of rows is screened by the Gram expansion of the
    squared distance within its proven bound (:func:`float64_bound`), and the
    candidates' float64 distances from differences decide (with the radius's
    margin) and are listed, sorted, self first
    (:func:`fastdse._numba.search.radius_fill_from_gram`). Lists longer than
    ``cap1`` keep their ``cap1`` nearest.

    Returns
    -------
    indptr : int64 (b + 1,)
    idx : int64 (nnz,)
    dist : float64 (nnz,)
    truncated : bool (b,)
        Rows with more than ``cap1`` points (self included) within their radius.
    """
    n = X.shape[0]
    b = len(rows)

    bound = float64_bound(X, sq)
    scratch = Scratch()

    def run(lo: int, hi: int, serial: bool) -> tuple[np.ndarray, ...]:
        r = rows[lo:hi]
        G = np.matmul(X[r], X.T, out=scratch.array(len(r), n))
        return _radius_block(G, X, bound, r, radius[lo:hi], cap1, serial)

    lengths, parts_idx, parts_dist, parts_trunc = [], [], [], []
    with _progress.bar(b, f"kNN radius (exact, n={n})", unit="pt") as bar:
        for counts, idx, dist, trunc in map_row_blocks(run, b, _block_rows(n, b)):
            lengths.append(counts)
            parts_idx.append(idx)
            parts_dist.append(dist)
            parts_trunc.append(trunc)
            bar.update(len(counts))
    indptr, idx, dist = _ragged(lengths, parts_idx, parts_dist)
    truncated = np.concatenate(parts_trunc) if parts_trunc else np.zeros(0, dtype=bool)
    return indptr, idx, dist, truncated


class ExactSearcher:
    """Exact neighbour queries of points of ``X`` (by row number), by blocked BLAS.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d), float64
        Validated points.
    """

    method = "exact"

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.sq = np.einsum("ij,ij->i", X, X)

    def query(self, rows: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Find the ``k1`` nearest points of each point ``rows[i]`` (self first), ``(b, k1)``."""
        return _exact_rows(self.X, self.sq, np.asarray(rows, dtype=np.int64), k1)

    def query_radius(self, rows: np.ndarray, radius: np.ndarray, cap1: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Every point within ``radius[i]`` of ``rows[i]`` (at most ``cap1``), one pass.

        Returns ``(indptr, idx, dist, truncated)``: ragged lists in CSR layout and
        which rows had more than ``cap1`` points (self included) within their radius.
        """
        return _exact_radius_rows(self.X, self.sq, np.asarray(rows, dtype=np.int64),
                                  np.asarray(radius, dtype=np.float64), cap1)


# --------------------------------------------------------------------------- fused pass


def _assemble(lengths: np.ndarray, first: tuple[np.ndarray, np.ndarray],
              room: tuple[np.ndarray, np.ndarray], from_room: np.ndarray, rows: np.ndarray,
              lists: tuple[np.ndarray, ...] | None, serial: bool
              ) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate a block's lists into ``(idx, dist)``, ``lengths[i]`` entries a row.

    Row ``i``'s list comes from ``room`` where ``from_room[i]``, else from ``first``;
    the rows ``rows`` were listed separately, in ``lists`` (``(counts, idx, dist)``,
    ragged; None when ``rows`` is empty).
    """
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    idx = np.empty(indptr[-1], dtype=np.int64)
    out = np.empty(indptr[-1], dtype=np.float64)
    (gather, copy) = kernels(serial, _search_jit.gather_lists, _search_jit.copy_ragged_rows)
    gather(*first, *room, from_room, indptr, idx, out)
    if lists is not None:
        counts, l_idx, l_dist = lists
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        copy(ptr, l_idx, l_dist, np.arange(len(rows)), indptr, rows, idx, out)
    return idx, out


def _screened_block(G: np.ndarray, X: np.ndarray, sq: np.ndarray, r: np.ndarray,
                    bounds: tuple[tuple[np.ndarray, ...], ...], rule: RadiusRule, cap1: int,
                    first_dist: np.ndarray, room: tuple[np.ndarray, np.ndarray],
                    serial: bool) -> tuple[Any, ...]:
    """List the rows ``r`` from their Gram block ``G``: k-NN, then widened where short.

    ``bounds`` holds the bound of ``G``'s points (:func:`screen_points` for a
    float32 block, :func:`float64_bound` for a float64 one), then the float64
    bound for the rows the first cannot resolve within a budget of candidates
    (:data:`fastdse._numba.screen.FALLBACK`): those get their float64 Gram rows,
    where every point may be a candidate. ``first_dist`` (``(b, k1)``) receives the
    k-NN lists' distances; ``room`` is scratch for ``cap1 + 1`` in-radius points a
    row. Returns the rows' list lengths, their lists (concatenated), the truncated
    rows, how many rows were widened and how many took the float64 pass.
    """
    b, k1 = first_dist.shape
    n = G.shape[1]
    first_idx = np.empty((b, k1), dtype=np.int64)
    room_idx, room_dist = room
    last = len(bounds) == 1
    budget = n if last else 4 * (cap1 + 1) + 64
    state = _screen_rows(G, X, r, bounds[0], (rule.knn, rule.fixed_scale, rule.factor),
                         budget, (first_idx, first_dist), room, serial)
    back = np.nonzero(state == _screen_jit.FALLBACK)[0]
    lengths = np.where(state >= 1, np.minimum(state, cap1), k1)
    # a full room holds cap1 + 1 points: cut at cap1, truncated if the last is inside
    full = np.nonzero(state == cap1 + 1)[0]
    inside = room_dist[full, cap1] <= rule.radius(first_dist[full])
    truncated = [r[state == _screen_jit.CUT_AT_FIRST], r[full[inside]]]
    n_widened = int(np.count_nonzero(state >= 1))
    if len(back):
        G64 = np.matmul(X[r[back]], X.T)
        b_dist = np.empty((len(back), k1), dtype=np.float64)
        b_room = (np.empty((len(back), cap1 + 1), dtype=np.int64),
                  np.empty((len(back), cap1 + 1), dtype=np.float64))
        b_len, b_idx, b_out, b_trunc, b_widened, _ = _screened_block(
            G64, X, sq, r[back], bounds[1:], rule, cap1, b_dist, b_room, serial)
        first_dist[back] = b_dist
        lengths[back] = b_len
        truncated.append(b_trunc)
        n_widened += b_widened
    idx, out = _assemble(lengths, (first_idx, first_dist), room, state >= 1, back,
                         (b_len, b_idx, b_out) if len(back) else None, serial)
    return lengths, idx, out, np.concatenate(truncated), n_widened, len(back)


def exact_knn_radius(
    X: np.ndarray,
    k1: int,
    rule: RadiusRule,
    max_neighbors: int,
    screen: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any], np.ndarray]:
    """Exact k-NN search and widening to a radius, in one pass over the Gram matrix.

    The same result as :func:`fastdse.operator.neighbors.knn_search`
    (``method="exact"``) followed by :func:`fastdse.operator.widen.widen_to_radius`
    with an :class:`ExactSearcher` and the radii ``rule.radius(distances)``, but each
    block of the Gram matrix is computed once, and each of its rows is visited once
    while in cache (:func:`fastdse._numba.screen.knn_radius_rows_screened`): its ``k1``
    nearest points give its radius, and if the ``k1``-th is closer than that, every
    point within the radius is listed from the same row.

    The blocks are float32 products of the centred, scaled points
    (:func:`screen_points`): they choose each row's candidates, whose float64
    distances from differences decide the lists, so the lists are those of exact
    distances. Rows the bound cannot resolve within a budget of candidates go
    through their float64 Gram rows, with the bound of :func:`float64_bound` and
    no budget, as do all rows when every point is the same.

    Parameters
    ----------
    X : float64 (n, d)
        Validated points.
    k1 : int
        Length of the first lists (self included), ``k1 <= n``.
    rule : RadiusRule
        A row's radius from its first list (:class:`fastdse.operator.kernel.RowKernel`).
    max_neighbors : int
        Cap on a list's length, self excluded.
    screen : bool
        Screen with float32 blocks (the default); False computes float64 blocks
        throughout (the reference the screen is measured against). The lists are
        the same either way.

    Returns
    -------
    indptr, nbr, dist, truncated, info
        As :func:`fastdse.operator.widen.widen_to_radius`, but a widened row's list
        that the cap does not cut is self first, then ascending by index (the kernel
        sorts rows by column; the k-NN lists and cut rows are by distance).
        ``widen_seconds`` is 0 (the widening happens inside the search pass, whose
        time the caller measures); ``info["float64_rows"]`` counts the rows listed
        from float64 Gram rows.
    first_dist : float64 (n, k1)
        The first lists' distances (self first), from which the radii came.
    """
    n = X.shape[0]
    cap1 = min(max_neighbors, n - 1) + 1
    sq = np.einsum("ij,ij->i", X, X)
    first_dist = np.empty((n, k1), dtype=np.float64)
    points = screen_points(X) if screen and k1 >= 2 else None
    g_scratch = Scratch(np.float64 if points is None else np.float32)
    idx_scratch, dist_scratch = Scratch(np.int64), Scratch()
    bound64 = float64_bound(X, sq)
    bounds = (bound64,) if points is None else (points[1:], bound64)

    def run(lo: int, hi: int, serial: bool) -> tuple[Any, ...]:
        room = (idx_scratch.array(hi - lo, cap1 + 1), dist_scratch.array(hi - lo, cap1 + 1))
        rows = np.arange(lo, hi, dtype=np.int64)
        Y = X if points is None else points[0]
        G = np.matmul(Y[lo:hi], Y.T, out=g_scratch.array(hi - lo, n))
        return _screened_block(G, X, sq, rows, bounds, rule, cap1, first_dist[lo:hi], room,
                               serial)

    lengths, parts_idx, parts_dist, parts_trunc = [], [], [], []
    widened = float64_rows = 0
    with _progress.bar(n, f"kNN + radius (exact, n={n})", unit="pt") as bar:
        for counts, idx, dist, trunc, n_widened, n_back in map_row_blocks(
                run, n, _block_rows(n, n)):
            float64_rows += n_back if points is not None else len(counts)
            lengths.append(counts)
            parts_idx.append(idx)
            parts_dist.append(dist)
            parts_trunc.append(trunc)
            widened += n_widened
            bar.update(len(counts))
    indptr, nbr, nd = _ragged(lengths, parts_idx, parts_dist)
    info = {"rounds": int(widened > 0), "two_hop_rows": 0, "widened_rows": widened,
            "float64_rows": float64_rows,
            "radius_rows": np.zeros(0, dtype=np.int64), "widen_seconds": 0.0}
    return indptr, nbr, nd, np.sort(np.concatenate(parts_trunc)), info, first_dist
