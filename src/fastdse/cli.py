"""The ``fastdse`` command line.

::

    fastdse dse FILE [--t 1 2 5] [--mode exact] [--kernel gaussian --sigma 10] [--json]
    fastdse dsmi Z_FILE Y_FILE [--t 1 10 50] [--n-clusters 10] [--json]
    fastdse demo [--json]
    fastdse --version

Every subcommand is one entry of :data:`SUBCOMMANDS`, ``name -> (configure,
run)``: ``configure(parser)`` adds the subcommand's arguments to its
``argparse`` parser and ``run(args)`` does the work, prints, and returns the
exit code. Adding a subcommand (``bench``, ``plot``) touches that dict only;
the helpers :func:`add_graph_options`, :func:`add_output_options`,
:func:`graph_kwargs` and :func:`emit` are there to be reused.

User errors (bad files, invalid parameters reported by the library as
``ValueError``/``TypeError``, bad command-line arguments) print one line
``fastdse: error: ...`` on stderr and exit with a non-zero code (1 for errors
in the data or parameters, 2 for command-line usage). ``--traceback`` shows the
full traceback instead.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import __version__
from ._io import FORMATS, load_array
from .api import dse
from .graph import MODES
from .kernel import KERNELS
from .mutual_information import _Y_KINDS, dsmi

__all__ = ["main", "SUBCOMMANDS", "build_parser"]

PROG = "fastdse"

#: exit codes
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line usage error (raised instead of argparse's print-and-exit)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors become one line on stderr, not usage + message."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- argument types


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number; got {text!r}")
    return value


def _t_value(text: str) -> float | str:
    """Parse a diffusion time, or ``auto`` (the knee of the DSE-vs-t curve)."""
    if text.strip().lower() == "auto":
        return "auto"
    return _positive_float(text)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _base(text: str) -> float:
    if text.strip().lower() == "e":
        return math.e
    return _float(text)


def _seed(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}")
    return value


# --------------------------------------------------------------------------- shared options


def _library_default(func: Callable[..., Any], name: str) -> Any:
    return inspect.signature(func).parameters[name].default


#: graph options: (flag, keyword of fastdse.dse/dsmi, argparse keywords)
_GRAPH_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--mode", "mode", {"choices": MODES, "help": "spectral estimator"}),
    ("--kernel", "kernel", {"choices": KERNELS, "help": "affinity kernel"}),
    ("--knn", "knn", {"type": _int, "metavar": "K", "help": "alpha-decay bandwidth neighbour"}),
    ("--decay", "decay", {"type": _float, "metavar": "A", "help": "alpha-decay exponent"}),
    ("--sigma", "sigma", {"type": _float, "metavar": "S",
                          "help": "Gaussian bandwidth (library default: 10)"}),
    ("--thresh", "thresh", {"type": _float, "metavar": "T",
                            "help": "drop affinities below T (library default: per kernel)"}),
    ("--anisotropy", "anisotropy", {"type": _float, "metavar": "A",
                                    "help": "density normalisation in [0, 1]"}),
)


def add_graph_options(parser: argparse.ArgumentParser, *, t_default: Sequence[float] = (1.0,),
                      allow_auto_t: bool = False, t_help: str | None = None) -> None:
    """Add ``--t``, the diffusion-graph options, ``--base`` and ``--seed``.

    Options left out on the command line are not passed to the library, so the
    library's defaults apply (shown in ``--help``). With ``allow_auto_t``,
    ``--t auto`` selects the knee of the DSE-vs-t curve; ``t_help`` replaces
    the help text of ``--t``.
    """
    group = parser.add_argument_group("diffusion operator")
    auto_help = "; 'auto': the knee of the DSE-vs-t curve" if allow_auto_t else ""
    group.add_argument(
        "--t", nargs="+", type=_t_value if allow_auto_t else _positive_float,
        default=list(t_default), metavar="T",
        help=t_help or f"diffusion time(s), one spectrum for all{auto_help} (default: "
                       f"{' '.join(f'{t:g}' for t in t_default)})",
    )
    for flag, name, spec in _GRAPH_OPTIONS:
        kw = dict(spec)
        help_text = kw.pop("help", "")
        default = _library_default(dse, name)
        if default is not None:
            help_text += f" (default: {default})"
        group.add_argument(flag, dest=name, default=None, help=help_text, **kw)
    group.add_argument(
        "--base", type=_base, default=None, metavar="B",
        help="logarithm base: 2 gives bits, 'e' nats (default: 2)",
    )
    group.add_argument(
        "--seed", type=_seed, default=None, metavar="N",
        help="random seed (subsets, approximate modes); default: fresh randomness",
    )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--json``."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )


def graph_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :func:`fastdse.dse` / :func:`fastdse.dsmi` set on the command line."""
    kwargs: dict[str, Any] = {}
    for _, name, _ in _GRAPH_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value
    if getattr(args, "base", None) is not None:
        kwargs["base"] = args.base
    if getattr(args, "seed", None) is not None:
        kwargs["random_state"] = args.seed
    return kwargs


def _add_header_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--header", dest="header", action="store_true", default=None,
                       help="text files: the first row is a header (default: detect)")
    group.add_argument("--no-header", dest="header", action="store_false",
                       help="text files: the first row is data")


# --------------------------------------------------------------------------- output


def unit_name(base: float) -> str:
    """Name the unit of an entropy in logarithm base ``base``."""
    if base == 2.0:
        return "bits"
    if base == math.e:
        return "nats"
    return f"log{base:g}"


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to JSON types; non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Format a small aligned text table: numbers right-aligned, text left-aligned."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.6g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"
        return str(v)

    cells = [[cell(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(row[j], (int, float)) and not isinstance(row[j], bool) for row in rows)
        for j in range(len(header))
    ]
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(header)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in cells])


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    """Print ``payload`` as JSON with ``--json``, ``text`` otherwise."""
    if getattr(args, "json", False):
        print(json.dumps(jsonable(payload), allow_nan=False))
    else:
        print(text)


def _as_list(value: Any) -> list[float]:
    return [float(v) for v in np.atleast_1d(value)]


def _dse_rows(res: Any, elapsed: float) -> list[list[Any]]:
    unit = unit_name(res.base)
    return [
        [t, v, e, unit, res.n, res.mode, round(elapsed, 3)]
        for t, v, e in zip(_as_list(res.t), _as_list(res.value), _as_list(res.stderr))
    ]


_RESULT_HEADER = ("t", "value", "stderr", "unit", "n", "mode", "time_s")


def _settings(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k != "timings"}


# --------------------------------------------------------------------------- dse


def _configure_dse(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help=f"point cloud, one row per point ({', '.join(FORMATS)})")
    parser.add_argument("--key", default=None, help="array name inside a .npz file")
    _add_header_options(parser)
    add_graph_options(parser, allow_auto_t=True)
    add_output_options(parser)


def cli_t(values: Sequence[float | str]) -> Any:
    """Turn ``--t`` values into the library's ``t``: a list of floats, or ``"auto"`` alone."""
    if "auto" in values:
        if len(values) > 1:
            raise ValueError("--t auto cannot be combined with other diffusion times")
        return "auto"
    return list(values)


def _run_dse(args: argparse.Namespace) -> int:
    t = cli_t(args.t)
    X = load_array(args.file, key=args.key, header=args.header)
    start = time.perf_counter()
    res = dse(X, t, **graph_kwargs(args))
    elapsed = time.perf_counter() - start
    payload = {
        "command": "dse",
        "file": args.file,
        "n": res.n,
        "d": int(X.shape[1]) if X.ndim == 2 else None,
        "mode": res.mode,
        "base": res.base,
        "unit": unit_name(res.base),
        "t": _as_list(res.t),
        "t_auto": t == "auto",
        "value": _as_list(res.value),
        "stderr": _as_list(res.stderr),
        "time_s": elapsed,
        "timings": res.info.get("timings", {}),
        "settings": _settings(res.info),
        "version": __version__,
    }
    text = f"DSE of {args.file} ({res.n} points, d={payload['d']})\n" + format_table(
        _RESULT_HEADER, _dse_rows(res, elapsed)
    )
    emit(args, payload, text)
    return EXIT_OK


# --------------------------------------------------------------------------- dsmi


def _configure_dsmi(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("z_file", metavar="Z_FILE", help="point cloud Z, one row per point")
    parser.add_argument("y_file", metavar="Y_FILE",
                        help="variable Y: labels (numbers or one column of strings) or a "
                             "continuous variable, one row per point")
    parser.add_argument("--z-key", default=None, help="array name inside a .npz Z_FILE")
    parser.add_argument("--y-key", default=None, help="array name inside a .npz Y_FILE")
    _add_header_options(parser)
    add_graph_options(parser)
    group = parser.add_argument_group("mutual information")
    group.add_argument("--n-clusters", type=_int, default=None, metavar="C",
                       help="bins/clusters for a continuous Y (default: "
                            f"{_library_default(dsmi, 'n_clusters')})")
    group.add_argument("--num-repetitions", type=_int, default=None, metavar="R",
                       help="random subsets per class for the unconditional term (default: "
                            f"{_library_default(dsmi, 'num_repetitions')})")
    group.add_argument("--y-kind", choices=_Y_KINDS, default=None,
                       help="how to read Y (default: auto: one column of integers or strings "
                            "is discrete, floats are binned, several columns are clustered)")
    group.add_argument("--n-jobs", type=_int, default=None, metavar="N",
                       help="DSE evaluations run at a time, each on one core (-1: all cores; "
                            "default: one at a time, each on all cores)")
    group.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                       help="no progress bar (default: shown when stderr is a terminal)")
    add_output_options(parser)


def _dsmi_payload(res: Any, elapsed: float) -> dict[str, Any]:
    return {
        "n": res.n,
        "mode": res.mode,
        "base": res.base,
        "unit": unit_name(res.base),
        "t": _as_list(res.t),
        "value": _as_list(res.value),
        "stderr": _as_list(res.stderr),
        "n_classes": len(res.per_class),
        "per_class": [
            {
                "label": term.label,
                "size": term.size,
                "conditional": _as_list(term.conditional),
                "unconditional": _as_list(term.unconditional),
            }
            for term in res.per_class
        ],
        "time_s": elapsed,
        "settings": dict(res.info),
    }


def _per_class_table(res: Any) -> str:
    rows = []
    for term in res.per_class:
        for t, c, u in zip(_as_list(res.t), _as_list(term.conditional),
                           _as_list(term.unconditional)):
            rows.append([str(term.label), term.size, t, c, u, u - c])
    header = ("class", "size", "t", "DSE(Z|y)", "DSE(Z_ny)", "difference")
    return format_table(header, rows)


def _run_dsmi(args: argparse.Namespace) -> int:
    Z = load_array(args.z_file, key=args.z_key, header=args.header)
    Y = load_array(args.y_file, key=args.y_key, header=args.header, labels=True)
    kwargs = graph_kwargs(args)
    for name in ("n_clusters", "num_repetitions", "y_kind", "n_jobs", "progress"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    start = time.perf_counter()
    res = dsmi(Z, Y, args.t, **kwargs)
    elapsed = time.perf_counter() - start
    payload = {"command": "dsmi", "z_file": args.z_file, "y_file": args.y_file,
               **_dsmi_payload(res, elapsed), "version": __version__}
    text = (
        f"DSMI of {args.z_file} and {args.y_file} ({res.n} points, "
        f"{len(res.per_class)} classes)\n"
        + format_table(_RESULT_HEADER, _dse_rows(res, elapsed))
        + "\n\nper class (DSE of the class vs mean DSE of random subsets of its size):\n"
        + _per_class_table(res)
    )
    emit(args, payload, text)
    return EXIT_OK


# --------------------------------------------------------------------------- demo

_DEMO_T = (1.0, 5.0, 20.0, 50.0)


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--n-points", type=_int, default=None, metavar="N",
        help="use a random subset of N of the 1797 digits (default: all)",
    )
    parser.add_argument("--seed", type=_seed, default=0, metavar="N",
                        help="random seed (default: 0)")
    add_output_options(parser)


def _run_demo(args: argparse.Namespace) -> int:
    from sklearn.datasets import load_digits

    timings: dict[str, float] = {}
    start = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    if args.n_points is not None:
        if not 20 <= args.n_points <= X.shape[0]:
            raise ValueError(f"--n-points must be in [20, {X.shape[0]}]; got {args.n_points}")
        idx = np.sort(np.random.default_rng(args.seed).choice(X.shape[0], args.n_points,
                                                              replace=False))
        X, y = X[idx], y[idx]
    timings["load"] = time.perf_counter() - start
    # exact mode: the digits are small, and the demo should show reference values
    settings: dict[str, Any] = {"mode": "exact", "kernel": "alpha_decay"}

    start = time.perf_counter()
    res_x = dse(X, _DEMO_T, **settings)
    timings["dse"] = time.perf_counter() - start

    start = time.perf_counter()
    res_xy = dsmi(X, y, _DEMO_T, random_state=args.seed, **settings)
    timings["dsmi"] = time.perf_counter() - start

    payload = {
        "command": "demo",
        "data": "sklearn.datasets.load_digits",
        "n": int(X.shape[0]),
        "d": int(X.shape[1]),
        "n_classes": int(np.unique(y).shape[0]),
        "settings": {**settings, "seed": args.seed},
        "dse": {"t": _as_list(res_x.t), "value": _as_list(res_x.value),
                "stderr": _as_list(res_x.stderr), "unit": unit_name(res_x.base)},
        "dsmi": {"t": _as_list(res_xy.t), "value": _as_list(res_xy.value),
                 "stderr": _as_list(res_xy.stderr), "unit": unit_name(res_xy.base)},
        "timings": timings,
        "version": __version__,
    }
    rows = [
        [t, dv, mv, me, unit_name(res_x.base)]
        for t, dv, mv, me in zip(_as_list(res_x.t), _as_list(res_x.value),
                                 _as_list(res_xy.value), _as_list(res_xy.stderr))
    ]
    text = "\n".join([
        f"fastdse {__version__} demo: scikit-learn digits, {X.shape[0]} images of 8x8 pixels "
        f"(d={X.shape[1]}), {payload['n_classes']} classes",
        "mode='exact', kernel='alpha_decay' (knn=5, decay=40); X = pixels, Y = digit label",
        "",
        format_table(("t", "DSE(X)", "DSMI(X;Y)", "stderr", "unit"), rows),
        "",
        f"DSE is at most log2(n) = {math.log2(X.shape[0]):.3f} bits.",
        "With this adaptive kernel DSMI appears at larger t, once diffusion has mixed",
        "within each digit class but not across classes.",
        "",
        "time: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()),
    ])
    emit(args, payload, text)
    return EXIT_OK


# --------------------------------------------------------------------------- registry

#: subcommand name -> (configure(parser), run(args) -> exit code). Add new commands here.
def _configure_bench(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=_int, nargs="+", default=[2000, 5000, 10000],
                        metavar="N", help="numbers of points (default: 2000 5000 10000)")
    parser.add_argument("--dims", type=_int, nargs="+", default=[128], metavar="D",
                        help="numbers of features (default: 128)")
    parser.add_argument("--modes", nargs="+", default=["exact", "approx"],
                        choices=[m for m in MODES if m != "auto"], metavar="MODE",
                        help="modes to run: exact approx landmark (default: exact approx)")
    parser.add_argument("--t", type=_positive_float, nargs="+", default=[1.0, 2.0, 5.0, 10.0],
                        metavar="T", help="diffusion times (default: 1 2 5 10)")
    parser.add_argument("--data", choices=["blobs", "uniform"], default="blobs",
                        help="float32 Gaussian blobs of unequal size and spread, or uniform "
                             "noise (default: blobs)")
    parser.add_argument("--exact-max-n", type=_int, default=10000, metavar="N",
                        help="run the exact mode only up to N points (default: 10000)")
    parser.add_argument("--timeout", type=_positive_float, default=None, metavar="S",
                        help="give up on a case after S seconds")
    parser.add_argument("--seed", type=_seed, default=0, metavar="N",
                        help="random seed (default: 0)")
    parser.add_argument("--out", default=None, metavar="PREFIX",
                        help="write PREFIX.csv and PREFIX.png (log-log plot; needs matplotlib)")
    add_output_options(parser)


def _run_bench(args: argparse.Namespace) -> int:
    from . import bench

    quiet = getattr(args, "json", False)
    if not quiet:
        print("each case runs in a fresh process: imports, neighbours, compilation included",
              file=sys.stderr)
    cases = bench.run_benchmark(
        args.sizes, args.dims, args.modes, args.t, data=args.data, seed=args.seed,
        exact_max_n=args.exact_max_n, timeout=args.timeout,
        log=None if quiet else (lambda line: print(line, file=sys.stderr)),
    )
    slopes = {}
    for mode in args.modes:
        for d in args.dims:
            ok = sorted((c for c in cases if c.mode == mode and c.d == d and c.status == "ok"),
                        key=lambda c: c.n)
            if len(ok) >= 2:
                slopes[f"{mode}, d={d}"] = bench.fit_slope([c.n for c in ok],
                                                           [c.seconds for c in ok])
    written = []
    if args.out:
        bench.write_csv(cases, args.out + ".csv")
        written.append(args.out + ".csv")
        if bench.plot_results(cases, args.out + ".png"):
            written.append(args.out + ".png")
        else:
            print("fastdse: note: matplotlib is not installed; no plot written", file=sys.stderr)
    text = bench.format_results(cases)
    if slopes:
        text += "\n\ntime ~ n^slope (least squares on log-log): " + ", ".join(
            f"{k}: {v:.2f}" for k, v in slopes.items())
    if written:
        text += "\nwrote " + ", ".join(written)
    from dataclasses import asdict

    emit(args, {"cases": [asdict(c) for c in cases], "slopes": slopes, "written": written},
         text)
    return EXIT_OK if all(c.status == "ok" for c in cases) else EXIT_ERROR


def _configure_plot(parser: argparse.ArgumentParser) -> None:
    from . import _cli_plot  # deferred: _cli_plot imports this module

    _cli_plot.configure(parser)


def _run_plot(args: argparse.Namespace) -> int:
    from . import _cli_plot

    return _cli_plot.run(args)


SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None],
                             Callable[[argparse.Namespace], int]]] = {
    "dse": (_configure_dse, _run_dse),
    "dsmi": (_configure_dsmi, _run_dsmi),
    "demo": (_configure_demo, _run_demo),
    "bench": (_configure_bench, _run_bench),
    "plot": (_configure_plot, _run_plot),
}

_HELP = {
    "dse": "Diffusion Spectral Entropy of a point cloud",
    "dsmi": "Diffusion Spectral Mutual Information between a point cloud and a variable",
    "demo": "DSE and DSMI of scikit-learn's digits (no file needed)",
    "bench": "scaling benchmark over sizes, dimensions and modes (time, memory, accuracy)",
    "plot": "plots to an image file: spectrum, DSE vs t, scaling, training history",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the ``fastdse`` argument parser with every subcommand of :data:`SUBCOMMANDS`."""
    parser = _Parser(
        prog=PROG,
        description="Diffusion Spectral Entropy (DSE) and Mutual Information (DSMI).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (configure, _run) in SUBCOMMANDS.items():
        help_text = _HELP.get(name) or (_run.__doc__ or "").strip().split("\n")[0]
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    run = SUBCOMMANDS[args.command][1]
    try:
        return run(args)
    except (ValueError, TypeError) as exc:
        if args.traceback:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
