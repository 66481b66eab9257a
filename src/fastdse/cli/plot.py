"""The ``fastdse plot`` subcommand: write a plot of a point cloud, a benchmark or a history.

::

    fastdse plot spectrum FILE -o spectrum.png [--kind density] [-t T] [graph options]
    fastdse plot dse-curve FILE -o dse.png [-t 1 2 5 10 ... | --auto] [graph options]
    fastdse plot scaling BENCH.csv -o scaling.png [--y peak_mib] [--by mode d]
    fastdse plot history HISTORY.csv -o history.png [--metrics dse dsmi_y]

Figures are drawn on a :class:`matplotlib.figure.Figure` with an Agg canvas of
its own, so matplotlib's global backend is never switched. The output format
follows the extension of ``-o`` (png, pdf, svg, ...).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from fastdse.cli import options as opts
from fastdse.cli.io import FORMATS, InputError, check_file, load_array, read_table

__all__ = ["configure", "run"]

KINDS = ("spectrum", "dse-curve", "scaling", "history")
_OUTPUT = "-o/--output"


# --------------------------------------------------------------------------- arguments


def _add_common(parser: argparse.ArgumentParser, metavar: str, what: str) -> None:
    parser.add_argument("file", metavar=metavar, help=what)
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="image to write; the format follows the extension (png, pdf, svg)")
    group = parser.add_argument_group("figure")
    group.add_argument("--dpi", type=opts.positive_float, default=120.0, metavar="DPI",
                       help="resolution of raster images (default: 120)")
    group.add_argument("--figsize", type=opts.positive_float, nargs=2, default=None,
                       metavar=("W", "H"), help="figure size in inches (default: matplotlib's)")
    group.add_argument("--title", default=None,
                       help="figure title (default: what the plot is; a line below it "
                            "always says what it shows: file, n, kernel, mode, t)")
    opts.add_output_options(parser)


def _add_points_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", default=None, help="array name inside a .npz file")
    opts.add_header_options(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``plot`` kinds (``spectrum``, ``dse-curve``, ``scaling``, ``history``)."""
    sub = parser.add_subparsers(dest="plot_kind", metavar="KIND", required=True)

    p = sub.add_parser("spectrum", help="eigenvalues or spectral density of the operator",
                       description="Plot the eigenvalues (descending) or the spectral density "
                                   "of the diffusion operator of a point cloud.")
    _add_common(p, "POINTS", f"point cloud, one row per point ({', '.join(FORMATS)})")
    _add_points_input(p)
    p.add_argument("--kind", dest="spectrum_kind", choices=("eigenvalues", "density"),
                   default="eigenvalues",
                   help="eigenvalues need --mode exact; density works for every mode "
                        "(default: eigenvalues)")
    p.add_argument("--bins", type=opts.integer, default=50, metavar="B",
                   help="histogram bins of --kind density (default: 50)")
    opts.add_graph_options(p, t_default=(), t_help="plot |lambda|^T instead of lambda (one value)")

    p = sub.add_parser("dse-curve", help="DSE against the diffusion time t",
                       description="Plot DSE of a point cloud against the diffusion time t "
                                   "(one spectrum for every t).")
    _add_common(p, "POINTS", f"point cloud, one row per point ({', '.join(FORMATS)})")
    _add_points_input(p)
    opts.add_graph_options(
        p, t_default=(), t_help="diffusion times (default: 21 log-spaced integers from 1 to 100)")
    p.add_argument("--auto", action="store_true",
                   help="plot the curve over t = 1..100 and mark the t that "
                        "'fastdse dse -t auto' chooses (its knee)")

    p = sub.add_parser("scaling", help="log-log time or memory against n from a bench CSV",
                       description="Plot the CSV written by 'fastdse bench --out PREFIX' on "
                                   "log-log axes, one line per group.")
    _add_common(p, "CSV", "the CSV written by 'fastdse bench --out PREFIX' (PREFIX.csv)")
    p.add_argument("--x", default="n", metavar="COLUMN", help="horizontal axis (default: n)")
    p.add_argument("--y", default="seconds", metavar="COLUMN",
                   help="vertical axis, e.g. peak_mib (default: seconds)")
    p.add_argument("--by", nargs="+", default=["mode"], metavar="COLUMN",
                   help="columns defining the lines (default: mode)")

    p = sub.add_parser("history", help="DSE / DSMI over training epochs",
                       description="Plot a training history: a CSV with a header row holding "
                                   "'epoch' and metric columns (dse, dsmi_y, ...).")
    _add_common(p, "HISTORY", "CSV file with a header row naming 'epoch' and the metrics")
    p.add_argument("--metrics", nargs="+", default=None, metavar="COLUMN",
                   help="metric columns to plot (default: every column but 'epoch' and "
                        "the '_stderr' ones)")


# --------------------------------------------------------------------------- inputs


def read_history(path: str) -> tuple[dict[str, list[float]], str | None]:
    """Read a history CSV (header row with ``"epoch"``): column -> list of floats, and unit.

    The unit comes from a first line ``# unit: bits`` (:meth:`fastdse.history.History.to_csv`
    writes it); a CSV without one gives None. Empty cells become NaN. Problems with the
    file raise :class:`fastdse.cli.io.InputError` naming the file.
    """
    check_file(path)
    table = read_table(path, ",", comments=True, first_row="the header")
    unit = table.comments.get("unit") or None
    rows = list(zip(table.lines, table.rows))
    header = rows[0][1]
    if "epoch" not in header:
        raise InputError(
            f"{path}: the header row must name an 'epoch' column; got columns: "
            + ", ".join(repr(h) for h in header)
        )
    if len(set(header)) != len(header):
        raise InputError(f"{path}: duplicated column names in the header row")
    if len(rows) < 2:
        raise InputError(f"{path}: the file holds a header row but no data")
    columns: dict[str, list[float]] = {name: [] for name in header}
    for line, row in rows[1:]:
        for name, text in zip(header, row):
            try:
                columns[name].append(float(text) if text else math.nan)
            except ValueError:
                raise InputError(
                    f"{path}: non-numeric value {text!r} on line {line}, column {name!r}"
                ) from None
    return columns, unit


def _check_output(path: str, fig: Any) -> None:
    """Refuse an output path that cannot be written, or whose format matplotlib lacks."""
    opts.check_output_path(path, _OUTPUT)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = fig.canvas.get_supported_filetypes()
    if ext and ext not in formats:
        raise opts.OutputError(
            f"{_OUTPUT}: unknown image format '.{ext}'; use one of: "
            + ", ".join(f".{f}" for f in sorted(formats))
        )


# --------------------------------------------------------------------------- drawing


#: what a drawing function returns: the figure's heading and the line that says what it shows
Caption = tuple[str, str]


def _graph_caption(args: argparse.Namespace, graph: Any) -> str:
    """``points.npy: n = 1,797, kernel alpha_decay, mode exact`` (the modes that ran)."""
    return (f"{os.path.basename(args.file)}: n = {graph.n:,}, kernel {graph.kernel_}, "
            f"mode {graph.mode_}")


def _t_caption(ts: Any) -> str:
    """``t = 1, 2, 5`` (a few values) or ``t = 1 to 100 (25 values)``."""
    values = [float(t) for t in ts]
    if len(values) <= 6:
        return "t = " + ", ".join(f"{t:g}" for t in values)
    return f"t = {min(values):g} to {max(values):g} ({len(values)} values)"


def _draw_spectrum(args: argparse.Namespace, ax: Any) -> Caption:
    from fastdse.graph import DiffusionGraph
    from fastdse.plotting import plot_spectrum

    if args.base is not None:
        raise ValueError("--base applies to 'fastdse plot dse-curve' only")
    if len(args.t) > 1:
        raise ValueError(f"--t takes one value for a spectrum (the power); got {len(args.t)}")
    X = load_array(args.file, key=args.key, header=args.header)
    graph = DiffusionGraph(X, **opts.graph_kwargs(args))
    power = args.t[0] if args.t else None
    plot_spectrum(graph, ax=ax, kind=args.spectrum_kind, t=power, bins=args.bins)
    what = "Eigenvalues" if args.spectrum_kind == "eigenvalues" else "Spectral density"
    caption = _graph_caption(args, graph)
    if power is not None:
        caption += f", |lambda|^t with t = {power:g}"
    return f"{what} of the diffusion operator", caption


def _draw_dse_curve(args: argparse.Namespace, ax: Any) -> Caption:
    from fastdse.graph import DiffusionGraph
    from fastdse.plotting import DEFAULT_T_GRID, plot_dse_curve

    X = load_array(args.file, key=args.key, header=args.header)
    kwargs = opts.graph_kwargs(args)
    base = kwargs.pop("base", None)
    if args.auto and args.t:
        raise ValueError("--auto and --t exclude each other: --auto chooses t itself")
    graph = DiffusionGraph(X, **kwargs)
    caption = _graph_caption(args, graph)
    if args.auto:
        result = graph.dse("auto", base=2.0 if base is None else base)
        plot_dse_curve(result, ax=ax)  # its info holds the whole curve and the knee
        caption += f", t = auto (knee at t = {float(result.t):g})"
    else:
        plot_dse_curve(graph, args.t or None, ax=ax, base=base)
        caption += ", " + _t_caption(args.t or DEFAULT_T_GRID)
    return "DSE against the diffusion time t", caption


def _distinct(rows: list[dict[str, str]], column: str) -> list[str]:
    """Return the values of ``column`` among the rows, numbers first, then names."""
    def key(text: str) -> tuple[int, float, str]:
        try:
            return 0, float(text), ""
        except ValueError:
            return 1, 0.0, text

    return sorted({row[column] for row in rows if row.get(column)}, key=key)


def _scaling_caption(path: str) -> str:
    """``bench.csv: data blobs, d = 128, modes approx, exact`` (the rows plotted: ok)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [row for row in csv.DictReader(fh) if row.get("status") in (None, "", "ok")]
    parts = []
    for column, name in (("data", "data"), ("d", "d ="), ("mode", "mode")):
        values = _distinct(rows, column)
        if values:
            plural = "s" if column == "mode" and len(values) > 1 else ""
            parts.append(f"{name}{plural} {', '.join(values)}")
    return os.path.basename(path) + (": " + "; ".join(parts) if parts else "")


def _draw_scaling(args: argparse.Namespace, ax: Any) -> Caption:
    from fastdse.plotting import plot_scaling

    check_file(args.file)
    try:
        plot_scaling(args.file, ax=ax, x=args.x, y=args.y, by=args.by)
        caption = _scaling_caption(args.file)
    except UnicodeDecodeError as exc:
        raise InputError(f"{args.file}: not a UTF-8 text file ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputError(f"{args.file}: malformed CSV ({exc})") from exc
    return f"fastdse bench: {args.y} against {args.x}", caption


def _draw_history(args: argparse.Namespace, ax: Any) -> Caption:
    from fastdse.plotting import plot_history

    history, unit = read_history(args.file)
    plot_history(history, args.metrics, ax=ax)
    if unit:  # a mapping of columns carries no unit: label the axis here
        label = ax.get_ylabel()
        ax.set_ylabel(f"{label} ({unit})" if label else unit)
    caption = os.path.basename(args.file) + (
        f", values in {unit}" if unit else ", unit not recorded (no '# unit:' line)")
    return "Training history", caption


_DRAW: dict[str, Callable[[argparse.Namespace, Any], Caption]] = {
    "spectrum": _draw_spectrum,
    "dse-curve": _draw_dse_curve,
    "scaling": _draw_scaling,
    "history": _draw_history,
}


def run(args: argparse.Namespace) -> int:
    """Plot a spectrum, a DSE curve, a benchmark CSV or a training history to an image.

    Draws the plot of ``args.plot_kind`` under a heading (``--title``, or
    what the plot is) and a line saying what it shows (the file; n, kernel,
    mode and t of a graph; data, d and modes of a benchmark; the unit of a
    history), writes it to ``args.output`` and returns the exit code.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print(f"{opts.PROG}: error: plotting needs matplotlib: pip install matplotlib",
              file=sys.stderr)
        return opts.EXIT_ERROR
    if args.plot_kind not in _DRAW:
        raise ValueError(
            f"plot kind must be one of {', '.join(KINDS)}; got {args.plot_kind!r}"
        )
    fig = Figure(figsize=args.figsize, layout="constrained")
    FigureCanvasAgg(fig)
    _check_output(args.output, fig)  # before the work: a typo in -o costs nothing
    ax = fig.add_subplot()
    try:
        heading, caption = _DRAW[args.plot_kind](args, ax)
    except ImportError as exc:  # plot_history without fastdse.monitor
        if args.plot_kind != "history" or getattr(args, "traceback", False):
            raise
        print(f"{opts.PROG}: error: {exc}", file=sys.stderr)
        return opts.EXIT_ERROR
    fig.suptitle(args.title or heading)
    ax.set_title(caption, fontsize="small", color="0.25")
    try:
        fig.savefig(args.output, dpi=args.dpi)
    except OSError as exc:  # checked above, yet the disk can fill or the folder go
        raise opts.save_error(_OUTPUT, args.output, exc) from exc
    opts.emit(args, {"command": "plot", "kind": args.plot_kind, "file": args.file,
                "written": [args.output]}, f"wrote {args.output}")
    return opts.EXIT_OK
