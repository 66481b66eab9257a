"""Points moved and scaled so that float64 distances keep their digits.

DSE is invariant to translation, and (for the alpha-decay kernel, or a Gaussian
kernel whose ``sigma`` is scaled with the data) to uniform scaling. Distances in
Gram form, ``|x|^2 + |y|^2 - 2 x.y``, lose ``2 log10(offset / spread)`` digits on
data far from the origin (``X + 1e8``); squared distances overflow above ~1e154
and meet absolute floors (machine epsilon clips a bandwidth) below ~1e-13. So,
before any distance is computed:

- the points are scaled by a power of two when their largest magnitude is outside
  ``SCALE_RANGE`` (exact in floating point: every distance, bandwidth and kernel
  value scales alike; a Gaussian ``sigma`` is scaled with them);
- they are centred (column means subtracted) when the largest mean exceeds
  ``OFFSET_RATIO`` times the largest column range.

Points inside both bounds, the usual case, are used as they are (no copy).
"""

from __future__ import annotations

import numpy as np

__all__ = ["OFFSET_RATIO", "SCALE_RANGE", "condition_points"]

#: Centre the points when their largest column mean exceeds this many column ranges.
OFFSET_RATIO = 100.0

#: Rescale the points (by a power of two) when their largest magnitude is outside.
SCALE_RANGE = (2.0**-20, 2.0**20)


def _rescaled(Y: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """Scale by a power of two when the largest magnitude is outside :data:`SCALE_RANGE`."""
    top = max(float(Y.max()), -float(Y.min())) if Y.size else 0.0  # no |Y| temporary
    if top == 0.0 or SCALE_RANGE[0] <= top <= SCALE_RANGE[1]:
        return Y, scale
    factor = float(2.0 ** -np.round(np.log2(top)))
    return Y * factor, scale * factor


def condition_points(X: np.ndarray) -> tuple[np.ndarray, float, dict[str, float]]:
    """Return the points to compute with, the scale applied to them, and a report.

    ``X`` is a C-contiguous float64 array of finite values; it is never modified.
    The scale ``c`` multiplies every distance (1.0 when the points are kept as
    they are); the report holds ``scale`` and ``centred`` when either was applied.
    The points are scaled into range first (so that the means cannot overflow),
    centred if far from the origin, then scaled into range again.
    """
    report: dict[str, float] = {}
    Y, scale = _rescaled(X, 1.0)
    mean = Y.mean(axis=0)
    spread = float(np.max(np.ptp(Y, axis=0))) if Y.shape[0] else 0.0
    if spread > 0.0 and float(np.max(np.abs(mean))) > OFFSET_RATIO * spread:
        Y, scale = _rescaled(Y - mean, scale)
        report["centred"] = 1.0
    if scale != 1.0:
        report["scale"] = scale
    return np.ascontiguousarray(Y), scale, report
