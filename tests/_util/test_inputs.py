"""Every accepted input kind gives the number the plain float64 array gives."""

import numpy as np
import pytest
import scipy.sparse as sp

import fastdse
from fastdse._util import inputs as _inputs
from fastdse._util import memory as _memory
from fastdse.operator.kernel import dense_affinity

N = 200
T = [1, 5]


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(3).normal(size=(N, 6))


@pytest.fixture(scope="module")
def reference(X):
    return fastdse.dse(X, T, mode="exact").value


def test_integer_and_float32_dtypes():
    Xi = np.random.default_rng(0).integers(0, 20, size=(150, 4))
    a = fastdse.dse(Xi, 1, mode="exact").value
    b = fastdse.dse(Xi.astype(np.float64), 1, mode="exact").value
    assert a == b
    X32 = np.random.default_rng(1).normal(size=(150, 4)).astype(np.float32)
    assert fastdse.dse(X32, 1, mode="exact").value == fastdse.dse(
        X32.astype(np.float64), 1, mode="exact").value


# ------------------------------------------------------------------------ pandas

def test_pandas_dataframe(X, reference):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    res = fastdse.dse(df, T, mode="exact")
    np.testing.assert_array_equal(res.value, reference)
    # nullable float dtype without missing values works too
    np.testing.assert_array_equal(
        fastdse.dse(df.astype("Float64"), T, mode="exact").value, reference)


def test_pandas_non_numeric_column_is_named(X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X[:, :2], columns=["a", "b"])
    df["kind"] = "x"
    with pytest.raises(TypeError, match=r"non-numeric column\(s\): 'kind'.*select_dtypes"):
        fastdse.dse(df, mode="exact")


def test_pandas_missing_values_rejected(X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X[:, :2]).astype("Float64")
    df.iloc[3, 1] = pd.NA
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        fastdse.dse(df, mode="exact")


# ------------------------------------------------------------------------- torch

def test_torch_tensor_with_grad(X, reference):
    torch = pytest.importorskip("torch")
    tensor = torch.tensor(X, requires_grad=True)
    res = fastdse.dse(tensor * 1.0, T, mode="exact")  # a non-leaf tensor with grad_fn
    np.testing.assert_array_equal(res.value, reference)
    assert fastdse.DiffusionGraph(tensor, mode="exact").input_type_ == "torch"


def test_torch_half_precision_widened(X):
    torch = pytest.importorskip("torch")
    tensor = torch.tensor(X, dtype=torch.bfloat16)
    expected = fastdse.dse(tensor.to(torch.float32).numpy().astype(np.float64), 1,
                           mode="exact").value
    assert fastdse.dse(tensor, 1, mode="exact").value == expected


def test_torch_sparse_tensor_rejected(X):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="sparse torch tensor"):
        fastdse.dse(torch.tensor(X).to_sparse(), mode="exact")


def test_torch_labels_in_dsmi(X):
    torch = pytest.importorskip("torch")
    labels = np.repeat([0, 1], N // 2)
    a = fastdse.dsmi(X, labels, mode="exact", random_state=0).value
    b = fastdse.dsmi(torch.tensor(X), torch.tensor(labels), mode="exact", random_state=0).value
    assert a == b


# ----------------------------------------------------------------------- AnnData

@pytest.fixture(scope="module")
def adata(X):
    anndata = pytest.importorskip("anndata")
    pd = pytest.importorskip("pandas")
    obs = pd.DataFrame({"cell_type": np.repeat(["B", "T"], N // 2)},
                       index=[f"c{i}" for i in range(N)])
    ad = anndata.AnnData(X=np.random.default_rng(9).normal(size=(N, 30)), obs=obs)
    ad.obsm["X_pca"] = X
    return ad


def test_anndata_obsm_and_X(adata, X, reference):
    np.testing.assert_array_equal(
        fastdse.dse(adata, T, mode="exact", use_rep="X_pca").value, reference)
    np.testing.assert_array_equal(
        fastdse.dse(adata, T, mode="exact").value,
        fastdse.dse(np.asarray(adata.X), T, mode="exact").value)


def test_anndata_sparse_X(adata):
    anndata = pytest.importorskip("anndata")
    dense = np.asarray(adata.X)
    sparse = anndata.AnnData(X=sp.csr_matrix(dense))
    assert fastdse.dse(sparse, 1, mode="exact").value == fastdse.dse(dense, 1,
                                                                      mode="exact").value


def test_anndata_bad_use_rep(adata, X):
    with pytest.raises(ValueError, match=r"use_rep='X_umap' is not a key of X.obsm.*X_pca"):
        fastdse.dse(adata, use_rep="X_umap")
    with pytest.raises(ValueError, match="use_rep='X_pca' applies to AnnData input only"):
        fastdse.dse(X, use_rep="X_pca")


def test_anndata_dsmi_with_obs_column(adata, X):
    labels = np.asarray(adata.obs["cell_type"])
    expected = fastdse.dsmi(X, labels, mode="exact", random_state=1).value
    got = fastdse.dsmi(adata, "cell_type", mode="exact", use_rep="X_pca", random_state=1)
    assert got.value == expected
    with pytest.raises(ValueError, match="Y='tissue' is not a column of Z.obs"):
        fastdse.dsmi(adata, "tissue", use_rep="X_pca")


# ----------------------------------------------------------------- sparse features

def test_sparse_features_equal_dense(X, reference):
    Xs = X.copy()
    Xs[np.abs(Xs) < 0.5] = 0.0
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        np.testing.assert_array_equal(
            fastdse.dse(fmt(Xs), T, mode="exact").value,
            fastdse.dse(Xs, T, mode="exact").value)
    assert fastdse.DiffusionGraph(sp.csr_matrix(Xs), mode="exact").input_type_ == "sparse"


def test_sparse_features_too_large_to_densify(monkeypatch, X):
    monkeypatch.setattr(_memory, "available_memory", lambda: 1000)
    with pytest.raises(ValueError, match=r"sparse 200 x 6 feature matrix.*TruncatedSVD"):
        fastdse.dse(sp.csr_matrix(X), mode="exact")


# ---------------------------------------------------------- precomputed affinity

@pytest.fixture(scope="module")
def K(X):
    return dense_affinity(X, "alpha_decay", knn=5, decay=40.0, thresh=1e-4)


def test_precomputed_dense_equals_points(K, reference):
    K_before = K.copy()
    res = fastdse.dse(K, T, kernel="precomputed")
    assert res.mode == "exact"  # a dense affinity runs exact under mode="auto"
    np.testing.assert_allclose(res.value, reference, rtol=1e-12)
    np.testing.assert_array_equal(K, K_before)  # the caller's matrix is untouched


def test_precomputed_sparse_exact_and_approx(K, reference):
    Ks = sp.csr_matrix(K)
    np.testing.assert_allclose(
        fastdse.dse(Ks, T, kernel="precomputed", mode="exact").value, reference, rtol=1e-12)
    before = Ks.copy()
    approx = fastdse.dse(Ks, T, kernel="precomputed", mode="approx", random_state=0)
    assert np.all(np.abs(approx.value - reference) <= 0.02 + 3 * approx.stderr)
    assert (Ks != before).nnz == 0  # normalised in place is the graph's own copy, not this


def test_graphtools_graph_matches_points(X, reference):
    graphtools = pytest.importorskip("graphtools")
    G = graphtools.Graph(X, knn=5, decay=40, thresh=1e-4, verbose=0)
    res = fastdse.dse(G, T, mode="exact")
    # graphtools computes its bandwidths in float32 (kernel entries agree to ~5e-5)
    np.testing.assert_allclose(res.value, reference, rtol=1e-6)
    assert fastdse.DiffusionGraph(G).kernel_ == "precomputed"


def test_graphtools_anisotropy_matches_ours(X):
    graphtools = pytest.importorskip("graphtools")
    G = graphtools.Graph(X, knn=5, decay=40, thresh=1e-4, anisotropy=0.5, verbose=0)
    ours = fastdse.dse(X, T, mode="exact", anisotropy=0.5).value
    np.testing.assert_allclose(fastdse.dse(G, T, mode="exact").value, ours, rtol=1e-6)
    with pytest.raises(ValueError, match="already has anisotropy=0.5"):
        fastdse.dse(G, mode="exact", anisotropy=0.5)
    with pytest.raises(ValueError, match="kernel must be 'precomputed'"):
        fastdse.dse(G, kernel="gaussian")
    with pytest.raises(TypeError, match="Z must be points for dsmi"):
        fastdse.dsmi(G, np.repeat([0, 1], N // 2))


@pytest.mark.parametrize("make, error, match", [
    (lambda K: K[:, :-1], ValueError, "square"),
    (lambda K: K + np.triu(np.full_like(K, 0.1), 1), ValueError, "symmetric affinity"),
    (lambda K: K - 2.0, ValueError, "non-negative"),
    (lambda K: np.where(np.isfinite(K), K, 0) * np.nan, ValueError, "NaN or infinite"),
    (lambda K: K.astype(complex), TypeError, "real numbers"),
])
def test_precomputed_bad_affinity(K, make, error, match):
    with pytest.raises(error, match=match):
        fastdse.dse(make(K), kernel="precomputed")


def test_precomputed_isolated_point(K):
    K2 = K.copy()
    K2[0, :] = 0.0
    K2[:, 0] = 0.0
    with pytest.raises(ValueError, match=r"1 row\(s\) with zero total affinity"):
        fastdse.dse(sp.csr_matrix(K2), kernel="precomputed", mode="approx")


def test_precomputed_landmark_rejected(K):
    with pytest.raises(ValueError, match="mode='landmark' needs the points"):
        fastdse.dse(K, kernel="precomputed", mode="landmark")


def test_resolve_is_lazy_about_optional_modules():
    # recognising containers never imports the optional libraries
    assert not _inputs.is_torch_tensor(np.zeros(3))
    assert not _inputs.is_pandas([1, 2])
    assert not _inputs.is_anndata(np.zeros(3))
    assert not _inputs.is_graphtools_graph(sp.eye(3))


def test_tiny_precomputed_affinity_against_numpy():
    # knn (unused by an affinity) does not limit n; the value is checked independently
    K = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 1.0]])
    d = K.sum(1)
    lam = np.abs(np.linalg.eigvalsh(K / np.sqrt(np.outer(d, d))))
    expected = []
    for t in (1, 2):
        p = lam**t / np.sum(lam**t)
        expected.append(-np.sum(p * np.log2(p)))
    np.testing.assert_allclose(fastdse.dse(K, [1, 2], kernel="precomputed").value, expected,
                               rtol=1e-12)


# --------------------------------------------------------------------------- neighbors_key


def _knn_graph(X, k, rng_key="neighbors"):
    """scanpy's layout built by hand: symmetric connectivities, k-NN distances (no scanpy)."""
    n = X.shape[0]
    d2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    nbr = np.argsort(d2, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    dist = sp.csr_matrix((np.sqrt(d2[rows, nbr.ravel()]), (rows, nbr.ravel())), shape=(n, n))
    conn = dist.copy()
    conn.data = np.exp(-conn.data)
    conn = conn.maximum(conn.T).tocsr()
    return dist, conn


@pytest.fixture
def graph_adata(rng):
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    labels = np.repeat(["a", "b", "c"], 20)
    X = rng.normal(size=(60, 4)) + 6 * np.repeat(np.arange(3), 20)[:, None]
    dist, conn = _knn_graph(X, 4)
    ad = anndata.AnnData(X=X, obs=pd.DataFrame({"group": labels},
                                               index=[str(i) for i in range(60)]))
    ad.obsp["distances"], ad.obsp["connectivities"] = dist, conn
    ad.obsp["other_connectivities"] = conn * 0.5
    ad.uns["neighbors"] = {"connectivities_key": "connectivities",
                           "distances_key": "distances", "params": {"use_rep": "X"}}
    ad.uns["other"] = {"connectivities_key": "other_connectivities"}
    return ad


def test_neighbors_key_is_the_connectivities_with_a_unit_diagonal(graph_adata):
    conn = graph_adata.obsp["connectivities"]
    expected = conn.toarray() + np.eye(60)
    for key, scale in (("neighbors", 1.0), ("other", 0.5)):
        res = _inputs.resolve(graph_adata, "X", neighbors_key=key, kernel="precomputed")
        assert res.source == "anndata" and res.points is None and res.distances is None
        assert res.stored == {"neighbors_key": key, "matrix": "connectivities"}
        want = scale * conn.toarray() + np.eye(60)
        np.testing.assert_allclose(res.affinity.toarray(), want)
    ref = fastdse.dse(expected, [1, 5], kernel="precomputed", mode="exact")
    kw = dict(kernel="precomputed", neighbors_key="neighbors")
    for got in (fastdse.dse(graph_adata, [1, 5], **kw),
                fastdse.DiffusionGraph(graph_adata, **kw).dse([1, 5])):
        np.testing.assert_array_equal(got.value, ref.value)
    assert graph_adata.obsp["connectivities"].diagonal().max() == 0  # caller's data untouched


def test_neighbors_key_without_precomputed_reads_the_distances(graph_adata):
    for kernel in ("alpha_decay", "gaussian"):
        res = _inputs.resolve(graph_adata, "X", neighbors_key="neighbors", kernel=kernel)
        assert res.affinity is None and res.points is None
        assert res.distances is graph_adata.obsp["distances"]  # as stored, built on later
        assert res.stored == {"neighbors_key": "neighbors", "matrix": "distances",
                              "obsp_key": "distances"}
    # "other" names no distances_key: the default key, <neighbors_key>_distances, is missing
    with pytest.raises(ValueError, match=r"X.uns\['other'\] names the distances "
                                         r"'other_distances', which is not a key of X.obsp.*"
                                         r"kernel='alpha_decay' builds fastdse's kernel.*pass "
                                         r"kernel='precomputed'.*use_rep"):
        fastdse.dse(graph_adata, neighbors_key="other")
    # the stored graph holds 4 neighbours per point: knn=5 (the default) cannot be read
    with pytest.raises(ValueError, match=r"knn=5 is larger than the stored graph allows.*"
                                         r"holds 4 neighbours per point.*Pass knn <= 4"):
        fastdse.dse(graph_adata, neighbors_key="neighbors")


def test_neighbors_key_errors(graph_adata):
    with pytest.raises(ValueError,
                       match=r"'nope' is not a key of X.uns.*\['neighbors', 'other'\]"):
        fastdse.dse(graph_adata, kernel="precomputed", neighbors_key="nope")
    with pytest.raises(ValueError, match="both choose the input"):
        fastdse.dse(graph_adata, kernel="precomputed", neighbors_key="neighbors", use_rep="X")
    with pytest.raises(ValueError, match="neighbors_key='neighbors' applies to AnnData input"):
        fastdse.dse(np.eye(3), kernel="precomputed", neighbors_key="neighbors")
    with pytest.raises(TypeError, match="neighbors_key must be a string"):
        fastdse.dse(graph_adata, kernel="precomputed", neighbors_key=3)
    graph_adata.uns["broken"] = {"connectivities_key": "missing"}
    with pytest.raises(ValueError, match="names the connectivities 'missing'"):
        fastdse.dse(graph_adata, kernel="precomputed", neighbors_key="broken")


def test_knn_distances_are_refused_as_distances(graph_adata):
    with pytest.raises(ValueError, match="looks like k-nearest-neighbour distances.*4 entries"
                                         ".*neighbors_key='neighbors'"):
        fastdse.dse(graph_adata.obsp["distances"], kernel="precomputed")
    asym = sp.csr_matrix(np.array([[1.0, 2.0, 0], [1.0, 1.0, 0], [0, 0, 1.0]]))
    with pytest.raises(ValueError, match="Symmetrise it first"):
        fastdse.dse(asym, kernel="precomputed")


def test_isolated_points_are_their_own_components():
    # the exact path on an identity block: one eigenvalue 1 per point
    eig = fastdse.DiffusionGraph(np.eye(4), kernel="precomputed", mode="exact").eigenvalues()
    np.testing.assert_allclose(eig, np.ones(4))


def test_dsmi_on_a_stored_graph_with_isolated_points(graph_adata):
    # a class whose points have no neighbour inside it: each is its own component
    lonely = np.arange(60) % 20 < 2
    graph_adata.obs["group"] = np.where(lonely, "lonely", graph_adata.obs["group"])
    conn = graph_adata.obsp["connectivities"].tolil()
    for i in (0, 1, 20, 21, 40, 41):
        for j in (0, 1, 20, 21, 40, 41):
            conn[i, j] = 0.0
    graph_adata.obsp["connectivities"] = conn.tocsr()
    kw = dict(kernel="precomputed", neighbors_key="neighbors", random_state=0)
    exact = fastdse.dsmi(graph_adata, "group", [1, 5], mode="exact", **kw)
    lonely = next(term for term in exact.per_class if term.label == "lonely")
    np.testing.assert_allclose(lonely.conditional, np.log2(6))  # six eigenvalues 1
    approx = fastdse.dsmi(graph_adata, "group", [1, 5], mode="approx", **kw)
    np.testing.assert_allclose(approx.value, exact.value, atol=0.05)
    # the raw stored matrix (no self-affinity): the class-aware message of dsmi_tasks
    with pytest.raises(ValueError, match=r"zero total affinity inside their class.*class "
                                         r"'lonely' of Y: 6 of its 6 points.*Z \+ I.*"
                                         r"neighbors_key"):
        fastdse.dsmi(graph_adata.obsp["connectivities"], graph_adata.obs["group"].to_numpy(),
                     kernel="precomputed", random_state=0)
