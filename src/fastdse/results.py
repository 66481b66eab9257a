"""Small result objects returned by :func:`fastdse.dse` and :func:`fastdse.dsmi`.

Each can be kept: ``to_dict()`` gives plain Python values (lists, floats, ints, str,
None), ``to_json()`` the same as JSON text, and ``to_frame()`` a pandas DataFrame with
one row per diffusion time (pandas is imported when it is called:
``pip install pandas``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DSEResult", "DSMIResult", "ClassTerm", "unit_name"]


def unit_name(base: float) -> str:
    """Name the unit of an entropy in logarithm base ``base``: bits, nats or "log base b"."""
    if base == 2.0:
        return "bits"
    if math.isclose(base, math.e, rel_tol=1e-12):
        return "nats"
    return f"log base {base:g}"


def provenance(random_state: Any, d: int | None) -> dict[str, Any]:
    """Return what a saved result needs beyond its settings to say how it was made.

    ``random_state`` as given when it is an int or None (a generator object is named by
    its type: its state is not recorded), ``d`` the points' dimension (None for an
    affinity input) and the fastdse version.

    Examples
    --------
    >>> provenance(3, 10)["random_state"], provenance(None, None)["d"]
    (3, None)
    """
    from fastdse._version import __version__

    if random_state is None or isinstance(random_state, (int, np.integer)):
        seed: Any = None if random_state is None else int(random_state)
    else:
        seed = f"<{type(random_state).__module__}.{type(random_state).__name__}>"
    return {"random_state": seed, "d": d, "fastdse_version": __version__}


def plain(obj: Any) -> Any:
    """Convert ``obj`` to plain Python values that :mod:`json` can write, recursively.

    numpy arrays become (nested) lists, numpy scalars Python numbers (``float64`` to the
    same ``float``), mappings dicts with ``str`` keys, tuples lists; ``None``, ``bool``,
    ``int``, ``float`` and ``str`` stay as they are (NaN included), anything else becomes
    its ``str``.
    """
    if isinstance(obj, np.generic):  # before float: numpy.float64 is a float subclass
        return plain(obj.item())
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return str(obj)


def _nulls(obj: Any) -> Any:
    """Replace the non-finite floats of plain values by None (JSON has no NaN)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nulls(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nulls(v) for v in obj]
    return obj


def dumps(values: Any, **json_kwargs: Any) -> str:
    """JSON text of plain values, with NaN and infinities written as ``null``.

    Floats are written with ``repr``, so :func:`json.loads` reads back the same
    numbers. ``json_kwargs`` go to :func:`json.dumps` (``indent=2``, ``sort_keys=True``).
    """
    return json.dumps(_nulls(plain(values)), **{"allow_nan": False, **json_kwargs})


def pandas() -> Any:
    """Import pandas, or raise an ImportError that names the ``pandas`` extra."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "to_frame() needs pandas: pip install pandas"
        ) from exc
    return pd


def _per_t(value: Any) -> list[Any]:
    """Return a per-t attribute as a list of plain values, one per diffusion time."""
    return plain(np.atleast_1d(np.asarray(value)).tolist())


def _fmt(value: Any) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    return "[" + ", ".join(f"{v:.6g}" for v in arr.ravel()) + "]"


@dataclass(frozen=True)
class DSEResult:
    """Diffusion Spectral Entropy of a point cloud.

    Attributes
    ----------
    value : float or numpy.ndarray of shape (len(t),)
        DSE in units of ``base`` (bits by default); a float for a scalar ``t``.
    stderr : float or numpy.ndarray
        Standard error of ``value`` (0 for the exact path): the spread of the stochastic
        estimate over its probes (``info["probe_stderr"]``) and the Lanczos quadrature's
        bias indicator (``info["quadrature_bias"]``, the change from half the steps),
        added in quadrature. It does not include the kernel's own error when the
        neighbours were searched approximately (``info["stderr_note"]`` then says so).
    t : float or numpy.ndarray
        Diffusion time(s), as given.
    n : int
        Number of points.
    mode : str
        The mode that ran: ``"exact"``, ``"approx"`` or ``"landmark"``.
    eigenvalues : numpy.ndarray of shape (n,) or None
        All eigenvalues of the diffusion operator, ascending, when exact.
    base : float
        Logarithm base of ``value``.
    info : dict
        Diagnostics (kernel, estimator settings, timings).
    """

    value: Any
    stderr: Any
    t: Any
    n: int
    mode: str
    eigenvalues: np.ndarray | None = None
    base: float = 2.0
    info: dict = field(default_factory=dict, repr=False)

    def __float__(self) -> float:
        if np.ndim(self.value) != 0:
            raise TypeError(
                "float() needs a result for a single t; this result holds "
                f"{np.size(self.value)} values (t={_fmt(self.t)}). Use .value instead."
            )
        return float(self.value)

    def __repr__(self) -> str:
        unit = unit_name(self.base)
        err = "" if np.all(np.asarray(self.stderr) == 0) else f" +/- {_fmt(self.stderr)}"
        return (
            f"DSEResult(value={_fmt(self.value)}{err} {unit}, t={_fmt(self.t)}, "
            f"n={self.n}, mode={self.mode!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain Python values, ready for :mod:`json`.

        Returns
        -------
        dict
            ``value``, ``stderr`` and ``t`` (floats for a scalar ``t``, else lists),
            ``n``, ``mode``, ``base``, ``unit`` (:func:`unit_name` of ``base``),
            ``eigenvalues`` and ``info`` (converted recursively: arrays to lists, numpy
            scalars to Python numbers, see :func:`plain`). Nothing is left out:
            ``eigenvalues`` (exact mode) is a list of all ``n`` eigenvalues, and the
            ``info`` of a sparse mode holds the per-point bandwidths
            (``info["operator"]["bandwidth"]``, ``n`` numbers), so the dict grows with the
            data; ``d.pop("eigenvalues")`` if they are not wanted. NaN stays NaN here
            (:meth:`to_json` writes it as ``null``).

        Examples
        --------
        >>> import numpy as np
        >>> from fastdse import DSEResult
        >>> res = DSEResult(value=np.array([2.5, 1.75]), stderr=np.zeros(2),
        ...                 t=np.array([1.0, 2.0]), n=8, mode="exact")
        >>> d = res.to_dict()
        >>> d["value"], d["t"], d["unit"], d["eigenvalues"]
        ([2.5, 1.75], [1.0, 2.0], 'bits', None)
        """
        return {
            "value": plain(self.value),
            "stderr": plain(self.stderr),
            "t": plain(self.t),
            "n": plain(self.n),
            "mode": self.mode,
            "base": plain(self.base),
            "unit": unit_name(self.base),
            "eigenvalues": plain(self.eigenvalues),
            "info": plain(self.info),
        }

    def to_json(self, **json_kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text; ``json.loads`` gives back the same numbers.

        Floats are written with ``repr``, which reads back to the same float; NaN and
        infinities (which JSON lacks) are written as ``null``. ``json_kwargs`` go to
        :func:`json.dumps` (``indent=2``, ``sort_keys=True``, ...).

        Examples
        --------
        >>> import json
        >>> import numpy as np
        >>> from fastdse import DSEResult
        >>> res = DSEResult(value=np.array([2.5, 1 / 3]), stderr=np.zeros(2),
        ...                 t=np.array([1.0, 2.0]), n=8, mode="exact")
        >>> json.loads(res.to_json())["value"] == res.value.tolist()
        True
        """
        return dumps(self.to_dict(), **json_kwargs)

    def to_frame(self) -> Any:
        """Return a pandas DataFrame with one row per diffusion time.

        Returns
        -------
        pandas.DataFrame
            ``len(t)`` rows (one for a scalar ``t``) and the columns ``t``, ``value``,
            ``stderr``, ``n``, ``mode``, ``base``, ``unit`` (the last four the same on
            every row, so that the frames of several results can be concatenated).
            ``eigenvalues`` and ``info`` are left out (see :meth:`to_dict`).

        Raises
        ------
        ImportError
            pandas is not installed (``pip install pandas``).
        """
        return _curve_frame(self)


@dataclass(frozen=True)
class ClassTerm:
    """One class's contribution to DSMI.

    Attributes
    ----------
    label : object
        The class label (or cluster id).
    size : int
        Number of points in the class.
    conditional : float or numpy.ndarray
        DSE(Z | Y = label).
    unconditional : float or numpy.ndarray
        Mean DSE of random subsets of Z of the same size.
    unconditional_reps : numpy.ndarray
        The individual subset DSEs, shape (num_repetitions,) or (num_repetitions, len(t)).
    """

    label: Any
    size: int
    conditional: Any
    unconditional: Any
    unconditional_reps: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the term as plain Python values, ready for :mod:`json`.

        Every attribute is kept: ``unconditional_reps`` as (nested) lists, the
        per-t values as lists (floats for a scalar ``t``), a numpy label as a
        Python number (see :func:`plain`).
        """
        return {
            "label": plain(self.label),
            "size": plain(self.size),
            "conditional": plain(self.conditional),
            "unconditional": plain(self.unconditional),
            "unconditional_reps": plain(self.unconditional_reps),
        }

    def to_json(self, **json_kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text (NaN as ``null``).

        ``json_kwargs`` go to :func:`json.dumps`.
        """
        return dumps(self.to_dict(), **json_kwargs)

    def to_frame(self, t: Any = None) -> Any:
        """Return a pandas DataFrame with one row per diffusion time.

        Parameters
        ----------
        t : float or array-like, optional
            The diffusion times of the result the term belongs to (``result.t``); a
            term does not know them itself. None leaves the ``t`` column out.

        Returns
        -------
        pandas.DataFrame
            Columns ``label``, ``size``, ``t`` (when given), ``conditional``,
            ``unconditional`` and ``difference`` (``unconditional - conditional``, the
            class's DSMI term before weighting by ``size / n``). ``unconditional_reps``
            is left out (see :meth:`to_dict`).

        Raises
        ------
        ImportError
            pandas is not installed (``pip install pandas``).
        """
        pd = pandas()
        cond = np.atleast_1d(np.asarray(self.conditional, dtype=np.float64))
        uncond = np.atleast_1d(np.asarray(self.unconditional, dtype=np.float64))
        columns: dict[str, Any] = {"label": [plain(self.label)] * cond.size,
                                   "size": self.size}
        if t is not None:
            ts = _per_t(t)
            if len(ts) != cond.size:
                raise ValueError(f"t must have one value per diffusion time of the term "
                                 f"({cond.size}); got {len(ts)}")
            columns["t"] = ts
        columns.update(conditional=cond, unconditional=uncond, difference=uncond - cond)
        return pd.DataFrame(columns)


@dataclass(frozen=True)
class DSMIResult:
    """Diffusion Spectral Mutual Information between a point cloud and a variable.

    Attributes
    ----------
    value : float or numpy.ndarray
        DSMI in units of ``base``; a float for a scalar ``t``.
    stderr : float or numpy.ndarray
        Standard error over the random subsets (and probes, for approximate modes).
    per_class : list of ClassTerm
        Each class's label, size, conditional and matched unconditional DSE.
    clusters : numpy.ndarray of shape (n,)
        The discrete labels used (the original labels, bins or cluster ids).
    t : float or numpy.ndarray
    n : int
    mode : str
    base : float
    info : dict
    """

    value: Any
    stderr: Any
    per_class: list
    clusters: np.ndarray = field(repr=False)
    t: Any = 1.0
    n: int = 0
    mode: str = "exact"
    base: float = 2.0
    info: dict = field(default_factory=dict, repr=False)

    def __float__(self) -> float:
        if np.ndim(self.value) != 0:
            raise TypeError(
                "float() needs a result for a single t; this result holds "
                f"{np.size(self.value)} values (t={_fmt(self.t)}). Use .value instead."
            )
        return float(self.value)

    def __repr__(self) -> str:
        unit = unit_name(self.base)
        return (
            f"DSMIResult(value={_fmt(self.value)} +/- {_fmt(self.stderr)} {unit}, "
            f"t={_fmt(self.t)}, n={self.n}, classes={len(self.per_class)}, mode={self.mode!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain Python values, ready for :mod:`json`.

        Returns
        -------
        dict
            ``value``, ``stderr`` and ``t`` (floats for a scalar ``t``, else lists),
            ``n``, ``mode``, ``base``, ``unit`` (:func:`unit_name` of ``base``),
            ``per_class`` (one :meth:`ClassTerm.to_dict` per class, with every subset's
            DSE), ``clusters`` (the ``n`` labels used, as a list: the dict grows with the
            data) and ``info`` (converted recursively, see :func:`plain`). Nothing is
            left out. NaN stays NaN here (:meth:`to_json` writes it as ``null``).
        """
        return {
            "value": plain(self.value),
            "stderr": plain(self.stderr),
            "t": plain(self.t),
            "n": plain(self.n),
            "mode": self.mode,
            "base": plain(self.base),
            "unit": unit_name(self.base),
            "per_class": [term.to_dict() for term in self.per_class],
            "clusters": plain(self.clusters),
            "info": plain(self.info),
        }

    def to_json(self, **json_kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text; ``json.loads`` gives back the same numbers.

        Floats are written with ``repr``, which reads back to the same float; NaN and
        infinities (which JSON lacks) are written as ``null``. ``json_kwargs`` go to
        :func:`json.dumps`.
        """
        return dumps(self.to_dict(), **json_kwargs)

    def to_frame(self, per_class: bool = False) -> Any:
        """Return a pandas DataFrame: a row per diffusion time, or per (class, time).

        Parameters
        ----------
        per_class : bool, default False
            False: ``len(t)`` rows with the columns ``t``, ``value``, ``stderr``, ``n``,
            ``mode``, ``base``, ``unit``, ``n_classes``. True: ``len(per_class) *
            len(t)`` rows, class by class and ``t`` within a class, with the columns of
            :meth:`ClassTerm.to_frame` (``label``, ``size``, ``t``, ``conditional``,
            ``unconditional``, ``difference``).

        Returns
        -------
        pandas.DataFrame
            ``clusters``, ``info`` and the individual subsets' DSE are left out (see
            :meth:`to_dict`).

        Raises
        ------
        ImportError
            pandas is not installed (``pip install pandas``).

        Examples
        --------
        >>> import numpy as np
        >>> from fastdse import ClassTerm, DSMIResult
        >>> terms = [ClassTerm("a", 4, np.array([1.0, 0.5]), np.array([1.5, 1.0]),
        ...                    np.zeros((2, 2))),
        ...          ClassTerm("b", 4, np.array([2.0, 1.0]), np.array([2.0, 1.5]),
        ...                    np.zeros((2, 2)))]
        >>> res = DSMIResult(value=np.array([0.25, 0.5]), stderr=np.zeros(2),
        ...                  per_class=terms, clusters=np.repeat([0, 1], 4),
        ...                  t=np.array([1.0, 2.0]), n=8)
        >>> res.to_frame(per_class=True)[["label", "t", "difference"]]
          label    t  difference
        0     a  1.0         0.5
        1     a  2.0         0.5
        2     b  1.0         0.0
        3     b  2.0         0.5
        """
        if not isinstance(per_class, (bool, np.bool_)):
            raise TypeError(f"per_class must be True or False; got {per_class!r}")
        if not per_class:
            return _curve_frame(self, n_classes=len(self.per_class))
        pd = pandas()
        frames = [term.to_frame(t=self.t) for term in self.per_class]
        if not frames:
            return pd.DataFrame(columns=list(_CLASS_COLUMNS))
        return pd.concat(frames, ignore_index=True)


#: the columns of :meth:`ClassTerm.to_frame` with ``t``
_CLASS_COLUMNS = ("label", "size", "t", "conditional", "unconditional", "difference")


def _curve_frame(res: DSEResult | DSMIResult, **extra: Any) -> Any:
    """One row per diffusion time of a result: t, value, stderr and the constant columns."""
    pd = pandas()
    return pd.DataFrame({
        "t": np.atleast_1d(np.asarray(res.t, dtype=np.float64)),
        "value": np.atleast_1d(np.asarray(res.value, dtype=np.float64)),
        "stderr": np.atleast_1d(np.asarray(res.stderr, dtype=np.float64)),
        "n": res.n,
        "mode": res.mode,
        "base": float(res.base),
        "unit": unit_name(res.base),
        **extra,
    })
