"""scanpy-style tools: DSE and DSMI of an AnnData, written into ``adata.uns``.

``fastdse.tl.dse(adata)`` is :func:`fastdse.dse` on the AnnData (any keyword of it:
``use_rep``, ``neighbors_key``, ``kernel``, ``mode``, ...), with the result stored
the way scanpy's tools store theirs: ``adata.uns[key_added]`` holds the result's
:meth:`~fastdse.DSEResult.to_dict`, and the function returns ``None``, or a modified
copy with ``copy=True``. What is stored can be written with ``adata.write_h5ad``:
entries that are ``None`` are left out, lists become numpy arrays and the per-class
terms of DSMI a table of columns (``label``, ``size``, ``conditional``, ...).

anndata is never imported here: the AnnData is the caller's. See ``docs/anndata.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fastdse._util.inputs import is_anndata
from fastdse._util.validation import describe
from fastdse.api import dse as _dse
from fastdse.mutual_information import dsmi as _dsmi

__all__ = ["dse", "dsmi"]


def _check(adata: Any, key_added: Any, copy: Any) -> Any:
    if not is_anndata(adata):
        raise TypeError(f"adata must be an anndata.AnnData; got {describe(adata)}")
    if not isinstance(key_added, str) or not key_added or "/" in key_added:
        raise ValueError(f"key_added must be a non-empty string without '/' (a key of "
                         f"adata.uns); got {key_added!r}")
    if not isinstance(copy, bool):
        raise TypeError(f"copy must be True or False; got {describe(copy)}")
    return adata.copy() if copy else adata


def _columns(rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Turn a list of records into a table of columns (h5ad stores no list of dicts)."""
    return {key: _storable([row[key] for row in rows]) for key in rows[0]}


def _storable(obj: Any) -> Any:
    """Turn plain values (from ``to_dict``) into values an ``.h5ad`` file can hold."""
    if isinstance(obj, Mapping):
        return {k: _storable(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        if obj and all(isinstance(v, Mapping) for v in obj):
            return _columns(obj)
        try:
            arr = np.asarray(obj)
        except ValueError:  # ragged
            return {str(i): _storable(v) for i, v in enumerate(obj)}
        if arr.dtype == object:
            return {str(i): _storable(v) for i, v in enumerate(obj)}
        return arr
    return obj


def dse(adata: Any, t: Any = 1, *, key_added: str = "dse", copy: bool = False,
        **kwargs: Any) -> Any:
    """Diffusion Spectral Entropy of an AnnData, stored in ``adata.uns[key_added]``.

    Parameters
    ----------
    adata : anndata.AnnData
        The data: ``adata.X``, ``adata.obsm[use_rep]``, or with ``neighbors_key`` the
        neighbour graph scanpy stored (fastdse's kernel built on its k-NN distances;
        with ``kernel="precomputed"``, its connectivities).
    t : float, sequence of float or "auto", default 1
        Diffusion time(s), as in :func:`fastdse.dse`.
    key_added : str, default "dse"
        Key of ``adata.uns`` that receives the result.
    copy : bool, default False
        Work on a copy of ``adata`` and return it; ``False`` modifies ``adata``.
    **kwargs
        Any keyword of :func:`fastdse.dse` (``use_rep``, ``neighbors_key``, ``kernel``,
        ``mode``, ``random_state``, ...).

    Returns
    -------
    anndata.AnnData or None
        The modified copy with ``copy=True``, else ``None``. ``adata.uns[key_added]``
        holds ``value``, ``stderr``, ``t``, ``n``, ``mode``, ``base``, ``unit``,
        ``eigenvalues`` (exact mode) and ``info``.

    Examples
    --------
    >>> import anndata, numpy as np
    >>> from fastdse import tl
    >>> adata = anndata.AnnData(np.random.default_rng(0).normal(size=(200, 5)))
    >>> tl.dse(adata, t=[1, 5], mode="exact")
    >>> adata.uns["dse"]["value"].shape, adata.uns["dse"]["unit"]
    ((2,), 'bits')
    """
    adata = _check(adata, key_added, copy)
    adata.uns[key_added] = _storable(_dse(adata, t, **kwargs).to_dict())
    return adata if copy else None


def dsmi(adata: Any, Y: Any, t: Any = 1, *, key_added: str = "dsmi", copy: bool = False,
         **kwargs: Any) -> Any:
    """Diffusion Spectral Mutual Information of an AnnData and Y, in ``adata.uns[key_added]``.

    Parameters
    ----------
    adata : anndata.AnnData
        The data, as in :func:`dse`.
    Y : str or array-like of shape (n,) or (n, d')
        A column of ``adata.obs`` (e.g. ``"cell_type"``) or the variable itself.
    t : float or sequence of float, default 1
        Diffusion time(s).
    key_added : str, default "dsmi"
        Key of ``adata.uns`` that receives the result.
    copy : bool, default False
        Work on a copy of ``adata`` and return it.
    **kwargs
        Any keyword of :func:`fastdse.dsmi`.

    Returns
    -------
    anndata.AnnData or None
        The modified copy with ``copy=True``, else ``None``. ``adata.uns[key_added]``
        holds ``value``, ``stderr``, ``t``, ``n``, ``mode``, ``per_class`` (columns
        ``label``, ``size``, ``conditional``, ``unconditional``,
        ``unconditional_reps``), ``clusters`` and ``info``.

    Examples
    --------
    >>> import anndata, numpy as np, pandas as pd
    >>> from fastdse import tl
    >>> labels = np.repeat(["a", "b"], 60)
    >>> X = np.random.default_rng(0).normal(size=(120, 3)) + 10 * (labels == "b")[:, None]
    >>> adata = anndata.AnnData(X, obs=pd.DataFrame({"group": labels},
    ...                                             index=[str(i) for i in range(120)]))
    >>> out = tl.dsmi(adata, "group", kernel="gaussian", sigma=2, random_state=0, copy=True)
    >>> "dsmi" in adata.uns, out.uns["dsmi"]["per_class"]["label"].tolist()
    (False, ['a', 'b'])
    """
    adata = _check(adata, key_added, copy)
    adata.uns[key_added] = _storable(_dsmi(adata, Y, t, **kwargs).to_dict())
    return adata if copy else None
