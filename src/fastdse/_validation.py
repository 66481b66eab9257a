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
import scipy.sparse as sp

__all__ = [
    "check_points",
    "check_t",
    "check_int",
    "check_float",
    "check_choice",
    "check_random_state",
    "check_n_jobs",
]


def _describe(value: Any) -> str:
    """Short description of a received value for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_points(
    X: Any, name: str = "X", *, min_points: int = 2, dtype: Any = np.float64
) -> np.ndarray:
    """Validate a point cloud and return it as a C-contiguous 2-D float array.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Points. Integer, boolean and floating dtypes are accepted; torch tensors
        and pandas objects are unwrapped and scipy.sparse feature matrices
        densified when they fit in memory (:mod:`fastdse._inputs`).
    name : str
        Parameter name used in error messages.
    min_points : int
        Minimum number of rows.
    dtype : numpy dtype
        Output dtype (float64 unless a caller asks otherwise).

    Returns
    -------
    numpy.ndarray of shape (n, d)
    """
    from . import _inputs  # deferred: _inputs imports this module

    X = _inputs.to_numpy(X, name)
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_points, n_features); got shape {X.shape}")
        X = _inputs.densify_features(X, name)
    try:
        arr = np.asarray(X)
    except Exception as exc:  # pragma: no cover - depends on exotic inputs
        raise TypeError(f"{name} must be array-like; got {_describe(X)}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{name} must hold numbers (integer, boolean or floating dtype); got dtype "
            f"{arr.dtype}"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued; got complex dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_points, n_features); got an array "
            f"with {arr.ndim} dimension(s) and shape {arr.shape}. Reshape 1-D data "
            "with X.reshape(-1, 1)."
        )
    n, d = arr.shape
    if n < min_points:
        raise ValueError(
            f"{name} must have at least {min_points} point{'s' if min_points != 1 else ''} "
            f"(rows); got {n}"
        )
    if d < 1:
        raise ValueError(f"{name} must have at least 1 feature (column); got {d}")
    out = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(out).all():
        bad = int(np.count_nonzero(~np.isfinite(out)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); all values must be finite"
        )
    return out


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
            f"t must be a positive finite number or a sequence of them; got {_describe(t)}"
        ) from exc
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError(
            f"t must be a positive finite number or a non-empty 1-D sequence; got {_describe(t)}"
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
        raise TypeError(f"{name} must be an integer; got {_describe(value)}")
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
        raise TypeError(f"{name} must be a real number; got {_describe(value)}")
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


def check_choice(value: Any, name: str, choices: Mapping[str, Any] | Sequence[str]) -> str:
    """Validate a string option against the valid names."""
    valid = list(choices)
    if not isinstance(value, str) or value not in valid:
        raise ValueError(
            f"{name} must be one of {', '.join(repr(v) for v in valid)}; got {value!r}"
        )
    return value


def check_n_jobs(n_jobs: Any, all_of: str = "all cores") -> int | None:
    """Validate ``n_jobs``: None, a positive integer, or a negative one (-1: ``all_of``)."""
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise ValueError("n_jobs must be None, a positive integer or a negative one (-1: "
                         f"{all_of}); got 0")
    return n_jobs


def check_random_state(random_state: Any) -> np.random.Generator:
    """Normalise ``None | int | numpy.random.Generator`` to a Generator."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (bool, np.bool_)):
        raise TypeError(
            "random_state must be None, a non-negative integer or a numpy.random.Generator; "
            f"got {random_state!r}"
        )
    if isinstance(random_state, numbers.Integral):
        if int(random_state) < 0:
            raise ValueError(f"random_state must be a non-negative integer; got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        "random_state must be None, a non-negative integer or a numpy.random.Generator; "
        f"got {_describe(random_state)}"
    )
