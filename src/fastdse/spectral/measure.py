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

__all__ = ["SpectralMeasure"]


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

