"""Loading point clouds and labels from files (used by the command line).

Supported formats, chosen by the file extension:

``.npy``
    One array (``numpy.save``).
``.npz``
    Several named arrays (``numpy.savez``); pick one with ``key``. A file that
    holds exactly one array needs no key.
``.csv`` / ``.tsv``
    Comma- or tab-separated text, one row per point. A header row is detected
    automatically (see :func:`_detect_header`) or forced with ``header``.
    A file read as labels may hold one column of strings.
``.h5ad``
    An AnnData (:func:`load_anndata`; anndata is imported only then): the
    commands take ``--use-rep``, ``--neighbors-key`` and, for DSMI, ``--obs``.

Nothing is ever unpickled (``allow_pickle=False``). Every problem with a file
raises :class:`InputError` (a ``ValueError``) with a one-line message that
names the file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["InputError", "load_array", "load_anndata", "is_h5ad", "FORMATS"]


class InputError(ValueError):
    """A file could not be read as an array (missing, unknown format, bad key, bad content)."""


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_npy(path: str, key: str | None, header: bool | None, labels: bool) -> np.ndarray:
    if key is not None:
        raise InputError(f"{path}: --key applies to .npz files only; a .npy file holds one array")
    with open(path, "rb") as fh:
        if fh.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise InputError(f"{path}: not a valid .npy file (no NumPy header)")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise InputError(
                f"{path}: holds Python objects (an object array), which are never unpickled; "
                "save a numeric or string array instead"
            ) from exc
        raise InputError(f"{path}: not a valid .npy file ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a valid .npy file ({exc})") from exc
    if not isinstance(arr, np.ndarray):  # pragma: no cover - np.load of .npy gives arrays
        raise InputError(f"{path}: expected one array")
    return arr


def _load_npz(path: str, key: str | None, header: bool | None, labels: bool) -> np.ndarray:
    with open(path, "rb") as fh:
        magic = fh.read(len(_NPY_MAGIC))
    if magic.startswith(_NPY_MAGIC):
        raise InputError(f"{path}: not a .npz archive but a single .npy array; rename it .npy")
    if not magic.startswith(_ZIP_MAGIC):
        raise InputError(f"{path}: not a valid .npz file (not a zip archive)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path}: not a valid .npz file ({exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):  # pragma: no cover - magic checked
        raise InputError(f"{path}: not a .npz archive")
    with archive:
        keys = list(archive.files)
        if not keys:
            raise InputError(f"{path}: the archive holds no arrays")
        if key is None:
            if len(keys) > 1:
                raise InputError(
                    f"{path}: holds {len(keys)} arrays ({', '.join(keys)}); choose one with "
                    "--key"
                )
            key = keys[0]
        elif key not in keys:
            raise InputError(
                f"{path}: no array named {key!r}; the archive holds: {', '.join(keys)}"
            )
        try:
            return archive[key]
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise InputError(
                    f"{path}: array {key!r} holds Python objects, which are never unpickled"
                ) from exc
            raise InputError(f"{path}: cannot read array {key!r} ({exc})") from exc


def _detect_header(rows: list[list[str]]) -> bool:
    """Whether the first row of a text table is a header.

    The first row is a header when, in some column, it is not a number while
    every other row is (a named numeric column), or when the file holds no
    numbers at all in some column and each first-row entry appears nowhere else
    in its column (a named label column: a label seen only once cannot be a
    class of DSMI anyway). Otherwise the first row is data.
    """
    if len(rows) < 2:
        return False
    first, rest = rows[0], rows[1:]
    for j, cell in enumerate(first):
        if _is_number(cell):
            continue
        column = [row[j] for row in rest]
        if all(_is_number(c) for c in column):
            return True
    # string columns: a header entry is unique in its column
    if not any(_is_number(cell) for cell in first):
        return all(first[j] not in {row[j] for row in rest} for j in range(len(first)))
    return False


def check_file(path: str) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing file."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a file")


@dataclass(frozen=True)
class Table:
    """Rows of stripped cells, the line each row ends on, and the leading comments."""

    rows: list[list[str]]
    lines: list[int]
    comments: dict[str, str]


def read_table(path: str, delimiter: str, *, comments: bool = False,
               first_row: str = "the first line") -> Table:
    """Read a delimited text file into rows of stripped cells.

    Blank lines (no value in any field) may end the file but not come before
    a row: a blank line inside the data is most likely a missing value, and
    skipping it would shift every later row. Rows must all have the same
    number of fields as the first (named ``first_row`` in the message); problems
    raise :class:`InputError` naming the file and the line. With ``comments``,
    leading ``# key: value`` lines (:func:`fastdse.history.read_csv_comments`)
    are read into :attr:`Table.comments` first.
    """
    from fastdse.history import read_csv_comments

    rows: list[list[str]] = []
    lines: list[int] = []  # the line each row ends on
    blank = 0  # the first blank line not yet followed by a row
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            source: Any = fh  # streamed, unless leading comments must be read first
            found: dict[str, str] = {}
            skip = 0
            if comments:
                source = fh.readlines()
                found, skip = read_csv_comments(source)
                source = source[skip:]
            reader = csv.reader(source, delimiter=delimiter)
            for row in reader:
                cells = [cell.strip() for cell in row]
                if not any(cells):
                    blank = blank or reader.line_num + skip
                    continue
                if blank:
                    raise InputError(
                        f"{path}: line {blank} is blank but rows follow it (a missing "
                        "value?); fill it in or delete the line: blank lines may only end "
                        "the file"
                    )
                rows.append(cells)
                lines.append(reader.line_num + skip)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: malformed text table ({exc})") from exc
    if not rows:
        raise InputError(f"{path}: the file is empty")
    width = len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise InputError(
                f"{path}: line {line} has {len(row)} field(s) but {first_row} has {width}; "
                "every row must have the same number of columns"
            )
    return Table(rows, lines, found)


def read_rows(path: str, delimiter: str) -> list[list[str]]:
    """Rows of stripped cells of a delimited text file (:func:`read_table`'s rules)."""
    return read_table(path, delimiter).rows


def _convert_table(path: str, table: np.ndarray, labels: bool) -> np.ndarray:
    """Numbers where every cell is numeric; one column of strings allowed for labels."""
    if labels:
        try:
            return table.astype(np.int64)
        except ValueError:
            pass
    try:
        return table.astype(np.float64)
    except ValueError:
        pass
    # locate the first non-numeric cell for the message
    bad = next(
        (i, j, table[i, j])
        for i in range(table.shape[0])
        for j in range(table.shape[1])
        if not _is_number(table[i, j])
    )
    if labels and table.shape[1] == 1:
        return table[:, 0]
    what = ("labels must be numbers or one column of strings" if labels
            else "point clouds must be numeric")
    raise InputError(
        f"{path}: non-numeric value {str(bad[2])!r} in data row {bad[0] + 1}, "
        f"column {bad[1] + 1}; "
        f"{what}"
    )


def _make_text_loader(delimiter: str) -> Callable[..., np.ndarray]:
    def load(path: str, key: str | None, header: bool | None, labels: bool) -> np.ndarray:
        if key is not None:
            raise InputError(f"{path}: --key applies to .npz files only")
        rows = read_rows(path, delimiter)
        has_header = _detect_header(rows) if header is None else header
        if has_header:
            rows = rows[1:]
            if not rows:
                raise InputError(f"{path}: the file holds a header row but no data")
        table = np.array(rows, dtype=str)
        return _convert_table(path, table, labels)

    return load


#: file extension -> loader(path, key, header, labels)
FORMATS: dict[str, Callable[..., np.ndarray]] = {
    ".npy": _load_npy,
    ".npz": _load_npz,
    ".csv": _make_text_loader(","),
    ".tsv": _make_text_loader("\t"),
}


def load_array(
    path: str | os.PathLike,
    *,
    key: str | None = None,
    header: bool | None = None,
    labels: bool = False,
) -> np.ndarray:
    """Load one array from a ``.npy``, ``.npz``, ``.csv`` or ``.tsv`` file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its extension (case-insensitive) selects the format.
    key : str, optional
        Array name inside a ``.npz`` archive (needed when it holds several).
    header : bool, optional
        Text files only: ``True`` skips the first row, ``False`` reads it as
        data, ``None`` detects a header.
    labels : bool, default False
        Read the file as labels: integer text stays integer (so it is not
        binned as a continuous variable) and one column of strings is allowed.

    Returns
    -------
    numpy.ndarray
        As stored (``.npy``/``.npz``); float64, int64 (labels) or str (labels)
        for text files.

    Raises
    ------
    InputError
        Missing file, unknown extension, bad key or unreadable content.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise InputError(
            f"{path}: unknown file type {ext or '(no extension)'!r}; supported: "
            f"{', '.join(FORMATS)}" + (" (.h5ad: point clouds only)" if ext == ".h5ad" else "")
        )
    check_file(path)
    try:
        return FORMATS[ext](path, key, header, labels)
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from exc


def is_h5ad(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an AnnData file (extension ``.h5ad``, any case)."""
    return os.fspath(path).lower().endswith(".h5ad")


def load_anndata(path: str | os.PathLike) -> Any:
    """Read an ``.h5ad`` file as an ``anndata.AnnData`` (anndata imported here, lazily).

    Raises
    ------
    InputError
        Missing file, anndata not installed, or content anndata cannot read.
    """
    path = os.fspath(path)
    check_file(path)
    try:
        import anndata
    except ImportError as exc:
        raise InputError(f"{path}: reading .h5ad files needs anndata: pip install anndata"
                         ) from exc
    try:
        return anndata.read_h5ad(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a readable .h5ad file ({exc})") from exc
