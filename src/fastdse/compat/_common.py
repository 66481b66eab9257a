"""Argument checks, progress messages and the eigenvalue cache of :mod:`fastdse.compat`.

Every check names the parameter, what is allowed and what was received. The cache is
an ``.npz`` archive holding one ``eigvals`` array, written at exactly the given path
and read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fastdse._util.inputs import check_points
from fastdse._util.memory import available_memory, dense_bytes_needed, format_bytes
from fastdse._util.validation import check_float, check_int, describe
from fastdse.operator.kernel import check_sigma as kernel_check_sigma

__all__ = [
    "check_flag",
    "check_seed",
    "check_max_n",
    "check_t",
    "check_sigma",
    "check_save",
    "check_embedding",
    "check_dense_size",
    "say",
    "load_eigvals",
    "save_eigvals",
]


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def check_flag(value: Any, name: str) -> bool:
    """Check a flag: True or False (a Python or NumPy bool), returned as a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {describe(value)}")
    return bool(value)


def check_seed(value: Any, name: str = "random_seed") -> int | None:
    """Check a seed: None, or an integer for :class:`random.Random`."""
    if value is None:
        return None
    return check_int(value, name)


def check_max_n(value: Any) -> int | None:
    """Check ``max_N``: None (no subsampling) or a positive number of points."""
    if value is None:
        return None
    return check_int(value, "max_N", low=1)


def check_t(value: Any) -> Any:
    """Check that ``t`` is a positive real number and return the caller's object itself."""
    # validate, but keep the caller's object: the reference computes
    # ``eigvals ** t`` and the dtype of that power depends on the type of t
    check_float(value, "t", low=0.0, low_open=True)
    return value


def check_sigma(value: Any) -> float:
    """Check the kernel bandwidth ``gaussian_kernel_sigma``: a positive float."""
    return kernel_check_sigma(value, "gaussian_kernel_sigma")


def _check_save_folder(path: str) -> None:
    """Refuse a path whose folder cannot be created because part of it is a file."""
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ValueError(
            f"eigval_save_path={path!r} cannot be written: {folder!r} is a file, not a "
            "folder. Choose a path inside a folder")


def check_save(path: Any, precision: Any) -> tuple[str | None, np.dtype]:
    """Check ``eigval_save_path`` (None or a non-empty path) and ``eigval_save_precision``."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"eigval_save_path must be None, a str or an os.PathLike; got {describe(path)}"
            )
        path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"eigval_save_path must be a text path; got {path!r}")
        if path == "":
            raise ValueError("eigval_save_path must be None or a non-empty path; got ''")
        _check_save_folder(path)
    try:
        dtype = np.dtype(precision)
    except TypeError as exc:
        raise TypeError(
            "eigval_save_precision must be a floating-point dtype such as np.float16 or "
            f"np.float64; got {describe(precision)}"
        ) from exc
    if dtype.kind != "f":
        raise ValueError(
            "eigval_save_precision must be a real floating-point dtype such as np.float16 "
            f"or np.float64; got {dtype}"
        )
    return path, dtype


def check_embedding(X: Any, name: str = "embedding_vectors") -> np.ndarray:
    """Check the points: a finite 2-D float64 array with at least one row."""
    return check_points(X, name, min_points=1)


def check_dense_size(n: int, d: int, what: str) -> None:
    """Raise ValueError when the reference's dense n x n matrix would not fit in memory."""
    need = dense_bytes_needed(n, d)
    have = available_memory()
    if need > 0.9 * have:
        raise ValueError(
            f"{what} builds a dense {n} x {n} matrix like the reference: about "
            f"{format_bytes(need)} for n={n}, but only {format_bytes(have)} is available. "
            "Lower max_N, or use fastdse.dse(..., mode='approx') for large n."
        )


# ---------------------------------------------------------------------------
# progress and the eigenvalue cache
# ---------------------------------------------------------------------------


def say(verbose: bool, message: str) -> None:
    """Print ``message`` when ``verbose``, as the reference's progress output."""
    if verbose:
        print(message)


def load_eigvals(path: str) -> np.ndarray:
    """Read the ``eigvals`` array of the npz archive at ``path``, as float64."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            eigvals = archive["eigvals"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"eigval_save_path {path!r} exists but is not an .npz archive with an 'eigvals' "
            f"array ({type(exc).__name__}: {exc}); delete it or pass another path"
        ) from exc
    return eigvals.astype(np.float64)


def save_eigvals(
    path: str, eigvals: np.ndarray, precision: np.dtype, verbose: bool
) -> np.ndarray:
    """Down-cast, save as ``eigvals`` in an npz at exactly ``path``; return the cast values."""
    if np.iscomplexobj(eigvals):
        # the reference's astype drops the imaginary part (with a ComplexWarning it hides)
        eigvals = eigvals.real
    eigvals = eigvals.astype(precision)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "wb") as fh:  # a file object: np.savez must not append ".npz"
        np.savez(fh, eigvals=eigvals)
    say(verbose, f"Eigenvalues saved to {path}")
    return eigvals
