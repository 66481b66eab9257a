"""The settings of a diffusion graph, validated once at the public boundary.

:func:`fastdse.dse`, :class:`fastdse.DiffusionGraph` and :func:`fastdse.dsmi` take
the same keywords (``mode``, ``kernel``, ``knn``, ...). Each of them is checked in
exactly one place, :data:`_CHECKS` below, when :meth:`Settings.from_arguments`
builds the frozen :class:`Settings` that every builder receives; nothing inside
re-checks a setting or reads one back from the graph. What depends on the data
(``knn < n``, the mode ``"auto"`` chooses, the kernel's default bandwidth and
threshold) is resolved once per graph by :meth:`Settings.resolve`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from fastdse._util.parallel import show_progress
from fastdse._util.progress import check_verbose
from fastdse._util.validation import check_choice, check_float, check_int, check_n_jobs
from fastdse.operator.bandwidth import SIGMA_RULES
from fastdse.operator.kernel import (
    DEFAULT_SIGMA,
    DEFAULT_THRESH,
    KERNELS,
    SPARSE_DEFAULT_THRESH,
    check_sigma,
    require_sparse_thresh,
)
from fastdse.operator.neighbors import METHODS
from fastdse.spectral.checks import check_n_probes
from fastdse.spectral.landmark import LANDMARK_METHODS

__all__ = ["MODES", "NEIGHBOR_METHODS", "Settings", "Resolved", "AUTO_EXACT_MAX_N"]

MODES = ("auto", "exact", "approx", "landmark")

NEIGHBOR_METHODS = ("auto", *METHODS)

#: ``mode="auto"`` runs the exact path up to this many points; where exact and approx
#: cross over is measured in docs/benchmarks/auto_crossover.csv (see docs/modes.md).
AUTO_EXACT_MAX_N = 3000

#: Modes whose operator is the sparse kNN kernel.
SPARSE_MODES = ("approx", "landmark")


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


def check_sigma_setting(value: Any) -> float | str:
    """Validate a Gaussian bandwidth: a number, or a rule (:mod:`fastdse.operator.bandwidth`)."""
    if isinstance(value, str):
        return check_choice(value, "sigma", SIGMA_RULES)
    return check_sigma(value)


def _n_deflate(value: Any) -> int | str:
    if isinstance(value, str):
        return check_choice(value, "n_deflate", ("auto",))
    return check_int(value, "n_deflate", low=0)


#: setting -> its one check (bounds that depend on n are in :meth:`Settings.resolve`)
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "mode": lambda v: check_choice(v, "mode", MODES),
    "kernel": lambda v: check_choice(v, "kernel", (*KERNELS, "precomputed")),
    "knn": lambda v: check_int(v, "knn", low=1),
    "decay": lambda v: check_float(v, "decay", low=0.0, low_open=True),
    "sigma": _optional(lambda v: check_sigma_setting(v)),
    "thresh": _optional(lambda v: check_float(v, "thresh", low=0.0, high=1.0, high_open=True)),
    "anisotropy": lambda v: check_float(v, "anisotropy", low=0.0, high=1.0),
    "neighbors": lambda v: check_choice(v, "neighbors", NEIGHBOR_METHODS),
    "n_probes": lambda v: check_n_probes(v),
    "n_steps": lambda v: check_int(v, "n_steps", low=2),
    "n_deflate": _n_deflate,
    "n_landmarks": lambda v: check_int(v, "n_landmarks", low=2),
    "landmark_method": lambda v: check_choice(v, "landmark_method", LANDMARK_METHODS),
    "n_jobs": lambda v: check_n_jobs(v),
    "progress": lambda v: show_progress(v),
    "verbose": lambda v: check_verbose(v),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Validated settings of a diffusion graph (see the parameters of :func:`fastdse.dse`).

    ``sigma`` and ``thresh`` keep ``None`` (the kernel's default, resolved per
    graph by :meth:`resolve`); ``progress`` is resolved to a bool (``None``:
    whether stderr is a terminal); ``verbose`` to a level 0-2.
    """

    mode: str
    kernel: str
    knn: int
    decay: float
    sigma: float | str | None
    thresh: float | None
    anisotropy: float
    neighbors: str
    n_probes: int | str
    n_steps: int
    n_deflate: int | str
    n_landmarks: int
    landmark_method: str
    n_jobs: int | None
    progress: bool
    verbose: int

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> Settings:
        """Validate the settings among a public function's ``arguments`` (its ``locals()``)."""
        return cls(**{name: check(arguments[name]) for name, check in _CHECKS.items()})

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes``, which the caller has already validated."""
        return dataclasses.replace(self, **changes)

    def resolve(self, n: int, *, precomputed: bool, dense_affinity: bool) -> Resolved:
        """Check the bounds that depend on the data and resolve the data-dependent defaults.

        Parameters
        ----------
        n : int
            Number of points.
        precomputed : bool
            The input is an affinity (``knn``, ``decay``, ``sigma``, ``thresh`` unused).
        dense_affinity : bool
            The affinity is a dense matrix (``mode="auto"`` then runs exact).
        """
        kernel = "precomputed" if precomputed else self.kernel
        if kernel == "alpha_decay" and self.knn > n - 1:
            check_int(self.knn, "knn", low=1, high=n - 1,
                      high_note=f" (n - 1, the number of other points; X has n={n})")
        if not isinstance(self.n_deflate, str) and self.n_deflate > n - 1:
            check_int(self.n_deflate, "n_deflate", low=0, high=n - 1)
        if self.mode != "auto":
            mode = self.mode
        elif dense_affinity or n <= AUTO_EXACT_MAX_N:
            mode = "exact"  # a dense affinity is already n x n: eigvalsh beats O(n^2) matvecs
        else:
            mode = "approx"
        if mode == "landmark" and n < 3:
            raise ValueError(
                f"mode='landmark' needs at least 3 points (from 2 landmarks to n - 1); got "
                f"n={n}. Use mode='exact'")
        sparse_thresh = SPARSE_DEFAULT_THRESH if self.thresh is None else self.thresh
        if mode in SPARSE_MODES and not precomputed:
            require_sparse_thresh(sparse_thresh)
        return Resolved(
            mode=mode,
            kernel=kernel,
            # a Gaussian kernel's knn only sizes the first neighbour search: capped, not refused
            knn=min(self.knn, n - 1),
            # a rule is measured on the points (modes.prepare_points); NaN until then
            sigma=(DEFAULT_SIGMA if self.sigma is None else
                   float("nan") if isinstance(self.sigma, str) else self.sigma),
            sigma_rule=self.sigma if isinstance(self.sigma, str) else None,
            thresh=DEFAULT_THRESH.get(kernel, 0.0) if self.thresh is None else self.thresh,
            sparse_thresh=sparse_thresh,
        )


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What a graph's settings come to on its data.

    Attributes
    ----------
    mode : str
        The mode that runs (``"auto"`` resolved).
    kernel : str
        ``"precomputed"`` for an affinity input, else the ``kernel`` setting.
    knn : int
        The ``knn`` setting, capped at ``n - 1`` (alpha-decay refuses more; a Gaussian
        kernel uses it only to size its first neighbour search).
    sigma : float
        Gaussian bandwidth (``None`` resolved to the reference's 10; NaN until a
        ``sigma_rule`` is measured on the points by :class:`fastdse.DiffusionGraph`).
    sigma_rule : str or None
        The bandwidth rule (``"knn"``) the ``sigma`` setting names, if any.
    thresh : float
        Threshold of the dense kernel (``None``: 1e-4, as the sparse one).
    sparse_thresh : float
        Threshold of the sparse kernel (``None``: 1e-4 for both kernels).
    """

    mode: str
    kernel: str
    knn: int
    sigma: float
    thresh: float
    sparse_thresh: float
    sigma_rule: str | None = None
