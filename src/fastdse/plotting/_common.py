"""What the plotting modules share: matplotlib imported on use, the ``ax`` check, keywords."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fastdse._util.validation import describe

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

_MISSING = "plotting needs matplotlib: pip install matplotlib"


def import_matplotlib() -> None:
    """Import matplotlib, or raise an ImportError that names the ``plot`` extra."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(_MISSING) from exc


def check_ax(ax: Any) -> None:
    """Raise unless ``ax`` is None or a matplotlib Axes (before any computation)."""
    import_matplotlib()
    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {describe(ax)}")


def get_axes(ax: Any) -> Axes:
    """Return ``ax`` (checked), or the Axes of a new figure when it is None."""
    check_ax(ax)
    if ax is None:
        import matplotlib.pyplot as plt

        _, new_ax = plt.subplots()
        return new_ax
    return ax


def merge_kws(plot_kws: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """Return ``defaults`` updated with the caller's ``plot_kws`` (a mapping or None)."""
    if plot_kws is None:
        return dict(defaults)
    if not isinstance(plot_kws, Mapping):
        raise TypeError(
            f"plot_kws must be a mapping of matplotlib keyword arguments or None; got "
            f"{describe(plot_kws)}"
        )
    return {**defaults, **plot_kws}


def legend_if_labelled(ax: Axes) -> None:
    """Draw a legend only when some artist has a label (avoids matplotlib's warning)."""
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8)


def is_array_like(obj: Any) -> bool:
    """Tell whether ``obj`` can be read as an array (ndarray, list, tuple, ``__array__``)."""
    return isinstance(obj, (np.ndarray, list, tuple)) or hasattr(obj, "__array__")
