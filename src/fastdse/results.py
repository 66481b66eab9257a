"""Small result objects returned by :func:`fastdse.dse` and :func:`fastdse.dsmi`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DSEResult", "DSMIResult", "ClassTerm", "unit_name"]


def unit_name(base: float) -> str:
    """Name the unit of an entropy in logarithm base ``base``: bits, nats or "log base b"."""
    if base == 2.0:
        return "bits"
    if math.isclose(base, math.e, rel_tol=1e-12):
        return "nats"
    return f"log base {base:g}"


def _fmt(value: Any) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    return "[" + ", ".join(f"{v:.6g}" for v in arr.ravel()) + "]"


@dataclass(frozen=True)
class DSEResult:
    """Diffusion Spectral Entropy of a point cloud.

    Attributes
    ----------
    value : float or numpy.ndarray of shape (len(t),)
        DSE in units of ``base`` (bits by default); a float for a scalar ``t``.
    stderr : float or numpy.ndarray
        Standard error of ``value`` (0 for the exact path).
    t : float or numpy.ndarray
        Diffusion time(s), as given.
    n : int
        Number of points.
    mode : str
        The mode that ran: ``"exact"``, ``"approx"`` or ``"landmark"``.
    eigenvalues : numpy.ndarray of shape (n,) or None
        All eigenvalues of the diffusion operator, ascending, when exact.
    base : float
        Logarithm base of ``value``.
    info : dict
        Diagnostics (kernel, estimator settings, timings).
    """

    value: Any
    stderr: Any
    t: Any
    n: int
    mode: str
    eigenvalues: np.ndarray | None = None
    base: float = 2.0
    info: dict = field(default_factory=dict, repr=False)

    def __float__(self) -> float:
        if np.ndim(self.value) != 0:
            raise TypeError(
                "float() needs a result for a single t; this result holds "
                f"{np.size(self.value)} values (t={_fmt(self.t)}). Use .value instead."
            )
        return float(self.value)

    def __repr__(self) -> str:
        unit = unit_name(self.base)
        err = "" if np.all(np.asarray(self.stderr) == 0) else f" +/- {_fmt(self.stderr)}"
        return (
            f"DSEResult(value={_fmt(self.value)}{err} {unit}, t={_fmt(self.t)}, "
            f"n={self.n}, mode={self.mode!r})"
        )


@dataclass(frozen=True)
class ClassTerm:
    """One class's contribution to DSMI.

    Attributes
    ----------
    label : object
        The class label (or cluster id).
    size : int
        Number of points in the class.
    conditional : float or numpy.ndarray
        DSE(Z | Y = label).
    unconditional : float or numpy.ndarray
        Mean DSE of random subsets of Z of the same size.
    unconditional_reps : numpy.ndarray
        The individual subset DSEs, shape (num_repetitions,) or (num_repetitions, len(t)).
    """

    label: Any
    size: int
    conditional: Any
    unconditional: Any
    unconditional_reps: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class DSMIResult:
    """Diffusion Spectral Mutual Information between a point cloud and a variable.

    Attributes
    ----------
    value : float or numpy.ndarray
        DSMI in units of ``base``; a float for a scalar ``t``.
    stderr : float or numpy.ndarray
        Standard error over the random subsets (and probes, for approximate modes).
    per_class : list of ClassTerm
        Each class's label, size, conditional and matched unconditional DSE.
    clusters : numpy.ndarray of shape (n,)
        The discrete labels used (the original labels, bins or cluster ids).
    t : float or numpy.ndarray
    n : int
    mode : str
    base : float
    info : dict
    """

    value: Any
    stderr: Any
    per_class: list
    clusters: np.ndarray = field(repr=False)
    t: Any = 1.0
    n: int = 0
    mode: str = "exact"
    base: float = 2.0
    info: dict = field(default_factory=dict, repr=False)

    def __float__(self) -> float:
        if np.ndim(self.value) != 0:
            raise TypeError(
                "float() needs a result for a single t; this result holds "
                f"{np.size(self.value)} values (t={_fmt(self.t)}). Use .value instead."
            )
        return float(self.value)

    def __repr__(self) -> str:
        unit = unit_name(self.base)
        return (
            f"DSMIResult(value={_fmt(self.value)} +/- {_fmt(self.stderr)} {unit}, "
            f"t={_fmt(self.t)}, n={self.n}, classes={len(self.per_class)}, mode={self.mode!r})"
        )
