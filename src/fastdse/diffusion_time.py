r"""Choosing the diffusion time ``t``: the knee of the DSE-vs-t curve.

DSE falls as ``t`` grows: powering the diffusion operator damps the small
eigenvalues (noise, fine structure) first, so the entropy drops quickly at
first and then levels off once only the coarse structure of the data (its
large eigenvalues: clusters, the manifold's slow directions) is left. The
``t`` where the fast fall turns into the slow one is the *knee* of the
curve; PHATE picks its diffusion time the same way from the von Neumann
entropy of its operator, and DSE at ``t`` is that entropy of ``P^t``.

The rule (``t="auto"``):

1. evaluate :math:`\mathrm{DSE}_t` at every integer ``t = 1, ..., t_max``
   (default 100), all from one spectral measure (one eigendecomposition or
   one Lanczos run);
2. for every candidate knee ``t_k`` (with at least two points on each side),
   fit one straight line to the points with ``t <= t_k`` and another to the
   points with ``t >= t_k`` by least squares;
3. the chosen ``t`` is the ``t_k`` whose two lines leave the smallest total
   squared residual (ties go to the smaller ``t``).

The rule looks at the shape of the curve only, so it is the same in bits
and nats and does not depend on the number of points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["T_AUTO_MAX", "auto_t_grid", "knee_point"]

#: Largest diffusion time searched by ``t="auto"`` (as PHATE's ``t_max``).
T_AUTO_MAX = 100


def auto_t_grid(t_max: int = T_AUTO_MAX) -> np.ndarray:
    """Return the integer diffusion times ``1, ..., t_max`` searched by ``t="auto"``."""
    return np.arange(1, int(t_max) + 1, dtype=np.float64)


def _segment_sse(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Residual sum of squares of the least-squares line through each prefix of (x, y).

    ``out[k]`` is the residual of the line fitted to ``x[:k + 1], y[:k + 1]``.
    Computed from running centred sums (Welford updates) so it stays accurate
    when ``y`` is large compared with its spread.
    """
    m = x.size
    out = np.zeros(m)
    mx = my = sxx = syy = sxy = 0.0
    for k in range(m):
        dx = x[k] - mx
        dy = y[k] - my
        mx += dx / (k + 1)
        my += dy / (k + 1)
        sxx += dx * (x[k] - mx)
        syy += dy * (y[k] - my)
        sxy += dx * (y[k] - my)
        out[k] = max(syy - (sxy * sxy / sxx if sxx > 0 else 0.0), 0.0)
    return out


def knee_point(x: np.ndarray, y: np.ndarray) -> int:
    """Index of the knee of the curve ``y(x)`` by the two-line least-squares rule.

    Parameters
    ----------
    x, y : numpy.ndarray of shape (m,), m >= 5
        The curve, ``x`` strictly increasing.

    Returns
    -------
    int
        The index ``k`` (``2 <= k <= m - 3``) minimising the residual of one
        line through ``x[:k + 1]`` plus one through ``x[k:]``.

    Examples
    --------
    >>> x = np.arange(1.0, 21.0)
    >>> y = np.where(x <= 6, 30 - 4 * x, 6 - 0.1 * (x - 6))
    >>> float(x[knee_point(x, y)])
    6.0
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of the same length; got shapes {x.shape} "
                         f"and {y.shape}")
    m = x.size
    if m < 5:
        raise ValueError(f"the knee needs at least 5 points; got {m}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing")
    left = _segment_sse(x, y)                  # left[k]: line through points 0..k
    right = _segment_sse(x[::-1], y[::-1])[::-1]  # right[k]: line through points k..m-1
    ks = np.arange(2, m - 2)
    total = left[ks] + right[ks]
    return int(ks[np.argmin(total)])
