"""Deflation eigensolver: ARPACK's top-k cost against LOBPCG, cold and warm-started from the graph.

fastdse deflates the ``k`` eigenpairs of largest ``|lambda|`` of the sparse operator
``A = D^-1/2 K D^-1/2`` before its stochastic Lanczos quadrature, by ARPACK
(``fastdse.spectral.deflation.deflate``: ``eigsh(which="LM", tol=1e-10)``,
``ncv = max(2k + 1, 20)``, a random ``v0``, the eigenvalue-1 ``known_vectors`` (one per
connected component) projected out of every product). This script measures that call
against block eigensolvers on the same operators, to answer "is a block method
cheaper for the top-k?". Solvers (one row each per case and ``k``):

``arpack``
    ``deflate(CSROperator(A), U, k, rng, tol=1e-10)`` exactly as fastdse runs it.
``lobpcg``
    ``scipy.sparse.linalg.lobpcg`` with block size ``k``, a seeded Gaussian start,
    ``largest=True``, ``Y`` = the known vectors (so the eigenvalue-1 vectors are
    excluded), no preconditioner, ``--maxiter`` 200 and each ``--lobpcg-tol`` (absolute
    residual norm, ``||A|| <= 1``): 1e-8 gives eigenvalue errors like ARPACK's at 1e-10
    (~1e-15 on the small cases), 1e-5 is the loose setting most favourable to LOBPCG
    (errors ~1e-9, still far below what the entropy needs).
``lobpcg+x``
    The same with ``x = max(--extra, ceil(0.2 k))`` extra block columns, keeping the top
    ``k``: the guard columns speed up the convergence of the wanted ones, but scipy stops
    only when all ``k + x`` columns meet the tolerance.
``lobpcg-warm{q}`` / ``lobpcg+x-warm{q}``
    Warm-started "from the graph": the start block is ``A^q R`` for a seeded Gaussian
    ``R`` (``q`` = ``--power-steps`` block power steps, the known vectors projected out
    and the block orthonormalised by QR after each); the power steps' time and products
    are counted in the row.

Columns of note:

- ``seconds``: median wall time of ``--repeats`` runs, each from the same seed (identical
  runs apart from timing); no further run after one over ``--max-repeat-seconds``, and
  ``repeats`` says how many ran.
- ``matvecs``: products of ``A`` with single vectors (a block of ``p`` columns counts
  ``p``); every solver uses scipy's serial CSR product, as ``deflate`` does.
- ``iterations``: LOBPCG's operator calls minus the initial and the final Rayleigh-Ritz
  ones, i.e. its iterations (a forced restart counts one more; ``maxiter`` 200 shows as
  201, scipy runs iterations 0 to ``maxiter``). Empty for ARPACK: ``eigsh`` does not
  expose its restart count.
- ``tol``: relative for ARPACK (Ritz estimate <= tol |lambda|), absolute for LOBPCG.
- ``converged``: ARPACK's count of converged pairs; for LOBPCG, how many of the ``k``
  kept pairs have a residual within the tolerance.
- ``eig_err``: ``max |lambda - lambda_ref|`` over the ``k`` pairs (both sets sorted).
- ``max_resid``: the largest ``||P A P v - lambda v||`` of the ``k`` unit eigenvectors,
  ``P = I - U U^T``.
- ``lam_k``: the reference's ``k``-th largest ``|lambda|``; ``gap_k``:
  ``(|lambda_k| - |lambda_k+1|) / |lambda_k|``, the relative gap that governs ARPACK's
  convergence (for LOBPCG+x the gap after ``k + x`` matters).
- With more than one ``--lobpcg-tol`` the LOBPCG solver names end in ``tol=...``.

Reference eigenvalues: for ``n <= --dense-max`` (10,000) all eigenvalues of
``P A P`` from dense LAPACK (``scipy.linalg.eigvalsh``, ``driver="evd"``, in place: the
same routine as ``numpy.linalg.eigvalsh`` without its copy); above, ARPACK at tol 1e-12
(``deflate`` with another seed and ``max(k) + 1`` pairs). ARPACK's target is the top ``k``
by ``|lambda|``, LOBPCG's (``largest=True``) the algebraic top ``k``; the two coincide when
the top ``k`` by magnitude are all positive (column ``neg_in_topk`` = 0). When a negative
eigenvalue is among them the row says so: LOBPCG's error is then measured against the
algebraic top ``k``, and matching ARPACK's set would need a second (``largest=False``) run.

Operators: ``fastdse.operator.build.build_sparse_operator(X, random_state=0)`` with its
defaults (alpha-decay kernel, knn = 5), exact neighbours for ``n <= 20,000`` and the
default (``neighbors="auto"``) above. Data ``blobs``: ``fastdse.cli.bench.make_data(n, d, "blobs",
0)`` (the scaling benchmark's); ``uniform``: ``np.random.default_rng(0).uniform(size=(n,
d))``. Threads: numba on ``--threads``, BLAS on ``--blas-threads`` (default
``fastdse.spectral.lanczos.SLQ_BLAS_THREADS``, one, as ``run_slq`` runs the deflation; the
first run of this script, 2026-12-01, ran BLAS on ``--threads`` from 20,000 rows, fastdse's
rule then: column ``blas_threads``). ``--solvers arpack`` runs ARPACK alone. Single process;
a small warm-up problem runs every solver once first (numba compilation, imports).

    python benchmarks/bench_deflation_solver.py                      # the full run
    python benchmarks/bench_deflation_solver.py --cases blobs:2000:64 uniform:2000:256 \\
        --k 10 50 --repeats 1 --out-csv /tmp/dsolver_test.csv        # a quick check

Writes ``--out-csv`` (default docs/benchmarks/deflation_solver.csv) and prints a markdown
table whose header names the CPU and the numpy/scipy versions.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _output
import numpy as np
import scipy
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from _machine import cpu_name

from fastdse._util.threads import compute_threads, resolve_threads
from fastdse.cli.bench import make_data
from fastdse.operator.build import build_sparse_operator
from fastdse.spectral.deflation import deflate, max_deflate
from fastdse.spectral.lanczos import SLQ_BLAS_THREADS
from fastdse.spectral.quadrature import CSROperator, project_out

DEFAULT_CASES = ["blobs:2000:64", "blobs:10000:64", "blobs:50000:64", "uniform:2000:256",
                 "uniform:10000:256"]
DEFAULT_K = [10, 40, 160]
#: ARPACK's tolerance as fastdse runs it (``slq_measure``'s default ``tol``).
ARPACK_TOL = 1e-10
#: ARPACK's tolerance for the reference eigenvalues above ``--dense-max``.
REFERENCE_TOL = 1e-12
#: Exact neighbours up to this many points (the operator depends little on the method).
EXACT_NEIGHBORS_MAX_N = 20_000
SEED = 0
CSV_FIELDS = [
    "case", "data", "n", "d", "n_known", "neighbors", "k", "solver", "block", "power_steps",
    "tol", "seconds", "repeats", "matvecs", "iterations", "converged", "eig_err",
    "max_resid", "reference", "neg_in_topk", "lam_k", "gap_k", "note", "threads",
    "blas_threads", "cpu",
    "numpy", "scipy",
]


# --------------------------------------------------------------------------- environment


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One operator: data kind, number of points, dimension."""

    data: str
    n: int
    d: int

    @property
    def label(self) -> str:
        """``data:n:d``, as given on the command line."""
        return f"{self.data}:{self.n}:{self.d}"


def parse_case(text: str) -> Case:
    """Parse ``data:n:d`` (data ``blobs`` or ``uniform``)."""
    parts = text.split(":")
    if len(parts) != 3 or parts[0] not in ("blobs", "uniform"):
        raise argparse.ArgumentTypeError(f"case must be blobs|uniform:n:d, got {text!r}")
    return Case(parts[0], int(parts[1]), int(parts[2]))


def make_points(case: Case) -> np.ndarray:
    """The case's point cloud (see the module docstring)."""
    if case.data == "blobs":
        return make_data(case.n, case.d, "blobs", SEED)
    return np.random.default_rng(SEED).uniform(size=(case.n, case.d))


@dataclass
class Operator:
    """The sparse operator of a case and its known (eigenvalue-1) vectors."""

    A: scipy.sparse.csr_matrix
    U: np.ndarray
    neighbors: str


def build_operator(case: Case) -> Operator:
    """Build ``A`` with fastdse's sparse path (exact neighbours for small ``n``)."""
    X = make_points(case)
    kwargs: dict[str, Any] = {"random_state": SEED}
    if case.n <= EXACT_NEIGHBORS_MAX_N:
        kwargs["neighbors"] = "exact"
    A, _, U, info = build_sparse_operator(X, **kwargs)
    U = np.ascontiguousarray(U, dtype=np.float64)
    return Operator(A.tocsr(), U, str(info.get("neighbors", kwargs.get("neighbors", "auto"))))


# --------------------------------------------------------------------------- solvers


@dataclass
class Solution:
    """What one solver run returned: ``k`` pairs and its cost counters."""

    vals: np.ndarray
    vecs: np.ndarray
    matvecs: int
    iterations: int | None
    converged: int
    notes: list[str] = field(default_factory=list)


class CountingOperator:
    """``X -> A @ X`` (scipy's serial CSR product) counting products and calls."""

    def __init__(self, A: scipy.sparse.csr_matrix) -> None:
        self.A = A
        self.n = A.shape[0]
        self.matvecs = 0
        self.calls = 0

    def matmat(self, X: np.ndarray) -> np.ndarray:
        """Return ``A @ X`` for ``X`` of shape (n,) or (n, p)."""
        X = np.asarray(X, dtype=np.float64)
        self.matvecs += 1 if X.ndim == 1 else X.shape[1]
        self.calls += 1
        return np.asarray(self.A @ X)

    def linear_operator(self) -> Any:
        """The same product as a scipy ``LinearOperator``."""
        return scipy.sparse.linalg.LinearOperator(
            (self.n, self.n), matvec=self.matmat, matmat=self.matmat, dtype=np.float64)


def run_arpack(op: Operator, k: int, tol: float, seed: int) -> Solution:
    """fastdse's deflation call: ``deflate(CSROperator(A), U, k, rng, tol)``."""
    csr = CSROperator(op.A)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vals, vecs, info = deflate(csr, op.U, k, np.random.default_rng(seed), tol)
    notes = [f"ARPACK attempts {info.get('attempts', 0)}"]
    if any(issubclass(w.category, RuntimeWarning) for w in caught):
        notes.append("ARPACK did not converge for all pairs")
    return Solution(vals, vecs, csr.n_matvec, None, int(info["converged"]), notes)


def power_start(op: Operator, counter: CountingOperator, block: int, q: int,
                rng: np.random.Generator) -> np.ndarray:
    """Start block ``A^q R`` (orthonormalised, known vectors out after every step)."""
    X = rng.standard_normal((op.A.shape[0], block))
    project_out(op.U, X)
    X, _ = np.linalg.qr(X)
    for _ in range(q):
        X = np.ascontiguousarray(counter.matmat(X))
        project_out(op.U, X)
        X, _ = np.linalg.qr(X)
    return np.asarray(X)


def run_lobpcg(op: Operator, k: int, block: int, q: int, tol: float, maxiter: int,
               seed: int) -> Solution:
    """LOBPCG for the algebraic top ``block`` (Y = known vectors), keeping the top ``k``."""
    n = op.A.shape[0]
    counter = CountingOperator(op.A)
    rng = np.random.default_rng(seed)
    if q > 0:
        X0 = power_start(op, counter, block, q, rng)
    else:
        X0 = rng.standard_normal((n, block))
    calls_before = counter.calls
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vals, vecs = scipy.sparse.linalg.lobpcg(
            counter.linear_operator(), X0, Y=op.U, tol=tol, maxiter=maxiter, largest=True)
    order = np.argsort(-vals, kind="stable")[:k]
    vals, vecs = np.asarray(vals[order]), np.asarray(vecs[:, order])
    resid = residuals(op, vals, vecs)
    notes = []
    if any("not reaching the requested tolerance" in str(w.message) for w in caught):
        notes.append("lobpcg warned: not all block columns reached tol")
    iterations = max(0, counter.calls - calls_before - 2)
    return Solution(vals, vecs, counter.matvecs, iterations, int(np.sum(resid <= tol)), notes)


def residuals(op: Operator, vals: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    """``||P A P v - lambda v||`` of each unit column ``v`` of ``vecs`` (``P = I - UU^T``)."""
    if vals.size == 0:
        return np.zeros(0)
    V = np.ascontiguousarray(vecs, dtype=np.float64)
    V = V / np.linalg.norm(V, axis=0)
    W = V.copy()
    project_out(op.U, W)
    AW = np.ascontiguousarray(op.A @ W)
    project_out(op.U, AW)
    return np.asarray(np.linalg.norm(AW - V * vals[None, :], axis=0))


# --------------------------------------------------------------------------- reference


@dataclass
class Reference:
    """Reference eigenvalues of ``P A P``: all of them (dense) or the top by ``|lambda|``."""

    method: str
    lm: np.ndarray  # by descending |lambda|
    algebraic: np.ndarray  # descending, as far as the reference determines them

    def top_magnitude(self, k: int) -> np.ndarray:
        """The top ``k`` by ``|lambda|``."""
        return self.lm[:k]

    def top_algebraic(self, k: int) -> np.ndarray | None:
        """The algebraic top ``k``, or None when the reference does not determine them."""
        return self.algebraic[:k] if self.algebraic.size >= k else None


def projected_dense(op: Operator, chunk: int = 1024) -> np.ndarray:
    """``P A P`` as a dense array, built in row blocks (no full-size temporaries)."""
    B = op.A.toarray()
    U = op.U
    W = np.asarray(op.A @ U)
    M = U.T @ W
    for start in range(0, B.shape[0], chunk):
        rows = slice(start, start + chunk)
        B[rows] -= U[rows] @ W.T + W[rows] @ U.T - (U[rows] @ M) @ U.T
    return B


def dense_reference(op: Operator) -> Reference:
    """All eigenvalues of ``P A P`` by dense LAPACK (the ``c`` projected directions give 0)."""
    B = projected_dense(op)
    w = scipy.linalg.eigvalsh(B.T, overwrite_a=True, check_finite=False, driver="evd")
    del B
    lm = w[np.argsort(-np.abs(w), kind="stable")]
    return Reference("dense eigvalsh", lm, np.sort(w)[::-1])


def arpack_reference(op: Operator, kmax: int) -> Reference:
    """The top ``kmax + 1`` by ``|lambda|`` from ARPACK at tol 1e-12 (another seed)."""
    vals, _, info = deflate(CSROperator(op.A), op.U, kmax + 1,
                            np.random.default_rng(SEED + 1), REFERENCE_TOL)
    if int(info["converged"]) < kmax + 1:
        raise RuntimeError(f"reference ARPACK converged for {info['converged']} of {kmax + 1}")
    lm = vals[np.argsort(-np.abs(vals), kind="stable")]
    # the positive ones are the algebraic top as far as they go: every eigenvalue outside
    # the set has |lambda| <= the smallest |lambda| in it (the last one, not counted)
    pos = np.sort(lm[:-1][lm[:-1] > abs(lm[-1])])[::-1]
    return Reference(f"ARPACK tol {REFERENCE_TOL:g}", lm, pos)


def eig_error(vals: np.ndarray, ref: np.ndarray | None) -> float:
    """``max |lambda - lambda_ref|`` with both sorted (NaN without a reference or pairs)."""
    if ref is None or vals.size != ref.size or vals.size == 0:
        return math.nan
    return float(np.max(np.abs(np.sort(vals) - np.sort(ref))))


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Solver:
    """One solver configuration."""

    name: str
    kind: str  # "arpack" or "lobpcg"
    block: int
    q: int
    tol: float


def solvers_for(k: int, args: argparse.Namespace) -> list[Solver]:
    """ARPACK, then LOBPCG with block ``k`` and ``k + x``, cold and warm, per tolerance."""
    extra = max(args.extra, math.ceil(0.2 * k))
    out = [Solver("arpack", "arpack", k, 0, ARPACK_TOL)]
    if args.solvers == "arpack":
        return out
    for tol in args.lobpcg_tol:
        suffix = "" if len(args.lobpcg_tol) == 1 else f" tol={tol:g}"
        for block, base in ((k, "lobpcg"), (k + extra, f"lobpcg+{extra}")):
            out.append(Solver(base + suffix, "lobpcg", block, 0, tol))
            for q in args.power_steps:
                out.append(Solver(f"{base}-warm{q}{suffix}", "lobpcg", block, q, tol))
    return out


def timed(fn: Callable[[], Solution], repeats: int, max_seconds: float
          ) -> tuple[float, int, Solution]:
    """Median wall time of up to ``repeats`` calls, the calls made, the last result.

    No further call after one that took over ``max_seconds``.
    """
    times: list[float] = []
    result = None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        if times[-1] > max_seconds:
            break
    assert result is not None
    return statistics.median(times), len(times), result


def run_solver(op: Operator, k: int, solver: Solver, args: argparse.Namespace
               ) -> tuple[float, int, Solution]:
    """Time one solver configuration (``--repeats`` runs, same seed each)."""
    if solver.kind == "arpack":
        def fn() -> Solution:
            return run_arpack(op, k, solver.tol, SEED)
    else:
        def fn() -> Solution:
            return run_lobpcg(op, k, solver.block, solver.q, solver.tol, args.maxiter, SEED)
    return timed(fn, args.repeats, args.max_repeat_seconds)


def sign_note(ref: Reference, k: int) -> tuple[int | None, str]:
    """Negative eigenvalues among the top ``k`` by ``|lambda|``, and the row's remark."""
    top = ref.top_magnitude(k)
    if top.size < k:
        return None, "reference too short"
    neg = int(np.sum(top < 0))
    if neg == 0:
        return 0, ""
    return neg, (f"{neg} negative eigenvalue(s) among the top {k} by |lambda|: LOBPCG "
                 "(largest=True) targets the algebraic top k; matching ARPACK's set needs a "
                 "second largest=False run")


def case_rows(case: Case, ks: list[int], args: argparse.Namespace, env: dict[str, Any]
              ) -> list[dict[str, Any]]:
    """All rows of one case: reference, then every solver for every ``k``."""
    op = build_operator(case)
    n = op.A.shape[0]
    threads = env["threads"]
    rows: list[dict[str, Any]] = []
    with compute_threads(threads, args.blas_threads):
        start = time.perf_counter()
        ref = dense_reference(op) if n <= args.dense_max else arpack_reference(op, max(ks))
        print(f"  {case.label}: {op.U.shape[1]} known vector(s), {op.A.nnz:,} nonzeros, "
              f"reference ({ref.method}) {time.perf_counter() - start:.1f} s", flush=True)
        for k in ks:
            neg, remark = sign_note(ref, k)
            lam = np.abs(ref.top_magnitude(k + 1))
            for solver in solvers_for(k, args):
                if solver.kind == "lobpcg" and n - op.U.shape[1] < 5 * solver.block:
                    continue  # scipy would switch to a dense solver (no constraints there)
                seconds, runs, sol = run_solver(op, k, solver, args)
                target = (ref.top_magnitude(k) if solver.kind == "arpack"
                          else ref.top_algebraic(k))
                notes = list(sol.notes)
                if remark and solver.kind == "lobpcg":
                    notes.append(remark)
                rows.append({
                    "case": case.label, "data": case.data, "n": n, "d": case.d,
                    "n_known": op.U.shape[1], "neighbors": op.neighbors, "k": k,
                    "solver": solver.name, "block": solver.block, "power_steps": solver.q,
                    "tol": solver.tol, "seconds": seconds, "repeats": runs,
                    "matvecs": sol.matvecs,
                    "iterations": "" if sol.iterations is None else sol.iterations,
                    "converged": sol.converged, "eig_err": eig_error(sol.vals, target),
                    "max_resid": float(np.max(residuals(op, sol.vals, sol.vecs), initial=0.0)),
                    "reference": ref.method, "neg_in_topk": "" if neg is None else neg,
                    "lam_k": float(lam[k - 1]) if lam.size >= k else math.nan,
                    "gap_k": (float((lam[k - 1] - lam[k]) / lam[k - 1]) if lam.size > k
                              else math.nan),
                    "note": "; ".join(notes), **env,
                })
                print("  " + brief(rows[-1]), flush=True)
    return rows


# --------------------------------------------------------------------------- output


def brief(row: dict[str, Any]) -> str:
    """One progress line."""
    return (f"{row['case']} k={row['k']:<4d} {row['solver']:<22s} {row['seconds']:8.3f} s "
            f"{row['matvecs']:8d} matvecs  conv {row['converged']}/{row['k']}  "
            f"err {row['eig_err']:.1e}  resid {row['max_resid']:.1e}")


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""
    head = ("| case | k | solver | block | tol | seconds | matvecs | iterations | converged | "
            "max abs eig err | max residual | neg in top-k | gap_k | note |")
    lines = [head, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['k']} | {r['solver']} | {r['block']} | {r['tol']:g} | "
            f"{r['seconds']:.3f} | "
            f"{r['matvecs']:,} | {r['iterations']} | {r['converged']}/{r['k']} | "
            f"{r['eig_err']:.1e} | {r['max_resid']:.1e} | {r['neg_in_topk']} | "
            f"{r['gap_k']:.1e} | {r['note']} |")
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the rows (``CSV_FIELDS`` columns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _output.write_csv(path, rows, CSV_FIELDS)


def warm_up(threads: int) -> None:
    """Run every solver once on a small problem: numba compilation, imports, BLAS start-up."""
    op = build_operator(Case("blobs", 600, 8))
    with compute_threads(threads, 1):
        run_arpack(op, 5, ARPACK_TOL, SEED)
        run_lobpcg(op, 5, 10, 2, 1e-6, 50, SEED)
        residuals(op, np.zeros(1), np.ones((op.A.shape[0], 1)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--cases", nargs="+", type=parse_case,
                    default=[parse_case(c) for c in DEFAULT_CASES],
                    help="data:n:d, data blobs or uniform (default: %(default)s)")
    ap.add_argument("--k", nargs="+", type=int, default=DEFAULT_K,
                    help="eigenpairs to deflate; only k < n/10 run (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per row (median)")
    ap.add_argument("--max-repeat-seconds", type=float, default=60.0,
                    help="no further repeats after a run longer than this")
    ap.add_argument("--lobpcg-tol", nargs="+", type=float, default=[1e-8, 1e-5],
                    help="LOBPCG residual tolerance(s) (default: %(default)s)")
    ap.add_argument("--all-k", action="store_true",
                    help="also the k above fastdse.spectral.deflation.max_deflate(n), the "
                         "most n_deflate='auto' deflates (n k^2 <= 1e8)")
    ap.add_argument("--solvers", choices=["all", "arpack"], default="all",
                    help="every solver, or ARPACK alone")
    ap.add_argument("--blas-threads", type=int, default=SLQ_BLAS_THREADS,
                    help="BLAS threads (default: fastdse's, SLQ_BLAS_THREADS)")
    ap.add_argument("--maxiter", type=int, default=200, help="LOBPCG iterations at most")
    ap.add_argument("--extra", type=int, default=10,
                    help="extra LOBPCG block columns: max(EXTRA, ceil(0.2 k))")
    ap.add_argument("--power-steps", nargs="+", type=int, default=[3],
                    help="block power steps of the warm start (default: %(default)s)")
    ap.add_argument("--dense-max", type=int, default=10_000,
                    help="dense reference eigenvalues up to this n, ARPACK tol 1e-12 above")
    ap.add_argument("--threads", type=int, default=None,
                    help="numba (and, from 20,000 rows, BLAS) threads; default all")
    ap.add_argument("--out-csv", type=Path, default=Path("docs/benchmarks/deflation_solver.csv"))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run every case and write the CSV and the markdown table."""
    args = parse_args(argv)
    threads = resolve_threads(args.threads)
    env = {"threads": threads, "blas_threads": args.blas_threads, "cpu": cpu_name(),
           "numpy": np.__version__, "scipy": scipy.__version__}
    header = (f"# {env['cpu']}; numpy {env['numpy']}, scipy {env['scipy']}; {threads} "
              f"thread(s), BLAS {args.blas_threads}; {args.repeats} repeat(s); "
              f"LOBPCG tol {args.lobpcg_tol}, maxiter {args.maxiter}; "
              f"ARPACK tol {ARPACK_TOL:g}; seed {SEED}")
    print(header, flush=True)
    warm_up(threads)
    rows: list[dict[str, Any]] = []
    for case in args.cases:
        # the k fastdse's n_deflate="auto" can choose at this n, unless --all-k
        ks = [k for k in args.k if k < case.n / 10
              and (args.all_k or k <= max_deflate(case.n))]
        if ks:
            rows.extend(case_rows(case, ks, args, env))
            write_csv(rows, args.out_csv)  # after every case: a long run keeps its rows
    print()
    print(header)
    print()
    print(markdown(rows))
    print(f"\nwrote {args.out_csv}")


if __name__ == "__main__":
    main()
