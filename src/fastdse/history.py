"""The record a training monitor keeps: one row of DSE / DSMI values per epoch.

:class:`History` holds the records (``{"epoch": e, "dse": ..., "dse_stderr": ...}``),
gives them as columns (a dict, JSON text or a pandas DataFrame) and reads and writes
them as CSV. It is a plain object:
:class:`fastdse.monitor.TrainingMonitor` appends one record per epoch, and
:func:`fastdse.monitor.plot_history` draws a history (with the code at the end of
this module). ``History`` is also importable from :mod:`fastdse.monitor` and
:mod:`fastdse`.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from fastdse._util.validation import describe
from fastdse.results import dumps, pandas

__all__ = ["History", "METRICS", "read_csv_comments"]

#: The metrics a :class:`~fastdse.monitor.TrainingMonitor` can record, in the order of its
#: columns.
METRICS = ("dse", "dsmi_y", "dsmi_x")

#: How :func:`~fastdse.monitor.plot_history` labels the metrics it knows.
LABELS = {"dse": "DSE(Z)", "dsmi_y": "DSMI(Z; Y)", "dsmi_x": "DSMI(Z; X)"}

_STDERR = "_stderr"

#: How a history CSV records its unit: a first line ``# unit: bits``, before the header.
_UNIT_KEY = "unit"


def _check_epoch(epoch: Any) -> int | float:
    if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, numbers.Real):
        raise TypeError(f"epoch must be a number (int or float); got {describe(epoch)}")
    if isinstance(epoch, numbers.Integral):
        return int(epoch)
    value = float(epoch)
    if not math.isfinite(value):
        raise ValueError(f"epoch must be finite; got {value}")
    return value


def _parse_epoch(text: str) -> int | float:
    """Read an epoch from CSV: an int when written as one, else a float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_csv_comments(lines: Sequence[str]) -> tuple[dict[str, str], int]:
    r"""Return the leading ``# key: value`` lines of a history CSV and how many there are.

    :meth:`History.to_csv` writes ``# unit: bits`` before the header row; a CSV
    without such lines (written before the unit was stored) gives ``({}, 0)``. A
    comment line without a colon is skipped.

    Examples
    --------
    >>> from fastdse.history import read_csv_comments
    >>> read_csv_comments(["# unit: bits\n", "epoch,dse\n", "0,1.5\n"])
    ({'unit': 'bits'}, 1)
    """
    comments: dict[str, str] = {}
    count = 0
    for line in lines:
        text = line.lstrip("\ufeff").strip()
        if not text.startswith("#"):
            break
        key, colon, value = text[1:].partition(":")
        if colon:
            comments[key.strip()] = value.strip()
        count += 1
    return comments, count


def _check_unit(unit: Any) -> str | None:
    if unit is None:
        return None
    if not isinstance(unit, str):
        raise TypeError(f"unit must be a string (e.g. 'bits') or None; got {describe(unit)}")
    if "\n" in unit or "\r" in unit:
        raise ValueError(f"unit must be one line of text; got {unit!r}")
    return unit.strip() or None


# --------------------------------------------------------------------------- History


class History:
    """Per-epoch values of DSE / DSMI metrics: a list of records with column views.

    Parameters
    ----------
    metrics : sequence of str, default ``("dse", "dsmi_y", "dsmi_x")``
        Metric names. Each metric ``m`` has the columns ``m`` and ``m + "_stderr"``.
    records : sequence of mapping, optional
        Initial records, each as accepted by :meth:`append`.
    unit : str, optional
        Unit of the values (``"bits"``, ``"nats"``), used by
        :func:`~fastdse.monitor.plot_history` to label the y axis. :meth:`to_csv` writes
        it as a first line ``# unit: bits`` and :meth:`from_csv` reads it back.

    Attributes
    ----------
    metrics : tuple of str
    records : list of dict
        One dict per epoch: ``{"epoch": e, m: value, m + "_stderr": stderr, ...}``.
    unit : str or None

    Examples
    --------
    >>> from fastdse.monitor import History
    >>> h = History(["dse"])
    >>> h.append({"epoch": 0, "dse": 5.0, "dse_stderr": 0.0})
    >>> h.append({"epoch": 1, "dse": 5.5, "dse_stderr": 0.0})
    >>> len(h), h.columns
    (2, ['epoch', 'dse', 'dse_stderr'])
    >>> h["dse"]
    array([5. , 5.5])
    >>> h.to_dict()["epoch"]
    [0, 1]
    """

    def __init__(
        self,
        metrics: Sequence[str] = METRICS,
        records: Sequence[Mapping[str, Any]] | None = None,
        *,
        unit: str | None = None,
    ) -> None:
        if isinstance(metrics, str):
            metrics = (metrics,)
        names = tuple(metrics)
        for name in names:
            if not isinstance(name, str) or not name or name == "epoch" or name.endswith(_STDERR):
                raise ValueError(
                    "metrics must be non-empty names other than 'epoch' and not ending in "
                    f"'{_STDERR}'; got {name!r}"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"metrics must be distinct; got {list(names)}")
        self.metrics: tuple[str, ...] = names
        self.unit = _check_unit(unit)
        self.records: list[dict[str, Any]] = []
        for record in records or ():
            self.append(record)

    @property
    def columns(self) -> list[str]:
        """Column names: ``"epoch"``, then each metric and its ``"_stderr"``."""
        cols = ["epoch"]
        for name in self.metrics:
            cols += [name, name + _STDERR]
        return cols

    def append(self, record: Mapping[str, Any]) -> None:
        """Add one epoch's record.

        Parameters
        ----------
        record : mapping
            ``"epoch"`` (a number) and every metric's value; a missing
            ``"<metric>_stderr"`` is stored as NaN. Other keys are an error.
        """
        if not isinstance(record, Mapping):
            raise TypeError(f"record must be a mapping (dict); got {describe(record)}")
        extra = sorted(set(record) - set(self.columns), key=str)
        if extra:
            raise ValueError(f"record has unknown column(s) {extra}; columns are {self.columns}")
        missing = [c for c in ["epoch", *self.metrics] if c not in record]
        if missing:
            raise ValueError(f"record is missing column(s) {missing}; columns are {self.columns}")
        row: dict[str, Any] = {"epoch": _check_epoch(record["epoch"])}
        for name in self.metrics:
            row[name] = float(record[name])
            row[name + _STDERR] = float(record.get(name + _STDERR, math.nan))
        self.records.append(row)

    def to_dict(self) -> dict[str, list]:
        """Columns as lists: ``{"epoch": [...], "dse": [...], "dse_stderr": [...], ...}``.

        The values are plain Python numbers (epochs ``int`` or ``float``, metrics
        ``float``; a missing standard error is NaN), ready for :mod:`json`. :attr:`unit`
        is left out (it is not a column).
        """
        return {col: [rec[col] for rec in self.records] for col in self.columns}

    def to_json(self, **json_kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text; ``json.loads`` gives back the same numbers.

        Floats are written with ``repr``, which reads back to the same float; NaN (a
        missing standard error) is written as ``null``, which JSON has instead.
        ``json_kwargs`` go to :func:`json.dumps` (``indent=2``, ...).

        Examples
        --------
        >>> import json
        >>> from fastdse.monitor import History
        >>> h = History(["dse"], [{"epoch": 0, "dse": 1 / 3}])
        >>> h.to_json()
        '{"epoch": [0], "dse": [0.3333333333333333], "dse_stderr": [null]}'
        >>> json.loads(h.to_json())["dse"] == h.to_dict()["dse"]
        True
        """
        return dumps(self.to_dict(), **json_kwargs)

    def to_frame(self) -> Any:
        """Return a pandas DataFrame with one row per epoch and the columns :attr:`columns`.

        Returns
        -------
        pandas.DataFrame
            ``len(history)`` rows; ``epoch``, then each metric and its ``_stderr``
            (NaN where missing). :attr:`unit` is left out.

        Raises
        ------
        ImportError
            pandas is not installed (``pip install pandas``).
        """
        pd = pandas()
        return pd.DataFrame(self.to_dict(), columns=self.columns)

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the history as CSV: a header row (:attr:`columns`), then one row per epoch.

        A known :attr:`unit` comes first, as a comment line ``# unit: bits``
        (``pandas.read_csv(path, comment="#")`` skips it). Floats are written with
        ``repr``, so :meth:`from_csv` reads back the same numbers and unit.
        """
        with open(path, "w", newline="", encoding="utf-8") as fh:
            if self.unit is not None:
                fh.write(f"# {_UNIT_KEY}: {self.unit}\r\n")  # csv.writer ends rows with \r\n
            writer = csv.writer(fh)
            writer.writerow(self.columns)
            for rec in self.records:
                writer.writerow([repr(rec[col]) for col in self.columns])

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], *, unit: str | None = None) -> History:
        """Read a history written by :meth:`to_csv`.

        The first column must be ``epoch``; every other column not ending in
        ``_stderr`` is a metric (its ``_stderr`` column may be absent: NaN).
        The unit is read from a first line ``# unit: bits``; ``unit`` given here
        takes its place. CSVs without that line (written before it was stored)
        are read too, with the unit None unless given.

        Examples
        --------
        >>> import os, tempfile
        >>> from fastdse.history import History
        >>> path = os.path.join(tempfile.mkdtemp(), "history.csv")
        >>> History(["dse"], [{"epoch": 0, "dse": 5.0}], unit="bits").to_csv(path)
        >>> with open(path) as fh:
        ...     fh.read().splitlines()
        ['# unit: bits', 'epoch,dse,dse_stderr', '0,5.0,nan']
        >>> History.from_csv(path).unit
        'bits'
        """
        unit = _check_unit(unit)
        with open(path, newline="", encoding="utf-8") as fh:
            lines = fh.readlines()
        comments, skip = read_csv_comments(lines)
        if unit is None:
            unit = _check_unit(comments.get(_UNIT_KEY))
        rows = [(i, row) for i, row in enumerate(csv.reader(lines[skip:]), start=skip + 1)
                if row]
        if not rows or rows[0][1][0].strip() != "epoch":
            raise ValueError(
                f"{os.fspath(path)!r} is not a history CSV: its header must start with 'epoch'"
            )
        header = [h.strip() for h in rows[0][1]]
        metrics = [h for h in header[1:] if not h.endswith(_STDERR)]
        for h in header[1:]:
            if h.endswith(_STDERR) and h[: -len(_STDERR)] not in metrics:
                raise ValueError(f"column {h!r} of {os.fspath(path)!r} has no metric column")
        history = cls(metrics, unit=unit)
        for line, row in rows[1:]:
            if len(row) != len(header):
                raise ValueError(
                    f"line {line} of {os.fspath(path)!r} has {len(row)} fields; the header "
                    f"has {len(header)}"
                )
            values = dict(zip(header, row))
            try:
                record: dict[str, Any] = {
                    k: float(v) for k, v in values.items() if k != "epoch"
                }
                record["epoch"] = _parse_epoch(values["epoch"])
            except ValueError as exc:
                raise ValueError(f"line {line} of {os.fspath(path)!r}: {exc}") from None
            history.append(record)
        return history

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, name: str) -> np.ndarray:
        """One column as an array: ``history["dse"]``, ``history["epoch"]``."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns are {self.columns}")
        return np.asarray([rec[name] for rec in self.records])

    def __repr__(self) -> str:
        return f"History(metrics={list(self.metrics)}, epochs={len(self)})"


# --------------------------------------------------------------------------- drawing


def _columns(history: Any) -> dict[str, np.ndarray]:
    """Columns of a History or a mapping, as float arrays of one length."""
    if isinstance(history, History):
        history = history.to_dict()
    if not isinstance(history, Mapping):
        # a TrainingMonitor is unwrapped to its History by fastdse.monitor.plot_history
        raise TypeError(
            "history must be a TrainingMonitor, a History or a mapping of column -> "
            f"sequence; got {describe(history)}"
        )
    if "epoch" not in history:
        raise ValueError(f"history has no 'epoch' column; columns are {list(history)}")
    cols = {}
    for key, values in history.items():
        try:
            cols[str(key)] = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"history column {key!r} must hold numbers; {exc}") from None
    lengths = {k: v.shape[0] for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"history columns must have one length; got {lengths}")
    return cols


def _draw_history(
    history: History | Mapping[str, Any],
    metrics: str | Sequence[str] | None,
    *,
    ax: Any,
    errorbars: bool,
) -> Any:
    """Draw a History or a mapping of columns: :func:`fastdse.monitor.plot_history`."""
    cols = _columns(history)
    unit = history.unit if isinstance(history, History) else None
    available = [k for k in cols if k != "epoch" and not k.endswith(_STDERR)]
    if metrics is None:
        names = available
    else:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        bad = [m for m in names if m not in available]
        if bad:
            raise ValueError(f"history has no metric(s) {bad}; available: {available}")
    if not names:
        raise ValueError("history has no metric column to plot (only 'epoch')")
    try:
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from exc

    if ax is None:
        ax = plt.figure().add_subplot()
    x = cols["epoch"]
    for name in names:
        label = LABELS.get(name, name)
        err = cols.get(name + _STDERR)
        if err is not None:
            err = np.where(np.isfinite(err), err, 0.0)
        if errorbars and err is not None and np.any(err > 0):
            ax.errorbar(x, cols[name], yerr=err, marker="o", markersize=3, capsize=2,
                        label=label)
        else:
            ax.plot(x, cols[name], marker="o", markersize=3, label=label)
    ax.set_xlabel("epoch")
    if len(names) == 1:
        ax.set_ylabel(LABELS.get(names[0], names[0]) + (f" ({unit})" if unit else ""))
    elif unit:
        ax.set_ylabel(unit)
    if x.size and np.all(x == np.round(x)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(names) > 1:
        ax.legend()
    return ax
