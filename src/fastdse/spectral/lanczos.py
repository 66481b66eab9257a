r"""Sparse spectral measure: ARPACK deflation plus stochastic Lanczos quadrature.

For a symmetric operator :math:`A` (n x n, spectrum in :math:`[-1, 1]`),
:func:`slq_measure` returns a :class:`~fastdse.spectral.measure.SpectralMeasure`
standing for :math:`\sum_i \delta(\lambda_i)` in two parts:

deterministic
    ``c`` known eigenvectors of eigenvalue 1 (``known_vectors``, e.g.
    :math:`\sqrt{d} / \lVert \sqrt{d} \rVert` per connected component) and the
    ``k`` eigenpairs of largest :math:`|\lambda|` of the operator deflated by
    them (ARPACK ``eigsh``, ``which="LM"``: eigenvalues near -1 count as much
    as those near 1, since DSE uses :math:`|\lambda|^t`). Weight 1 each.
stochastic
    stochastic Lanczos quadrature (SLQ) on the deflated operator
    :math:`B = (I - VV^T) A (I - VV^T)` with probes projected onto the
    complement of :math:`V`, so it estimates exactly the remaining
    ``n - c - k`` eigenvalues. For a probe :math:`v`, ``m`` Lanczos steps give
    a tridiagonal :math:`T`; with :math:`T = S \Theta S^T`,

    .. math::

        v^T f(B) v \approx \lVert v \rVert^2 \sum_j S_{1j}^2 f(\theta_j),

    and the mean over ``n_probes`` probes estimates :math:`\mathrm{tr} f(B)`
    (Ubaru, Chen and Saad, SIMAX 2017). Weights are stored divided by
    ``n_probes`` and every stochastic node carries its probe index, so
    :func:`~fastdse.entropy.dse_from_measure` gets a standard error from the
    spread between probes.

All probes run in lock-step as one ``n x n_probes`` block, so each Lanczos
step costs one sparse-matrix x dense-block product (a parallel numba kernel
over row ranges). No reorthogonalisation beyond the deflated vectors: lost
orthogonality produces ghost Ritz values whose weights split correctly, and
quadrature accuracy does not need it (see DESIGN.md, numerical notes).

The first ``n_steps // 2`` steps of the same recurrence give a second
measure for free (``return_half=True``); :func:`quadrature_bias` turns the two
into ``|DSE(m) - DSE(m/2)|``, an indicator of the quadrature (not probe) error.

How ``n_deflate="auto"`` chooses ``k``
--------------------------------------
To first order, an error :math:`\delta w_i` in the weight the measure gives
eigenvalue :math:`\lambda_i` changes DSE (nats) by :math:`g_t(\lambda_i)\,
\delta w_i` with :math:`g_t(\lambda) = -a(\lambda) (\log a(\lambda) +
\mathrm{DSE}_t)`, :math:`a(\lambda) = |\lambda|^t / Z_t`. The stochastic part
estimates :math:`\mathrm{tr}\, g_t(B)`, and for Rademacher or Gaussian probes
one probe's variance is at most :math:`2 \lVert g_t(B) \rVert_F^2 = 2
\sum_{i > k} g_t(\lambda_i)^2`, so after deflating the ``k`` eigenvalues of
largest :math:`|\lambda|` the standard error of DSE is at most
:math:`\sqrt{2 \sum_{i>k} g_t(\lambda_i)^2 / p}`. A pilot SLQ run
(:data:`AUTO_PILOT_PROBES` probes, :data:`AUTO_PILOT_STEPS` steps, on the operator deflated
by the known vectors only) supplies approximate :math:`\lambda_i`, counts and
:math:`\mathrm{DSE}_t`. For every ``t`` in ``t_hint`` (default 1, 2, 5, 10,
50) ``k_t`` is the smallest count for which the bound is below
:data:`AUTO_SE_FRACTION` times the accuracy goal ``max(0.5 % of DSE, 0.02
bits)``, or, when no ``k`` up to the cap reaches that (small ``t``: the error
sits in the bulk, deflation cannot remove it, only more probes can), within a
factor :data:`AUTO_MARGIN` of the best bound reachable under the cap. Then
``k = ceil(AUTO_MARGIN * max_t k_t)``, capped at :func:`max_deflate` (at most
:data:`MAX_DEFLATE`, ``n // 4`` and ARPACK's Krylov basis in
:data:`ARPACK_MEMORY`). At small ``t`` this gives ``k`` near 0; at large ``t``
the mass sits on the top eigenvalues and the rule deflates them.

The pilot's bound is an estimate. After the main run, ``n_deflate="auto"``
also checks the measured standard error: when it exceeds the same target at
some ``t`` in ``t_hint``, more probes are run on the same deflated operator,
as many as the measured error says are needed (``p (se / target)^2``), up to
:data:`AUTO_MAX_PROBE_FACTOR` times ``n_probes`` in all (``info["probes_added"]``).

Small problems
--------------
Below :data:`DENSE_MAX_N` points, or when the complement of the deflated
vectors has at most ``n_steps`` dimensions (so Lanczos would span it
entirely), the measure is computed exactly with dense ``eigvalsh`` (method
``"exact"``, ``info["fallback"]`` says why): it is both cheaper and exact.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from typing import Any, Literal, overload

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from fastdse._numba import lanczos as _lanczos_jit
from fastdse._util import memory as _memory
from fastdse._util import progress as _progress
from fastdse._util.threads import compute_threads, resolve_threads
from fastdse._util.validation import (
    check_choice,
    check_int,
    check_n_jobs,
    check_random_state,
    describe,
)
from fastdse.entropy import dse_from_measure
from fastdse.spectral.dense import exact_measure
from fastdse.spectral.measure import SpectralMeasure

__all__ = [
    "slq_measure",
    "run_slq",
    "check_operator",
    "quadrature_bias",
    "max_deflate",
    "DEFAULT_N_PROBES",
    "DEFAULT_N_STEPS",
    "DENSE_MAX_N",
    "PROBES",
]

#: Default number of probe vectors (chosen in docs/benchmarks/slq_accuracy.md).
DEFAULT_N_PROBES = 20
#: Default number of Lanczos steps per probe (chosen in docs/benchmarks/slq_accuracy.md).
DEFAULT_N_STEPS = 60
#: Below this size the measure is computed exactly by dense eigvalsh.
DENSE_MAX_N = 200
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
#: Upper bound on the number of deflated eigenpairs (before the memory cap).
MAX_DEFLATE = 400

#: Cost budget of automatic deflation: ``n * k**2`` at most this.
DEFLATE_COST = 1e8
#: Memory allowed for ARPACK's Krylov basis (2k + 1 vectors of n float64), bytes.
ARPACK_MEMORY = 1 << 30


def _rademacher(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    return rng.integers(0, 2, size=(n, p)).astype(np.float64) * 2.0 - 1.0


def _gaussian(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    return rng.standard_normal((n, p))


#: probe name -> function ``(rng, n, p) -> (n, p)`` block of probe vectors.
PROBES = {"rademacher": _rademacher, "gaussian": _gaussian}


#: ARPACK deflation shows its one-step progress bar at once above this n * k.
LONG_DEFLATION = 2_000_000


def max_deflate(n: int) -> int:
    """Largest ``k`` that ``n_deflate="auto"`` may choose for an ``n x n`` operator.

    ``min(MAX_DEFLATE, n // 4)``, small enough that ARPACK's ``2k + 1``
    Krylov vectors of length ``n`` fit in :data:`ARPACK_MEMORY`, and within
    the cost budget ``n k^2 <= DEFLATE_COST`` (ARPACK's time grows like
    ``n k^2``: measured 65 s for k = 185 at n = 25,000 on 2 cores, where 20
    probes x 60 Lanczos steps took 3.5 s and deflation lowered the t = 10
    standard error only from 0.012 to 0.010 bits).
    """
    n = max(n, 1)
    by_memory = (ARPACK_MEMORY // (8 * n) - 1) // 2
    by_cost = int(math.sqrt(DEFLATE_COST / n))
    return int(max(0, min(MAX_DEFLATE, n // 4, by_memory, by_cost)))


# --------------------------------------------------------------------------- threads


#: Below this many rows ARPACK's dense BLAS work is too small to gain from threads
#: and loses badly when the other cores are busy; it runs on one BLAS thread.
BLAS_PARALLEL_MIN_N = 20_000


# --------------------------------------------------------------------------- operator


class _CSROperator:
    """``A @ X`` for a CSR matrix with the parallel numba kernel (plain arrays inside)."""

    def __init__(self, A: scipy.sparse.csr_matrix) -> None:
        self.A = A
        self.n = A.shape[0]
        # int32 or int64 as scipy holds them (numba compiles one kernel for each)
        self.indptr = A.indptr
        self.indices = A.indices
        self.data = A.data
        self.n_matvec = 0

    def matmat(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if out is None:
            out = np.empty_like(X)
        _lanczos_jit.csr_matmat(self.indptr, self.indices, self.data, X, out)
        self.n_matvec += X.shape[1]
        return out


def _project_out(U: np.ndarray | None, W: np.ndarray) -> None:
    """``W <- (I - U U^T) W`` in place (U has orthonormal columns)."""
    if U is not None and U.shape[1]:
        W -= U @ (U.T @ W)


# --------------------------------------------------------------------------- deflation


def _deflate(
    op: _CSROperator,
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
    """
    n = op.n
    info: dict[str, Any] = {"requested": k}
    if k == 0:
        return np.zeros(0), np.zeros((n, 0)), {**info, "converged": 0}

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(n, -1)
        if U is not None:
            x = x - U @ (U.T @ x)
        y = op.A @ x  # one vector at a time: scipy's serial product has no thread overhead
        op.n_matvec += x.shape[1]
        _project_out(U, y)
        return y

    lin = scipy.sparse.linalg.LinearOperator(
        (n, n), matvec=matvec, matmat=matvec, dtype=np.float64
    )
    v0 = rng.standard_normal(n)
    if U is not None:
        v0 -= U @ (U.T @ v0)
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
            info["attempts"] = attempt + 1
            error = None
            break
        except scipy.sparse.linalg.ArpackNoConvergence as exc:
            error = exc
            vals, vecs = exc.eigenvalues, exc.eigenvectors
        except scipy.sparse.linalg.ArpackError as exc:
            error = exc
            vals, vecs = np.zeros(0), np.zeros((n, 0))
    if error is not None:
        info["attempts"] = len(attempts)
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


# --------------------------------------------------------------------------- Lanczos


def _lanczos_block(
    op: _CSROperator, V: np.ndarray, m: int, U: np.ndarray | None, tol: float,
    desc: str = "Lanczos",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``m`` Lanczos steps for every column of ``V`` in lock-step.

    Parameters
    ----------
    V : numpy.ndarray of shape (n, p)
        Starting vectors, already in the complement of ``U`` (not normalised).
    desc : str
        Label of the progress bar (one tick per step).

    Returns
    -------
    alpha : numpy.ndarray of shape (m, p)
        Diagonals of the tridiagonal matrices.
    beta : numpy.ndarray of shape (m, p)
        Off-diagonals (``beta[j]`` couples steps ``j`` and ``j + 1``).
    steps : numpy.ndarray of shape (p,), int
        Valid steps per probe (fewer than ``m`` after a breakdown; 0 for a zero probe).
    norm2 : numpy.ndarray of shape (p,)
        Squared norms of the starting vectors.
    """
    n, p = V.shape
    norm2 = np.einsum("ij,ij->j", V, V)
    alpha = np.zeros((m, p))
    beta = np.zeros((m, p))
    steps = np.full(p, m, dtype=np.int64)
    live = norm2 > 0.0
    steps[~live] = 0
    inv = np.where(live, 1.0 / np.sqrt(np.where(live, norm2, 1.0)), 0.0)
    Q = np.ascontiguousarray(V * inv)
    Q_prev = np.zeros_like(Q)
    W = np.empty_like(Q)
    beta_prev = np.zeros(p)
    bar = _progress.bar(m, f"{desc} ({p} probes, n={n})", unit="step")
    for j in range(m):
        bar.update()
        op.matmat(Q, out=W)
        _project_out(U, W)
        a = _lanczos_jit.column_dots(Q, W)
        a[~live] = 0.0
        alpha[j] = a
        if j == m - 1:
            break
        b2 = _lanczos_jit.three_term_update(W, Q, Q_prev, a, beta_prev)
        b = np.sqrt(b2)
        ended = live & (b <= tol)
        if np.any(ended):  # invariant subspace found: this probe's quadrature is exact
            steps[ended] = j + 1
            live &= ~ended
        b[~live] = 0.0
        beta[j] = b
        inv_b = np.where(live, 1.0 / np.where(live, b, 1.0), 0.0)
        _lanczos_jit.shift_and_scale(W, Q, Q_prev, inv_b)
        beta_prev = b
        if not np.any(live):
            break
    bar.close()
    return alpha, beta, steps, norm2


def _quadrature(
    alpha: np.ndarray, beta: np.ndarray, steps: np.ndarray, norm2: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss quadrature nodes and weights of every probe from its first ``m`` steps.

    Weights are ``|v|^2 S_{1j}^2 / p``; probe ``j``'s nodes carry index ``j``.
    """
    p = alpha.shape[1]
    nodes, weights, probe = [], [], []
    for c in range(p):
        s = int(min(steps[c], m))
        if s == 0:
            continue
        d = alpha[:s, c]
        if s == 1:
            theta, first = d.copy(), np.ones(1)
        else:
            theta, S = scipy.linalg.eigh_tridiagonal(
                d, beta[: s - 1, c], check_finite=False
            )
            first = S[0]
        nodes.append(np.clip(theta, -1.0, 1.0))
        weights.append(norm2[c] * first * first / p)
        probe.append(np.full(s, c, dtype=np.int64))
    if not nodes:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(nodes), np.concatenate(weights), np.concatenate(probe)


def _auto_n_deflate(
    op: _CSROperator,
    U: np.ndarray | None,
    n_known: int,
    ts: np.ndarray,
    n_probes: int,
    n_steps: int,
    probe_fn: Any,
    rng: np.random.Generator,
    tol: float,
) -> tuple[int, dict]:
    """Choose ``k`` from a pilot SLQ measure (rule in the module docstring)."""
    n = op.n
    kmax = min(max_deflate(n), n - n_known - n_steps - 1)
    if kmax <= 0:
        return 0, {"pilot_k": 0, "k_max": max(kmax, 0)}
    V = probe_fn(rng, n, AUTO_PILOT_PROBES)
    _project_out(U, V)
    m = min(n_steps, AUTO_PILOT_STEPS)
    alpha, beta, steps, norm2 = _lanczos_block(op, V, m, U, tol, desc="Lanczos pilot")
    nodes, weights, _ = _quadrature(alpha, beta, steps, norm2, m)
    order = np.argsort(-np.abs(nodes), kind="stable")
    absn, w = np.abs(nodes[order]), weights[order]
    # cut i deflates the nodes 0 .. i-1, i.e. about count_above[i] eigenvalues
    count_above = np.concatenate([[0.0], np.cumsum(w)])
    cut_max = int(np.searchsorted(count_above, kmax, side="right")) - 1
    logabs = np.full(absn.shape, -np.inf)
    logabs[absn > 0] = np.log(absn[absn > 0])
    k_needed, predicted = 0.0, {}
    for t in ts:
        f = np.exp(t * logabs)  # |theta|^t in [0, 1]
        Z = n_known + float(np.sum(w * f))
        a = f / Z
        loga = np.where(f > 0, t * logabs - np.log(Z), 0.0)
        dse = -(n_known * (1.0 / Z) * np.log(1.0 / Z)) - float(np.sum(w * a * loga))
        g = -a * (loga + dse)  # d DSE / d (weight of an eigenvalue), nats
        tail = np.concatenate([np.cumsum((w * g * g)[::-1])[::-1], [0.0]])
        bound = np.sqrt(2.0 * tail / n_probes) / np.log(2.0)  # stderr bound, bits
        target = AUTO_SE_FRACTION * max(0.005 * dse / np.log(2.0), 0.02)
        goal = max(target, AUTO_MARGIN * bound[cut_max])
        cut = int(np.nonzero(bound <= goal)[0][0])
        k_needed = max(k_needed, count_above[cut])
        predicted[float(t)] = (float(bound[0]), float(bound[cut]), float(count_above[cut]))
    k = int(math.ceil(AUTO_MARGIN * k_needed))
    return int(min(k, kmax)), {"pilot_k": k, "k_max": kmax, "predicted_se": predicted}


# --------------------------------------------------------------------------- public


def check_operator(A: Any) -> scipy.sparse.csr_matrix:
    """Validate a symmetric operator and return it as CSR float64 (no copy when it is one)."""
    if not scipy.sparse.issparse(A):
        raise TypeError(
            "A must be a scipy.sparse matrix (CSR, float64) holding the symmetric diffusion "
            f"operator; got {describe(A)}"
        )
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square n x n matrix; got shape {A.shape}")
    if A.shape[0] < 2:
        raise ValueError(f"A must be at least 2 x 2; got shape {A.shape}")
    if np.issubdtype(A.dtype, np.complexfloating):
        raise TypeError(f"A must be real; got dtype {A.dtype}")
    A = scipy.sparse.csr_matrix(A, dtype=np.float64)  # no copy for CSR float64 input
    if not np.all(np.isfinite(A.data)):
        raise ValueError("A contains NaN or infinite values; all entries must be finite")
    asym = 0.0
    if A.nnz:
        AT = A.T.tocsr()  # sorted indices
        if (A.has_canonical_format and np.array_equal(A.indptr, AT.indptr)
                and np.array_equal(A.indices, AT.indices)):
            asym = float(np.abs(A.data - AT.data).max())  # same pattern: compare values
        else:
            asym = abs(A - AT).max()
        del AT
    scale = float(np.abs(A.data).max()) if A.nnz else 0.0
    if asym > 1e-8 * max(scale, 1e-300):
        raise ValueError(
            "A must be symmetric (the symmetric form D^-1/2 K D^-1/2 of the diffusion "
            f"operator); got max |A - A^T| = {asym:.3g} with max |A| = {scale:.3g}"
        )
    return A


def _check_known_vectors(known_vectors: Any, n: int) -> np.ndarray | None:
    if known_vectors is None:
        return None
    U = np.asarray(known_vectors, dtype=np.float64)
    if U.ndim == 1:
        U = U[:, None]
    if U.ndim != 2 or U.shape[0] != n:
        raise ValueError(
            f"known_vectors must have shape (n, c) with n={n} rows; got shape {U.shape}"
        )
    if not np.all(np.isfinite(U)):
        raise ValueError("known_vectors contains NaN or infinite values")
    if U.shape[1] >= n:
        raise ValueError(
            f"known_vectors must have fewer than n={n} columns; got {U.shape[1]}"
        )
    gram = U.T @ U
    if not np.allclose(gram, np.eye(U.shape[1]), atol=1e-8):
        raise ValueError(
            "known_vectors must have orthonormal columns (U^T U = I); got max deviation "
            f"{np.max(np.abs(gram - np.eye(U.shape[1]))):.3g}"
        )
    return np.ascontiguousarray(U) if U.shape[1] else None


def _check_t_hint(t_hint: Any) -> np.ndarray:
    if t_hint is None:
        return np.asarray(DEFAULT_T_HINT)
    ts = np.atleast_1d(np.asarray(t_hint, dtype=np.float64)).ravel()
    if ts.size == 0 or not np.all(np.isfinite(ts)) or np.any(ts <= 0):
        raise ValueError(
            f"t_hint must be None or positive finite diffusion time(s); got {t_hint!r}"
        )
    return ts


@overload
def slq_measure(
    A: Any,
    *,
    n_probes: int = ...,
    n_steps: int = ...,
    n_deflate: int | str = ...,
    known_vectors: Any = ...,
    probe: str = ...,
    random_state: Any = ...,
    n_jobs: int | None = ...,
    t_hint: Any = ...,
    tol: float = ...,
    return_half: Literal[False] = ...,
) -> SpectralMeasure:
    ...


@overload
def slq_measure(
    A: Any,
    *,
    n_probes: int = ...,
    n_steps: int = ...,
    n_deflate: int | str = ...,
    known_vectors: Any = ...,
    probe: str = ...,
    random_state: Any = ...,
    n_jobs: int | None = ...,
    t_hint: Any = ...,
    tol: float = ...,
    return_half: Literal[True],
) -> tuple[SpectralMeasure, SpectralMeasure]:
    ...


@overload
def slq_measure(
    A: Any,
    *,
    n_probes: int = ...,
    n_steps: int = ...,
    n_deflate: int | str = ...,
    known_vectors: Any = ...,
    probe: str = ...,
    random_state: Any = ...,
    n_jobs: int | None = ...,
    t_hint: Any = ...,
    tol: float = ...,
    return_half: bool = ...,
) -> SpectralMeasure | tuple[SpectralMeasure, SpectralMeasure]:
    ...


def slq_measure(
    A: Any,
    *,
    n_probes: int = DEFAULT_N_PROBES,
    n_steps: int = DEFAULT_N_STEPS,
    n_deflate: int | str = "auto",
    known_vectors: Any = None,
    probe: str = "rademacher",
    random_state: Any = None,
    n_jobs: int | None = None,
    t_hint: Any = None,
    tol: float = 1e-10,
    return_half: bool = False,
) -> SpectralMeasure | tuple[SpectralMeasure, SpectralMeasure]:
    r"""Spectral measure of a sparse symmetric operator by deflation + SLQ.

    Parameters
    ----------
    A : scipy.sparse matrix of shape (n, n)
        Symmetric operator with spectrum in ``[-1, 1]``, e.g. the normalised
        diffusion operator :math:`D^{-1/2} K D^{-1/2}` (converted to CSR float64;
        not modified). Symmetry is checked (relative tolerance 1e-8); the
        spectrum bound is not (Ritz values are clipped to ``[-1, 1]``).
    n_probes : int, default 20
        Probe vectors of the stochastic part, >= 2 (a standard error needs two).
    n_steps : int, default 60
        Lanczos steps per probe, >= 2. Must be even for ``return_half``'s
        half measure to use exactly half (otherwise ``n_steps // 2``).
    n_deflate : int >= 0 or "auto", default "auto"
        Eigenpairs of largest ``|lambda|`` computed exactly by ARPACK (besides
        ``known_vectors``). ``"auto"``: chosen from a pilot SLQ run so that a bound
        on the probe standard error of DSE is below a quarter of
        ``max(0.5 % of DSE, 0.02 bits)`` for every ``t`` in ``t_hint``, where
        deflation can achieve it; then, if the measured standard error is above
        that target, more probes (up to :data:`AUTO_MAX_PROBE_FACTOR` times
        ``n_probes`` in all; rule in the module docstring).
    known_vectors : array of shape (n, c), optional
        Orthonormal eigenvectors with eigenvalue exactly 1 (e.g.
        ``sqrt(degrees)`` restricted to each connected component, normalised);
        deflated for free: nodes 1.0, weight 1 each.
    probe : {"rademacher", "gaussian"}, default "rademacher"
        Distribution of the probe entries (before projection).
    random_state : None, int or numpy.random.Generator
        Source of the probes, the pilot run and ARPACK's start vector.
    n_jobs : int, optional
        Threads of the numba kernels and of BLAS (None or -1: all of numba's
        threads; larger values are capped at that). The previous thread counts
        are restored on return, also after an exception.
    t_hint : float or sequence of float, optional
        Diffusion times the caller will ask for; only used by
        ``n_deflate="auto"``. None means (1, 2, 5, 10, 50).
    tol : float, default 1e-10
        ARPACK's relative tolerance and the Lanczos breakdown threshold on
        ``beta`` (a probe stops early when its Krylov space is invariant). A
        looser ARPACK tolerance (1e-6) was measured 20 % faster but returned
        eigenpairs from inside tight clusters instead of the top ones.
    return_half : bool, default False
        Also return the measure from the first ``n_steps // 2`` steps of the
        same Lanczos run (same probes, same deterministic part).

    Returns
    -------
    SpectralMeasure
        Method ``"slq"`` (no deflation beyond the known vectors),
        ``"slq+deflation"`` or ``"exact"`` (dense fallback for small problems).
        ``info`` holds ``n_steps``, ``n_probes``, ``n_deflate``, ``n_known``,
        ``deflated_range`` (min and max ``|lambda|`` deflated), ``timings``.
    SpectralMeasure
        The half-step measure, only with ``return_half=True``.

    Raises
    ------
    ValueError
        For invalid parameters (the message names the parameter, what is
        allowed and what was received).

    Notes
    -----
    ARPACK non-convergence is not fatal: after one retry with a larger Krylov
    space the pairs that converged are deflated and a ``RuntimeWarning`` says
    so.

    Examples
    --------
    >>> import numpy as np, scipy.sparse
    >>> from fastdse.spectral.lanczos import slq_measure
    >>> from fastdse.entropy import dse_from_measure
    >>> n = 1000
    >>> A = scipy.sparse.diags([np.full(n - 1, 0.5), np.full(n - 1, 0.5)], [-1, 1],
    ...                        format="csr")  # path-like, spectrum in (-1, 1)
    >>> mu = slq_measure(A, n_deflate=0, random_state=0)
    >>> mu.method, mu.n_probes
    ('slq', 20)
    >>> value, stderr = dse_from_measure(mu, np.array([1.0]))
    >>> bool(stderr[0] > 0)
    True
    """
    return _slq_of_checked_operator(
        check_operator(A), n_probes=n_probes, n_steps=n_steps, n_deflate=n_deflate,
        known_vectors=known_vectors, probe=probe, random_state=random_state, n_jobs=n_jobs,
        t_hint=t_hint, tol=tol, return_half=return_half)


def _slq_of_checked_operator(
    A: scipy.sparse.csr_matrix,
    *,
    n_probes: int = DEFAULT_N_PROBES,
    n_steps: int = DEFAULT_N_STEPS,
    n_deflate: int | str = "auto",
    known_vectors: Any = None,
    probe: str = "rademacher",
    random_state: Any = None,
    n_jobs: int | None = None,
    t_hint: Any = None,
    tol: float = 1e-10,
    return_half: bool = False,
) -> Any:
    """:func:`slq_measure` of a CSR float64 operator known to be finite and symmetric.

    fastdse's own operators are symmetric by construction (``(K + K^T) / 2``
    scaled by ``D^-1/2`` on both sides); checking it again costs a transpose
    of the matrix (0.1 s at n = 10,000 with 4.5 million entries).
    """
    n = A.shape[0]
    n_probes = check_int(n_probes, "n_probes", low=2)
    n_steps = check_int(n_steps, "n_steps", low=2)
    if isinstance(n_deflate, str):
        if n_deflate != "auto":
            raise ValueError(
                f"n_deflate must be 'auto' or an integer from 0 to n - 1 = {n - 1}; "
                f"got {n_deflate!r}"
            )
    else:
        n_deflate = check_int(
            n_deflate, "n_deflate", low=0, high=n - 1,
            high_note=f" (n - 1, with n={n} the size of A)",
        )
    probe = check_choice(probe, "probe", PROBES)
    rng = check_random_state(random_state)
    n_jobs = resolve_threads(check_n_jobs(n_jobs))
    ts = _check_t_hint(t_hint)
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real) or not (
        0.0 < float(tol) < 1.0
    ):
        raise ValueError(f"tol must be a real number in (0, 1); got {tol!r}")
    if not isinstance(return_half, (bool, np.bool_)):
        raise TypeError(f"return_half must be a bool; got {describe(return_half)}")
    full, half = run_slq(A, n_probes=n_probes, n_steps=n_steps, n_deflate=n_deflate,
                         known_vectors=known_vectors, probe=probe, rng=rng, t_hint=ts,
                         threads=n_jobs, tol=float(tol))
    return (full, half) if return_half else full


def run_slq(
    A: scipy.sparse.csr_matrix,
    *,
    n_probes: int,
    n_steps: int,
    n_deflate: int | str,
    known_vectors: np.ndarray | None,
    rng: np.random.Generator,
    t_hint: np.ndarray | None,
    threads: int,
    probe: str = "rademacher",
    tol: float = 1e-10,
) -> tuple[SpectralMeasure, SpectralMeasure]:
    """Run deflated SLQ with validated arguments; return the measure and its half-step twin.

    The inner entry of :func:`slq_measure` for callers that validated their
    settings already (:class:`fastdse.DiffusionGraph`): ``A`` a finite symmetric
    CSR float64 operator, ``t_hint`` the diffusion times as an array (None: the
    default hint), ``threads`` a thread count. ``known_vectors`` (data, not a
    setting) is checked here.
    """
    n = A.shape[0]
    U = _check_known_vectors(known_vectors, n)
    ts = np.asarray(DEFAULT_T_HINT) if t_hint is None else t_hint
    with compute_threads(threads, 1 if n < BLAS_PARALLEL_MIN_N else threads):
        full, half = _slq_measure(A, n_probes, n_steps, n_deflate, U, PROBES[probe], rng, ts,
                                  tol)
    full.info["n_jobs"] = threads
    full.info["probe_distribution"] = probe
    return full, half


def _exact_fallback(A: scipy.sparse.csr_matrix, reason: str, n_steps: int) -> SpectralMeasure:
    _memory.check_dense_fits(A.shape[0], 0, what=f"slq_measure's dense fallback ({reason})")
    start = time.perf_counter()
    measure = exact_measure(A.toarray(), overwrite=True)
    measure.info.update({
        "fallback": reason,
        "n_steps": n_steps,
        "n_probes": 0,
        "n_deflate": measure.n,
        "timings": {"dense": time.perf_counter() - start},
    })
    return measure


def _extra_probes(measure: SpectralMeasure, ts: np.ndarray, n_probes: int) -> int:
    """Probes to add so the measured standard error meets the automatic target at every t.

    The target is the pilot's: :data:`AUTO_SE_FRACTION` times ``max(0.5 % of
    DSE, 0.02 bits)``. ``p (se / target)^2`` probes in all are expected to
    reach it; at most :data:`AUTO_MAX_PROBE_FACTOR` ``* n_probes``.
    """
    value, se = dse_from_measure(measure, ts, 2.0)
    target = AUTO_SE_FRACTION * np.maximum(0.005 * value, 0.02)
    ratio = float(np.max(se / target))
    if not np.isfinite(ratio) or ratio <= 1.0:
        return 0
    want = math.ceil(n_probes * ratio * ratio)
    return int(min(want, AUTO_MAX_PROBE_FACTOR * n_probes) - n_probes)


def _slq_measure(
    A: scipy.sparse.csr_matrix,
    n_probes: int,
    n_steps: int,
    n_deflate: int | str,
    U: np.ndarray | None,
    probe_fn: Any,
    rng: np.random.Generator,
    ts: np.ndarray,
    tol: float,
) -> tuple[SpectralMeasure, SpectralMeasure]:
    """Return the measures from ``n_steps`` and ``n_steps // 2`` steps (validated inputs)."""
    n = A.shape[0]
    n_known = 0 if U is None else U.shape[1]
    if n <= DENSE_MAX_N:
        m = _exact_fallback(A, f"n={n} <= DENSE_MAX_N={DENSE_MAX_N}", n_steps)
        return m, m
    fixed_k = None if n_deflate == "auto" else int(n_deflate)
    if fixed_k is not None and n - n_known - fixed_k <= n_steps:
        m = _exact_fallback(
            A,
            f"n - n_known - n_deflate = {n - n_known - fixed_k} <= n_steps={n_steps}: "
            "Lanczos would span the whole complement",
            n_steps,
        )
        return m, m

    timings: dict[str, float] = {}
    op = _CSROperator(A)
    info: dict[str, Any] = {"n_steps": n_steps, "n_probes": n_probes, "n_known": n_known}

    start = time.perf_counter()
    if fixed_k is None:
        k, auto_info = _auto_n_deflate(op, U, n_known, ts, n_probes, n_steps, probe_fn, rng, tol)
        info["auto"] = {**auto_info, "t_max": float(ts.max())}
        timings["pilot"] = time.perf_counter() - start
    else:
        k = fixed_k

    start = time.perf_counter()
    lam, vecs, arpack_info = _deflate(op, U, k, rng, tol)
    timings["deflation"] = time.perf_counter() - start
    k_got = lam.size
    info["n_deflate"] = k_got
    info["arpack"] = arpack_info
    info["deflated_range"] = (
        (float(np.abs(lam).min()), float(np.abs(lam).max())) if k_got else None
    )
    if U is not None and k_got:
        V = np.hstack([U, vecs])
    elif U is not None:
        V = U
    elif k_got:
        V = vecs
    else:
        V = None

    start = time.perf_counter()
    probes = probe_fn(rng, n, n_probes)
    _project_out(V, probes)
    alpha, beta, steps, norm2 = _lanczos_block(op, probes, n_steps, V, tol)
    fixed_nodes = np.concatenate([np.ones(n_known), lam])
    method = "slq+deflation" if k_got else "slq"

    def measure(m_steps: int) -> SpectralMeasure:
        nodes, weights, probe = _quadrature(alpha, beta, steps, norm2, m_steps)
        return SpectralMeasure(
            nodes=np.concatenate([fixed_nodes, nodes]),
            weights=np.concatenate([np.ones(fixed_nodes.size), weights]),
            probe=np.concatenate([np.full(fixed_nodes.size, -1, dtype=np.int64), probe]),
            n=n,
            n_probes=alpha.shape[1],
            method=method,
            info={**info, "n_steps": m_steps},
        )

    if fixed_k is None:
        extra = _extra_probes(measure(n_steps), ts, n_probes)
        info["probes_added"] = extra
        if extra:
            more = probe_fn(rng, n, extra)
            _project_out(V, more)
            a2, b2, s2, nn2 = _lanczos_block(op, more, n_steps, V, tol,
                                             desc="Lanczos, more probes")
            alpha, beta = np.hstack([alpha, a2]), np.hstack([beta, b2])
            steps, norm2 = np.concatenate([steps, s2]), np.concatenate([norm2, nn2])
            info["n_probes"] = alpha.shape[1]
    timings["lanczos"] = time.perf_counter() - start
    info["breakdowns"] = int(np.count_nonzero(steps < n_steps))

    start = time.perf_counter()
    measures = [measure(n_steps), measure(max(1, n_steps // 2))]
    timings["quadrature"] = time.perf_counter() - start
    info["n_matvec"] = op.n_matvec
    measures[0].info.update(info, timings=timings, n_matvec=op.n_matvec)
    measures[1].info.update(timings=timings, n_matvec=op.n_matvec)
    return measures[0], measures[1]


def quadrature_bias(
    full: SpectralMeasure, half: SpectralMeasure, ts: Any, base: float = 2.0
) -> np.ndarray:
    """``|DSE(m) - DSE(m/2)|`` for every ``t``: the quadrature-bias indicator.

    Both measures come from the same probes (``slq_measure(..., return_half=True)``),
    so the probe noise cancels and the difference shows how far the Gauss
    quadrature is from converged in the number of Lanczos steps.
    """
    ts = np.atleast_1d(np.asarray(ts, dtype=np.float64))
    a = dse_from_measure(full, ts, base)[0]
    b = dse_from_measure(half, ts, base)[0]
    return np.abs(a - b)
