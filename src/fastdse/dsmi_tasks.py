"""The DSE evaluations of DSMI: one per class, and one per random subset of its size.

:func:`fastdse.dsmi` plans the evaluations (:func:`plan`), runs :func:`dse_task` on each
(:func:`fastdse._util.parallel.run_tasks`) and combines the results. An evaluation on
points rebuilds the kernel on the class or subset; one on an affinity (``kernel=
"precomputed"``, or a stored scanpy graph) takes the sub-matrix the affinity induces on
its points (:func:`subgraph`). A point whose affinities all go to points outside the
class or subset has no degree there: :func:`check_class_subgraphs` (before any
evaluation) and :func:`dse_task` (for a random subset) refuse that with a message
naming the class, how many points, why, and the fix.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from fastdse._util.threads import compute_threads
from fastdse.graph import DiffusionGraph
from fastdse.settings import Settings

__all__ = ["Task", "TaskResult", "plan", "label_value", "subgraph", "check_class_subgraphs",
           "dse_task", "stratified_subsamples"]

#: How to give every point a degree in every subgraph: the end of the messages.
_FIX = ("Add a self-affinity (Z + I, e.g. Z + scipy.sparse.identity(n)): fastdse's kernels "
        "give every point affinity 1 to itself, so it stays its own component (eigenvalue "
        "1) in any subgraph. Or pass the AnnData with neighbors_key, which adds it")


@dataclass(frozen=True)
class Task:
    """One DSE evaluation: class ``cls`` itself (``rep = -1``) or its subset ``rep``.

    ``label`` is the class's label (for messages).
    """

    cls: int
    rep: int
    size: int
    seed: np.random.SeedSequence
    label: Any = None


@dataclass(frozen=True)
class TaskResult:
    """What an evaluation returns: its DSE values and how they were computed."""

    cls: int
    rep: int
    value: np.ndarray
    stderr: np.ndarray
    mode: str
    quadrature_bias: np.ndarray | None
    seconds: float


def plan(classes: np.ndarray, counts: np.ndarray, num_repetitions: int,
         rng: np.random.Generator) -> list[Task]:
    """One task per class and per (class, repetition), each with its own seed.

    One independent stream per class, and per task within it: results depend
    neither on ``n_jobs`` nor on the order in which tasks finish.
    """
    class_seeds = np.random.SeedSequence(int(rng.integers(2**63 - 1))).spawn(len(counts))
    tasks = []
    for c, size in enumerate(counts):
        label = label_value(classes[c])
        task_seeds = class_seeds[c].spawn(num_repetitions + 1)
        tasks.append(Task(c, -1, int(size), task_seeds[0], label))
        tasks.extend(Task(c, r, int(size), task_seeds[r + 1], label)
                     for r in range(num_repetitions))
    # largest first: balances the load when tasks run side by side (order changes no number)
    tasks.sort(key=lambda task: -task.size)
    return tasks


def stratified_subsamples(inverse: np.ndarray, counts: np.ndarray, max_points: int,
                          n_subsamples: int, min_size: int, rng: np.random.Generator
                          ) -> list[np.ndarray]:
    """Rows of ``n_subsamples`` class-stratified subsamples of about ``max_points`` points.

    Class ``c`` gets its share of ``max_points`` (largest remainders), at least
    ``min(counts[c], min_size)`` points. Its points are shuffled once and dealt out in
    turn, so the subsamples are disjoint while the class has points enough; beyond, each
    further subsample draws its share of the class afresh. Returns sorted row indices,
    one array per subsample.
    """
    n = int(counts.sum())
    share = counts * (max_points / n)
    alloc = np.floor(share).astype(np.int64)
    extra = max_points - int(alloc.sum())
    if extra > 0:
        alloc[np.argsort(-(share - alloc), kind="stable")[:extra]] += 1
    alloc = np.maximum(alloc, np.minimum(counts, min_size))
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    dealt = [rng.permutation(order[lo:lo + size]) for lo, size in zip(starts, counts)]
    out = []
    for s in range(n_subsamples):
        parts = [rows[s * a:(s + 1) * a] if (s + 1) * a <= rows.shape[0]
                 else rng.choice(rows, size=a, replace=False)
                 for rows, a in zip(dealt, alloc)]
        out.append(np.sort(np.concatenate(parts)))
    return out


def label_value(label: Any) -> Any:
    """Return a numpy scalar label as its Python value (for messages and results)."""
    return label.item() if hasattr(label, "item") else label


def subgraph(Z: Any, rows: np.ndarray) -> Any:
    """Return the affinity's sub-matrix induced on ``rows`` (sorted indices)."""
    return Z[rows][:, rows] if sp.issparse(Z) else Z[np.ix_(rows, rows)]


def _zero_degree(K: Any) -> np.ndarray:
    """Rows of an affinity whose sum is not positive."""
    return np.flatnonzero(np.asarray(K.sum(axis=1)).ravel() <= 0)


def _shown(rows: np.ndarray, limit: int = 5) -> str:
    return ", ".join(str(int(r)) for r in rows[:limit]) + (" ..." if len(rows) > limit else "")


def check_class_subgraphs(Z: Any, inverse: np.ndarray, classes: np.ndarray, name: str
                          ) -> None:
    """Refuse an affinity whose class sub-matrices leave points without a degree.

    Every class's DSE is taken on the sub-matrix ``Z`` induces on the class; a point
    whose affinities all go to other classes (no self-affinity, every neighbour of
    another class) has no degree there. Names each such class, how many of its
    points and which rows of ``Z``, and the fix.
    """
    diagonal = Z.diagonal()
    if np.all(diagonal > 0):  # every point keeps its self-affinity in any subgraph
        return
    if sp.issparse(Z):
        coo = Z.tocoo()
        same = inverse[coo.row] == inverse[coo.col]
        degree = np.bincount(coo.row[same], weights=coo.data[same], minlength=Z.shape[0])
    else:
        degree = np.zeros(Z.shape[0])
        for c in range(len(classes)):
            rows = np.flatnonzero(inverse == c)
            degree[rows] = Z[np.ix_(rows, rows)].sum(axis=1)
    lonely = np.flatnonzero(degree <= 0)
    if not lonely.size:
        return
    parts = []
    for c in np.unique(inverse[lonely]):
        rows = lonely[inverse[lonely] == c]
        size = int(np.count_nonzero(inverse == c))
        parts.append(f"class {label_value(classes[c])!r} of {name}: {len(rows)} of its "
                     f"{size} points (rows {_shown(rows)} of Z)")
    raise ValueError(
        f"Z has points with zero total affinity inside their class, which DSMI's per-class "
        f"sub-affinity leaves without a degree: {'; '.join(parts)}. All their neighbours in "
        f"Z are in other classes and Z gives them no affinity to themselves. {_FIX}")


def _refuse_isolated(K: Any, rows: np.ndarray, task: Task) -> None:
    """Refuse a random subset whose sub-affinity leaves points without a degree."""
    lonely = _zero_degree(K)
    if not lonely.size:
        return
    raise ValueError(
        f"random subset {task.rep + 1} of DSMI's unconditional term for class "
        f"{task.label!r} ({task.size} points of Z drawn at random) has {len(lonely)} point(s) "
        f"with zero total affinity inside it (rows {_shown(rows[lonely])} of Z): all their "
        f"neighbours in Z are outside the subset and Z gives them no affinity to "
        f"themselves. {_FIX}")


def dse_task(Z: Any, inverse: np.ndarray, settings: Settings, ts: np.ndarray, base: float,
             task: Task) -> TaskResult:
    """DSE of class ``task.cls`` or of a random subset of Z of its size (runs in a worker)."""
    start = time.perf_counter()
    rng = np.random.default_rng(task.seed)
    if task.rep < 0:
        rows = np.flatnonzero(inverse == task.cls)
    else:
        rows = np.sort(rng.choice(Z.shape[0], size=task.size, replace=False))
    if settings.kernel == "precomputed":
        data = subgraph(Z, rows)  # the induced sub-affinity of the evaluation's points
        if task.rep >= 0:  # the classes were checked before any evaluation
            _refuse_isolated(data, rows, task)
    else:
        data = Z[rows]
    with contextlib.ExitStack() as stack:
        if settings.n_jobs == 1:
            stack.enter_context(compute_threads(1))
        graph = DiffusionGraph._from_settings(data, settings, t_hint=None, use_rep=None, rng=rng)
        graph._log_level = logging.DEBUG  # one INFO line per DSMI, not per evaluation
        res = graph._dse_at(ts, False, base)
    bias = res.info.get("quadrature_bias")
    # DSMI combines its terms' probe spreads; their quadrature biases, alike in a class and
    # in the whole, are reported (info["quadrature_bias"]), not added as independent errors
    return TaskResult(
        cls=task.cls,
        rep=task.rep,
        value=np.atleast_1d(np.asarray(res.value, dtype=np.float64)),
        stderr=np.atleast_1d(np.asarray(res.info.get("probe_stderr", res.stderr),
                                        dtype=np.float64)),
        mode=res.mode,
        quadrature_bias=None if bias is None else np.atleast_1d(np.asarray(bias)),
        seconds=time.perf_counter() - start,
    )
