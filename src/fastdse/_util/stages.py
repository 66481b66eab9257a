"""Per-stage time and peak memory of a spectral estimate (verbose output, ``fastdse bench``).

The builders record, next to the seconds of each stage, the process's peak
resident memory when the stage ended (:func:`peak_rss`: the high-water mark of
the whole process, so a stage that raised it is the one whose number grew).
:func:`stage_table` reads them back from a measure's ``info`` in pipeline order:

``search``
    the first neighbour search (for pynndescent its index build, numba
    compilation of pynndescent's own functions included);
``widening``
    the lists' extension to each row's kernel radius (and completed rows);
``kernel``
    bandwidths, kernel values, symmetrisation (the dense kernel on the exact path);
``normalize``
    degrees, normalisation and components;
``renumber``
    the operator renumbered for the spectral stage's locality (only where its
    numbering is poor, :mod:`fastdse.spectral.layout`);
``pilot``, ``deflation``, ``lanczos``, ``quadrature``
    the approximate spectrum: the pilot run sizing the deflation, ARPACK's top
    eigenpairs, the Lanczos runs of the probes, nodes and weights to values;
``eigensolver``
    the exact path's dense eigenvalues.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["STAGES", "peak_rss", "stage_table", "format_stages"]

STAGES = ("search", "widening", "kernel", "normalize", "renumber", "pilot", "deflation",
          "lanczos", "quadrature", "eigensolver")


def peak_rss() -> int:
    """Return the process's peak resident memory so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def stage_table(info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the stages of a measure's ``info``, in pipeline order.

    Each row: ``stage``, ``seconds``, ``peak_rss_mib`` (the process's peak when the
    stage ended; None where not recorded). Stages that did not run are left out.
    """
    op = info.get("operator") or {}
    seconds: dict[str, float] = {}
    peaks: dict[str, int] = {**op.get("peak_rss", {}), **info.get("peak_rss", {})}
    if "search_seconds" in op:
        seconds["search"] = float(op["search_seconds"])
    if "widen_seconds" in op:
        seconds["widening"] = float(op["widen_seconds"])
    op_t = op.get("timings", {})
    if "kernel" in op_t:  # the sparse kernel's total holds the search and the widening
        seconds["kernel"] = max(float(op_t["kernel"]) - seconds.get("search", 0.0)
                                - seconds.get("widening", 0.0), 0.0)
    if "normalize" in op_t:
        seconds["normalize"] = float(op_t["normalize"])
    for name, value in info.get("timings", {}).items():
        if name in STAGES:
            seconds[name] = float(value)
    return [{"stage": name, "seconds": seconds[name],
             "peak_rss_mib": peaks[name] / 2**20 if name in peaks else None}
            for name in STAGES if name in seconds]


def format_stages(rows: list[dict[str, Any]]) -> str:
    """Format the stages on one line: ``search 1.20 s (peak 512 MiB), ...``."""
    parts = []
    for row in rows:
        peak = row["peak_rss_mib"]
        parts.append(f"{row['stage']} {row['seconds']:.2f} s"
                     + (f" (peak {peak:.0f} MiB)" if peak is not None else ""))
    return ", ".join(parts)
