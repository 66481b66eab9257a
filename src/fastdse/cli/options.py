"""Options, argument types and output helpers shared by the ``fastdse`` subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from fastdse._version import __version__
from fastdse.api import dse
from fastdse.graph import MODES
from fastdse.operator.bandwidth import SIGMA_RULES
from fastdse.operator.kernel import DEFAULT_SIGMA, KERNELS
from fastdse.results import unit_name
from fastdse.settings import SPARSE_MODES, Settings

PROG = "fastdse"

#: exit codes; 141 (128 + SIGPIPE) is what a shell reports for a command whose reader went away
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_BROKEN_PIPE = 0, 1, 2, 141


class UsageError(Exception):
    """A command-line usage error (raised instead of argparse's print-and-exit)."""


class OutputError(ValueError):
    """An output file that cannot be written; the message names the option and the fix."""


class HelpFormatter(argparse.HelpFormatter):
    """Name an option's value once: ``-t, --t T [T ...]``, as Python 3.13 does."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        metavar = self._format_args(action, self._get_default_metavar_for_optional(action))
        return f"{', '.join(action.option_strings)} {metavar}"


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors become one line on stderr, not usage + message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:
        """Raise :class:`UsageError` instead of printing usage and exiting."""
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- argument types


def positive_float(text: str) -> float:
    """Parse a positive finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number; got {text!r}")
    return value


def t_value(text: str) -> float | str:
    """Parse a diffusion time, or ``auto`` (the knee of the DSE-vs-t curve)."""
    if text.strip().lower() == "auto":
        return "auto"
    return positive_float(text)


def sigma_value(text: str) -> float | str:
    """Parse a Gaussian bandwidth: a number, or a rule's name (``knn``)."""
    if text.strip().lower() in SIGMA_RULES:
        return text.strip().lower()
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a number or one of {', '.join(SIGMA_RULES)}: {text!r}") from None


def number(text: str) -> float:
    """Parse a number."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def integer(text: str) -> int:
    """Parse an integer."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def optional_integer(text: str) -> int | str:
    """Parse an integer, or ``none``."""
    if text.strip().lower() == "none":
        return "none"
    return integer(text)


def log_base(text: str) -> float:
    """Parse a logarithm base: a number or ``e``."""
    if text.strip().lower() == "e":
        return math.e
    return number(text)


def seed(text: str) -> int:
    """Parse a non-negative integer seed."""
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}")
    return value


# --------------------------------------------------------------------------- shared options


def library_default(func: Callable[..., Any], name: str) -> Any:
    """Return the default of parameter ``name`` of the library function ``func``."""
    return inspect.signature(func).parameters[name].default


#: graph options: (flag, keyword of fastdse.dse/dsmi, argparse keywords)
_GRAPH_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--mode", "mode", {"choices": MODES, "help": "spectral estimator"}),
    ("--kernel", "kernel", {"choices": (*KERNELS, "precomputed"),
                            "help": "affinity kernel (precomputed: FILE is the affinity "
                                    "matrix, or with --neighbors-key the stored "
                                    "connectivities)"}),
    ("--knn", "knn", {"type": integer, "metavar": "K", "help": "alpha-decay bandwidth neighbour"}),
    ("--decay", "decay", {"type": number, "metavar": "A", "help": "alpha-decay exponent"}),
    ("--sigma", "sigma", {"type": sigma_value, "metavar": "S",
                          "help": "Gaussian bandwidth: a number, or 'knn' (the median "
                                  "distance to the 30th nearest neighbour)"}),
    ("--thresh", "thresh", {"type": number, "metavar": "THRESH",
                            "help": "drop affinities below THRESH (default: 1e-4; 0 keeps "
                                    "every pair, in exact mode only)"}),
    ("--anisotropy", "anisotropy", {"type": number, "metavar": "ANISO",
                                    "help": "density normalisation in [0, 1]"}),
)


def add_graph_options(parser: argparse.ArgumentParser, *, t_default: Sequence[float] = (1.0,),
                      allow_auto_t: bool = False, t_help: str | None = None,
                      library: Callable[..., Any] = dse) -> None:
    """Add ``-t/--t``, the diffusion-graph options, ``--base`` and ``--seed``.

    Options left out on the command line are not passed to the library, so the
    library's defaults apply (those of ``library``, shown in ``--help``). With
    ``allow_auto_t``, ``--t auto`` selects the knee of the DSE-vs-t curve; ``t_help``
    replaces the help text of ``--t``.
    """
    group = parser.add_argument_group("diffusion operator")
    auto_help = "; 'auto': the knee of the DSE-vs-t curve" if allow_auto_t else ""
    group.add_argument(
        "-t", "--t", nargs="+", type=t_value if allow_auto_t else positive_float,
        default=list(t_default), metavar="T",
        help=t_help or f"diffusion time(s), one spectrum for all{auto_help} (default: "
                       f"{' '.join(f'{t:g}' for t in t_default)})",
    )
    for flag, name, spec in _GRAPH_OPTIONS:
        kw = dict(spec)
        help_text = kw.pop("help", "")
        default = library_default(library, name)
        if default is None and name == "sigma":
            default = f"{DEFAULT_SIGMA:g}"  # the reference's bandwidth, what None resolves to
        if default is not None:
            help_text += f" (default: {default})"
        group.add_argument(flag, dest=name, default=None, help=help_text, **kw)
    group.add_argument(
        "--base", type=log_base, default=None, metavar="B",
        help="logarithm base: 2 gives bits, 'e' nats (default: 2)",
    )
    group.add_argument(
        "--seed", type=seed, default=None, metavar="N",
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


def run_settings(kwargs: Mapping[str, Any], *, mode: str, n: int, d: int | None, t: Any,
                 info: Mapping[str, Any] | None = None, base: float = 2.0) -> dict[str, Any]:
    """Return the settings that produced a result, as every JSON payload carries them.

    Parameters
    ----------
    kwargs : mapping
        The keywords the command passed to :func:`fastdse.dse` / :func:`fastdse.dsmi`
        (those left out take the library's defaults).
    mode : str
        The mode that ran (the result's ``mode``; DSMI's may be ``"mixed"``).
    n, d : int
        Points and features of the input.
    t : float or sequence of float
        The diffusion times of the result.
    info : mapping, optional
        The result's ``info``: where it names a setting (a DSE result's kernel, knn,
        sigma, thresh, ...), that value is reported. Otherwise the value comes from the
        library's own rule (:meth:`fastdse.settings.Settings.resolve`) for the mode
        that ran.
    base : float
        Logarithm base of the result.

    Returns
    -------
    dict
        ``kernel``, then ``knn`` and ``decay`` (alpha-decay) or ``sigma`` (Gaussian),
        ``thresh``, ``anisotropy``, ``mode_requested``, ``mode``, ``t`` (a list),
        ``seed`` (None when none was given), ``n``, ``d``, ``base``, ``unit`` and
        ``version`` (of fastdse).
    """
    info = info or {}
    arguments = {f.name: library_default(dse, f.name) for f in dataclasses.fields(Settings)}
    arguments.update({k: v for k, v in kwargs.items() if k in arguments})
    arguments["progress"] = False  # not reported; spares the check of a terminal
    settings = Settings.from_arguments(arguments)
    resolved = (settings.replace(mode=mode).resolve(n, precomputed=False, dense_affinity=False)
                if mode in MODES else None)
    kernel = info.get("kernel", settings.kernel)
    out: dict[str, Any] = {"kernel": kernel}
    if kernel == "alpha_decay":
        out["knn"] = info.get("knn", settings.knn)
        out["decay"] = info.get("decay", settings.decay)
    elif kernel == "gaussian":
        out["sigma"] = info.get("sigma", resolved.sigma if resolved else settings.sigma)
    operator = info.get("operator")
    if isinstance(operator, Mapping) and "thresh" in operator:
        thresh = operator["thresh"]  # the sparse kernel's, which info["thresh"] is not
    elif "thresh" in info:
        thresh = info["thresh"]
    elif resolved is not None:
        thresh = resolved.sparse_thresh if mode in SPARSE_MODES else resolved.thresh
    else:
        thresh = settings.thresh
    out.update(
        thresh=thresh,
        anisotropy=info.get("anisotropy", settings.anisotropy),
        mode_requested=settings.mode,
        mode=mode,
        t=[float(v) for v in np.atleast_1d(t)],
        seed=kwargs.get("random_state"),
        n=int(n),
        d=None if d is None else int(d),
        base=float(base),
        unit=unit_name(base),
        version=__version__,
    )
    return out


def add_anndata_options(parser: argparse.ArgumentParser, *, obs: bool = False) -> None:
    """Add ``--use-rep``, ``--neighbors-key`` (and with ``obs``, ``--obs``) for ``.h5ad`` input."""
    group = parser.add_argument_group("AnnData (.h5ad) input")
    group.add_argument("--use-rep", default=None, metavar="KEY",
                       help="points from adata.obsm[KEY], e.g. X_pca (default: adata.X)")
    group.add_argument("--neighbors-key", default=None, metavar="KEY",
                       help="the neighbour graph scanpy stored under adata.uns[KEY] (e.g. "
                            "neighbors): --kernel (default alpha_decay) built on its k-NN "
                            "distances, or with --kernel precomputed its connectivities")
    if obs:
        group.add_argument("--obs", default=None, metavar="COLUMN",
                           help="Y from adata.obs[COLUMN] (instead of Y_FILE)")


def anndata_kwargs(args: argparse.Namespace, path: str, *, is_anndata: bool
                   ) -> dict[str, Any]:
    """``use_rep`` / ``neighbors_key`` set on the command line.

    ``--kernel`` decides what ``--neighbors-key`` reads, as ``kernel`` does in the
    library: the stored k-NN distances for the alpha-decay (default) or Gaussian
    kernel, the stored connectivities for ``precomputed``.
    """
    given = {name: getattr(args, name, None) for name in ("use_rep", "neighbors_key", "obs")}
    given = {name: value for name, value in given.items() if value is not None}
    if given and not is_anndata:
        flag = "--" + next(iter(given)).replace("_", "-")
        raise ValueError(f"{flag} applies to .h5ad input only; {path} is not an .h5ad file")
    given.pop("obs", None)
    return given


def add_header_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--header`` / ``--no-header`` for text input files."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--header", dest="header", action="store_true", default=None,
                       help="text files: the first row is a header (default: detect)")
    group.add_argument("--no-header", dest="header", action="store_false",
                       help="text files: the first row is data")


# --------------------------------------------------------------------------- output


def check_output_path(path: str, option: str) -> None:
    """Raise :class:`OutputError` unless a file can be written at ``path``.

    Called before any work starts, so that a typo in an output path costs
    nothing: the folder must exist, be a folder and be writable, and ``path``
    itself must not be a folder. ``option`` (``"-o/--output"``) starts the
    message.
    """
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise OutputError(f"{option}: {path} is a folder, not a file; choose another name")
    if not os.path.isdir(folder):
        # the nearest existing ancestor tells a missing folder from a file in the way
        ancestor = folder
        while not os.path.exists(ancestor):
            ancestor = os.path.dirname(ancestor)
        if not os.path.isdir(ancestor):
            raise OutputError(f"{option}: {ancestor} is a file, not a folder; "
                              "choose a path inside a folder")
        raise OutputError(f"{option}: the folder {folder} does not exist; "
                          "create it first or choose an existing folder")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{option}: the folder {folder} is not writable; "
                          "choose a folder you can write to")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise OutputError(f"{option}: {path} exists and is not writable; "
                          "choose another file name")


def save_error(option: str, path: str, exc: OSError) -> OutputError:
    """Turn an ``OSError`` met while writing ``path`` into a one-line :class:`OutputError`."""
    return OutputError(f"{option}: cannot write {path} ({exc.strerror or exc})")


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


# --------------------------------------------------------------------------- error messages

#: keyword of the library -> option of the command line, for the library's error messages
CLI_OPTIONS: dict[str, str] = {
    "mode": "--mode", "kernel": "--kernel", "knn": "--knn", "decay": "--decay",
    "sigma": "--sigma", "thresh": "--thresh", "anisotropy": "--anisotropy", "t": "--t",
    "base": "--base", "n_clusters": "--n-clusters", "num_repetitions": "--num-repetitions",
    "n_jobs": "--n-jobs", "random_state": "--seed",
}

#: keywords that are options of one command only (``kind`` differs between them)
_COMMAND_OPTIONS: dict[str, dict[str, str]] = {
    "dsmi": {"kind": "--y-kind"},
    "plot": {"kind": "--kind", "x": "--x", "y": "--y", "by": "--by"},
}

#: advice given in Python, and what the command line says instead
_PHRASES = (
    ("Reshape 1-D data with X.reshape(-1, 1).",
     "Save one value per point as one column, shape (n, 1), or as a .csv file with one "
     "value per line."),
    ("plot_spectrum(kind='eigenvalues')", "--kind eigenvalues"),
    ("Build the graph with mode='exact'", "Use --mode exact"),
    ("add 't' to by", "add t to --by"),
)


def cli_message(message: str, command: str | None = None) -> str:
    """Say a library error message in terms of the command line.

    ``kind='density'`` becomes ``--kind density``, ``knn must be ...`` becomes
    ``--knn must be ...``, ``n_clusters`` becomes ``--n-clusters``, and advice written as
    Python (``X.reshape(-1, 1)``) is replaced: :data:`CLI_OPTIONS`, ``_COMMAND_OPTIONS``
    and ``_PHRASES`` hold the mapping. ``command`` (``"dsmi"``, ``"plot"``) decides what
    ``kind`` is. The
    library's own messages are left as they are; only the command line translates them.

    Examples
    --------
    >>> cli_message("use mode='exact' for thresh=0, or e.g. thresh=1e-4; got 0.0")
    'use --mode exact for --thresh 0, or e.g. --thresh 1e-4; got 0.0'
    >>> cli_message("discrete Y must have one column. Pass kind='continuous'", "dsmi")
    'discrete Y must have one column. Pass --y-kind continuous'
    """
    options = {**CLI_OPTIONS, **_COMMAND_OPTIONS.get(command or "", {})}
    for python, cli in _PHRASES:
        message = message.replace(python, cli)
    names = "|".join(sorted(map(re.escape, options), key=len, reverse=True))
    message = re.sub(
        rf"(?<![\w.-])({names})=(?:'([^']*)'|\"([^\"]*)\"|([^\s,;:)]+))",
        lambda m: f"{options[m.group(1)]} {next(g for g in m.groups()[1:] if g is not None)}",
        message,
    )
    message = re.sub(rf"(?<![\w.=-])({names})(?= must\b)", lambda m: options[m.group(1)],
                     message)
    return re.sub(r"(?<![\w.-])(\w+_\w+)(?![\w=(])",
                  lambda m: options.get(m.group(1), m.group(1)), message)
