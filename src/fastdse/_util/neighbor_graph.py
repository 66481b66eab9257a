"""The neighbour graph scanpy stored in an AnnData: its connectivities or its k-NN distances.

:func:`fastdse._util.inputs.resolve` calls :func:`stored_graph` for ``neighbors_key``
with ``kernel="precomputed"`` (the connectivities, the affinity itself) and
:func:`stored_distances` otherwise (the k-NN distances, from which
:mod:`fastdse.operator.stored_knn` builds fastdse's own kernel). anndata itself is
never imported (the AnnData is the caller's).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from fastdse._util.validation import describe

__all__ = ["stored_graph", "stored_distances", "graph_keys"]


def graph_keys(adata: Any) -> list[str]:
    """Keys of ``adata.uns`` that describe a scanpy neighbour graph."""
    return sorted(k for k, v in adata.uns.items()
                  if hasattr(v, "get") and ("connectivities_key" in v or k == "neighbors"))


def _stored_matrix(adata: Any, name: str, neighbors_key: Any, what: str,
                   missing_advice: str) -> tuple[Any, str]:
    """``adata.obsp`` matrix ``what`` (``"connectivities"``/``"distances"``) of a stored graph.

    scanpy's convention (``scanpy.pp.neighbors(adata, key_added=...)``):
    ``adata.uns[neighbors_key]`` names ``connectivities_key`` and ``distances_key`` in
    ``adata.obsp``; without them the keys are ``"connectivities"``/``"distances"`` for
    ``neighbors_key="neighbors"`` and ``neighbors_key + "_connectivities"`` (or
    ``"_distances"``) otherwise. Returns the matrix as stored and its key.
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
    default = what if neighbors_key == "neighbors" else f"{neighbors_key}_{what}"
    key = entry.get(f"{what}_key", default) if hasattr(entry, "get") else default
    if key in adata.obsp:
        return adata.obsp[key], key
    if hasattr(entry, "get") and entry.get(what) is not None:
        return entry[what], key  # anndata < 0.7 kept the graph in uns
    raise ValueError(
        f"{name}.uns[{neighbors_key!r}] names the {what} {key!r}, which is not a key of "
        f"{name}.obsp (keys: {sorted(adata.obsp.keys()) or 'none'}){missing_advice}")


def stored_graph(adata: Any, name: str, neighbors_key: str) -> sp.csr_matrix:
    """Return the connectivities of the graph scanpy stored, with a unit diagonal.

    scanpy stores no self-affinity; every point gets affinity 1 to itself, as
    fastdse's kernels and UMAP's give at distance 0, so a point whose neighbours are
    all left out of a subgraph (a class of DSMI, a random subset) is its own
    component, of eigenvalue 1.

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
    K, _ = _stored_matrix(adata, name, neighbors_key, "connectivities", "")
    K = sp.csr_matrix(K, dtype=np.float64, copy=True)
    return sp.csr_matrix(K + sp.diags(1.0 - K.diagonal()))


def stored_distances(adata: Any, name: str, neighbors_key: str, kernel: str
                     ) -> tuple[Any, str]:
    """Return the k-NN distances of the graph scanpy stored (as stored) and their key.

    scanpy stores, per row, the distances to the ``n_neighbors - 1`` nearest other
    points (a CSR matrix without the diagonal; a distance of 0 to a duplicated point
    is an explicitly stored zero). ``kernel`` (the kernel to be built on them) only
    words the message when they are missing.
    """
    advice = (f". kernel={kernel!r} builds fastdse's kernel from the stored k-NN "
              "distances; pass kernel='precomputed' to take the stored connectivities as "
              "the affinity instead, or the points (use_rep) for fastdse's own kernel")
    return _stored_matrix(adata, name, neighbors_key, "distances", advice)
