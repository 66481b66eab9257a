"""Argument validation shared by the public functions.

Every public function validates its arguments here and hands clean values to a
private function that computes. Messages name the parameter, what is allowed and
what was received.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_base",
    "check_t",
    "check_int",
    "check_float",
    "check_choice",
    "check_random_state",
    "check_n_jobs",
]


def describe(value: Any) -> str:
    """Short description of a received value for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_t(t: Any) -> tuple[np.ndarray, bool]:
    """Validate diffusion time(s).

    Returns
    -------
    ts : numpy.ndarray of shape (m,)
        The diffusion times as floats.
    scalar : bool
        Whether a single number was given.
    """
    scalar = np.ndim(t) == 0
    if t is None or isinstance(t, (str, bytes)):
        raise TypeError(f"t must be a positive finite number or a sequence of them; got {t!r}")
    if isinstance(t, (bool, np.bool_)):
        raise TypeError(f"t must be a positive finite number, not a boolean; got {t!r}")
    try:
        ts = np.atleast_1d(np.asarray(t, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"t must be a positive finite number or a sequence of them; got {describe(t)}"
        ) from exc
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError(
            f"t must be a positive finite number or a non-empty 1-D sequence; got {describe(t)}"
        )
    if not np.all(np.isfinite(ts)) or np.any(ts <= 0):
        raise ValueError(f"t must be positive and finite; got {t!r}")
    return ts, bool(scalar)


def check_int(
    value: Any,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    low_note: str = "",
    high_note: str = "",
) -> int:
    """Validate an integer parameter with optional inclusive bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {describe(value)}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}{low_note}; got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}{high_note}; got {value}")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a finite real parameter with optional bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if low is not None and (value <= low if low_open else value < low):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}; got {value}")
    if high is not None and (value >= high if high_open else value > high):
        op = "<" if high_open else "<="
        raise ValueError(f"{name} must be {op} {high}; got {value}")
    return value


def check_base(base: Any) -> float:
    """Validate a logarithm base: greater than 1 (a base in (0, 1) makes entropies negative)."""
    base = check_float(base, "base")
    if not base > 1.0:
        raise ValueError(
            f"base must be greater than 1 (2: bits, numpy.e: nats; a base below 1 makes "
            f"every entropy negative); got {base!r}")
    return base


def check_choice(value: Any, name: str, choices: Mapping[str, Any] | Sequence[str]) -> str:
    """Validate a string option against the valid names."""
    valid = list(choices)
    if not isinstance(value, str) or value not in valid:
        raise ValueError(
            f"{name} must be one of {', '.join(repr(v) for v in valid)}; got {value!r}"
        )
    return value


def check_n_jobs(n_jobs: Any) -> int | None:
    """Validate ``n_jobs``: None (all cores), a positive integer, or a negative one.

    The one rule of :mod:`fastdse._util.threads`: ``-1`` is all cores, ``-2`` all but one.
    """
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise ValueError("n_jobs must be None (all cores), a positive integer, or a negative "
                         "one counting back from all cores (-1: all, -2: all but one); got 0")
    return n_jobs


def check_random_state(random_state: Any) -> np.random.Generator:
    """Normalise ``None | int | numpy.random.RandomState | numpy.random.Generator`` to a Generator.

    ``None`` gives a fresh, unpredictable Generator; an integer seeds a new one; a
    Generator is used as it is (and advanced by the call that uses it). A legacy
    ``RandomState`` (as scikit-learn accepts) seeds a new Generator from 128 bits drawn
    from its stream (:func:`_seed_of`): the same RandomState state gives the same
    Generator, and so the same numbers, and the RandomState is advanced by that one draw,
    as a scikit-learn estimator advances one it is given.

    Examples
    --------
    >>> import numpy as np
    >>> a = check_random_state(np.random.RandomState(0)).random()
    >>> b = check_random_state(np.random.RandomState(0)).random()
    >>> a == b
    True
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(_seed_of(random_state))
    if isinstance(random_state, (bool, np.bool_)):
        raise TypeError(f"{_RANDOM_STATE_ALLOWED}; got {random_state!r}")
    if isinstance(random_state, numbers.Integral):
        if int(random_state) < 0:
            raise ValueError(f"random_state must be a non-negative integer; got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(f"{_RANDOM_STATE_ALLOWED}; got {describe(random_state)}")


_RANDOM_STATE_ALLOWED = ("random_state must be None, a non-negative integer, a "
                         "numpy.random.RandomState or a numpy.random.Generator")


def _seed_of(random_state: np.random.RandomState) -> np.ndarray:
    """Draw a Generator's seed from a ``RandomState``: four 32-bit words, 128 bits.

    Four words, not one, so that seeds drawn from the stream do not collide by chance
    (with one 32-bit word, two of 100,000 draws share a seed more often than not).
    """
    return random_state.randint(2**32, size=4, dtype=np.uint32)
