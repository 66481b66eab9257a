"""CSV output shared by the benchmark scripts: one header, then one row per dict."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]],
              fieldnames: Sequence[str] | None = None, *, append: bool = False,
              extrasaction: str = "raise") -> None:
    """Write ``rows`` to the CSV file ``path``, the header first.

    ``fieldnames`` defaults to the first row's keys. With ``append=True`` the rows
    are added to the end of an existing file, and the header is written only when
    the file is new (scripts that save each case as it ends). ``extrasaction`` is
    :class:`csv.DictWriter`'s: ``"ignore"`` drops keys not in ``fieldnames``.
    """
    path = Path(path)
    rows = list(rows)
    if fieldnames is None:
        if not rows:
            raise ValueError(f"write_csv: no rows for {path} and no fieldnames")
        fieldnames = list(rows[0])
    new = not (append and path.exists())
    with path.open("a" if append else "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fieldnames), extrasaction=extrasaction)
        if new:
            writer.writeheader()
        writer.writerows(rows)
