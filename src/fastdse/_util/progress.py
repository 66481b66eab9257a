"""Progress bars and log messages for the stages that can take a while.

Two independent switches, set per call by the public functions:

``progress``
    tqdm bars (:mod:`tqdm.auto`: widgets in a Jupyter notebook, text bars on
    stderr elsewhere) for the long loops (exact neighbour search blocks,
    Lanczos steps, DSMI's DSE evaluations) and a one-line bar for long opaque
    steps (pynndescent index build, ARPACK deflation). ``None`` shows them
    only when stderr is a terminal. Loop bars appear only once a loop has run
    for :data:`DELAY` seconds, so quick calls print nothing.
``verbose``
    Log messages through the ``logging`` module, logger ``"fastdse"``: stage
    timings, the mode and estimator settings chosen. ``verbose=True`` (or 1)
    attaches a stderr handler at INFO for the duration of the call, 2 at
    DEBUG; with ``verbose=False`` the messages still go to the ``"fastdse"``
    logger, so an application can route them with its own logging set-up.

The bar switch is a context variable: it is on only in the thread that
called the public function, so worker threads of a parallel DSMI never draw
nested bars.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tqdm import TqdmWarning

# tqdm.auto: widget bars in a notebook, text bars elsewhere. In a notebook without
# ipywidgets it falls back to text bars and warns on import; fastdse's import stays silent.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

from fastdse._util.validation import describe

__all__ = ["tqdm", "logger", "DELAY", "reporting", "bar", "stage", "check_verbose"]

logger = logging.getLogger("fastdse")
logger.addHandler(logging.NullHandler())

#: Seconds a loop runs before its bar is drawn.
DELAY = 2.0

_BARS: ContextVar[bool] = ContextVar("fastdse_progress_bars", default=False)


def check_verbose(verbose: Any) -> int:
    """Validate ``verbose``: False/True or an integer level 0, 1, 2."""
    if isinstance(verbose, bool):
        return int(verbose)
    if isinstance(verbose, int) and 0 <= verbose <= 2:
        return verbose
    raise TypeError(f"verbose must be False, True, 0, 1 or 2; got {describe(verbose)}")


@contextmanager
def reporting(progress: bool, verbose: int = 0) -> Iterator[None]:
    """Turn bars on or off in this thread, and log to stderr when ``verbose``.

    Nested use keeps the outer handler (one line per message).
    """
    token = _BARS.set(progress)
    handler = None
    old_level = logger.level
    if verbose and not any(getattr(h, "_fastdse", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("fastdse: %(message)s"))
        handler._fastdse = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    try:
        yield
    finally:
        _BARS.reset(token)
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(old_level)


def bars_enabled() -> bool:
    """Whether progress bars are on in this thread."""
    return _BARS.get()


def bar(total: int | None, desc: str, unit: str = "it", *, delay: float | None = None) -> Any:
    """Return a :mod:`tqdm.auto` bar on stderr, disabled unless bars are on in this thread.

    It is drawn once the loop has run ``delay`` seconds (default :data:`DELAY`).
    """
    return tqdm(total=total, desc=desc, unit=unit, disable=not _BARS.get(), leave=False,
                delay=DELAY if delay is None else delay, file=sys.stderr, dynamic_ncols=True)


@contextmanager
def stage(name: str, *, long: bool = False) -> Iterator[None]:
    """Time an opaque step; log it at INFO; show a one-step bar at once when ``long``."""
    logger.debug("%s ...", name)
    start = time.perf_counter()
    with bar(1, name, unit="step", delay=0.0 if long else None) as b:
        yield
        b.update()
    logger.debug("%s: %.2f s", name, time.perf_counter() - start)
