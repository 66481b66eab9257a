"""Accepted input containers, unwrapped to numpy / scipy.sparse before validation.

fastdse's stages work on numpy arrays (points) and scipy CSR matrices
(affinities). This module turns what users hold into those, without importing
any optional library: a container is recognised by the module its type comes
from, so ``import fastdse`` never pulls in torch, pandas, anndata or graphtools.

Points (``X``, ``Z``):

- numpy arrays and array-likes of any integer, boolean or float dtype;
- pandas DataFrames (all columns numeric) and Series;
- PyTorch tensors on any device, with or without ``requires_grad``: detached
  and copied to host memory, half-precision types widened to float32;
- AnnData objects: ``adata.X`` or ``adata.obsm[use_rep]`` (scanpy's keyword), or
  with ``neighbors_key`` the neighbour graph scanpy stored: its k-NN distances, from
  which fastdse builds its own kernel (``neighbor_graph.stored_distances``), or with
  ``kernel="precomputed"`` its connectivities (``neighbor_graph.stored_graph``);
- scipy.sparse feature matrices: densified when the dense copy fits in memory
  (an n x d array is far smaller than the n x n work that follows); otherwise a
  ``ValueError`` suggests reducing the dimension first.

Affinities (``kernel="precomputed"``): a square non-negative symmetric matrix,
dense or scipy.sparse, or a ``graphtools.Graph`` (its ``kernel``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from fastdse._util import memory as _memory
from fastdse._util.neighbor_graph import stored_distances, stored_graph
from fastdse._util.validation import describe

__all__ = [
    "check_points",
    "Resolved",
    "resolve",
    "to_numpy",
    "densify_features",
    "check_affinity",
    "is_graphtools_graph",
    "is_anndata",
    "stored_graph",
    "stored_distances",
]

#: A sparse feature matrix is densified only when the copy takes at most this
#: fraction of the available memory.
DENSIFY_MEMORY_FRACTION = 0.25


def _module_of(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def is_torch_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a ``torch.Tensor`` (without importing torch)."""
    return _module_of(obj) == "torch" and hasattr(obj, "detach") and hasattr(obj, "numpy")


def is_pandas(obj: Any) -> bool:
    """Whether ``obj`` is a pandas DataFrame or Series (without importing pandas)."""
    return _module_of(obj) == "pandas" and hasattr(obj, "to_numpy")


def is_anndata(obj: Any) -> bool:
    """Whether ``obj`` is an ``anndata.AnnData`` (without importing anndata)."""
    return _module_of(obj) == "anndata" and hasattr(obj, "obsm") and hasattr(obj, "obs")


def is_graphtools_graph(obj: Any) -> bool:
    """Whether ``obj`` is a ``graphtools`` graph (without importing graphtools)."""
    return _module_of(obj) == "graphtools" and hasattr(obj, "kernel")


def _torch_to_numpy(tensor: Any, name: str) -> np.ndarray:
    torch = sys.modules["torch"]
    if tensor.layout != torch.strided:
        raise TypeError(
            f"{name} is a sparse torch tensor (layout {tensor.layout}); pass a dense tensor "
            "(tensor.to_dense()) or a scipy.sparse matrix"
        )
    tensor = tensor.detach()
    if tensor.dtype in (torch.bfloat16, torch.float16):
        tensor = tensor.to(torch.float32)
    tensor = tensor.to("cpu")
    if hasattr(tensor, "resolve_conj"):
        tensor = tensor.resolve_conj().resolve_neg()
    return np.asarray(tensor.numpy())


_PANDAS_NULLABLE_NUMERIC = frozenset(
    {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
     "Float32", "Float64", "boolean"}
)


def _pandas_to_numpy(obj: Any, name: str) -> np.ndarray:
    if obj.ndim == 2:
        bad = [
            str(col)
            for col, dtype in obj.dtypes.items()
            if not (dtype.kind in "biuf" or str(dtype) in _PANDAS_NULLABLE_NUMERIC)
        ]
        if bad:
            shown = ", ".join(repr(c) for c in bad[:5]) + (" ..." if len(bad) > 5 else "")
            raise TypeError(
                f"{name} must have numeric columns only; got {len(bad)} non-numeric "
                f"column(s): {shown}. Select the feature columns first, e.g. "
                f"{name}.select_dtypes('number')"
            )
        # nullable integer / float columns: missing values become NaN (rejected later)
        return np.asarray(obj.to_numpy(dtype=np.float64, na_value=np.nan))
    if obj.isna().any():
        raise ValueError(
            f"{name} contains {int(obj.isna().sum())} missing value(s) (NaN/None/NA); every "
            "point needs a value"
        )
    return np.asarray(obj.to_numpy())


def to_numpy(obj: Any, name: str) -> Any:
    """Unwrap torch tensors and pandas objects to numpy; other inputs pass through.

    scipy.sparse matrices are returned unchanged (callers decide whether to
    densify); everything else is left to ``numpy.asarray`` in the validators.
    """
    if is_torch_tensor(obj):
        return _torch_to_numpy(obj, name)
    if is_pandas(obj):
        return _pandas_to_numpy(obj, name)
    if is_anndata(obj):
        raise TypeError(
            f"{name} is an AnnData object; pass it where fastdse takes points (dse, dsmi, "
            "DiffusionGraph), which read adata.X or adata.obsm[use_rep]"
        )
    if isinstance(obj, np.ma.MaskedArray):
        masked = int(np.count_nonzero(np.ma.getmaskarray(obj)))
        if masked:
            raise ValueError(
                f"{name} is a masked array with {masked} masked value(s), which fastdse would "
                f"not see: fill them ({name}.filled(value)) or drop their rows "
                f"({name}[~{name}.mask.any(axis=1)]) first")
        return np.ma.getdata(obj)
    return obj


def densify_features(X: Any, name: str) -> np.ndarray:
    """Return a dense float64 copy of a scipy.sparse feature matrix, if it fits in memory."""
    n, d = X.shape
    need = 8 * n * d
    have = _memory.available_memory()
    if need > DENSIFY_MEMORY_FRACTION * have:
        raise ValueError(
            f"{name} is a sparse {n} x {d} feature matrix; fastdse works on dense features "
            f"and the dense copy would take {_memory.format_bytes(need)} of the "
            f"{_memory.format_bytes(have)} available. Reduce the dimension first, e.g. "
            "sklearn.decomposition.TruncatedSVD(n_components=50).fit_transform(X), or pass "
            "an AnnData with use_rep='X_pca'"
        )
    if X.dtype == object or not (
        np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must hold numbers; got a sparse matrix of dtype {X.dtype}")
    if np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued; got a sparse matrix of complex dtype "
                        f"{X.dtype}")
    return np.asarray(X.toarray(), dtype=np.float64)


@dataclass(frozen=True)
class Resolved:
    """What a user's input turned out to be.

    Attributes
    ----------
    points : array-like or None
        Points, unwrapped (still to be validated by ``check_points``).
    affinity : numpy.ndarray or scipy.sparse matrix or None
        A precomputed affinity (``kernel="precomputed"`` or a graphtools graph).
    source : str
        What the input was: ``"array"``, ``"torch"``, ``"pandas"``, ``"anndata"``,
        ``"sparse"``, ``"graphtools"``.
    graph_anisotropy : float
        Anisotropy already applied by a graphtools graph to its kernel (else 0).
    distances : scipy.sparse matrix or numpy.ndarray or None
        The k-NN distances of a stored scanpy graph (``neighbors_key`` without
        ``kernel="precomputed"``), as stored: the kernel is still to be built
        (:mod:`fastdse.operator.stored_knn`).
    stored : dict or None
        Which stored graph was read: ``neighbors_key``, ``matrix`` (``"distances"`` or
        ``"connectivities"``) and ``obsp_key``.
    """

    points: Any
    affinity: Any
    source: str
    graph_anisotropy: float = 0.0
    distances: Any = None
    stored: dict[str, str] | None = None


def _from_anndata(adata: Any, name: str, use_rep: str | None) -> Any:
    if use_rep is None or use_rep == "X":
        if adata.X is None:
            raise ValueError(
                f"{name}.X is None; pass use_rep=<key of {name}.obsm> (available: "
                f"{sorted(adata.obsm.keys())})"
            )
        return adata.X
    if not isinstance(use_rep, str):
        raise TypeError(f"use_rep must be a string (a key of adata.obsm, or 'X'); got "
                        f"{describe(use_rep)}")
    if use_rep not in adata.obsm:
        raise ValueError(
            f"use_rep={use_rep!r} is not a key of {name}.obsm; available keys: "
            f"{sorted(adata.obsm.keys()) or 'none'} (or 'X' for {name}.X)"
        )
    return adata.obsm[use_rep]


def _from_graph(adata: Any, name: str, neighbors_key: str, use_rep: str | None,
                kernel: str) -> Resolved:
    if use_rep is not None:
        raise ValueError(
            f"use_rep={use_rep!r} and neighbors_key={neighbors_key!r} both choose the input; "
            "pass one: use_rep for points (fastdse's own kernel), neighbors_key for the graph "
            "scanpy stored")
    if kernel == "precomputed":
        K = stored_graph(adata, name, neighbors_key)
        stored = {"neighbors_key": neighbors_key, "matrix": "connectivities"}
        return Resolved(None, K, "anndata", stored=stored)
    D, key = stored_distances(adata, name, neighbors_key, kernel)
    stored = {"neighbors_key": neighbors_key, "matrix": "distances", "obsp_key": key}
    return Resolved(None, None, "anndata", distances=D, stored=stored)


def resolve(X: Any, name: str, *, use_rep: str | None = None,
            neighbors_key: str | None = None, kernel: str = "alpha_decay") -> Resolved:
    """Recognise the container of ``X`` and unwrap it.

    Parameters
    ----------
    X : any accepted input (see the module docstring)
    name : str
        Parameter name for error messages.
    use_rep : str, optional
        AnnData only: ``"X"`` (default) or a key of ``adata.obsm``.
    neighbors_key : str, optional
        AnnData only: the key of ``adata.uns`` naming a stored scanpy neighbour graph.
        With ``kernel="precomputed"`` its connectivities are the affinity
        (``neighbor_graph.stored_graph``); with another kernel its k-NN distances are
        returned (``Resolved.distances``) for that kernel to be built on.
    kernel : str
        The validated kernel setting; ``"precomputed"``: ``X`` is an affinity.

    Returns
    -------
    Resolved
    """
    for keyword, value in (("use_rep", use_rep), ("neighbors_key", neighbors_key)):
        if value is not None and not is_anndata(X):
            raise ValueError(
                f"{keyword}={value!r} applies to AnnData input only; {name} is "
                f"{type(X).__module__}.{type(X).__name__}"
            )
    if neighbors_key is not None:
        return _from_graph(X, name, neighbors_key, use_rep, kernel)
    precomputed = kernel == "precomputed"
    if is_graphtools_graph(X):
        aniso = float(getattr(X, "anisotropy", 0.0) or 0.0)
        return Resolved(None, X.kernel, "graphtools", aniso)
    source = "array"
    if is_anndata(X):
        X, source = _from_anndata(X, name, use_rep), "anndata"
    if is_torch_tensor(X):
        X, source = _torch_to_numpy(X, name), "torch"
    elif is_pandas(X):
        X, source = _pandas_to_numpy(X, name), "pandas"
    if precomputed:
        return Resolved(None, X, source)
    if sp.issparse(X):
        return Resolved(densify_features(X, name), None, "sparse" if source == "array" else source)
    return Resolved(X, None, source)


def _dense_asymmetry(A: np.ndarray, block: int = 1024) -> float:
    """``max |A - A.T|`` by blocks of rows, without an n x n temporary."""
    worst = 0.0
    for lo in range(0, A.shape[0], block):
        worst = max(worst, float(np.max(np.abs(A[lo:lo + block] - A[:, lo:lo + block].T))))
    return worst


def _refuse_knn_distances(A: Any, name: str) -> None:
    """Explain an asymmetric sparse matrix shaped like k-NN distances (scanpy's ``distances``).

    Each row holding the same number k of entries, none on the diagonal, is what a k-NN
    search stores (``adata.obsp["distances"]``): distances, not affinities, and
    symmetrising them would not make them one.
    """
    if not sp.issparse(A) or np.any(A.diagonal() != 0):
        return
    per_row = np.diff(A.indptr)
    k = int(per_row[0])
    if 0 < k < A.shape[0] - 1 and np.all(per_row == k):
        raise ValueError(
            f"{name} looks like k-nearest-neighbour distances, not an affinity: every row "
            f"holds {k} entries, none on the diagonal, and the matrix is not symmetric (as "
            "scanpy's adata.obsp['distances']). A distance is large where an affinity is "
            "small. Pass the AnnData with neighbors_key='neighbors' (fastdse's kernel built "
            "on these distances; with kernel='precomputed', the stored connectivities), or "
            "the points (use_rep='X_pca') for fastdse's own k-NN kernel")


def check_affinity(K: Any, name: str = "X") -> Any:
    """Validate a precomputed affinity; return a private float64 copy.

    The matrix must be square (n >= 2), real, finite, non-negative and
    symmetric (to 1e-8 of its largest entry), and every row must have a
    positive sum. Dense input gives a C-contiguous ``numpy.ndarray``, sparse
    input a canonical CSR matrix (sorted indices, no explicit zeros).
    """
    if sp.issparse(K):
        if K.ndim != 2 or K.shape[0] != K.shape[1]:
            raise ValueError(f"{name} must be a square (n, n) affinity matrix; got shape "
                             f"{K.shape}")
        if not (np.issubdtype(K.dtype, np.number) or np.issubdtype(K.dtype, np.bool_)) \
                or np.issubdtype(K.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers; got dtype {K.dtype}")
        A = sp.csr_matrix(K, dtype=np.float64, copy=True)
        A.sum_duplicates()
        A.eliminate_zeros()
        A.sort_indices()
        data = A.data
        asym = abs(A - A.T)
        asym_max = float(asym.max()) if asym.nnz else 0.0
    else:
        try:
            arr = np.asarray(K)
        except Exception as exc:  # pragma: no cover - exotic inputs
            raise TypeError(f"{name} must be an (n, n) affinity matrix; got {describe(K)}"
                            ) from exc
        if arr.dtype == object or np.issubdtype(arr.dtype, np.complexfloating) or not (
            np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
        ):
            raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"{name} must be a square (n, n) affinity matrix; got shape "
                             f"{arr.shape}")
        A = np.array(arr, dtype=np.float64, order="C", copy=True)
        data = A
        asym_max = None  # computed below, after the finiteness check
    n = A.shape[0]
    if n < 2:
        raise ValueError(f"{name} must have at least 2 points (rows); got {n}")
    if not np.isfinite(data).all():
        raise ValueError(f"{name} contains NaN or infinite affinities; all must be finite")
    if data.size and data.min() < 0:
        raise ValueError(f"{name} must be non-negative; its smallest entry is {data.min():.6g}")
    scale = float(data.max()) if data.size else 0.0
    if asym_max is None:
        asym_max = _dense_asymmetry(A)
    if asym_max > 1e-8 * max(scale, np.finfo(float).tiny):
        _refuse_knn_distances(A, name)
        raise ValueError(
            f"{name} must be a symmetric affinity; max |K - K.T| is {asym_max:.3g} "
            f"(largest entry {scale:.3g}). Symmetrise it first, e.g. (K + K.T) / 2"
        )
    row_sums = np.asarray(A.sum(axis=1)).ravel()
    isolated = int(np.count_nonzero(row_sums <= 0))
    if isolated:
        raise ValueError(
            f"{name} has {isolated} row(s) with zero total affinity; every point needs a "
            "positive degree (add self-affinities, e.g. K + I, or drop those points)"
        )
    return A


#: Integers up to this magnitude convert to float64 exactly.
_EXACT_INT = 2**53


def _shift_large_integers(arr: np.ndarray, name: str) -> np.ndarray:
    """Shift integer columns beyond 2^53 to start at 0, in exact integer arithmetic.

    float64 holds integers exactly only up to 2^53: int64 data near 2^62 would
    lose their low bits (and their differences) when converted. Every use of
    points in fastdse is invariant to translation, so each column is moved to
    start at 0 first; a column that spans more than 2^53 cannot be held at all.
    """
    low, high = arr.min(axis=0), arr.max(axis=0)
    if max(abs(int(low.min())), abs(int(high.max()))) <= _EXACT_INT:
        return arr
    spans = [int(h) - int(lo) for lo, h in zip(low, high)]
    if max(spans) > _EXACT_INT:
        j = int(np.argmax(spans))
        raise ValueError(
            f"{name} holds integers that float64 cannot represent: column {j} spans "
            f"{spans[j]} > 2^53, so neighbouring values would merge. Rescale {name} (e.g. "
            f"divide by a power of 2) or convert it to float yourself")
    return arr - low  # exact: every difference fits in the column's own dtype


def check_points(
    X: Any, name: str = "X", *, min_points: int = 2, dtype: Any = np.float64
) -> np.ndarray:
    """Validate a point cloud and return it as a C-contiguous 2-D float array.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Points. Integer, boolean and floating dtypes are accepted; torch tensors
        and pandas objects are unwrapped and scipy.sparse feature matrices
        densified when they fit in memory (:func:`to_numpy`, :func:`densify_features`).
    name : str
        Parameter name used in error messages.
    min_points : int
        Minimum number of rows.
    dtype : numpy dtype
        Output dtype (float64 unless a caller asks otherwise).

    Returns
    -------
    numpy.ndarray of shape (n, d)
        Integer columns with values beyond 2^53 (which float64 cannot hold exactly)
        are first shifted to start at 0, exactly; every use of points in fastdse is
        invariant to translation.
    """
    X = to_numpy(X, name)
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_points, n_features); got shape {X.shape}")
        X = densify_features(X, name)
    try:
        arr = np.asarray(X)
    except Exception as exc:  # pragma: no cover - depends on exotic inputs
        raise TypeError(f"{name} must be array-like; got {describe(X)}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{name} must hold numbers (integer, boolean or floating dtype); got dtype "
            f"{arr.dtype}"
        )
    if np.issubdtype(arr.dtype, np.integer) and arr.ndim == 2 and arr.size:
        arr = _shift_large_integers(arr, name)
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
