"""Spectral measures: the one abstraction every estimator returns.

A spectral measure is a discrete measure on ``[-1, 1]`` (nodes and weights)
standing for ``sum_i delta(lambda_i)`` over the ``n`` eigenvalues of the
diffusion operator. Any spectral sum ``tr f(A) = sum_i f(lambda_i)`` is then
estimated by ``sum_k w_k f(theta_k)``.

A measure has a deterministic part (e.g. all eigenvalues from the exact path,
or the top eigenvalues from deflation, weight 1 each) and an optional
stochastic part (stochastic Lanczos quadrature: nodes and weights per probe
vector). Stochastic nodes carry the index of the probe they came from, so the
spread of per-probe estimates gives a standard error for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from . import _lapack2stage

__all__ = ["SpectralMeasure", "exact_measure", "dense_eigenvalues"]


@dataclass(frozen=True)
class SpectralMeasure:
    """Discrete measure on [-1, 1] standing for the eigenvalues of an n x n operator.

    Attributes
    ----------
    nodes : numpy.ndarray of shape (m,)
        Support points (eigenvalues or Ritz values).
    weights : numpy.ndarray of shape (m,)
        Non-negative weights. For the stochastic part they are already divided
        by ``n_probes``, so ``sum(weights * f(nodes))`` estimates ``tr f(A)``.
    probe : numpy.ndarray of shape (m,), int
        ``-1`` for the deterministic part, otherwise the probe index
        ``0 .. n_probes - 1`` a node came from.
    n : int
        Size of the operator (``sum(weights)`` is ``n`` exactly for the exact
        measure and in expectation for a stochastic one).
    n_probes : int
        Number of probe vectors of the stochastic part (0 if none).
    method : str
        ``"exact"``, ``"slq"``, ``"slq+deflation"`` or ``"landmark"``.
    info : dict
        Method-specific diagnostics (steps, number deflated, ...).
    """

    nodes: np.ndarray
    weights: np.ndarray
    probe: np.ndarray
    n: int
    n_probes: int = 0
    method: str = "exact"
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.nodes.shape == self.weights.shape == self.probe.shape):
            raise ValueError(
                "nodes, weights and probe must have the same shape; got "
                f"{self.nodes.shape}, {self.weights.shape}, {self.probe.shape}"
            )
        if self.nodes.ndim != 1:
            raise ValueError(f"nodes must be 1-D; got shape {self.nodes.shape}")

    @property
    def is_exact(self) -> bool:
        """True when the measure has no stochastic part."""
        return self.n_probes == 0

    @property
    def deterministic(self) -> np.ndarray:
        """Boolean mask of the deterministic nodes."""
        return self.probe < 0

    def per_probe_sums(self, values: np.ndarray) -> tuple[float, np.ndarray]:
        """Split ``sum(weights * values)`` into its parts.

        Parameters
        ----------
        values : numpy.ndarray of shape (m,) or (m, r)
            ``f(nodes)`` for one or ``r`` functions.

        Returns
        -------
        fixed : float or numpy.ndarray of shape (r,)
            Sum over the deterministic part.
        probes : numpy.ndarray of shape (n_probes,) or (n_probes, r)
            For probe ``j``, its own estimate of the stochastic part
            (``n_probes`` times its weighted sum), so their mean is the
            stochastic contribution.
        """
        values = np.asarray(values, dtype=np.float64)
        wv = values * (self.weights if values.ndim == 1 else self.weights[:, None])
        det = self.probe < 0
        fixed = wv[det].sum(axis=0)
        if self.n_probes == 0:
            shape = (0,) if values.ndim == 1 else (0, values.shape[1])
            return fixed, np.zeros(shape)
        sto = ~det
        idx = self.probe[sto]
        if values.ndim == 1:
            probes = np.bincount(idx, weights=wv[sto], minlength=self.n_probes)
        else:
            probes = np.stack(
                [
                    np.bincount(idx, weights=wv[sto, c], minlength=self.n_probes)
                    for c in range(values.shape[1])
                ],
                axis=1,
            )
        return fixed, probes * self.n_probes

    def eigenvalues(self) -> np.ndarray:
        """All eigenvalues, ascending (exact measures only)."""
        if (
            not self.is_exact
            or self.nodes.shape[0] != self.n
            or not np.all(self.weights == 1.0)
        ):
            raise ValueError(
                "eigenvalues are only available from an exact spectral measure; this one "
                f"was estimated by {self.method!r}"
            )
        return self.nodes


#: Dense matrices of at least this order go to LAPACK's two-stage solver when it is
#: available and the matrix may be overwritten (:mod:`fastdse._lapack2stage`). Measured
#: on 2 cores on the exact path's operator (docs/benchmarks/eigensolver.md): one-stage vs
#: two-stage 0.63 vs 0.80 s at n = 3,000, 1.83 vs 1.71 s at 4,000, 39.0 vs 21.0 s at 10,000.
TWO_STAGE_MIN_N = 4000


def dense_eigenvalues(A: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """All eigenvalues (ascending) of a dense symmetric matrix, by one LAPACK call.

    With ``overwrite=True`` the matrix is destroyed and no copy is made: LAPACK
    wants column-major storage, and for a symmetric C-ordered matrix the
    transpose is that same matrix in column-major order, so it is passed as is
    (only one triangle is read). From :data:`TWO_STAGE_MIN_N` on, an
    overwritable matrix goes to LAPACK's two-stage ``dsyevd_2stage`` when the
    process's BLAS provides it, else to ``scipy.linalg.eigvalsh``.
    """
    if overwrite and A.shape[0] >= TWO_STAGE_MIN_N:
        w = _lapack2stage.eigvalsh_2stage(A)
        if w is not None:
            return w
    if A.flags.c_contiguous and not A.flags.f_contiguous:
        # A symmetric: A.T is a Fortran-ordered view of the same numbers; its lower
        # triangle is A's upper triangle
        return scipy.linalg.eigvalsh(
            A.T, lower=True, overwrite_a=overwrite, check_finite=False, driver="evd"
        )
    return scipy.linalg.eigvalsh(
        A, lower=True, overwrite_a=overwrite, check_finite=False, driver="evd"
    )


def exact_measure(A: np.ndarray, overwrite: bool = False) -> SpectralMeasure:
    """Exact spectral measure of a dense symmetric operator: every eigenvalue, weight 1."""
    lam = dense_eigenvalues(A, overwrite=overwrite)
    n = lam.shape[0]
    return SpectralMeasure(
        nodes=lam,
        weights=np.ones(n),
        probe=np.full(n, -1, dtype=np.int64),
        n=n,
        n_probes=0,
        method="exact",
    )
