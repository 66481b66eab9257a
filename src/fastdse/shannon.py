r"""Classic binned Shannon entropy of a point cloud (the paper's baseline).

Each feature (column) is min-max scaled to ``[0, 1]`` and cut into
``bins_per_dim`` equal bins; every point then falls in one cell of the
resulting grid, and the entropy is that of the cell occupancies:

.. math::

    H(X) = -\sum_c p_c \log p_c, \qquad p_c = \frac{n_c}{n},

where ``n_c`` is the number of points in cell ``c``. The binning rule is the one
of the reference implementation (``dse-dsmi``'s ``classic_shannon_entropy``):
``np.digitize`` against the left bin edges ``np.linspace(0, 1, bins_per_dim + 1)[:-1]``,
so the column maximum falls in the last bin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastdse._util.inputs import check_points
from fastdse._util.validation import check_base, check_int

__all__ = ["shannon_entropy", "cell_counts"]


def _bin_codes(X: np.ndarray, bins_per_dim: int) -> np.ndarray:
    """Bin index of every entry of ``X`` (validated float array), column by column.

    Returns an integer array of the shape of ``X`` with values in
    ``1 .. bins_per_dim``. A constant column has no scale: all its points share
    one bin (index 1), without a division by zero.
    """
    lo = X.min(axis=0)
    span = X.max(axis=0) - lo
    constant = span == 0
    # Same operations as the reference's min-max scaling for non-constant columns;
    # a constant column is divided by 1 instead of 0, so it scales to all zeros.
    scaled = (X - lo) / np.where(constant, 1.0, span)
    edges = np.linspace(0.0, 1.0, bins_per_dim + 1)[:-1]
    return np.digitize(scaled, bins=edges)


def cell_counts(X: np.ndarray, bins_per_dim: int) -> np.ndarray:
    """Count the points in each occupied cell of the binning grid (validated input).

    The grid is the one of :func:`shannon_entropy`: every column min-max scaled to
    ``[0, 1]`` and cut into ``bins_per_dim`` equal bins (a constant column in one bin).
    :func:`shannon_entropy` and :func:`fastdse.compat.diffusion_spectral_entropy`
    (``classic_shannon_entropy=True``) take the entropy of these counts.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d), float64
        Points, finite, at least one (as :func:`shannon_entropy` checks them).
    bins_per_dim : int
        Bins per feature, at least 1.

    Returns
    -------
    numpy.ndarray of shape (m,), integer dtype
        The counts of the ``m`` occupied cells, in lexicographic order of the cells'
        bin indices; they sum to ``n``. Empty cells are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.shannon import cell_counts
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.9, 0.8]])
    >>> cell_counts(X, 2)
    array([1, 1, 1, 2])
    """
    codes = _bin_codes(X, bins_per_dim)
    return np.unique(codes, axis=0, return_counts=True)[1]


def shannon_entropy(X: Any, bins_per_dim: int = 2, *, base: float = 2.0) -> float:
    r"""Classic binned Shannon entropy of the rows of ``X``.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Points (rows) and features (columns); integer, boolean or floating
        dtype, all values finite. At least one point.
    bins_per_dim : int, default 2
        Number of equal-width bins per feature, at least 1.
    base : float, default 2.0
        Logarithm base: 2 gives bits, ``numpy.e`` nats. Positive and not 1.

    Returns
    -------
    float
        The entropy :math:`-\sum_c p_c \log p_c` of the occupancy of the
        ``bins_per_dim ** d`` grid cells, between 0 and
        :math:`\log \min(n, \text{bins\_per\_dim}^d)`.

    Notes
    -----
    Each column is min-max scaled to ``[0, 1]`` and binned with ``np.digitize``
    against ``np.linspace(0, 1, bins_per_dim + 1)[:-1]``: a value in
    ``[k / b, (k + 1) / b)`` goes to bin ``k`` and the maximum (1.0) to the last
    bin. This is the binning of ``dse-dsmi``'s ``classic_shannon_entropy``.

    A constant column (maximum equal to minimum) cannot be scaled; here all its
    points share one bin, so it does not change the entropy. (The reference
    divides 0 by 0 and relies on NaN landing in one bin, with a RuntimeWarning.)

    Unlike the reference, no ``eps`` is added to the probabilities, so the value
    is the exact entropy of the cell counts (the reference's value is higher by
    about ``eps`` times the number of empty terms; see :mod:`fastdse.compat`).

    Examples
    --------
    Four points on the corners of a square, one per cell of a 2 x 2 grid, carry
    two bits:

    >>> import numpy as np
    >>> from fastdse.shannon import shannon_entropy
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> shannon_entropy(X)
    2.0
    >>> shannon_entropy(np.repeat(X, 3, axis=0), base=4)
    1.0
    """
    X = check_points(X, "X", min_points=1)
    bins_per_dim = check_int(bins_per_dim, "bins_per_dim", low=1)
    base = check_base(base)
    counts = cell_counts(X, bins_per_dim)
    p = counts / counts.sum()
    if base == 2.0:
        h = -np.sum(p * np.log2(p))
    else:
        h = -np.sum(p * np.log(p)) / np.log(base)
    # -0.0 (a single occupied cell) reads as 0.0
    return float(h) + 0.0
