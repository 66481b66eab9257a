"""Gaussian bandwidth from the data: the k-NN scale rule (``sigma="knn"``).

``sigma="knn"`` sets the Gaussian kernel's one bandwidth to the median, over the
distinct points, of the distance from a point to its :data:`KNN_SIGMA_RANK`-th
nearest other point. It is DSMI's default (:func:`fastdse.dsmi`, chosen by the
study in ``docs/benchmarks/dsmi_defaults.md``): one bandwidth for the whole cloud,
fixed before any class or subset is taken, that follows the data's scale (the
value does not change when the data are multiplied by a constant) and its local
density (a blob's spread, not the distance between blobs).

Up to :data:`EXACT_QUERIES` distinct points every point is a query (exact median).
Beyond, the median is estimated from that many points drawn at random (by the
caller's generator) and searched against all points (O(EXACT_QUERIES n d) time):
the estimate's relative spread is about 1 % for clouds whose k-NN distances vary by
tens of percent.

The search is :class:`fastdse.operator.exact_search.ExactSearcher`'s: Gram blocks
choose the candidates within a proven rounding bound and distances from coordinate
differences rank them, so the neighbour is the true ``rank``-th also where the Gram
form cancels: in a collapsed representation (classes of points 1e-7 to 1e-10 apart,
far from the origin) ranking by the Gram form alone made the bandwidth 3 % and 27 %
too large.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastdse._util.validation import check_int
from fastdse.operator.conditioning import condition_points
from fastdse.operator.exact_search import ExactSearcher

__all__ = ["SIGMA_RULES", "KNN_SIGMA_RANK", "EXACT_QUERIES", "is_rule", "knn_sigma"]

#: The bandwidth rules ``sigma`` accepts besides a number.
SIGMA_RULES = ("knn",)

#: ``sigma="knn"``: the rank of the neighbour whose median distance is the bandwidth
#: (30: the rank the DSMI defaults study chose; docs/benchmarks/dsmi_defaults.md).
KNN_SIGMA_RANK = 30

#: Points searched exactly: every point up to this many, a random sample of this many beyond.
EXACT_QUERIES = 10_000


def is_rule(sigma: Any) -> bool:
    """Whether ``sigma`` names a bandwidth rule rather than a number."""
    return isinstance(sigma, str)


def knn_sigma(points: np.ndarray, *, rank: int = KNN_SIGMA_RANK,
              rng: np.random.Generator | None = None) -> float:
    """Median over the points of the distance to their ``rank``-th nearest other point.

    Parameters
    ----------
    points : numpy.ndarray of shape (n, d), float64
        Distinct points (repeated rows would put zeros among the distances; callers
        pass the distinct rows). ``rank`` is capped at ``n - 1``.
    rank : int
        Which neighbour (1: the nearest other point).
    rng : numpy.random.Generator, optional
        Draws the query points when ``n > EXACT_QUERIES`` (required then).

    Returns
    -------
    float
        The bandwidth, in the units of ``points``. A ``ValueError`` when it is 0 or
        not finite (fewer than 2 distinct points).
    """
    rank = check_int(rank, "rank", low=1)
    n = points.shape[0]
    if n < 2:
        raise ValueError(
            f"sigma='knn' needs at least 2 distinct points to measure a neighbour distance; "
            f"got {n}. Pass sigma as a number")
    rank = min(rank, n - 1)
    # in float64 range (and centred when far from the origin), as the kernels see them;
    # every distance is multiplied by ``scale``
    points, scale, _ = condition_points(points)
    if n <= EXACT_QUERIES:
        queries = np.arange(n)
    else:
        if rng is None:
            raise ValueError("knn_sigma needs rng to sample query points beyond "
                             f"{EXACT_QUERIES} points")
        queries = np.sort(rng.choice(n, size=EXACT_QUERIES, replace=False))
    # lists are self first, then the nearest others: column ``rank`` is the rank-th other
    _, dist = ExactSearcher(points).query(queries, rank + 1)
    sigma = float(np.median(dist[:, rank])) / scale
    if not np.isfinite(sigma) or sigma <= 0.0:
        raise ValueError(
            f"sigma='knn' found a median distance to the {rank}-th neighbour of {sigma!r}; "
            "the points are (nearly) identical. Pass sigma as a number")
    return sigma
