"""Sparse spectral measure: ARPACK deflation plus stochastic Lanczos quadrature (SLQ).

:func:`slq_measure` turns a sparse symmetric operator (spectrum in ``[-1, 1]``) into a
:class:`~fastdse.spectral.measure.SpectralMeasure` in two parts: an exact one, weight 1
each (the known eigenvectors of eigenvalue 1 and the eigenpairs of largest ``|lambda|``
computed by ARPACK, :mod:`.deflation`), and SLQ on the operator deflated by them
(:mod:`.quadrature`), whose nodes carry the probe they came from so the spread between
probes gives a standard error. Small problems are computed exactly by dense ``eigvalsh``.
The method, the automatic choice of ``n_deflate`` and of the probes, and the error bars
are described in docs/estimators.md ("How the spectral measure is estimated").
"""

from __future__ import annotations

import functools
import time
from typing import Any, Literal, overload

import numpy as np
import scipy.sparse

from fastdse._util import memory as _memory
from fastdse._util.stages import peak_rss
from fastdse._util.threads import compute_threads, resolve_threads
from fastdse._util.validation import (
    check_choice,
    check_int,
    check_n_jobs,
    check_random_state,
    describe,
)
from fastdse.spectral.checks import (
    check_known_vectors,
    check_n_deflate,
    check_n_probes,
    check_operator,
    check_t_hint,
    check_tol,
)
from fastdse.spectral.deflation import (
    DEFAULT_T_HINT,
    auto_n_deflate,
    auto_n_probes,
    deflate,
    deflated_basis,
    extra_probes,
    max_deflate,
)
from fastdse.spectral.dense import exact_measure
from fastdse.spectral.measure import SpectralMeasure
from fastdse.spectral.quadrature import (
    PROBES,
    CSROperator,
    ProbeFn,
    Recurrence,
    gauss_quadrature,
    lanczos_probes,
    quadrature_bias,
)

__all__ = [
    "slq_measure",
    "run_slq",
    "check_operator",
    "quadrature_bias",
    "max_deflate",
    "DEFAULT_N_PROBES",
    "DEFAULT_N_STEPS",
    "DENSE_MAX_N",
    "AUTO_DENSE_MAX_N",
    "PROBES",
]

#: Default number of probe vectors (chosen in docs/benchmarks/slq_accuracy.md).
DEFAULT_N_PROBES = 20
#: Default number of Lanczos steps per probe (chosen in docs/benchmarks/slq_accuracy.md).
DEFAULT_N_STEPS = 60
#: Up to this size the measure is computed exactly by dense eigvalsh, whatever the settings.
DENSE_MAX_N = 200
#: Up to this size the automatic plan (``n_probes="auto"`` and ``n_deflate="auto"``, the
#: defaults) computes the measure exactly by dense eigvalsh too: there the calls with the
#: dense solve were 2.3-8.4x faster than with the pilot, ARPACK's deflation and the probes,
#: on every shape measured (docs/benchmarks/dense_fallback.md; 1.3-2.6x at 2,000 points,
#: slower on some shapes from 2,500). Explicit ``n_probes`` or ``n_deflate`` ask for the
#: stochastic estimate, which then runs from ``DENSE_MAX_N``.
AUTO_DENSE_MAX_N = 1500
#: BLAS threads of the spectral stage (ARPACK's dense work, the QR of its vectors), at
#: every n: idle BLAS threads spin between ARPACK's calls while numba's kernels run
#: (docs/performance.md). Two threads made the deflation 3.0-5.6x slower at 50,000 points
#: and 1.6x at 200,000 (docs/benchmarks/spectral_stage.md); numba keeps ``threads``.
SLQ_BLAS_THREADS = 1


@overload
def slq_measure(
    A: Any,
    *,
    n_probes: int | str = ...,
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
    n_probes: int | str = ...,
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
    n_probes: int | str = ...,
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
    n_probes: int | str = "auto",
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
    n_probes : int >= 2 or "auto", default "auto"
        Probe vectors of the stochastic part (a standard error needs two).
        ``"auto"``: with ``n_deflate="auto"``, four times as many as the pilot's
        bound asks for (:func:`~fastdse.spectral.deflation.auto_n_probes`), from 8
        to :data:`DEFAULT_N_PROBES` (20); else 20.
    n_steps : int, default 60
        Lanczos steps per probe, >= 2. Must be even for ``return_half``'s
        half measure to use exactly half (otherwise ``n_steps // 2``).
    n_deflate : int >= 0 or "auto", default "auto"
        Eigenpairs of largest ``|lambda|`` computed exactly by ARPACK (besides
        ``known_vectors``). ``"auto"``: chosen from a pilot SLQ run so that a bound
        on the probe standard error of DSE is below a quarter of
        ``max(0.5 % of DSE, 0.02 bits)`` for every ``t`` in ``t_hint``, where
        deflation can achieve it; then, if the measured standard error is above
        that target, more probes (up to
        :data:`~fastdse.spectral.deflation.AUTO_MAX_PROBE_FACTOR` times ``n_probes``
        in all, 20 for ``n_probes="auto"``; the rule: docs/estimators.md).
    known_vectors : array of shape (n, c), optional
        Orthonormal eigenvectors with eigenvalue exactly 1 (e.g.
        ``sqrt(degrees)`` restricted to each connected component, normalised);
        deflated for free: nodes 1.0, weight 1 each.
    probe : {"rademacher", "gaussian"}, default "rademacher"
        Distribution of the probe entries (before projection).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
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
        looser ARPACK tolerance is somewhat faster but can return eigenpairs
        from inside tight clusters instead of the top ones.
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
    A = check_operator(A)
    n = A.shape[0]
    n_probes = check_n_probes(n_probes)
    n_steps = check_int(n_steps, "n_steps", low=2)
    n_deflate = check_n_deflate(n_deflate, n)
    probe = check_choice(probe, "probe", PROBES)
    rng = check_random_state(random_state)
    n_jobs = resolve_threads(check_n_jobs(n_jobs))
    ts = check_t_hint(t_hint)
    tol = check_tol(tol)
    if not isinstance(return_half, (bool, np.bool_)):
        raise TypeError(f"return_half must be a bool; got {describe(return_half)}")
    full, half = run_slq(A, n_probes=n_probes, n_steps=n_steps, n_deflate=n_deflate,
                         known_vectors=known_vectors, probe=probe, rng=rng, t_hint=ts,
                         threads=n_jobs, tol=tol)
    return (full, half) if return_half else full


def run_slq(
    A: scipy.sparse.csr_matrix,
    *,
    n_probes: int | str,
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
    U = check_known_vectors(known_vectors, n)
    if U is not None and U.shape[1] == n:
        # n orthonormal eigenvectors of eigenvalue 1 (every point its own component): A = I
        full = _known_spectrum(n, n_steps)
        return full, full
    ts = np.asarray(DEFAULT_T_HINT) if t_hint is None else t_hint
    with compute_threads(threads, SLQ_BLAS_THREADS):
        full, half = _slq_measure(A, n_probes, n_steps, n_deflate, U, PROBES[probe], rng, ts,
                                  tol)
    full.info["n_jobs"] = threads
    full.info["probe_distribution"] = probe
    return full, half


# --------------------------------------------------------------------------- estimate


def _fallback_reason(n: int, n_known: int, n_probes: int | str, n_deflate: int | str,
                     n_steps: int) -> str | None:
    """Why the measure is computed exactly by dense eigvalsh, or None when SLQ runs."""
    if n <= DENSE_MAX_N:
        return f"n={n} <= DENSE_MAX_N={DENSE_MAX_N}"
    if n_probes == "auto" and n_deflate == "auto" and n <= AUTO_DENSE_MAX_N:
        return (f"n={n} <= AUTO_DENSE_MAX_N={AUTO_DENSE_MAX_N}: under the automatic plan "
                "the dense solve is faster than the stochastic estimate")
    if n_deflate != "auto" and n - n_known - int(n_deflate) <= n_steps:
        return (f"n - n_known - n_deflate = {n - n_known - int(n_deflate)} <= n_steps={n_steps}: "
                "Lanczos would span the whole complement")
    return None


def _known_spectrum(n: int, n_steps: int) -> SpectralMeasure:
    """Return the exact measure when the known vectors span everything: n eigenvalues 1."""
    return SpectralMeasure(
        nodes=np.ones(n), weights=np.ones(n), probe=np.full(n, -1, dtype=np.int64), n=n,
        n_probes=0, method="exact",
        info={"fallback": "the known eigenvalue-1 vectors span the space (A = I)",
              "n_steps": n_steps, "n_probes": 0, "n_deflate": n, "timings": {}},
    )


def _exact_fallback(A: scipy.sparse.csr_matrix, reason: str, n_steps: int) -> SpectralMeasure:
    _memory.check_dense_fits(A.shape[0], 0, what=f"slq_measure's dense fallback ({reason})")
    start = time.perf_counter()
    measure = exact_measure(A.toarray(), overwrite=True)
    measure.info.update({
        "fallback": reason,
        "n_steps": n_steps,
        "n_probes": 0,
        "n_deflate": measure.n,
        "timings": {"eigensolver": time.perf_counter() - start},
        "peak_rss": {"eigensolver": peak_rss()},
    })
    return measure


def _assemble(fixed: np.ndarray, run: Recurrence, m_steps: int, *, n: int, method: str,
              info: dict) -> SpectralMeasure:
    """Build the measure: exact nodes ``fixed`` (weight 1) and the ``m_steps`` quadrature."""
    nodes, weights, probe = gauss_quadrature(*run, m_steps)
    return SpectralMeasure(
        nodes=np.concatenate([fixed, nodes]),
        weights=np.concatenate([np.ones(fixed.size), weights]),
        probe=np.concatenate([np.full(fixed.size, -1, dtype=np.int64), probe]),
        n=n,
        n_probes=run.alpha.shape[1],
        method=method,
        info={**info, "n_steps": m_steps},
    )


def _slq_measure(
    A: scipy.sparse.csr_matrix,
    n_probes: int | str,
    n_steps: int,
    n_deflate: int | str,
    U: np.ndarray | None,
    probe_fn: ProbeFn,
    rng: np.random.Generator,
    ts: np.ndarray,
    tol: float,
) -> tuple[SpectralMeasure, SpectralMeasure]:
    """Return the measures from ``n_steps`` and ``n_steps // 2`` steps (validated inputs).

    The random stream is consumed in this order: the pilot's probes (``"auto"``),
    ARPACK's start vector, the probes, the added probes (``"auto"``).
    """
    n = A.shape[0]
    n_known = 0 if U is None else U.shape[1]
    reason = _fallback_reason(n, n_known, n_probes, n_deflate, n_steps)
    if reason is not None:
        m = _exact_fallback(A, reason, n_steps)
        return m, m
    auto = n_deflate == "auto"
    scale = DEFAULT_N_PROBES if n_probes == "auto" else int(n_probes)
    timings: dict[str, float] = {}
    peaks: dict[str, int] = {}
    op = CSROperator(A)
    start = time.perf_counter()
    if auto:
        k, auto_info = auto_n_deflate(op, U, n_known, ts, scale, n_steps, probe_fn, rng, tol)
        timings["pilot"] = time.perf_counter() - start
        peaks["pilot"] = peak_rss()
    else:
        k, auto_info = int(n_deflate), {}
    p = auto_n_probes(auto_info, scale) if n_probes == "auto" else scale
    info: dict[str, Any] = {"n_steps": n_steps, "n_probes": p, "n_known": n_known}
    if auto:
        info["auto"] = {**auto_info, "t_max": float(ts.max())}

    start = time.perf_counter()
    lam, vecs, arpack_info = deflate(op, U, k, rng, tol)
    timings["deflation"] = time.perf_counter() - start
    peaks["deflation"] = peak_rss()
    info["n_deflate"] = lam.size
    info["arpack"] = arpack_info
    info["deflated_range"] = (
        (float(np.abs(lam).min()), float(np.abs(lam).max())) if lam.size else None
    )
    V = deflated_basis(U, vecs)
    measure = functools.partial(_assemble, np.concatenate([np.ones(n_known), lam]), n=n,
                                method="slq+deflation" if lam.size else "slq", info=info)

    start = time.perf_counter()
    run = lanczos_probes(op, V, p, n_steps, probe_fn, rng, tol)
    if auto:
        extra = extra_probes(measure(run, n_steps), ts, p, scale)
        info["probes_added"] = extra
        if extra:
            run = run.join(lanczos_probes(op, V, extra, n_steps, probe_fn, rng, tol,
                                          desc="Lanczos, more probes"))
            info["n_probes"] = run.alpha.shape[1]
    timings["lanczos"] = time.perf_counter() - start
    peaks["lanczos"] = peak_rss()
    info["breakdowns"] = int(np.count_nonzero(run.steps < n_steps))

    start = time.perf_counter()
    full, half = measure(run, n_steps), measure(run, max(1, n_steps // 2))
    timings["quadrature"] = time.perf_counter() - start
    peaks["quadrature"] = peak_rss()
    info["n_matvec"] = op.n_matvec
    info["peak_rss"] = peaks
    full.info.update(info, timings=timings, n_matvec=op.n_matvec)
    half.info.update(timings=timings, n_matvec=op.n_matvec)
    return full, half

