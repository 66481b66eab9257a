"""The mode table: for each mode, the builder of a graph's spectral measure.

A builder takes the graph's validated input (points or a precomputed affinity),
its :class:`~fastdse.settings.Settings` and what they resolved to on the data,
and the graph's seeds; it returns a :class:`Built`. Adding a mode is one builder
and one entry of :data:`BUILDERS` (and its name in :data:`fastdse.settings.MODES`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from fastdse._util import memory as _memory
from fastdse._util.stages import peak_rss
from fastdse._util.threads import resolve_threads, serial_when_small
from fastdse.operator.bandwidth import knn_sigma
from fastdse.operator.build import operator_from_settings
from fastdse.operator.conditioning import condition_points
from fastdse.operator.duplicates import (
    Duplicates,
    find_duplicates,
    weighted_dense_operator,
    weighted_sparse_operator,
)
from fastdse.operator.kernel import MIN_SIGMA, dense_affinity
from fastdse.operator.normalize import (
    normalize_dense_inplace,
    normalize_sparse,
    top_eigenvectors,
)
from fastdse.settings import Resolved, Settings
from fastdse.spectral.dense import exact_measure
from fastdse.spectral.lanczos import check_operator, run_slq
from fastdse.spectral.landmark import landmark_from_operator
from fastdse.spectral.layout import spectral_layout
from fastdse.spectral.measure import SpectralMeasure

__all__ = ["APPROXIMATE_GRAPH_NOTE", "BUILDERS", "Built", "GraphInput", "Seeds",
           "prepare_points"]

#: ``info["stderr_note"]`` of a sparse result whose neighbours were searched
#: approximately (NN-descent or pynndescent, what ``neighbors="auto"`` runs above the
#: exact-search crossover). Figures: docs/benchmarks/knn_graph.md.
APPROXIMATE_GRAPH_NOTE = (
    "stderr is the error of the stochastic estimate only (its probes' spread and its "
    "quadrature bias). The neighbours were searched "
    "approximately ({method}): the kernel misses some neighbours of the exact-neighbour "
    "kernel, which moves DSE by more than stderr at large n (measured at 100,000 x 128: "
    "0.04 % at t = 1, 0.9-1.1 % at t = 10). neighbors='exact' gives the exact-neighbour "
    "kernel, at O(n^2 d) cost")


@dataclass
class GraphInput:
    """A graph's validated data: points, or a precomputed affinity (the other is None).

    A builder may take the affinity over (normalise it in place): the graph hands
    it over and keeps no reference. ``duplicates`` holds the distinct rows of points
    that repeat (:mod:`fastdse.operator.duplicates`): the builders then work on the
    distinct points with their multiplicities.
    """

    points: np.ndarray | None
    affinity: Any
    n: int
    t_hint: np.ndarray | None
    duplicates: Duplicates | None = None


class Seeds:
    """The seeds of a graph's random stages, drawn once from its generator.

    The first stage that asks draws one seed per stage, in :data:`STAGES` order,
    so a stage's seed does not depend on which stages run. Every mode seeds its
    stages this way: the sparse operator (neighbour search, truncation sample)
    from ``"neighbors"``, stochastic Lanczos quadrature from ``"spectrum"``, the
    landmark choice from ``"landmarks"``, the query points of ``sigma="knn"`` beyond
    :data:`fastdse.operator.bandwidth.EXACT_QUERIES` points from ``"bandwidth"``
    (last, so that the others' seeds are those of earlier versions).
    """

    STAGES = ("neighbors", "spectrum", "landmarks", "bandwidth")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._seeds: dict[str, int] = {}

    def __call__(self, stage: str) -> int:
        """Return the seed of ``stage``."""
        if not self._seeds:
            for name in self.STAGES:
                self._seeds[name] = int(self._rng.integers(2**31 - 1))
        return self._seeds[stage]


@dataclass
class Built:
    """What a builder returns: the measure and the operator's by-products."""

    measure: SpectralMeasure
    degrees: np.ndarray
    operator: sp.csr_matrix | None = None
    #: the points' numbering of ``operator`` (row ``i`` is point ``order[i]``); None: theirs
    order: np.ndarray | None = None
    half_measure: SpectralMeasure | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _size(data: GraphInput) -> int:
    """Points the builders work on: the distinct ones when rows repeat."""
    return data.n if data.duplicates is None else int(data.duplicates.unique.shape[0])


def build_exact(data: GraphInput, settings: Settings, resolved: Resolved,
                seeds: Seeds) -> Built:
    """Dense kernel, in-place normalisation, one symmetric eigvalsh (one thread when small)."""
    with serial_when_small(_size(data)):
        return _build_exact(data, settings, resolved)


def _build_exact(data: GraphInput, settings: Settings, resolved: Resolved) -> Built:
    if data.points is None:
        if sp.issparse(data.affinity):
            _memory.check_dense_fits(data.n, 0)
        K0, data.affinity = data.affinity, None
        K = K0.toarray() if sp.issparse(K0) else K0
        del K0
        degrees = normalize_dense_inplace(K, settings.anisotropy)
    elif data.duplicates is not None:
        dups = data.duplicates
        _memory.check_dense_fits(dups.unique.shape[0], dups.unique.shape[1])
        K, degrees = weighted_dense_operator(dups, settings, resolved)
        measure = _with_zeros(exact_measure(K, overwrite=True), data.n, dups)
        return Built(measure, degrees[dups.inverse])
    else:
        _memory.check_dense_fits(data.n, data.points.shape[1])
        start = time.perf_counter()
        K, degrees = dense_affinity(
            data.points, resolved.kernel, knn=resolved.knn, decay=settings.decay,
            sigma=resolved.sigma, thresh=resolved.thresh, return_degrees=True)
        timings, peaks = {"kernel": time.perf_counter() - start}, {"kernel": peak_rss()}
        start = time.perf_counter()
        degrees = normalize_dense_inplace(K, settings.anisotropy, degrees)
        timings["normalize"], peaks["normalize"] = time.perf_counter() - start, peak_rss()
        start = time.perf_counter()
        measure = exact_measure(K, overwrite=True)
        timings["eigensolver"], peaks["eigensolver"] = time.perf_counter() - start, peak_rss()
        del K
        measure.info.update(timings={**measure.info.get("timings", {}), **timings},
                            peak_rss=peaks)
        return Built(measure, degrees)
    measure = exact_measure(K, overwrite=True)
    del K
    return Built(measure, degrees)


def _precomputed_operator(data: GraphInput, settings: Settings
                          ) -> tuple[Any, np.ndarray, np.ndarray, dict]:
    """Sparse operator of a precomputed affinity (the approx path's first stage)."""
    start = time.perf_counter()
    K0, data.affinity = data.affinity, None
    A, degrees = normalize_sparse(sp.csr_matrix(K0) if not sp.issparse(K0) else K0,
                                  settings.anisotropy, copy=False)
    del K0
    n_comp, labels = connected_components(A, directed=False)
    V = top_eigenvectors(degrees, labels)
    info = {"kernel": "precomputed", "anisotropy": settings.anisotropy,
            "n_components": int(n_comp), "timings": {"normalize": time.perf_counter() - start}}
    return A, degrees, V, info


def build_approx(data: GraphInput, settings: Settings, resolved: Resolved,
                 seeds: Seeds) -> Built:
    """Sparse kNN kernel, sparse normalisation, deflated SLQ (one thread when small)."""
    with serial_when_small(_size(data)) as serial:
        return _build_approx(data, settings, resolved, seeds,
                             1 if serial else resolve_threads(settings.n_jobs))


def _build_approx(data: GraphInput, settings: Settings, resolved: Resolved, seeds: Seeds,
                  threads: int) -> Built:
    start = time.perf_counter()
    if data.points is None:
        A, degrees, known, op_info = _precomputed_operator(data, settings)
        A = check_operator(A)  # a user's affinity: symmetric only to its own tolerance
    elif data.duplicates is not None:
        A, degrees, known, op_info = weighted_sparse_operator(
            data.duplicates, settings, resolved, np.random.default_rng(seeds("neighbors")))
    else:
        # symmetric by construction, (K + K^T) / 2 scaled alike on both sides
        A, degrees, known, op_info = operator_from_settings(
            data.points, settings, resolved, np.random.default_rng(seeds("neighbors")))
    operator_seconds = time.perf_counter() - start
    # the spectral stage on the operator renumbered for locality where that pays
    A, known_slq, order, layout = spectral_layout(A, known,
                                                  op_info.pop("locality_order", None))
    del known
    renumber_peak = peak_rss()
    measure, half = run_slq(
        A, n_probes=settings.n_probes, n_steps=settings.n_steps, n_deflate=settings.n_deflate,
        known_vectors=known_slq, rng=np.random.default_rng(seeds("spectrum")),
        t_hint=data.t_hint, threads=threads)
    if layout["renumbered"]:
        measure.info.setdefault("timings", {})["renumber"] = layout["seconds"]
        measure.info.setdefault("peak_rss", {})["renumber"] = renumber_peak
    measure.info["layout"] = layout
    measure.info["operator"] = op_info
    measure.info["nnz"] = int(A.nnz)
    if op_info.get("neighbors") in ("nndescent", "pynndescent"):
        measure.info["stderr_note"] = APPROXIMATE_GRAPH_NOTE.format(
            method=op_info["neighbors"])
    dups = data.duplicates
    if dups is not None:
        measure, half = _with_zeros(measure, data.n, dups), _with_zeros(half, data.n, dups)
        degrees = degrees[dups.inverse]
    return Built(measure, degrees, operator=A, order=order, half_measure=half,
                 timings={"operator": operator_seconds})


def build_landmark(data: GraphInput, settings: Settings, resolved: Resolved,
                   seeds: Seeds) -> Built:
    """Sparse operator, then the coarse measure of ``settings.n_landmarks`` landmarks.

    ``n_landmarks`` is capped at ``n - 1`` (the cap recorded in ``info``).
    """
    assert data.points is not None  # the graph refuses an affinity for this mode
    requested = settings.n_landmarks
    dups = data.duplicates
    rng = np.random.default_rng(seeds("neighbors"))
    if dups is None:
        A, degrees, known, op_info = operator_from_settings(data.points, settings, resolved,
                                                            rng)
        size, weighted_degrees = data.n, degrees
    else:
        A, degrees, known, op_info = weighted_sparse_operator(dups, settings, resolved, rng)
        # sqrt(w d) spans A_w's eigenvalue 1, as sqrt(d) spans the plain operator's
        size, weighted_degrees = A.shape[0], dups.counts * degrees
    if size < 3:
        raise ValueError(
            f"mode='landmark' needs at least 3 distinct points (from 2 landmarks to n - 1); "
            f"got {size}. Use mode='exact'")
    m = min(requested, size - 1)
    measure = landmark_from_operator(A, weighted_degrees, known, n_landmarks=m,
                                     method=settings.landmark_method,
                                     rng=np.random.default_rng(seeds("landmarks")))
    if dups is not None:
        measure = _with_zeros(measure, data.n, dups)
        degrees = degrees[dups.inverse]
    measure.info["n_landmarks_requested"] = requested
    if m < requested:
        measure.info["note"] += f" n_landmarks={requested} was capped at n - 1 = {m}."
    op_info.pop("locality_order", None)  # the coarse operator has its own numbering
    measure.info["operator"] = op_info
    return Built(measure, degrees)


def _with_zeros(measure: SpectralMeasure, n: int, dups: Duplicates) -> SpectralMeasure:
    """Return the distinct points' measure with the n - m zero eigenvalues added.

    An exact measure gets the zeros as nodes (``eigenvalues()`` lists all n); an
    estimated one as one deterministic atom at 0 of weight ``n - m``.
    """
    m = measure.n
    info = {**measure.info, "distinct_points": m,
            "duplicates_note": f"{n - m} repeated rows: the operator on the {m} distinct "
                               f"points with their multiplicities, plus {n - m} zero "
                               "eigenvalues"}
    if measure.method == "exact" and measure.nodes.shape[0] == m:
        nodes = np.sort(np.concatenate([measure.nodes, np.zeros(n - m)]))
        return SpectralMeasure(nodes=nodes, weights=np.ones(n),
                               probe=np.full(n, -1, dtype=np.int64), n=n, n_probes=0,
                               method=measure.method, info=info)
    return dataclasses.replace(
        measure, nodes=np.append(measure.nodes, 0.0),
        weights=np.append(measure.weights, float(n - m)),
        probe=np.append(measure.probe, -1), n=n, info=info)


#: mode name -> builder of the spectral measure (``"auto"`` resolves to one of these).
BUILDERS: dict[str, Callable[[GraphInput, Settings, Resolved, Seeds], Built]] = {
    "exact": build_exact,
    "approx": build_approx,
    "landmark": build_landmark,
}


def prepare_points(points: np.ndarray | None, resolved: Resolved, seeds: Seeds
              ) -> tuple[np.ndarray | None, Duplicates | None, Resolved, Resolved,
                         dict[str, float]]:
    """Find repeated rows, condition the distinct points, resolve a bandwidth rule.

    Returns the points, the duplicates, the resolved settings (a rule such as
    ``sigma="knn"`` replaced by its value, measured on the distinct points), those
    the builders use (``sigma`` scaled with the points) and the conditioning report
    (:mod:`fastdse.operator.conditioning`).
    """
    if points is None:
        return None, None, resolved, resolved, {}
    duplicates = find_duplicates(points)
    if duplicates is None:
        points, scale, report = condition_points(points)
    else:
        unique, scale, report = condition_points(duplicates.unique)
        duplicates = dataclasses.replace(duplicates, unique=unique)
    if resolved.kernel == "gaussian" and resolved.sigma_rule is not None:
        scaled = knn_sigma(points if duplicates is None else duplicates.unique,
                           rng=np.random.default_rng(seeds("bandwidth")))
        resolved = dataclasses.replace(resolved, sigma=scaled / scale)
    if resolved.kernel != "gaussian" or scale == 1.0:
        return points, duplicates, resolved, resolved, report
    sigma = resolved.sigma * scale
    if sigma < MIN_SIGMA:
        raise ValueError(
            f"sigma={resolved.sigma:g} is too small for points of this scale (at most "
            f"{1 / scale:.3g} in magnitude): every affinity between distinct points "
            "underflows. Use a larger sigma, or rescale the data")
    return points, duplicates, resolved, dataclasses.replace(resolved, sigma=sigma), report
