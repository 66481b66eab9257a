"""Scaling benchmark: time, peak memory and accuracy over sizes, dimensions and modes.

Every case runs in a fresh Python process, so its time is end to end as a
user meets it: interpreter start-up, importing fastdse, neighbour search,
numba compilation (from the on-disk cache when warm) and the spectral
estimate. The parent times the whole child; the child's data generation is
timed separately and subtracted. Peak memory is the child's
maximum resident set size (``ru_maxrss``), data included.

Used by ``fastdse bench``; the tables and plots under ``docs/benchmarks/`` are
produced by it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fastdse._util.stages import STAGES
from fastdse._version import __version__
from fastdse.api import dse
from fastdse.cli.options import (
    EXIT_ERROR,
    EXIT_OK,
    PROG,
    add_output_options,
    check_output_path,
    emit,
    integer,
    library_default,
    positive_float,
    run_settings,
    save_error,
)
from fastdse.cli.options import seed as seed_arg
from fastdse.plotting import fit_slope
from fastdse.settings import MODES

__all__ = ["Case", "CSV_COLUMNS", "CsvLog", "csv_rows", "run_case", "run_benchmark", "fit_slope",
           "format_results", "write_csv", "plot_results"]

DATASETS = ("blobs", "blobs-shuffled", "uniform")


@dataclass
class Case:
    """One benchmark case and its measurements."""

    n: int
    d: int
    mode: str
    t: list = field(default_factory=lambda: [1.0])
    data: str = "blobs"
    seed: int = 0
    # measurements
    seconds: float = float("nan")  # end to end in a new process, data generation excluded
    import_seconds: float = float("nan")  # interpreter start-up and imports
    dse_seconds: float = float("nan")
    peak_mib: float = float("nan")
    data_mib: float = float("nan")
    value: list = field(default_factory=list)
    stderr: list = field(default_factory=list)
    error: list = field(default_factory=list)
    status: str = "pending"
    message: str = ""
    # what the case ran with (options.run_settings): JSON output only, not in the CSV
    settings: dict = field(default_factory=dict)
    # seconds and the child's peak memory per stage (fastdse._util.stages.stage_table)
    stages: list = field(default_factory=list)


#: the columns of the benchmark's CSV, one row per (case, t): t, value, stderr and error are
#: the case's values at that t, the others the same on each of its rows
CSV_COLUMNS = ("n", "d", "mode", "t", "value", "stderr", "error", "seconds", "import_seconds",
               "dse_seconds", "peak_mib", "data_mib", "data", "seed", "status", "message",
               *(f"{s}_{what}" for s in STAGES for what in ("seconds", "peak_mib")))


def make_data(n: int, d: int, data: str, seed: int) -> np.ndarray:
    """Benchmark data as float32: Gaussian blobs of unequal size and spread, or uniform noise.

    ``"blobs"`` come blob by blob (random within a blob), an order with some locality;
    ``"blobs-shuffled"`` are the same points in a random order, as a user's data may come.
    """
    rng = np.random.default_rng(seed)
    if data == "uniform":
        return rng.uniform(size=(n, d)).astype(np.float32)
    n_blobs = 10
    sizes = rng.dirichlet(np.full(n_blobs, 2.0)) * n
    counts = np.floor(sizes).astype(int)
    counts[: n - counts.sum()] += 1
    centres = rng.normal(scale=6.0, size=(n_blobs, d)).astype(np.float32)
    spreads = rng.uniform(0.5, 2.0, size=n_blobs).astype(np.float32)
    labels = np.repeat(np.arange(n_blobs), counts)
    X = rng.standard_normal(size=(n, d), dtype=np.float32)
    X *= spreads[labels, None]
    X += centres[labels]
    if data == "blobs-shuffled":
        rng.shuffle(X)  # rows, in place
    return X


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case in this (fresh) process and return its measurements."""
    import resource

    import fastdse

    start = time.perf_counter()
    X = make_data(spec["n"], spec["d"], spec["data"], spec["seed"])
    generated = time.perf_counter()
    kwargs = {"mode": spec["mode"], "random_state": spec["seed"]}
    res = fastdse.dse(X, spec["t"], **kwargs)
    done = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "settings": run_settings(kwargs, mode=res.mode, n=res.n, d=X.shape[1], t=res.t,
                                 info=res.info, base=res.base),
        "data_seconds": generated - start,
        "dse_seconds": done - generated,
        "peak_mib": peak_kib / 1024.0,
        "data_mib": X.nbytes / 2**20,
        "value": np.atleast_1d(res.value).tolist(),
        "stderr": np.atleast_1d(res.stderr).tolist(),
        "mode": res.mode,
        "stages": res.info.get("stages", []),
    }


def run_case(case: Case, timeout: float | None = None) -> Case:
    """Measure one case in a fresh subprocess (fills the measurement fields)."""
    spec = {"n": case.n, "d": case.d, "mode": case.mode, "t": case.t, "data": case.data,
            "seed": case.seed}
    cmd = [sys.executable, "-m", "fastdse.cli.bench", "--child", json.dumps(spec)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        case.status, case.message = "timeout", f"did not finish within {timeout:.0f} s"
        return case
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        case.status, case.message = "failed", lines[-1] if lines else f"exit {proc.returncode}"
        return case
    wall = time.perf_counter() - start
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # end to end: interpreter start, imports, neighbours, compilation, estimate; not the data
    case.seconds = wall - out["data_seconds"]
    case.import_seconds = case.seconds - out["dse_seconds"]
    for key in ("dse_seconds", "peak_mib", "data_mib", "value", "stderr", "settings", "stages"):
        setattr(case, key, out[key])
    case.status = "ok"
    return case


def run_benchmark(
    sizes: Sequence[int],
    dims: Sequence[int],
    modes: Sequence[str],
    t: Sequence[float] = (1.0,),
    *,
    data: str = "blobs",
    seed: int = 0,
    exact_max_n: int = 10_000,
    timeout: float | None = None,
    log: Callable[[str], None] | None = None,
    on_case: Callable[[Case], None] | None = None,
) -> list[Case]:
    """Run every (n, d, mode) case; the exact mode only where ``n <= exact_max_n``.

    For each (n, d) the exact mode runs first, so that every other case's
    error against it is filled in as soon as that case is done. ``log``
    receives each case's line of the table, ``on_case`` each finished case
    (``fastdse bench`` appends it to the CSV there).
    """
    order = sorted(modes, key=lambda mode: mode != "exact")  # stable: the reference first
    cases = []
    for d in dims:
        for n in sizes:
            reference = None
            for mode in order:
                if mode == "exact" and n > exact_max_n:
                    continue
                case = run_case(Case(n=n, d=d, mode=mode, t=list(map(float, t)), data=data,
                                     seed=seed), timeout=timeout)
                if mode == "exact" and case.status == "ok":
                    reference = case
                if reference is not None and case.status == "ok":
                    case.error = (np.asarray(case.value) - np.asarray(reference.value)).tolist()
                cases.append(case)
                if log is not None:
                    log(format_results([case], header=False))
                if on_case is not None:
                    on_case(case)
    return cases


def _fmt_list(values: Sequence[float], spec: str = ".4g") -> str:
    return " ".join(format(v, spec) for v in values) if len(values) else "-"


def format_results(cases: Sequence[Case], header: bool = True) -> str:
    """Format the cases as a plain-text table."""
    cols = ["n", "d", "mode", "seconds", "import s", "dse s", "peak MiB", "value (bits)", "stderr",
            "error vs exact", "status"]
    rows = []
    for c in cases:
        rows.append([
            str(c.n), str(c.d), c.mode,
            f"{c.seconds:.2f}", f"{c.import_seconds:.2f}", f"{c.dse_seconds:.2f}",
            f"{c.peak_mib:.0f}",
            _fmt_list(c.value), _fmt_list(c.stderr, ".2g"), _fmt_list(c.error, ".2g"),
            c.status if c.status == "ok" else f"{c.status}: {c.message}",
        ])
    widths = [max(len(cols[i]), *(len(r[i]) for r in rows)) if rows else len(cols[i])
              for i in range(len(cols))]
    lines = []
    if header:
        lines.append("  ".join(h.ljust(w) for h, w in zip(cols, widths)))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def format_stages_table(cases: Sequence[Case]) -> str:
    """Per case, the seconds of every stage and the child's peak MiB when it ended."""
    names = [s for s in STAGES if any(r["stage"] == s for c in cases for r in c.stages)]
    if not names:
        return ""
    cols = ["n", "d", "mode", "import s", *names]
    rows = []
    for c in cases:
        by = {r["stage"]: r for r in c.stages}
        rows.append([str(c.n), str(c.d), c.mode, f"{c.import_seconds:.2f}"] + [
            (f"{by[s]['seconds']:.2f}" + (f" ({by[s]['peak_rss_mib']:.0f})"
                                          if by[s]["peak_rss_mib"] is not None else ""))
            if s in by else "-" for s in names])
    widths = [max(len(cols[i]), *(len(r[i]) for r in rows)) for i in range(len(cols))]
    lines = ["stages: seconds (peak MiB of the process when the stage ended)",
             "  ".join(h.ljust(w) for h, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def csv_rows(case: Case) -> list[dict[str, Any]]:
    """Return the CSV rows of ``case``: one per diffusion time (:data:`CSV_COLUMNS`).

    ``value``, ``stderr`` and ``error`` are the case's values at the row's ``t`` (empty
    where the case has none: a failed case, or no exact reference for ``error``); the
    other columns repeat on each of the case's rows.
    """
    shared = {k: v for k, v in asdict(case).items() if k in CSV_COLUMNS}
    shared.update({c: "" for c in CSV_COLUMNS if c.endswith(("_seconds", "_peak_mib"))
                   and c not in shared})
    for row in case.stages:
        shared[f"{row['stage']}_seconds"] = row["seconds"]
        shared[f"{row['stage']}_peak_mib"] = ("" if row["peak_rss_mib"] is None
                                             else row["peak_rss_mib"])
    rows = []
    for i, t in enumerate(case.t):
        row = {**shared, "t": t}
        for key in ("value", "stderr", "error"):
            values = getattr(case, key)
            row[key] = values[i] if i < len(values) else ""
        rows.append(row)
    return rows


class CsvLog:
    """The benchmark's CSV, written as it goes: one row per (case, t), in long form.

    Opening the file writes the header (:data:`CSV_COLUMNS`); :meth:`append` writes
    a case's rows (:func:`csv_rows`) and flushes them, so a run that is killed keeps
    every case it finished. Floats are written with ``repr``, so they read back
    exactly. Errors (``OSError``) are raised, on opening as on appending.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fh = open(path, "w", newline="")
        self._writer = csv.DictWriter(self._fh, fieldnames=list(CSV_COLUMNS))
        self._writer.writeheader()
        self._fh.flush()

    def append(self, case: Case) -> None:
        """Write the rows of ``case`` and flush them to the file."""
        self._writer.writerows(csv_rows(case))
        self._fh.flush()

    def close(self) -> None:
        """Close the file (a failed flush of an already broken file is not raised again)."""
        with contextlib.suppress(OSError):
            self._fh.close()

    def __enter__(self) -> CsvLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_csv(cases: Sequence[Case], path: str) -> None:
    """One row per (case, t), as ``fastdse bench --out`` writes them (:class:`CsvLog`)."""
    with CsvLog(path) as log:
        for case in cases:
            log.append(case)


def plot_results(cases: Sequence[Case], path: str) -> bool:
    """Write a log-log plot of time and peak memory against n, one line per (mode, d).

    Drawn by :func:`fastdse.plotting.plot_scaling` on a figure of its own (Agg
    canvas; matplotlib's global backend is left alone).

    Returns False (and writes nothing) when matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    from fastdse.plotting import plot_scaling

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    ok = [c for c in cases if c.status == "ok"]
    if ok:
        plot_scaling(ok, ax=axes[0], x="n", y="seconds", by=("mode", "d"))
        plot_scaling(ok, ax=axes[1], x="n", y="peak_mib", by=("mode", "d"), slope=False)
    for ax in axes:
        ax.set_xlabel("n (points)")
    axes[0].set_ylabel("seconds, end to end in a new process")
    axes[1].set_ylabel("peak memory (MiB)")
    fig.savefig(path, dpi=120)
    return True


def _main(argv: Sequence[str]) -> int:
    if len(argv) == 2 and argv[0] == "--child":
        print(json.dumps(_child(json.loads(argv[1]))))
        return 0
    print("usage: python -m fastdse.cli.bench --child SPEC (internal); use `fastdse bench`",
          file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    sys.exit(_main(sys.argv[1:]))


# --------------------------------------------------------------------------- the subcommand


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``fastdse bench``."""
    parser.add_argument("--sizes", type=integer, nargs="+", default=[2000, 5000, 10000],
                        metavar="N", help="numbers of points (default: 2000 5000 10000)")
    parser.add_argument("--dims", type=integer, nargs="+", default=[128], metavar="D",
                        help="numbers of features (default: 128)")
    parser.add_argument("--modes", nargs="+", default=["exact", "approx"],
                        choices=[m for m in MODES if m != "auto"], metavar="MODE",
                        help="modes to run: exact approx landmark (default: exact approx)")
    parser.add_argument("-t", "--t", type=positive_float, nargs="+", default=[1.0, 2.0, 5.0, 10.0],
                        metavar="T", help="diffusion times (default: 1 2 5 10)")
    parser.add_argument("--data", choices=list(DATASETS), default="blobs",
                        help="float32 Gaussian blobs of unequal size and spread (blob by "
                             "blob, or blobs-shuffled: in random order), or uniform noise "
                             "(default: blobs)")
    parser.add_argument("--exact-max-n", type=integer, default=10000, metavar="N",
                        help="run the exact mode only up to N points (default: 10000)")
    parser.add_argument("--timeout", type=positive_float, default=None, metavar="S",
                        help="give up on a case after S seconds")
    parser.add_argument("--seed", type=seed_arg, default=0, metavar="N",
                        help="random seed (default: 0)")
    parser.add_argument("--out", default=None, metavar="PREFIX",
                        help="write PREFIX.csv, one row per diffusion time as each case "
                             "ends, and PREFIX.png (log-log plot; needs matplotlib)")
    add_output_options(parser)


class _CsvOut:
    """``--out``'s CSV: opened before the first case, one row appended after each.

    A failed write stops the writing, not the benchmark: its one-line message
    is kept in ``failure``, to be reported after the table.
    """

    def __init__(self, path: str | None) -> None:
        self.failure = ""
        try:
            self._log = None if path is None else CsvLog(path)
        except OSError as exc:
            raise save_error("--out", str(path), exc) from exc

    def append(self, case: Any) -> None:
        if self._log is None:
            return
        try:
            self._log.append(case)
        except OSError as exc:
            self.failure = str(save_error("--out", self._log.path, exc))
            self.close()

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def _run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Return what the run's cases share: the library's defaults, but for mode and seed.

    ``thresh`` is None here (each mode's default); each case's ``settings`` holds
    what it ran with (:func:`fastdse.cli.options.run_settings`).
    """
    defaults = {name: library_default(dse, name)
                for name in ("kernel", "knn", "decay", "thresh", "anisotropy")}
    return {**defaults, "modes": list(args.modes), "t": list(args.t), "seed": args.seed,
            "sizes": list(args.sizes), "dims": list(args.dims), "data": args.data,
            "base": 2.0, "unit": "bits", "version": __version__}


def run(args: argparse.Namespace) -> int:
    """Run ``fastdse bench``: the cases, the CSV as it goes, the table, the plot."""
    quiet = getattr(args, "json", False)
    csv_path = png_path = None
    if args.out:
        csv_path, png_path = args.out + ".csv", args.out + ".png"
        check_output_path(csv_path, "--out")
        check_output_path(png_path, "--out")
    csv_out = _CsvOut(csv_path)  # the header is written before the first case
    try:
        if not quiet:
            print("each case runs in a fresh process: imports, neighbours, compilation "
                  "included", file=sys.stderr)
        cases = run_benchmark(
            args.sizes, args.dims, args.modes, args.t, data=args.data, seed=args.seed,
            exact_max_n=args.exact_max_n, timeout=args.timeout,
            log=None if quiet else (lambda line: print(line, file=sys.stderr)),
            on_case=csv_out.append,
        )
    finally:
        csv_out.close()
    failures = [csv_out.failure] if csv_out.failure else []
    written = [csv_path] if csv_path is not None and not failures else []
    if png_path is not None:
        try:
            if plot_results(cases, png_path):
                written.append(png_path)
            else:
                print("fastdse: note: matplotlib is not installed; no plot written",
                      file=sys.stderr)
        except OSError as exc:
            failures.append(str(save_error("--out", png_path, exc)))
    slopes = {}
    for mode in args.modes:
        for d in args.dims:
            ok = sorted((c for c in cases if c.mode == mode and c.d == d and c.status == "ok"),
                        key=lambda c: c.n)
            if len(ok) >= 2:
                slopes[f"{mode}, d={d}"] = fit_slope([c.n for c in ok],
                                                           [c.seconds for c in ok])
    text = format_results(cases)
    stages = format_stages_table(cases)
    if stages:
        text += "\n\n" + stages
    if slopes:
        text += "\n\ntime ~ n^slope (least squares on log-log): " + ", ".join(
            f"{k}: {v:.2f}" for k, v in slopes.items())
    if written:
        text += "\nwrote " + ", ".join(written)
    payload = {"command": "bench", **_run_settings(args), "cases": [asdict(c) for c in cases],
               "slopes": slopes, "written": written}
    emit(args, payload, text)
    for message in failures:  # after the table, which holds every measurement
        print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_OK if not failures and all(c.status == "ok" for c in cases) else EXIT_ERROR
