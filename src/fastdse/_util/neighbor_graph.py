"""The neighbour graph scanpy stored in an AnnData, read as a fastdse affinity.

:func:`fastdse._util.inputs.resolve` calls :func:`stored_graph` for ``neighbors_key``;
anndata itself is never imported (the AnnData is the caller's).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from fastdse._util.validation import describe

__all__ = ["stored_graph", "graph_keys"]


def graph_keys(adata: Any) -> list[str]:
    """Keys of ``adata.uns`` that describe a scanpy neighbour graph."""
    return sorted(k for k, v in adata.uns.items()
                  if hasattr(v, "get") and ("connectivities_key" in v or k == "neighbors"))


def stored_graph(adata: Any, name: str, neighbors_key: str) -> sp.csr_matrix:
    """Return the connectivities of the graph scanpy stored, with a unit diagonal.

    scanpy's convention (``scanpy.pp.neighbors(adata, key_added=...)``):
    ``adata.uns[neighbors_key]`` names ``connectivities_key`` in ``adata.obsp``; without
    it the key is ``"connectivities"`` for ``neighbors_key="neighbors"`` and
    ``neighbors_key + "_connectivities"`` otherwise. scanpy stores no self-affinity;
    every point gets affinity 1 to itself, as fastdse's kernels and UMAP's give at
    distance 0, so a point whose neighbours are all left out of a subgraph (a class of
    DSMI, a random subset) is its own component, of eigenvalue 1.

    Examples
    --------
    >>> import anndata, numpy as np, scipy.sparse as sp
    >>> C = sp.csr_matrix(np.array([[0, .5, 0], [.5, 0, 1], [0, 1, 0]]))
    >>> adata = anndata.AnnData(np.zeros((3, 2)), obsp={"connectivities": C},
    ...                         uns={"neighbors": {"connectivities_key": "connectivities"}})
    >>> stored_graph(adata, "X", "neighbors").toarray()
    array([[1. , 0.5, 0. ],
           [0.5, 1. , 1. ],
           [0. , 1. , 1. ]])
    """
    if not isinstance(neighbors_key, str):
        raise TypeError(f"neighbors_key must be a string (a key of adata.uns); got "
                        f"{describe(neighbors_key)}")
    if neighbors_key not in adata.uns:
        raise ValueError(
            f"neighbors_key={neighbors_key!r} is not a key of {name}.uns; neighbour graphs "
            f"stored there: {graph_keys(adata) or 'none'}. Compute one with "
            f"scanpy.pp.neighbors(adata, key_added={neighbors_key!r}), or pass the points "
            "(use_rep) for fastdse's own kernel")
    entry = adata.uns[neighbors_key]
    default = ("connectivities" if neighbors_key == "neighbors"
               else f"{neighbors_key}_connectivities")
    key = entry.get("connectivities_key", default) if hasattr(entry, "get") else default
    if key in adata.obsp:
        K = adata.obsp[key]
    elif hasattr(entry, "get") and entry.get("connectivities") is not None:
        K = entry["connectivities"]  # anndata < 0.7 kept the graph in uns
    else:
        raise ValueError(
            f"{name}.uns[{neighbors_key!r}] names the connectivities {key!r}, which is not a "
            f"key of {name}.obsp (keys: {sorted(adata.obsp.keys()) or 'none'})")
    K = sp.csr_matrix(K, dtype=np.float64, copy=True)
    return sp.csr_matrix(K + sp.diags(1.0 - K.diagonal()))
