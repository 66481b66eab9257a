"""Memory estimates and the guard that keeps the exact path from exhausting RAM."""

from __future__ import annotations

import os

__all__ = ["available_memory", "dense_bytes_needed", "format_bytes", "check_dense_fits"]


def available_memory() -> int:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    try:  # pragma: no cover - non-Linux
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 1 << 62


def dense_bytes_needed(n: int, d: int) -> int:
    """Peak bytes of the exact path: one n x n float64 matrix, the data, O(n) workspace."""
    return 8 * n * n + 8 * n * d + 64 * n + (32 << 20)


def format_bytes(b: float) -> str:
    """Human-readable size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(b) < 1024 or unit == "TiB":
            return f"{b:.1f} {unit}" if unit != "B" else f"{int(b)} B"
        b /= 1024
    return f"{b:.1f} TiB"  # pragma: no cover


def check_dense_fits(n: int, d: int, *, what: str = "mode='exact'") -> None:
    """Raise ValueError when the dense exact path would not fit in available memory."""
    need = dense_bytes_needed(n, d)
    have = available_memory()
    if need > 0.9 * have:
        raise ValueError(
            f"{what} needs a dense {n} x {n} matrix: about {format_bytes(need)} of memory for "
            f"n={n}, but only {format_bytes(have)} is available. Use mode='approx' (sparse kNN "
            "kernel, near-linear memory) or subsample the data."
        )
