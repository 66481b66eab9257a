"""Accuracy of the sparse spectral measure (deflation + SLQ) against dense eigvalsh.

For alpha-decay operators of several shapes (n = 2,000-4,000) this measures the DSE error
at t in {1, 2, 5, 10, 50} over a grid of (n_probes, n_steps, n_deflate), the calibration
of the reported standard error, the half-step bias indicator, and the time of each phase.
It justifies the defaults of :func:`fastdse.spectral.lanczos.slq_measure`.

Cost control: one Lanczos run per (operator, deflation, seed) with the largest grid point
(40 probes, 100 steps); smaller grid points use the first probes and the first steps of
that same run (exactly what a run with those settings computes, given the probes). ARPACK
runs once per (operator, deflation). One process, one thread (BLAS and numba).

Run:  python benchmarks/bench_slq_accuracy.py   (writes docs/benchmarks/slq_accuracy.{md,csv})
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402
from _output import write_csv  # noqa: E402

from fastdse.entropy import dse_from_eigenvalues, dse_from_measure  # noqa: E402
from fastdse.operator.kernel import dense_affinity  # noqa: E402
from fastdse.operator.normalize import normalize_dense_inplace  # noqa: E402
from fastdse.spectral import deflation, lanczos, quadrature  # noqa: E402
from fastdse.spectral.measure import SpectralMeasure  # noqa: E402

RADEMACHER = quadrature.PROBES["rademacher"]

numba.set_num_threads(1)

TS = np.array([1.0, 2.0, 5.0, 10.0, 50.0])
PROBES = (5, 10, 20, 40)
STEPS = (15, 30, 60, 100)
SEEDS = (0, 1, 2)
FIXED_K = (0, 100)
OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def shape_blobs(rng, n):
    centers = 5 * rng.normal(size=(4, 10))
    return centers[rng.integers(0, 4, n)] + rng.normal(size=(n, 10))


def shape_swissroll(rng, n):
    u = 1.5 * np.pi * (1 + 2 * rng.random(n))
    return np.c_[u * np.cos(u), 20 * rng.random(n), u * np.sin(u)] + 0.2 * rng.normal(size=(n, 3))


def shape_noise(rng, n):
    return rng.normal(size=(n, 20))


def shape_circle(rng, n):
    u = 2 * np.pi * rng.random(n)
    return np.c_[np.cos(u), np.sin(u)] + 0.02 * rng.normal(size=(n, 2))


OPERATORS = [
    ("blobs-10d", shape_blobs, 2000),
    ("swissroll-3d", shape_swissroll, 3000),
    ("gauss-20d", shape_noise, 3000),
    ("circle-2d", shape_circle, 4000),
]


def build(shape, n):
    X = shape(np.random.default_rng(12345), n)
    K = dense_affinity(X, "alpha_decay", knn=5, decay=40, thresh=1e-4)
    deg = normalize_dense_inplace(K, 0.0)
    A = scipy.sparse.csr_matrix(K)
    t0 = time.perf_counter()
    lam = np.linalg.eigvalsh(K)
    t_dense = time.perf_counter() - t0
    u = np.sqrt(deg)
    return A, lam, (u / np.linalg.norm(u))[:, None], t_dense


def sub_measure(fixed, alpha, beta, steps, norm2, p, m, n):
    nodes, weights, probe = quadrature.gauss_quadrature(
        alpha[:, :p], beta[:, :p], steps[:p], norm2[:p], m
    )
    return SpectralMeasure(
        nodes=np.concatenate([fixed, nodes]),
        weights=np.concatenate([np.ones(fixed.size), weights]),
        probe=np.concatenate([np.full(fixed.size, -1, dtype=np.int64), probe]),
        n=n,
        n_probes=p,
        method="slq",
    )


def tolerance(exact):
    return np.maximum(0.005 * np.abs(exact), 0.02)


def main():
    rows = []
    timing_rows = []
    auto_rows = []
    lanczos.slq_measure(build(shape_noise, 300)[0], n_deflate=0, n_jobs=1)  # warm the JIT
    start_all = time.perf_counter()
    for name, shape, n in OPERATORS:
        A, lam, u, t_dense = build(shape, n)
        exact = dse_from_eigenvalues(lam, TS)
        op = quadrature.CSROperator(A)
        pmax, mmax = max(PROBES), max(STEPS)
        # auto: the rule of slq_measure, for the default t_hint and for t_hint = 10
        t0 = time.perf_counter()
        k_auto, auto_info = deflation.auto_n_deflate(
            op, u, 1, np.asarray(deflation.DEFAULT_T_HINT), lanczos.DEFAULT_N_PROBES,
            lanczos.DEFAULT_N_STEPS, RADEMACHER, np.random.default_rng(0), 1e-10,
        )
        t_pilot = time.perf_counter() - t0
        k_auto10, _ = deflation.auto_n_deflate(
            op, u, 1, np.array([1.0, 2.0, 5.0, 10.0]), lanczos.DEFAULT_N_PROBES,
            lanczos.DEFAULT_N_STEPS, RADEMACHER, np.random.default_rng(0), 1e-10,
        )
        auto_rows.append((name, n, k_auto, k_auto10, t_pilot, t_dense,
                          int(np.sum(np.abs(lam) > 0.9))))
        for kmode, k in [(str(k), k) for k in FIXED_K] + [("auto", k_auto)]:
            t0 = time.perf_counter()
            vals, vecs, _ = deflation.deflate(op, u, k, np.random.default_rng(0), 1e-10)
            t_defl = time.perf_counter() - t0
            V = np.hstack([u, vecs])
            fixed = np.concatenate([[1.0], vals])
            for seed in SEEDS:
                rng = np.random.default_rng(1000 + seed)
                probes = RADEMACHER(rng, n, pmax)
                quadrature.project_out(V, probes)
                t0 = time.perf_counter()
                alpha, beta, steps, norm2 = quadrature.lanczos_block(op, probes, mmax, V, 1e-10)
                t_lz = time.perf_counter() - t0
                timing_rows.append((name, n, kmode, k, seed, t_defl, t_lz))
                for p in PROBES:
                    for m in STEPS:
                        mu = sub_measure(fixed, alpha, beta, steps, norm2, p, m, n)
                        half = sub_measure(fixed, alpha, beta, steps, norm2, p, m // 2, n)
                        est, se = dse_from_measure(mu, TS)
                        est_h = dse_from_measure(half, TS)[0]
                        for i, t in enumerate(TS):
                            rows.append({
                                "shape": name, "n": n, "k_mode": kmode, "k": k, "n_probes": p,
                                "n_steps": m, "seed": seed, "t": t, "exact": exact[i],
                                "estimate": est[i], "error": est[i] - exact[i], "stderr": se[i],
                                "half_bias": abs(est[i] - est_h[i]),
                            })
        print(f"{name} n={n} done at {time.perf_counter() - start_all:.0f}s "
              f"(k_auto={k_auto}, dense eigvalsh {t_dense:.1f}s)", flush=True)

    # public path with the defaults (n_deflate="auto"), timed end to end
    public = []
    for name, shape, n in OPERATORS:
        A, lam, u, _ = build(shape, n)
        exact = dse_from_eigenvalues(lam, TS)
        for probe in ("rademacher", "gaussian"):
            for seed in SEEDS:
                t0 = time.perf_counter()
                mu, half = lanczos.slq_measure(A, known_vectors=u, probe=probe,
                                               random_state=seed, n_jobs=1, return_half=True)
                wall = time.perf_counter() - t0
                est, se = dse_from_measure(mu, TS)
                bias = lanczos.quadrature_bias(mu, half, TS)
                public.append((name, n, probe, seed, mu.info["n_deflate"], wall,
                               mu.info["timings"], est - exact, se, bias, exact))
    write(rows, timing_rows, auto_rows, public, time.perf_counter() - start_all)


def write(rows, timing_rows, auto_rows, public, total):
    OUT.mkdir(parents=True, exist_ok=True)
    write_csv(OUT / "slq_accuracy.csv", [{k: (f"{v:.6g}" if isinstance(v, float) else v)
                                          for k, v in r.items()} for r in rows])

    def arr(key, sel):
        return np.array([r[key] for r in sel])

    lines = [
        "# Sparse spectral measure: accuracy of deflation + SLQ",
        "",
        "Generated by `benchmarks/bench_slq_accuracy.py` "
        f"({platform.processor() or platform.machine()}, one thread, total {total:.0f} s). "
        "Truth: dense `numpy.linalg.eigvalsh` of the same operator. Operators: alpha-decay "
        "kernel (knn=5, decay=40, thresh=1e-4), `D^-1/2 K D^-1/2`, the eigenvalue-1 vector "
        "`sqrt(deg)` deflated as a known vector in every run. Rademacher probes. "
        f"Seeds: {len(SEEDS)} per configuration; sub-grids reuse the first probes/steps of "
        "one 40-probe, 100-step run.",
        "",
        "Goal: |error| <= max(0.5 % of exact, 0.02 bits) = `tol`; "
        "calibration: |error| <= 3 stderr + 0.01 in >= 80 % of cases.",
        "",
        "## Operators and the `n_deflate=\"auto\"` choice",
        "",
        "| operator | n | DSE t=1,2,5,10,50 (bits) | #abs(lambda)>0.9 | auto k (t<=50) "
        "| auto k (t<=10) | pilot s | dense eigvalsh s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, n, k_auto, k_auto10, t_pilot, t_dense, n_big in auto_rows:
        sel = [r for r in rows if r["shape"] == name and r["k_mode"] == "0"
               and r["n_probes"] == 5 and r["n_steps"] == 15 and r["seed"] == 0]
        ex = ", ".join(f"{r['exact']:.3f}" for r in sel)
        lines.append(f"| {name} | {n} | {ex} | {n_big} | {k_auto} | {k_auto10} "
                     f"| {t_pilot:.2f} | {t_dense:.1f} |")
    lines += [
        "",
        "## Grid: worst case over operators, seeds and t",
        "",
        "`pass` = fraction of (operator, seed, t) with |error| <= tol; `cover` = fraction "
        "with |error| <= 3 stderr + 0.01; `max err/tol` over all; `max err t=1`, "
        "`max err t=50` in bits.",
        "",
        "| n_deflate | n_probes | n_steps | pass | cover | max err/tol | max err t=1 "
        "| max err t=10 | max err t=50 | median half-bias t=1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kmode in [str(k) for k in FIXED_K] + ["auto"]:
        for p in PROBES:
            for m in STEPS:
                sel = [r for r in rows if r["k_mode"] == kmode and r["n_probes"] == p
                       and r["n_steps"] == m]
                err = np.abs(arr("error", sel))
                tol = tolerance(arr("exact", sel))
                se = arr("stderr", sel)
                t = arr("t", sel)
                hb = arr("half_bias", sel)
                lines.append(
                    f"| {kmode} | {p} | {m} | {np.mean(err <= tol):.2f} "
                    f"| {np.mean(err <= 3 * se + 0.01):.2f} | {np.max(err / tol):.2f} "
                    f"| {err[t == 1].max():.2g} | {err[t == 10].max():.2g} "
                    f"| {err[t == 50].max():.2g} | {np.median(hb[t == 1]):.2g} |"
                )
    lines += [
        "",
        "## Phase times (one thread)",
        "",
        "| operator | n | n_deflate | k | ARPACK s | Lanczos 40 probes x 100 steps s |",
        "|---|---|---|---|---|---|",
    ]
    for name, n, kmode, k, seed, t_defl, t_lz in timing_rows:
        if seed == 0:
            lines.append(f"| {name} | {n} | {kmode} | {k} | {t_defl:.2f} | {t_lz:.2f} |")
    lines += [
        "",
        "## Public path with the defaults "
        f"(`n_probes={lanczos.DEFAULT_N_PROBES}`, `n_steps={lanczos.DEFAULT_N_STEPS}`, "
        "`n_deflate=\"auto\"`)",
        "",
        "| operator | n | probe | seed | k | wall s | error t=1,2,5,10,50 (bits) | stderr | "
        "half-bias | within tol | covered |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    n_ok = n_cov = n_all = 0
    for name, n, probe, seed, k, wall, _timings, err, se, bias, exact in public:
        ok = np.abs(err) <= tolerance(exact)
        cov = np.abs(err) <= 3 * se + 0.01
        n_ok += ok.sum()
        n_cov += cov.sum()
        n_all += ok.size
        fmt = lambda a: ", ".join(f"{x:.1e}" for x in a)  # noqa: E731
        lines.append(f"| {name} | {n} | {probe} | {seed} | {k} | {wall:.2f} | {fmt(err)} "
                     f"| {fmt(se)} "
                     f"| {fmt(bias)} | {ok.sum()}/{ok.size} | {cov.sum()}/{cov.size} |")
    lines += ["", f"Defaults overall: within tol {n_ok}/{n_all}, covered {n_cov}/{n_all}.", ""]
    lines += [
        "## Reading the grid",
        "",
        "- Deflation is what fixes large t: without it (n_deflate=0) t=50 errs by tenths of a "
        "bit whatever the probes and steps; with it the t=50 error falls below tol.",
        "- n_steps: the half-step bias at t=1 (where |x| log|x| is least smooth) is the "
        "quadrature error; it shrinks steadily from 15 to 100 steps, while t >= 2 "
        "converges by 30 steps. Lanczos is cheap next to ARPACK, so the default takes 60.",
        "- n_probes: the remaining error at t = 5-10 is probe noise in the bulk "
        "(deflation cannot remove it); it falls like 1/sqrt(n_probes). The default 20 keeps "
        "the worst error/tol ratio around one half with Lanczos time still below ARPACK's.",
        "- The reported stderr covers the error (3 stderr + 0.01) in the `cover` column; "
        "with 15 steps at t=1 coverage drops because the quadrature bias, not the probe "
        "noise, dominates there (compare the half-step bias).",
        "",
    ]
    (OUT / "slq_accuracy.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
