"""The ``fastdse`` command line.

::

    fastdse dse FILE [-t 1 2 5] [--mode exact] [--kernel gaussian --sigma 10] [--json]
    fastdse dse data.h5ad [--use-rep X_pca | --neighbors-key neighbors [--kernel precomputed]]
    fastdse dsmi Z_FILE Y_FILE [-t 1 10 50] [--n-clusters 10] [--json]
    fastdse dsmi data.h5ad --obs cell_type [--use-rep X_pca | --neighbors-key neighbors]
    fastdse demo [--json]
    fastdse --version

Every subcommand is one entry of :data:`SUBCOMMANDS`, ``name -> (configure,
run)``: ``configure(parser)`` adds the subcommand's arguments to its
``argparse`` parser and ``run(args)`` does the work, prints, and returns the
exit code. Adding a subcommand (``bench``, ``plot``) touches that dict only;
the helpers :func:`add_graph_options`, :func:`add_output_options`,
:func:`graph_kwargs` and :func:`emit` are there to be reused.

User errors (bad files, output paths that cannot be written, invalid
parameters reported by the library as ``ValueError``/``TypeError``, bad
command-line arguments) print one line ``fastdse: error: ...`` on stderr and
exit with a non-zero code (1 for errors in the data, parameters or output
files, 2 for command-line usage). ``--traceback`` shows the full traceback
instead. A closed standard output (``fastdse dse X.npy --json | head -c 100``)
ends the command quietly with exit code 141, as a shell reports a command
stopped by ``SIGPIPE``.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fastdse._version import __version__
from fastdse.api import dse
from fastdse.cli.io import FORMATS, is_h5ad, load_anndata, load_array
from fastdse.cli.options import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Parser,
    UsageError,
    add_anndata_options,
    add_graph_options,
    add_header_options,
    add_output_options,
    anndata_kwargs,
    cli_message,
    emit,
    format_table,
    graph_kwargs,
    integer,
    library_default,
    optional_integer,
    run_settings,
    seed,
)
from fastdse.cluster import Y_KINDS
from fastdse.mutual_information import dsmi
from fastdse.results import unit_name

__all__ = ["main", "SUBCOMMANDS", "build_parser"]


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
                        help=f"point cloud, one row per point ({', '.join(FORMATS)}), or an "
                             "AnnData (.h5ad)")
    parser.add_argument("--key", default=None, help="array name inside a .npz file")
    add_header_options(parser)
    add_anndata_options(parser)
    add_graph_options(parser, allow_auto_t=True)
    add_output_options(parser)


def cli_t(values: Sequence[float | str]) -> Any:
    """Turn ``--t`` values into the library's ``t``: a list of floats, or ``"auto"`` alone."""
    if "auto" in values:
        if len(values) > 1:
            raise ValueError("--t auto cannot be combined with other diffusion times")
        return "auto"
    return list(values)


def _load_points(path: str, args: argparse.Namespace, key: str | None
                 ) -> tuple[Any, dict[str, Any], int | None]:
    """Load a file (an AnnData for .h5ad); return it, its AnnData keywords, its dimension."""
    h5ad = is_h5ad(path)
    extra = anndata_kwargs(args, path, is_anndata=h5ad)
    if not h5ad:
        X = load_array(path, key=key, header=args.header)
        return X, extra, X.shape[1] if X.ndim == 2 else None
    adata = load_anndata(path)
    if "neighbors_key" in extra:
        return adata, extra, None
    rep = extra.get("use_rep")
    data = adata.obsm[rep] if rep not in (None, "X") and rep in adata.obsm else adata.X
    shape: tuple[int, ...] = () if data is None else tuple(np.shape(data))
    return adata, extra, shape[1] if len(shape) == 2 else None


def _run_dse(args: argparse.Namespace) -> int:
    t = cli_t(args.t)
    X, extra, d = _load_points(args.file, args, args.key)
    kwargs = graph_kwargs(args)
    start = time.perf_counter()
    res = dse(X, t, **kwargs, **extra)
    elapsed = time.perf_counter() - start
    payload = {
        "command": "dse",
        "file": args.file,
        **run_settings({**kwargs, **extra}, mode=res.mode, n=res.n, d=d, t=res.t,
                       info=res.info, base=res.base),
        "t_auto": t == "auto",
        "value": _as_list(res.value),
        "stderr": _as_list(res.stderr),
        "time_s": elapsed,
        "timings": res.info.get("timings", {}),
        "settings": _settings(res.info),
    }
    text = f"DSE of {args.file} ({res.n} points, d={payload['d']})\n" + format_table(
        _RESULT_HEADER, _dse_rows(res, elapsed)
    )
    emit(args, payload, text)
    return EXIT_OK


# --------------------------------------------------------------------------- dsmi


def _configure_dsmi(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("z_file", metavar="Z_FILE",
                        help="point cloud Z, one row per point, or an AnnData (.h5ad)")
    parser.add_argument("y_file", metavar="Y_FILE", nargs="?", default=None,
                        help="variable Y: labels (numbers or one column of strings) or a "
                             "continuous variable, one row per point (or --obs COLUMN)")
    parser.add_argument("--z-key", default=None, help="array name inside a .npz Z_FILE")
    parser.add_argument("--y-key", default=None, help="array name inside a .npz Y_FILE")
    add_header_options(parser)
    add_anndata_options(parser, obs=True)
    add_graph_options(parser, allow_auto_t=True, library=dsmi,
                      t_help="diffusion time(s), one set of evaluations for all; 'auto': the "
                             "knee of DSE(Z) over t, chosen once on Z (default: 1)")
    group = parser.add_argument_group("mutual information")
    group.add_argument("--n-clusters", type=integer, default=None, metavar="C",
                       help="bins/clusters for a continuous Y (default: "
                            f"{library_default(dsmi, 'n_clusters')})")
    group.add_argument("--num-repetitions", type=integer, default=None, metavar="R",
                       help="random subsets per class for the unconditional term (default: "
                            f"{library_default(dsmi, 'num_repetitions')})")
    group.add_argument("--max-points", type=optional_integer, default=None, metavar="M",
                       help="above M points, DSMI is the mean over class-stratified "
                            "subsamples of M points ('none': all points; default: "
                            f"{library_default(dsmi, 'max_points')})")
    group.add_argument("--n-subsamples", type=integer, default=None, metavar="S",
                       help="subsamples above --max-points (default: "
                            f"{library_default(dsmi, 'n_subsamples')})")
    group.add_argument("--y-kind", choices=Y_KINDS, default=None,
                       help="how to read Y (default: auto: one column of integers or strings "
                            "is discrete, floats are binned, several columns are clustered)")
    group.add_argument("--n-jobs", type=integer, default=None, metavar="N",
                       help="DSE evaluations run at a time, each on one core (-1: all cores; "
                            "default: one at a time, each on all cores)")
    group.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                       help="no progress bar (default: shown when stderr is a terminal)")
    add_output_options(parser)


def _dsmi_payload(res: Any, elapsed: float) -> dict[str, Any]:
    return {
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


def _load_y(args: argparse.Namespace) -> Any:
    """Return Y from Y_FILE, or the name of a column of ``adata.obs`` (``--obs``)."""
    if (args.y_file is None) == (args.obs is None):
        raise ValueError("dsmi takes Y from one place: Y_FILE, or --obs COLUMN (.h5ad Z_FILE)"
                         if args.y_file is None else
                         "pass Y_FILE or --obs COLUMN, not both")
    if args.obs is not None:
        return args.obs
    return load_array(args.y_file, key=args.y_key, header=args.header, labels=True)


def _run_dsmi(args: argparse.Namespace) -> int:
    Z, extra, d = _load_points(args.z_file, args, args.z_key)
    Y = _load_y(args)
    kwargs = graph_kwargs(args)
    for name in ("n_clusters", "num_repetitions", "n_subsamples", "y_kind", "n_jobs",
                 "progress"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    if args.max_points is not None:
        kwargs["max_points"] = None if args.max_points == "none" else args.max_points
    start = time.perf_counter()
    res = dsmi(Z, Y, cli_t(args.t), **kwargs, **extra)
    elapsed = time.perf_counter() - start
    y_name = args.y_file if args.obs is None else f"obs[{args.obs!r}]"
    payload = {"command": "dsmi", "z_file": args.z_file, "y_file": args.y_file,
               **({"obs": args.obs} if args.obs is not None else {}),
               **run_settings({**kwargs, **extra}, mode=res.mode, n=res.n, d=d, t=res.t,
                              info=res.info, base=res.base),
               **_dsmi_payload(res, elapsed)}
    text = (
        f"DSMI of {args.z_file} and {y_name} ({res.n} points, "
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
        "--n-points", type=integer, default=None, metavar="N",
        help="use a random subset of N of the 1797 digits (default: all)",
    )
    parser.add_argument("--seed", type=seed, default=0, metavar="N",
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
    settings: dict[str, Any] = {"mode": "exact"}

    start = time.perf_counter()
    res_x = dse(X, _DEMO_T, **settings)
    timings["dse"] = time.perf_counter() - start

    start = time.perf_counter()
    res_xy = dsmi(X, y, random_state=args.seed, **settings)
    shuffled = np.random.default_rng(args.seed).permutation(y)
    res_null = dsmi(X, shuffled, random_state=args.seed, **settings)
    timings["dsmi"] = time.perf_counter() - start

    def _dsmi_json(res: Any) -> dict[str, Any]:
        return {"t": res.t, "value": res.value, "stderr": res.stderr,
                "null_stderr": res.info["null_stderr"], "kernel": res.info["kernel"],
                "sigma": res.info["sigma"], "unit": unit_name(res.base)}

    payload = {
        "command": "demo",
        "data": "sklearn.datasets.load_digits",
        **run_settings({**settings, "random_state": args.seed}, mode=res_x.mode,
                       n=X.shape[0], d=X.shape[1], t=res_x.t, info=res_x.info,
                       base=res_x.base),
        "n_classes": int(np.unique(y).shape[0]),
        "settings": {**settings, "seed": args.seed},
        "dse": {"t": _as_list(res_x.t), "value": _as_list(res_x.value),
                "stderr": _as_list(res_x.stderr), "unit": unit_name(res_x.base)},
        "dsmi": _dsmi_json(res_xy),
        "dsmi_shuffled": _dsmi_json(res_null),
        "timings": timings,
    }
    unit = unit_name(res_x.base)
    h_y = float(-np.sum((c := np.bincount(y) / y.shape[0]) * np.log2(c)))
    text = "\n".join([
        f"fastdse {__version__} demo: scikit-learn digits, {X.shape[0]} images of 8x8 pixels "
        f"(d={X.shape[1]}), {payload['n_classes']} classes; X = pixels, Y = digit label",
        "",
        f"DSMI(X; Y) = {res_xy.value:.3f} +/- {res_xy.stderr:.3f} {unit}  (t=1; labels "
        f"shuffled: {res_null.value:+.3f}, null spread {res_null.info['null_stderr']:.3f})",
        f"  Gaussian kernel, sigma = {res_xy.info['sigma']:.2f} (the median distance to the "
        "30th nearest neighbour,",
        f"  measured once on X). For scale: the labels' own entropy H(Y) is {h_y:.3f} {unit}.",
        "",
        "DSE(X), the diffusion operator's spectral entropy (alpha-decay kernel, knn=5):",
        format_table(("t", "DSE(X)", "stderr", "unit"),
                     [[t, v, e, unit] for t, v, e in zip(_as_list(res_x.t),
                                                         _as_list(res_x.value),
                                                         _as_list(res_x.stderr))]),
        f"DSE is at most log2(n) = {math.log2(X.shape[0]):.3f} {unit} and falls with t.",
        "",
        "time: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()),
    ])
    emit(args, payload, text)
    return EXIT_OK


# --------------------------------------------------------------------------- registry

def _configure_bench(parser: argparse.ArgumentParser) -> None:
    from fastdse.cli import bench

    bench.configure(parser)


def _run_bench(args: argparse.Namespace) -> int:
    from fastdse.cli import bench

    return bench.run(args)


def _configure_plot(parser: argparse.ArgumentParser) -> None:
    from fastdse.cli import plot as _cli_plot

    _cli_plot.configure(parser)


def _run_plot(args: argparse.Namespace) -> int:
    from fastdse.cli import plot as _cli_plot

    return _cli_plot.run(args)


#: subcommand name -> (configure(parser), run(args) -> exit code). Add new commands here.
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
    parser = Parser(
        prog=PROG,
        description="Diffusion Spectral Entropy (DSE) and Mutual Information (DSMI).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is met below
    except BrokenPipeError:
        # the reader of stdout went away (``fastdse ... | head``): end quietly, and point
        # stdout at devnull so that the interpreter's last flush does not fail again
        with contextlib.suppress(OSError, ValueError):  # ValueError: stdout not a file
            fd = sys.stdout.fileno()
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        return EXIT_BROKEN_PIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
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
        message = cli_message(" ".join(str(exc).split()), args.command) or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
