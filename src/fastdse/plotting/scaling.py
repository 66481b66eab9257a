"""Benchmark scaling: log-log time (or memory) against ``n`` from a ``fastdse bench`` run."""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fastdse._util.validation import describe
from fastdse.plotting._common import (
    check_ax,
    get_axes,
    legend_if_labelled,
    merge_kws,
    plain_log_ticks,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_scaling", "fit_slope"]

#: axis labels of the bench CSV columns (others are labelled with their name)
_COLUMN_LABELS = {
    "n": "n (points)",
    "d": "d (features)",
    "seconds": "seconds, end to end in a new process",
    "import_seconds": "seconds, start-up and imports",
    "dse_seconds": "seconds, DSE computation",
    "peak_mib": "peak memory (MiB)",
    "data_mib": "data size (MiB)",
}


def _read_rows(source: Any) -> tuple[list[Mapping[str, Any]], list[str]]:
    """Rows (mappings) and column names of a bench CSV path or a sequence of rows."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows: list[Mapping[str, Any]] = list(reader)
            columns = list(reader.fieldnames or [])
        return rows, columns
    if isinstance(source, (bytes, Mapping)) or not isinstance(source, Sequence):
        raise TypeError(
            "source must be the path of a bench CSV file or a sequence of rows (mappings or "
            f"fastdse.cli.bench.Case objects); got {describe(source)}"
        )
    rows = []
    for i, row in enumerate(source):
        if dataclasses.is_dataclass(row) and not isinstance(row, type):
            row = dataclasses.asdict(row)
        if not isinstance(row, Mapping):
            raise TypeError(
                f"source rows must be mappings (column -> value) or bench.Case objects; row "
                f"{i} is {describe(row)}"
            )
        rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return rows, columns


#: the columns of a bench CSV with one value per diffusion time
_PER_T = ("t", "value", "stderr", "error")


def _split(value: Any) -> list[Any] | None:
    """Return the values of a per-t cell: a Case's list, or text joined with spaces."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return None


def _long_form(rows: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Return the rows in long form, one per (case, t).

    ``fastdse bench`` writes its CSV in this form; older bench CSVs (those under
    ``docs/benchmarks/``) put every t of a case in one cell (``"1 2 5"``, the values
    likewise), and :class:`~fastdse.cli.bench.Case` objects hold lists: such rows are
    split here, one per t.
    """
    out: list[Mapping[str, Any]] = []
    for row in rows:
        ts = _split(row.get("t"))
        if ts is None or (isinstance(row.get("t"), str) and len(ts) <= 1):
            out.append(row)  # long form already (or no t at all)
            continue
        for i, t in enumerate(ts):
            new = dict(row, t=t)
            for col in _PER_T[1:]:
                values = _split(row.get(col))
                if values is not None:
                    new[col] = values[i] if i < len(values) else ""
            out.append(new)
    return out


def _case_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    """Return what tells a case from another: every column but the per-t ones."""
    return tuple(f"{k}={row[k]!s}" for k in sorted(row) if k not in _PER_T)


def _number(value: Any, column: str, row: int) -> float:
    if isinstance(value, str) and not value.strip():
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"column {column!r} must hold numbers; row {row + 1} has {describe(value)}"
        ) from None


def _group_sort_key(key: tuple[Any, ...]) -> tuple[tuple[int, float, str], ...]:
    out = []
    for v in key:
        try:
            out.append((0, float(v), ""))
        except (TypeError, ValueError):
            out.append((1, 0.0, str(v)))
    return tuple(out)


def _group_label(columns: Sequence[str], key: tuple[Any, ...]) -> str:
    parts = []
    for col, v in zip(columns, key):
        try:
            float(v)
        except (TypeError, ValueError):
            parts.append(str(v))  # a name (a mode, a data set) speaks for itself
        else:
            parts.append(f"{col}={v}")
    return ", ".join(parts)


def plot_scaling(
    source: Any,
    *,
    ax: Any = None,
    x: str = "n",
    y: str = "seconds",
    by: str | Sequence[str] | None = "mode",
    slope: bool = True,
    plot_kws: Mapping[str, Any] | None = None,
) -> Axes:
    """Log-log scaling plot of a ``fastdse bench`` run, one line per group.

    The ticks of both log axes are labelled in plain numbers (``1,000``,
    ``0.5``), not powers of ten.

    Parameters
    ----------
    source : str, os.PathLike or sequence of rows
        The CSV written by ``fastdse bench --out PREFIX`` (``PREFIX.csv``), or
        its rows: mappings of column name to value, or
        :class:`fastdse.cli.bench.Case` objects. Rows whose ``status`` is not
        ``"ok"`` and rows without a positive finite ``x`` and ``y`` are left
        out. The CSV has one row per (case, t); a case's time and memory
        (``seconds``, ``peak_mib``, ...) are plotted once per case. The
        per-t columns (``value``, ``stderr``, ``error``) need ``"t"`` among
        ``by`` when the run has several t. CSVs of the older form, with all t
        of a case in one cell (``"1 2 5 10"``), are read too.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; None creates a new figure.
    x : str, default "n"
        Column on the horizontal axis.
    y : str, default "seconds"
        Column on the vertical axis (e.g. ``y="peak_mib"``).
    by : str or sequence of str or None, default "mode"
        Column(s) defining the lines, e.g. ``("mode", "d")``; None draws one
        line.
    slope : bool, default True
        Add the least-squares slope of ``log y`` against ``log x``
        (:func:`fit_slope`) to each line's legend label.
    plot_kws : mapping, optional
        Keyword arguments for ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from fastdse.plotting import plot_scaling
    >>> rows = [{"n": n, "mode": "approx", "seconds": 1e-4 * n, "status": "ok"}
    ...         for n in (1000, 10000, 100000)]
    >>> ax = plot_scaling(rows, ax=Figure().add_subplot())
    >>> ax.get_legend().get_texts()[0].get_text()
    'approx (slope 1.00)'
    """
    check_ax(ax)
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a column name (str); got {describe(value)}")
    if by is None:
        by_cols: list[str] = []
    elif isinstance(by, str):
        by_cols = [by]
    elif isinstance(by, Sequence) and all(isinstance(b, str) for b in by):
        by_cols = list(by)
    else:
        raise TypeError(
            f"by must be a column name, a sequence of column names or None; got {describe(by)}"
        )
    if not isinstance(slope, (bool, np.bool_)):
        raise TypeError(f"slope must be True or False; got {describe(slope)}")
    kws = merge_kws(plot_kws, {"marker": "o"})
    rows, columns = _read_rows(source)
    if not rows:
        raise ValueError("source holds no rows (a bench CSV with a header only?)")
    for name, col in [("x", x), ("y", y)] + [("by", b) for b in by_cols]:
        if col not in columns:
            raise ValueError(
                f"{name}={col!r} is not a column of source; columns: "
                + ", ".join(repr(c) for c in columns)
            )
    rows = _long_form(rows)
    per_t = [(name, col) for name, col in (("x", x), ("y", y)) if col in _PER_T]
    if per_t and "t" not in (x, *by_cols) and len({str(r.get("t")) for r in rows}) > 1:
        raise ValueError(
            f"{per_t[0][0]}={per_t[0][1]!r} has one value per diffusion time and the rows "
            "hold several t: add 't' to by to draw one line per t"
        )
    groups: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
    seen: set[tuple[str, ...]] = set()
    for i, row in enumerate(rows):
        status = row.get("status")
        if status not in (None, "", "ok"):
            continue
        if not per_t:  # a per-case column: each case once, not once per t
            key = _case_key(row)
            if key in seen:
                continue
            seen.add(key)
        xv, yv = _number(row.get(x), x, i), _number(row.get(y), y, i)
        if not (math.isfinite(xv) and math.isfinite(yv) and xv > 0 and yv > 0):
            continue
        groups.setdefault(tuple(row.get(b) for b in by_cols), []).append((xv, yv))
    if not groups:
        raise ValueError(
            f"no row of source can be plotted: {len(rows)} row(s), none with status 'ok' and "
            f"positive finite {x!r} and {y!r}"
        )
    ax = get_axes(ax)
    for key in sorted(groups, key=_group_sort_key):
        points = sorted(groups[key])
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        label = _group_label(by_cols, key) if by_cols else y
        if slope and len(set(xs)) >= 2:
            label += f" (slope {fit_slope(xs, ys):.2f})"
        ax.plot(xs, ys, **{"label": label, **kws})
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax)  # 1,000 and 0.5, not 10^3 and 5x10^-1
    ax.set_xlabel(_COLUMN_LABELS.get(x, x))
    ax.set_ylabel(_COLUMN_LABELS.get(y, y))
    ax.grid(True, which="both", alpha=0.3)
    legend_if_labelled(ax)
    return ax


def fit_slope(ns: Sequence[float], seconds: Sequence[float]) -> float:
    """Least-squares slope of log(seconds) against log(n)."""
    x, y = np.log(np.asarray(ns, float)), np.log(np.asarray(seconds, float))
    if x.size < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])
