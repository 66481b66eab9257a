"""The sparse kernel's truncation report: the kernel mass lost by rows cut at the cap.

A neighbour list holds at most ``max_neighbors`` points; a row whose threshold
radius holds more is *truncated* and loses the kernel mass of the points left
out. :func:`truncation_report` estimates that mass from the exact full rows of
a sample of the truncated rows, and :func:`warn_if_truncated` raises a
:class:`TruncationWarning` when it is more than :data:`TRUNCATION_TOL` of the
kernel's mass.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from fastdse._numba import sparse as _sparse_jit

__all__ = [
    "TRUNCATION_SAMPLE",
    "TRUNCATION_TOL",
    "TruncationWarning",
    "truncation_report",
    "warn_if_truncated",
]

#: Warn when the estimated fraction of kernel mass dropped by truncation exceeds this.
TRUNCATION_TOL = 1e-3

#: Rows sampled (among truncated rows) to estimate the dropped mass exactly.
TRUNCATION_SAMPLE = 256
#: Distances per block of the sampled rows' exact kernel rows (64 MiB):
#: the rows against all n points at once took 2 GB at n = 1,000,000.
TRUNCATION_BLOCK = 1 << 23


class TruncationWarning(UserWarning):
    """A sparse kernel dropped a noticeable part of the kernel mass.

    Raised when the neighbour lists could not be widened to the threshold
    radius of every point (``max_neighbors`` reached): the kernel is then
    wider than the neighbourhoods and is not sparse at this ``thresh``.
    """


def truncation_report(
    X: np.ndarray,
    truncated: np.ndarray,
    indptr: np.ndarray,
    data: np.ndarray,
    scale: np.ndarray,
    power: float,
    thresh: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Fraction of kernel mass (before symmetrisation) lost by the ``truncated`` rows.

    Computes the full rows ``exp(-(d_ij / scale_i)^power)`` (entries below
    ``thresh`` dropped) of up to :data:`TRUNCATION_SAMPLE` truncated rows exactly
    (one Gram block) and extrapolates to all truncated rows; ``indptr``/``data``
    hold the kept kernel rows (CSR).

    Returns
    -------
    dict
        ``truncated_rows``, ``dropped_mass_fraction`` (of the whole kernel's mass)
        and ``max_row_dropped_fraction`` (the largest of a sampled row's).
    """
    m = len(truncated)
    if not m:
        return {"truncated_rows": 0, "dropped_mass_fraction": 0.0,
                "max_row_dropped_fraction": 0.0}
    row_kept = _sparse_jit.row_mass(indptr, data)
    sample = truncated if m <= TRUNCATION_SAMPLE else np.sort(
        rng.choice(truncated, TRUNCATION_SAMPLE, replace=False))
    sq = np.einsum("ij,ij->i", X, X)
    rows, sq_rows = X[sample], sq[sample]
    sample_scale = np.ascontiguousarray(scale[sample])
    full = np.zeros(len(sample))
    n = X.shape[0]
    step = max(1, TRUNCATION_BLOCK // len(sample))  # a distance block of TRUNCATION_BLOCK entries
    for lo in range(0, n, step):
        G = rows @ X[lo:lo + step].T
        _sparse_jit.gram_block_to_dist_inplace(G, sq_rows, sq[lo:lo + step])
        _sparse_jit.decay_row_mass_dense(G, sample_scale, power, thresh, full)
    del G
    dropped_rows = np.maximum(full - row_kept[sample], 0.0)
    dropped_total = dropped_rows.mean() * m
    kept_total = float(row_kept.sum())
    return {
        "truncated_rows": int(m),
        "dropped_mass_fraction": float(dropped_total / (kept_total + dropped_total)),
        "max_row_dropped_fraction": float((dropped_rows / full).max()),
    }


def warn_if_truncated(report: dict[str, Any], kernel: str, sigma: float, thresh: float,
                      n: int, max_neighbors: int, stacklevel: int) -> None:
    """Raise a :class:`TruncationWarning` when the report's dropped mass exceeds the tolerance.

    ``stacklevel`` counts from the caller of this function, as for
    :func:`warnings.warn`.
    """
    if not report["dropped_mass_fraction"] > TRUNCATION_TOL:
        return
    if kernel == "gaussian":
        advice = (f"use mode='exact' (dense), or a smaller sigma (got sigma={sigma:g}; the "
                  "kernel reaches beyond the neighbourhoods), or a larger max_neighbors")
    else:
        advice = ("use mode='exact' (dense), a larger thresh or decay, or a larger "
                  "max_neighbors")
    warnings.warn(
        f"the sparse {kernel} kernel dropped an estimated "
        f"{100 * report['dropped_mass_fraction']:.2g}% of its mass (up to "
        f"{100 * report['max_row_dropped_fraction']:.2g}% of a row) because "
        f"{report['truncated_rows']} of {n} points have more than max_neighbors="
        f"{max_neighbors} neighbours within the threshold radius (thresh={thresh:g}): "
        f"the kernel is not sparse at this scale. To fix it, {advice}.",
        TruncationWarning,
        stacklevel=stacklevel + 1,
    )
