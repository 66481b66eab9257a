"""The one distance kernel the other ``_numba`` modules share.

:func:`sqdist` is the squared Euclidean distance of two rows from their coordinate
differences: the dense path and the neighbour search both fall back on it where the
Gram expansion ``|x|^2 + |y|^2 - 2 x.y`` cancels. Like every ``_numba`` module it
imports nothing but the JIT policy.
"""

from __future__ import annotations

from fastdse._numba.jit import jit_sum

__all__ = ["sqdist"]


@jit_sum
def sqdist(X, i, j):  # pragma: no cover - jitted
    """Squared Euclidean distance of rows ``i`` and ``j`` of ``X`` from their differences.

    A sum of non-negative terms (vectorisable): relative error at most ~``(d + 2) eps / 2``
    whatever the order.
    """
    acc = 0.0
    for f in range(X.shape[1]):
        diff = X[i, f] - X[j, f]
        acc += diff * diff
    return acc
