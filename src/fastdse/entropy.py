r"""Diffusion Spectral Entropy from a spectral measure, for many t in one pass.

.. math::

    \mathrm{DSE}_t = -\sum_i a_i \log a_i, \qquad
    a_i = \frac{|\lambda_i|^t}{\sum_j |\lambda_j|^t}

which equals :math:`\log Z_t - H_t / Z_t` with :math:`Z_t = \mathrm{tr}\,|A|^t`
and :math:`H_t = \mathrm{tr}\,(|A|^t \log |A|^t)`. Both traces are spectral
sums, so any :class:`~fastdse.spectral.measure.SpectralMeasure` gives them, and the
same nodes serve every ``t``. Powers are taken in the log domain
(:math:`|\theta|^t = \exp(t \log|\theta|)`, :math:`0 \log 0 = 0`), shifted by
the largest exponent so nothing under- or overflows at large ``t``.
"""

from __future__ import annotations

import numpy as np

from fastdse.spectral.measure import SpectralMeasure

__all__ = ["dse_from_measure", "dse_from_eigenvalues"]


def _shifted_logs(nodes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log|theta| - max log|theta|`` over the live nodes, and which nodes are non-zero.

    Zero nodes get 0 here and are masked out by :func:`_z_h_terms` (``|0|^t = 0`` and
    ``0 log 0 = 0``).
    """
    absn = np.abs(nodes)
    nz = absn > 0.0
    logabs = np.full(absn.shape, -np.inf)
    logabs[nz] = np.log(absn[nz])
    live = nz & (weights > 0)
    if not np.any(live):
        raise ValueError("the spectral measure has no non-zero node with positive weight")
    lmax = logabs[live].max()
    return np.where(nz, logabs, lmax) - lmax, nz


def _z_h_terms(shifted: np.ndarray, nz: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Scaled ``|theta|^t`` and ``|theta|^t (t log|theta| - shift)`` (natural log).

    The exponent ``t log|theta|`` is shifted by its maximum, so it is <= 0 at live nodes.
    """
    ell = shifted * t
    ez = np.where(nz, np.exp(ell), 0.0)
    return ez, ez * ell


def dse_from_measure(
    measure: SpectralMeasure, ts: np.ndarray, base: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """DSE and its standard error for every diffusion time.

    Parameters
    ----------
    measure : SpectralMeasure
    ts : numpy.ndarray of shape (r,)
        Positive diffusion times.
    base : float
        Logarithm base (2: bits, e: nats).

    Returns
    -------
    values : numpy.ndarray of shape (r,)
    stderr : numpy.ndarray of shape (r,)
        Zero for an exact measure; otherwise the delta-method standard error of
        the ratio estimator over probes (the same probes estimate ``Z`` and ``H``).
    """
    ts = np.asarray(ts, dtype=np.float64)
    # one t at a time, on 1-d arrays: the value at one t is then the same computation, bit
    # for bit, whichever other t are asked for (an (m, r) sum reduces in another order)
    shifted, nz = _shifted_logs(measure.nodes, measure.weights)  # the same for every t
    pairs = [_dse_at_one_t(measure, shifted, nz, float(t)) for t in ts.ravel()]
    values = np.array([v for v, _ in pairs], dtype=np.float64).reshape(ts.shape)
    stderr = np.array([e for _, e in pairs], dtype=np.float64).reshape(ts.shape)
    scale = 1.0 / np.log(base)
    return values * scale, stderr * scale


def _dse_at_one_t(measure: SpectralMeasure, shifted: np.ndarray, nz: np.ndarray, t: float
                  ) -> tuple[float, float]:
    """DSE_t (nats) and its delta-method standard error over probes."""
    ez, eh = _z_h_terms(shifted, nz, t)
    z_fixed, z_probe = measure.per_probe_sums(ez)
    h_fixed, h_probe = measure.per_probe_sums(eh)
    p = measure.n_probes
    Z = z_fixed + z_probe.mean() if p else z_fixed
    H = h_fixed + h_probe.mean() if p else h_fixed
    value = float(np.log(Z) - H / Z)
    if p < 2:
        return value, 0.0
    # delta method for g(Z, H) = log Z - H / Z over the probe means
    gz = 1.0 / Z + H / Z**2
    gh = -1.0 / Z
    zc = z_probe - z_probe.mean()
    hc = h_probe - h_probe.mean()
    var_z = float(np.sum(zc * zc)) / (p - 1) / p
    var_h = float(np.sum(hc * hc)) / (p - 1) / p
    cov = float(np.sum(zc * hc)) / (p - 1) / p
    var = gz * gz * var_z + gh * gh * var_h + 2.0 * gz * gh * cov
    return value, float(np.sqrt(max(var, 0.0)))


def dse_from_eigenvalues(eigenvalues: np.ndarray, ts: np.ndarray, base: float = 2.0) -> np.ndarray:
    """DSE for every ``t`` from a plain array of eigenvalues (exact)."""
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    n = lam.shape[0]
    measure = SpectralMeasure(
        nodes=lam, weights=np.ones(n), probe=np.full(n, -1, dtype=np.int64), n=n
    )
    return dse_from_measure(measure, np.asarray(ts, dtype=np.float64), base)[0]
