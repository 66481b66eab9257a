"""Deflation: the top eigenpairs by ARPACK, and how many to take when ``n_deflate="auto"``.

:func:`deflate` computes the ``k`` eigenpairs of largest ``|lambda|`` of the operator
deflated by the known vectors; they become the exact part of the SLQ measure
(:func:`fastdse.spectral.lanczos.slq_measure`). :func:`auto_n_deflate` chooses ``k``
from a short pilot SLQ run, within the cap of :func:`max_deflate`, and
:func:`extra_probes` says how many probes to add when the measured standard error still
misses its target. The rules and their reasons: docs/estimators.md.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.sparse.linalg

from fastdse._util import progress as _progress
from fastdse.entropy import dse_from_measure
from fastdse.spectral.measure import SpectralMeasure
from fastdse.spectral.quadrature import (
    CSROperator,
    ProbeFn,
    gauss_quadrature,
    lanczos_probes,
    project_out,
)

__all__ = ["auto_n_deflate", "auto_n_probes", "deflate", "deflated_basis", "extra_probes",
           "max_deflate"]

#: Diffusion times assumed by ``n_deflate="auto"`` when ``t_hint`` is None.
DEFAULT_T_HINT = (1.0, 2.0, 5.0, 10.0, 50.0)
#: ``n_deflate="auto"``: target standard error as a fraction of the accuracy goal
#: ``max(0.5 % of DSE, 0.02 bits)``.
AUTO_SE_FRACTION = 0.25
#: ``n_deflate="auto"``: probes of the pilot SLQ run.
AUTO_PILOT_PROBES = 4
#: ``n_deflate="auto"``: Lanczos steps of the pilot run (at most ``n_steps``). The pilot
#: only locates the largest |eigenvalues| and their mass, which Lanczos finds first.
AUTO_PILOT_STEPS = 30
#: ``n_deflate="auto"``: safety factor on the count read off the pilot measure.
AUTO_MARGIN = 1.25
#: ``n_deflate="auto"``: probes may be added after the main run, up to this many times
#: ``n_probes`` in all, while the measured standard error exceeds the pilot's target.
AUTO_MAX_PROBE_FACTOR = 4
#: ``n_probes="auto"``: probes the main run starts with at least. The pilot's bound may
#: ask for fewer (at large n one probe varies little), but a standard error from fewer
#: probes is itself too uncertain to be an error bar: from 8 probes, a Student t with 7
#: degrees of freedom, +-3 of them cover ~98 % of normal errors (from 4, ~94 %).
AUTO_MIN_PROBES = 8
#: ``n_probes="auto"``: the main run takes this many times the probes that bring the
#: pilot's bound to the target (so the bound reaches half of it): fewer than 20 probes
#: only where the bound is far below the target. Near it, per-probe values with heavy
#: tails can hide from a small sample: heavy-tailed data at n = 5,000 with 16 probes
#: (bound just under the target) erred by 3.5 of its own standard errors
#: (docs/estimators.md, "How many probes"). Being 4, it also makes the count a multiple of
#: 4, which the block recurrence runs well.
AUTO_PROBE_HEADROOM = 4
#: Upper bound on the number of deflated eigenpairs (before the memory cap).
MAX_DEFLATE = 400
#: Cost budget of automatic deflation: ``n * k**2`` at most this.
DEFLATE_COST = 1e8
#: Memory allowed for ARPACK's Krylov basis (2k + 1 vectors of n float64), bytes.
ARPACK_MEMORY = 1 << 30
#: ARPACK deflation shows its one-step progress bar at once above this n * k.
LONG_DEFLATION = 2_000_000


def max_deflate(n: int) -> int:
    """Largest ``k`` that ``n_deflate="auto"`` may choose for an ``n x n`` operator.

    ``min(MAX_DEFLATE, n // 4)``, small enough that ARPACK's ``2k + 1``
    Krylov vectors of length ``n`` fit in :data:`ARPACK_MEMORY`, and within
    the cost budget ``n k^2 <= DEFLATE_COST``: ARPACK's time grows like
    ``n k^2``, it costs more than all the Lanczos steps already at moderate
    ``k`` (phase times in docs/benchmarks/slq_accuracy.md), and at large ``n``
    the bulk of the spectrum, which deflation cannot remove, carries the
    standard error anyway.
    """
    n = max(n, 1)
    by_memory = (ARPACK_MEMORY // (8 * n) - 1) // 2
    by_cost = int(math.sqrt(DEFLATE_COST / n))
    return int(max(0, min(MAX_DEFLATE, n // 4, by_memory, by_cost)))


# --------------------------------------------------------------------------- ARPACK


def _arpack_operator(op: CSROperator, U: np.ndarray | None) -> Any:
    """``(I - UU^T) A (I - UU^T)`` as a scipy ``LinearOperator``."""
    n = op.n

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(n, -1)
        if U is not None:
            x = x.copy()  # ARPACK's buffer stays as it is
            project_out(U, x)
        y = op.A @ x  # one vector at a time: scipy's serial product has no thread overhead
        op.n_matvec += x.shape[1]
        project_out(U, y)
        return y

    return scipy.sparse.linalg.LinearOperator(
        (n, n), matvec=matvec, matmat=matvec, dtype=np.float64
    )


def _eigsh(
    lin: Any, n: int, k: int, v0: np.ndarray, tol: float
) -> tuple[Any, Any, int, Exception | None]:
    """ARPACK ``eigsh`` for the top-``k`` |eigenvalues|, retried once with more room.

    Returns the eigenvalues and eigenvectors (those that converged when ARPACK
    failed; ``None`` when nothing was attempted), the attempts made and the error
    of the last attempt (``None`` on success).
    """
    attempts = [
        {"ncv": min(n - 1, max(2 * k + 1, 20)), "maxiter": max(1000, 10 * n)},
        {"ncv": min(n - 1, max(3 * k + 1, 40)), "maxiter": max(5000, 50 * n)},
    ]
    vals = vecs = None
    error: Exception | None = None
    for attempt, opts in enumerate(attempts):
        if opts["ncv"] <= k:
            continue
        try:
            with _progress.stage(f"ARPACK deflation (top {k} of n={n})",
                                 long=n * k >= LONG_DEFLATION):
                vals, vecs = scipy.sparse.linalg.eigsh(
                    lin, k=k, which="LM", v0=v0, tol=tol, return_eigenvectors=True, **opts
                )
            return vals, vecs, attempt + 1, None
        except scipy.sparse.linalg.ArpackNoConvergence as exc:
            error = exc
            vals, vecs = exc.eigenvalues, exc.eigenvectors
        except scipy.sparse.linalg.ArpackError as exc:
            error = exc
            vals, vecs = np.zeros(0), np.zeros((n, 0))
    return vals, vecs, len(attempts), error


def deflate(
    op: CSROperator,
    U: np.ndarray | None,
    k: int,
    rng: np.random.Generator,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Top-``k`` |eigenvalue| pairs of ``(I - UU^T) A (I - UU^T)`` by ARPACK.

    Non-convergence is handled: one retry with a larger Krylov space and more
    iterations, then the pairs that did converge are used (any set of exact
    eigenpairs can be deflated; fewer only means a larger stochastic part),
    with a ``RuntimeWarning``.

    Returns
    -------
    vals : numpy.ndarray of shape (k',)
        The eigenvalues found (``k' <= k``), by descending ``|lambda|``.
    vecs : numpy.ndarray of shape (n, k')
        Their eigenvectors, orthonormalised.
    info : dict
        ``requested``, ``attempts`` and ``converged``.
    """
    n = op.n
    info: dict[str, Any] = {"requested": k}
    if k == 0:
        return np.zeros(0), np.zeros((n, 0)), {**info, "converged": 0}
    lin = _arpack_operator(op, U)
    v0 = rng.standard_normal(n)
    project_out(U, v0[:, None])
    vals, vecs, info["attempts"], error = _eigsh(lin, n, k, v0, tol)
    if error is not None:
        got = 0 if vals is None else len(vals)
        warnings.warn(
            f"ARPACK (eigsh) did not converge for all n_deflate={k} eigenpairs "
            f"({type(error).__name__}: {error}); deflating the {got} that converged. "
            "The stochastic part covers the rest, so the estimate stays unbiased but is "
            "less accurate at large t; pass a smaller n_deflate or a larger tol to avoid this.",
            RuntimeWarning,
            stacklevel=3,
        )
        if vals is None:
            vals, vecs = np.zeros(0), np.zeros((n, 0))
    vals = np.asarray(vals, dtype=np.float64)
    vecs = np.asarray(vecs, dtype=np.float64)
    if vals.size:
        # deterministic order (descending |lambda|) and re-orthonormalised basis
        order = np.argsort(-np.abs(vals), kind="stable")
        vals, vecs = vals[order], vecs[:, order]
        vecs, _ = np.linalg.qr(vecs)
    info["converged"] = int(vals.size)
    return vals, vecs, info


def deflated_basis(U: np.ndarray | None, vecs: np.ndarray) -> np.ndarray | None:
    """Stack the known vectors and the deflated eigenvectors (None when there are none).

    Row-major (ARPACK's eigenvectors come column-major), as the projection kernel of
    every Lanczos step reads it: converted once here, not at each step.
    """
    if U is not None and vecs.shape[1]:
        return np.hstack([U, vecs])
    if U is not None:
        return U
    return np.ascontiguousarray(vecs) if vecs.shape[1] else None


# --------------------------------------------------------------------------- n_deflate="auto"


def _pilot(
    op: CSROperator, U: np.ndarray | None, n_steps: int, probe_fn: ProbeFn,
    rng: np.random.Generator, tol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``|nodes|`` and weights of the pilot SLQ measure, by descending ``|node|``."""
    m = min(n_steps, AUTO_PILOT_STEPS)
    run = lanczos_probes(op, U, AUTO_PILOT_PROBES, m, probe_fn, rng, tol, desc="Lanczos pilot")
    nodes, weights, _ = gauss_quadrature(*run, m)
    order = np.argsort(-np.abs(nodes), kind="stable")
    return np.abs(nodes[order]), weights[order]


def _stderr_bound(
    logabs: np.ndarray, w: np.ndarray, n_known: int, t: float, n_probes: int
) -> tuple[np.ndarray, float]:
    """Bound on the probe standard error of DSE_t (bits) after every cut, and DSE_t (nats).

    Cut ``i`` deflates the pilot's nodes ``0 .. i - 1`` (``logabs``: their
    ``log |theta|``, descending, with weights ``w``).
    """
    f = np.exp(t * logabs)  # |theta|^t in [0, 1]
    Z = n_known + float(np.sum(w * f))
    a = f / Z
    loga = np.where(f > 0, t * logabs - np.log(Z), 0.0)
    dse = -(n_known * (1.0 / Z) * np.log(1.0 / Z)) - float(np.sum(w * a * loga))
    g = -a * (loga + dse)  # d DSE / d (weight of an eigenvalue), nats
    tail = np.concatenate([np.cumsum((w * g * g)[::-1])[::-1], [0.0]])
    return np.sqrt(2.0 * tail / n_probes) / np.log(2.0), dse


def auto_n_deflate(
    op: CSROperator,
    U: np.ndarray | None,
    n_known: int,
    ts: np.ndarray,
    n_probes: int,
    n_steps: int,
    probe_fn: ProbeFn,
    rng: np.random.Generator,
    tol: float,
) -> tuple[int, dict]:
    """Choose ``k`` from a pilot SLQ measure (the rule: docs/estimators.md).

    Returns ``k`` and a dict with ``pilot_k`` (the count before the cap), ``k_max``
    (the cap), ``predicted_se`` (``t`` -> standard error bound in bits without
    deflation and after the chosen cut, and the eigenvalues that cut deflates) and
    ``probes_needed``: the probes that bring the bound after the cut, with the margin,
    to the target at every ``t`` (the bound falls like one over the root of the probes).
    """
    n = op.n
    kmax = min(max_deflate(n), n - n_known - n_steps - 1)
    if kmax <= 0:
        return 0, {"pilot_k": 0, "k_max": max(kmax, 0)}
    absn, w = _pilot(op, U, n_steps, probe_fn, rng, tol)
    # cut i deflates the nodes 0 .. i-1, i.e. about count_above[i] eigenvalues
    count_above = np.concatenate([[0.0], np.cumsum(w)])
    cut_max = int(np.searchsorted(count_above, kmax, side="right")) - 1
    logabs = np.full(absn.shape, -np.inf)
    logabs[absn > 0] = np.log(absn[absn > 0])
    k_needed, predicted, ratio = 0.0, {}, 0.0
    for t in ts:
        bound, dse = _stderr_bound(logabs, w, n_known, t, n_probes)
        target = AUTO_SE_FRACTION * max(0.005 * dse / np.log(2.0), 0.02)
        goal = max(target, AUTO_MARGIN * bound[cut_max])
        cut = int(np.nonzero(bound <= goal)[0][0])
        k_needed = max(k_needed, count_above[cut])
        predicted[float(t)] = (float(bound[0]), float(bound[cut]), float(count_above[cut]))
        ratio = max(ratio, AUTO_MARGIN * float(bound[cut]) / target)
    k = int(math.ceil(AUTO_MARGIN * k_needed))
    return int(min(k, kmax)), {"pilot_k": k, "k_max": kmax, "predicted_se": predicted,
                               "probes_needed": int(math.ceil(n_probes * ratio * ratio))}


def auto_n_probes(auto_info: dict, most: int) -> int:
    """Probes the main run starts with under ``n_probes="auto"`` (the rule: docs/estimators.md).

    :data:`AUTO_PROBE_HEADROOM` times the pilot's ``probes_needed``
    (:func:`auto_n_deflate`) within ``[AUTO_MIN_PROBES, most]``: a multiple of 4 below
    ``most``. The block recurrence runs its probes as the columns of one block, and a
    width that is not a multiple of the vector width can cost more than a wider one
    (10,000 x 256: 13 probes 0.53 s, 16 probes 0.49 s, 12 probes 0.30 s). ``most`` when
    there was no pilot (nothing to deflate).
    """
    if "probes_needed" not in auto_info:
        return most
    want = AUTO_PROBE_HEADROOM * int(auto_info["probes_needed"])
    return int(min(most, max(AUTO_MIN_PROBES, want)))


def extra_probes(measure: SpectralMeasure, ts: np.ndarray, n_probes: int,
                 scale: int | None = None) -> int:
    """Probes to add so the measured standard error meets the automatic target at every t.

    The target is the pilot's: :data:`AUTO_SE_FRACTION` times ``max(0.5 % of
    DSE, 0.02 bits)``. ``p (se / target)^2`` probes in all are expected to
    reach it (``p = n_probes``, the probes run); at most
    :data:`AUTO_MAX_PROBE_FACTOR` ``* scale`` (default ``n_probes``).
    """
    value, se = dse_from_measure(measure, ts, 2.0)
    target = AUTO_SE_FRACTION * np.maximum(0.005 * value, 0.02)
    ratio = float(np.max(se / target))
    if not np.isfinite(ratio) or ratio <= 1.0:
        return 0
    want = math.ceil(n_probes * ratio * ratio)
    most = AUTO_MAX_PROBE_FACTOR * (n_probes if scale is None else scale)
    return int(min(want, most) - n_probes)
