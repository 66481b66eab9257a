"""DSMI's estimate: the evaluations of one point set combined, and subsamples pooled.

:func:`fastdse.dsmi` validates its input and makes the classes; this module turns them
into the number. :func:`estimates` measures a Gaussian bandwidth rule once per point
set (:func:`bandwidth_measured`), chooses ``t="auto"`` once (:func:`auto_t`), runs the
evaluations of each point set (:func:`estimate`: the whole Z, or each class-stratified
subsample when Z has more than ``max_points`` points) and pools the subsamples
(:func:`pooled`). :func:`combine` turns one point set's evaluations into DSMI, its
standard error, the per-class terms and ``null_stderr`` (the spread DSMI has when Y
is independent of Z).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from fastdse._util import parallel as _parallel
from fastdse._util import progress as _progress
from fastdse.dsmi_tasks import TaskResult, dse_task, label_value, plan, stratified_subsamples
from fastdse.graph import DiffusionGraph
from fastdse.operator.bandwidth import EXACT_QUERIES, is_rule, knn_sigma
from fastdse.operator.duplicates import find_duplicates
from fastdse.operator.kernel import DEFAULT_SIGMA
from fastdse.results import ClassTerm, DSMIResult, _fmt
from fastdse.settings import Settings

__all__ = ["estimates", "estimate", "combine", "pooled", "bandwidth_measured", "auto_t"]

ONE_REPETITION = ("num_repetitions=1: one random subset per class, whose spread cannot be "
                  "measured; the standard error is NaN. Use num_repetitions >= 2 for one")


def estimates(Z: Any, inverse: np.ndarray, labels: np.ndarray, classes: np.ndarray,
              counts: np.ndarray, settings: Settings, ts: np.ndarray, *, t_auto: bool,
              scalar: bool, base: float, num_repetitions: int, max_points: int | None,
              n_subsamples: int, rng: np.random.Generator) -> DSMIResult:
    """DSMI of Z, or the pool of its subsamples' when Z has more than ``max_points`` points.

    Returns the result with ``info["sigma"]`` (the bandwidth; the median over the
    subsamples, each in ``info["sigmas"]``) and ``info["t_auto"]`` for ``t="auto"``.
    """
    n = Z.shape[0]
    subsamples: list[np.ndarray | None] = [None]
    if settings.kernel != "precomputed" and max_points is not None and n > max_points:
        min_size = settings.knn + 1 if settings.kernel == "alpha_decay" else 2
        drawn = stratified_subsamples(inverse, counts, max_points, n_subsamples, min_size,
                                      rng)
        subsamples = list(drawn)
        _progress.logger.info(
            "dsmi: n=%d > max_points=%d: %d class-stratified subsamples of %d points",
            n, max_points, n_subsamples, drawn[0].shape[0])
    t_seed = int(rng.integers(2**63 - 1)) if t_auto else None
    results, sigmas = [], []
    for rows in subsamples:
        Zs, inv = (Z, inverse) if rows is None else (Z[rows], inverse[rows])
        est_settings = bandwidth_measured(Zs, settings, rng)
        if t_seed is not None:  # chosen once, on the first point set, for all of them
            ts = auto_t(Zs, est_settings, t_seed)
            t_seed = None
        sigmas.append(DEFAULT_SIGMA if est_settings.sigma is None else est_settings.sigma)
        results.append(estimate(Zs, inv, classes, est_settings, ts, scalar, base,
                                num_repetitions, rng, labels if rows is None else labels[rows]))
    res = (results[0] if max_points is None or subsamples[0] is None
           else pooled(results, labels, counts, max_points, scalar))
    measured = len(sigmas) > 1 and settings.kernel == "gaussian"
    # the bandwidth is the Gaussian's: other kernels report None
    res.info["sigma"] = (float(np.median([float(s) for s in sigmas])) if measured
                         else sigmas[0] if settings.kernel == "gaussian" else None)
    if measured:
        res.info["sigmas"] = sigmas
    if t_auto:
        res.info["t_auto"] = float(ts[0])
    return res

def bandwidth_measured(Z: Any, settings: Settings, rng: np.random.Generator) -> Settings:
    """Return the settings with a Gaussian bandwidth rule replaced by its value on Z.

    Measured once per point set (the whole Z, or one subsample) on its distinct rows, then
    used by every class and random subset of it. The generator is drawn from only when
    the rule samples its query points (more than ``EXACT_QUERIES`` distinct points).
    """
    if settings.kernel != "gaussian" or not is_rule(settings.sigma):
        return settings
    dup = find_duplicates(Z)
    points = Z if dup is None else dup.unique
    sample = (np.random.default_rng(int(rng.integers(2**63 - 1)))
              if points.shape[0] > EXACT_QUERIES else None)
    return settings.replace(sigma=knn_sigma(points, rng=sample))



def auto_t(Z: Any, settings: Settings, seed: int) -> np.ndarray:
    """Return the knee t of DSE(Z) (as :func:`fastdse.dse` with ``t="auto"``) for every term."""
    graph = DiffusionGraph._from_settings(Z, settings.replace(progress=False, verbose=0),
                                          t_hint=None, use_rep=None,
                                          rng=np.random.default_rng(seed))
    t = float(graph.dse("auto").t)
    _progress.logger.info("dsmi: t='auto' -> t=%g (knee of DSE(Z) over t = 1..100)", t)
    return np.array([t])



def estimate(Z: Any, inverse: np.ndarray, classes: np.ndarray, settings: Settings,
              ts: np.ndarray, scalar: bool, base: float, num_repetitions: int,
              rng: np.random.Generator, labels: np.ndarray) -> DSMIResult:
    """DSMI of one point set (Z, or one subsample): its evaluations, run and combined."""
    start = time.perf_counter()
    counts = np.bincount(inverse, minlength=len(classes))
    tasks = plan(classes, counts, num_repetitions, rng)
    n_jobs = _parallel.cap_n_jobs(settings.n_jobs, len(tasks))
    outer = _parallel.outer_n_jobs(n_jobs)
    _progress.logger.info(
        "dsmi: n=%d, d=%d, %d classes, %d DSE evaluations (%d per class), %d worker(s)",
        Z.shape[0], Z.shape[1] if settings.kernel != "precomputed" else Z.shape[0],
        len(classes), len(tasks), num_repetitions + 1, outer)
    # one core each when evaluations run side by side (or when asked for one core)
    inner = 1 if (outer > 1 or n_jobs == 1) else None
    task_settings = settings.replace(n_jobs=inner, progress=False, verbose=0)
    results = _parallel.run_tasks(
        dse_task, (Z, inverse, task_settings, ts, base), tasks, n_jobs=n_jobs,
        progress=settings.progress, desc="DSMI", unit="DSE",
    )
    wall = time.perf_counter() - start
    timings = {"dse_wall": wall, "dse_sum": float(sum(r.seconds for r in results))}
    res = combine(results, classes, counts, labels, ts, scalar, base, num_repetitions,
                   outer, timings, start)
    _progress.logger.debug("dsmi: this point set: %s +/- %s", _fmt(res.value),
                           _fmt(res.stderr))
    return res



def pooled(results: list[DSMIResult], labels: np.ndarray, counts: np.ndarray,
            max_points: int, scalar: bool) -> DSMIResult:
    """Return the mean of the subsamples' DSMI, its standard error and mean terms.

    The error is the spread of the subsample values over sqrt(S), never less than their
    own errors (which hold the random subsets and the probes) pooled; with one subsample,
    only the latter. The per-class terms are means over the subsamples.
    """
    S = len(results)
    values = np.array([np.atleast_1d(e.value) for e in results])
    errors = np.array([np.atleast_1d(e.stderr) for e in results])
    within = np.sqrt((errors**2).mean(axis=0) / S)
    stderr = within if S < 2 else np.maximum(values.std(axis=0, ddof=1) / np.sqrt(S), within)
    value = values.mean(axis=0)
    per_class = []
    for c, term in enumerate(results[0].per_class):
        terms = [e.per_class[c] for e in results]
        per_class.append(ClassTerm(
            label=term.label, size=int(counts[c]),
            conditional=np.mean([x.conditional for x in terms], axis=0),
            unconditional=np.mean([x.unconditional for x in terms], axis=0),
            unconditional_reps=np.concatenate([x.unconditional_reps for x in terms]),
        ))
        if scalar:
            per_class[-1] = dataclasses.replace(
                per_class[-1], conditional=float(per_class[-1].conditional),
                unconditional=float(per_class[-1].unconditional))
    first = results[0]
    info = dict(first.info)
    info.update(
        n_subsamples=S, max_points=max_points,
        subsample_sizes=[int(e.n) for e in results],
        subsample_values=values[:, 0].tolist() if scalar else values,
        n_evaluations=int(sum(e.info["n_evaluations"] for e in results)),
        timings={k: float(sum(e.info["timings"][k] for e in results))
                 for k in ("dse_wall", "dse_sum")},
    )
    if "null_stderr" in first.info:
        null = np.sqrt(np.mean([np.atleast_1d(e.info["null_stderr"])**2
                                for e in results], axis=0) / S)
        info["null_stderr"] = float(null[0]) if scalar else null
    if "quadrature_bias" in first.info:
        bias = np.max([np.atleast_1d(e.info.get("quadrature_bias", 0.0)) for e in results],
                      axis=0)
        info["quadrature_bias"] = float(bias[0]) if scalar else bias
    modes = {e.mode for e in results}
    return DSMIResult(
        value=float(value[0]) if scalar else value,
        stderr=float(stderr[0]) if scalar else stderr,
        per_class=per_class, clusters=labels, t=first.t, n=int(labels.shape[0]),
        mode=modes.pop() if len(modes) == 1 else "mixed", base=first.base, info=info)



def combine(results: list[TaskResult], classes: np.ndarray, counts: np.ndarray,
             labels: np.ndarray, ts: np.ndarray, scalar: bool, base: float,
             num_repetitions: int, outer: int, timings: dict[str, float], start: float
             ) -> DSMIResult:
    """DSMI, its standard error and the per-class terms from the evaluations."""
    n_classes, m = len(classes), ts.shape[0]
    cond = np.empty((n_classes, m))
    cond_err = np.empty((n_classes, m))
    reps = np.empty((n_classes, num_repetitions, m))
    rep_err = np.empty((n_classes, num_repetitions, m))
    modes = set()
    bias = np.zeros(m)
    for res in results:
        modes.add(res.mode)
        if res.quadrature_bias is not None:
            bias = np.maximum(bias, res.quadrature_bias)
        if res.rep < 0:
            cond[res.cls], cond_err[res.cls] = res.value, res.stderr
        else:
            reps[res.cls, res.rep], rep_err[res.cls, res.rep] = res.value, res.stderr
    uncond = reps.mean(axis=1)
    # the mean over subsets: its spread holds the subsets' variation and their probe noise;
    # never less than the probe noise alone; with one subset it is unknown (NaN)
    probe_var = (rep_err**2).sum(axis=1) / num_repetitions**2
    if num_repetitions > 1:
        uncond_var = np.maximum(reps.var(axis=1, ddof=1) / num_repetitions, probe_var)
    else:
        uncond_var = np.full_like(probe_var, np.nan)
    var = uncond_var + cond_err**2
    per_class = [
        ClassTerm(
            label=label_value(classes[c]),
            size=int(counts[c]),
            conditional=float(cond[c, 0]) if scalar else cond[c].copy(),
            unconditional=float(uncond[c, 0]) if scalar else uncond[c].copy(),
            unconditional_reps=reps[c, :, 0].copy() if scalar else reps[c].copy(),
        )
        for c in range(n_classes)
    ]
    n = labels.shape[0]
    p = counts / n
    value = (p[:, None] * (uncond - cond)).sum(axis=0)
    stderr = np.sqrt((p[:, None] ** 2 * var).sum(axis=0))
    info: dict[str, Any] = {
        "num_repetitions": num_repetitions,
        "n_classes": int(n_classes),
        "n_evaluations": len(results),
        "n_jobs": outer,
        "timings": {**timings, "total": time.perf_counter() - start},
    }
    if "approx" in modes:
        info["quadrature_bias"] = float(bias[0]) if scalar else bias
    if num_repetitions > 1:
        # the spread DSMI has when Y is independent of Z: a class is then one more random
        # subset, so its term varies as a subset does, (1 + 1/R) times the subsets' variance
        null_var = reps.var(axis=1, ddof=1) * (1.0 + 1.0 / num_repetitions)
        null = np.sqrt((p[:, None] ** 2 * null_var).sum(axis=0))
        info["null_stderr"] = float(null[0]) if scalar else null
    else:
        info["stderr_note"] = ONE_REPETITION
    return DSMIResult(
        value=float(value[0]) if scalar else value,
        stderr=float(stderr[0]) if scalar else stderr,
        per_class=per_class,
        clusters=labels,
        t=float(ts[0]) if scalar else ts,
        n=n,
        mode=modes.pop() if len(modes) == 1 else "mixed",
        base=base,
        info=info,
    )
