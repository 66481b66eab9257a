"""fastdse's kernel on stored k-NN distances (operator/stored_knn), alone and through the API.

The reference is fastdse's own kernel on the points the lists came from: the sparse
kernel entry-wise, and DSE in the same mode (the dense exact path for mode="exact").
"""

import numpy as np
import pytest
import scipy.sparse as sp

import fastdse
from fastdse.operator.kernel import dense_affinity, sparse_affinity
from fastdse.operator.stored_knn import stored_knn_affinity, stored_lists

T = [1, 5, 20]


def knn_csr(X, k):
    """scanpy's layout, built from exact neighbours: k per row, self excluded, by distance."""
    from sklearn.neighbors import NearestNeighbors

    dist, idx = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X).kneighbors()
    n = X.shape[0]
    return sp.csr_matrix((dist.ravel(), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))


def graph_adata(X, D, key="neighbors"):
    anndata = pytest.importorskip("anndata")
    distances = "distances" if key == "neighbors" else f"{key}_distances"
    return anndata.AnnData(X, obsp={distances: D},
                           uns={key: {"distances_key": distances, "params": {"use_rep": "X"}}})


def kernel(D, kernel="alpha_decay", knn=5, decay=40.0, sigma=10.0, thresh=1e-4):
    return stored_knn_affinity(D, kernel, knn=knn, decay=decay, sigma=sigma, thresh=thresh,
                               where="D", source="the test graph")


@pytest.fixture
def X(rng):
    return rng.normal(size=(200, 3))


# --------------------------------------------------------------------------- the kernel


@pytest.mark.parametrize("kw", [dict(knn=5, decay=40.0), dict(knn=3, decay=10.0),
                                dict(knn=5, decay=40.0, thresh=1e-2),
                                dict(kernel="gaussian", sigma=0.2)])
def test_the_kernel_is_the_sparse_kernel_when_the_lists_cover_the_radius(X, kw):
    K, report = kernel(knn_csr(X, 80), **kw)
    assert report["truncated_rows"] == 0 and report["max_cut_affinity"] == 0.0
    ref = sparse_affinity(X, neighbors="exact", **kw)
    assert K.nnz == ref.nnz == report["nnz"]
    np.testing.assert_array_equal(K.indices, ref.indices)
    np.testing.assert_allclose(K.data, ref.data, rtol=1e-10, atol=0)
    np.testing.assert_array_equal(K.diagonal(), 1.0)


def test_the_bandwidth_is_the_knn_th_stored_neighbour_as_in_the_sparse_path(X):
    D = knn_csr(X, 30)
    K, report = kernel(D, knn=4, decay=2.0, thresh=0.5)  # a radius inside the lists
    _, info = sparse_affinity(X, knn=4, decay=2.0, thresh=0.5, neighbors="exact",
                              return_info=True)
    fourth = np.sort(D.toarray() + np.where(D.toarray() == 0, np.inf, 0), axis=1)[:, 3]
    np.testing.assert_allclose(info["bandwidth"], fourth, rtol=1e-12)
    assert report["knn"] == 4 and report["truncated_rows"] == 0


def test_the_row_order_and_a_stored_diagonal_do_not_matter(X):
    D = knn_csr(X, 60)
    K, _ = kernel(D)
    shuffled = D.tocsr(copy=True)
    shuffled.sort_indices()  # rows by column, not by distance
    with_self = shuffled.copy()
    with_self.setdiag(0.0)  # the point itself, stored as an explicit zero
    assert with_self.nnz == D.nnz + 200
    for other in (shuffled, with_self):
        np.testing.assert_allclose(kernel(other)[0].toarray(), K.toarray(), rtol=1e-15)


def test_duplicated_points_are_explicit_zeros_and_match_the_dense_path(rng):
    # scanpy keeps a distance of 0 to a duplicate as an explicitly stored zero
    base = rng.normal(size=(120, 2))
    X = np.vstack([base, base[:30], base[:10]])
    D = knn_csr(X, 70)
    assert np.count_nonzero(D.data == 0) > 0
    lists = stored_lists(D, "D")
    assert lists.counts.min() == 70  # the zeros are neighbours
    K, report = kernel(D)
    assert report["truncated_rows"] == 0
    np.testing.assert_allclose(K.toarray(), dense_affinity(X, "alpha_decay", knn=5, decay=40.0,
                                                           thresh=1e-4), rtol=1e-10, atol=0)


def test_a_dense_distance_matrix_lists_every_point(X):
    from scipy.spatial.distance import cdist

    K, report = kernel(cdist(X, X))
    assert report["truncated_rows"] == 0 and report["stored_neighbors_min"] == 199
    ref = dense_affinity(X, "alpha_decay", knn=5, decay=40.0, thresh=1e-4)
    np.testing.assert_allclose(K.toarray(), ref, rtol=1e-10, atol=0)


def test_rows_cut_inside_their_radius_are_truncated_and_warned(X):
    D = knn_csr(X, 6)
    with pytest.warns(fastdse.TruncationWarning,
                      match=r"alpha_decay kernel built on the stored k-NN distances of the test "
                            r"graph is truncated in \d+ of 200 rows.*6 stored per row.*larger "
                            r"n_neighbors than 7.*use_rep"):
        K, report = kernel(D)
    assert 0 < report["truncated_rows"] <= 200
    assert 1e-4 <= report["max_cut_affinity"] < 1
    # the truncated rows are those whose radius reaches their 6th neighbour
    lists = stored_lists(D, "D")
    farthest = lists.dist[lists.indptr[1:] - 1]
    fifth = lists.dist[lists.indptr[:-1] + 5]
    factor = (-np.log(1e-4)) ** (1 / 40)
    assert report["truncated_rows"] == np.count_nonzero(farthest <= factor * fifth)
    with pytest.warns(fastdse.TruncationWarning, match="a smaller sigma"):
        kernel(D, kernel="gaussian", sigma=1.0)


def repeated_entry(D, fmt):
    """``D`` with row 0's first entry stored twice: side by side in CSR, appended in COO."""
    if fmt == "csr":
        ptr = D.indptr.copy()
        ptr[1:] += 1
        return sp.csr_matrix((np.insert(D.data, 0, D.data[0]), np.insert(D.indices, 0,
                                                                         D.indices[0]), ptr),
                             shape=D.shape)
    C = D.tocoo()
    return sp.coo_matrix((np.r_[C.data, C.data[0]], (np.r_[C.row, C.row[0]],
                                                     np.r_[C.col, C.col[0]])), shape=D.shape)


@pytest.mark.parametrize("D,kw,error,match", [
    (lambda X: knn_csr(X, 4), dict(knn=5), ValueError,
     r"knn=5 is larger than the stored graph allows: the test graph holds 4 neighbours per "
     r"point.*Pass knn <= 4.*n_neighbors=30.*use_rep"),
    (lambda X: knn_csr(X, 10), dict(thresh=0.0), ValueError,
     r"thresh must be > 0 for a kernel on stored k-NN distances.*got 0.0"),
    (lambda X: -knn_csr(X, 10), {}, ValueError,
     r"D must hold non-negative distances; its smallest entry is -"),
    (lambda X: knn_csr(X, 10)[:, :150], {}, ValueError,
     r"D must be a square \(n, n\) matrix of k-NN distances; got shape \(200, 150\)"),
    (lambda X: np.zeros((3, 4)), {}, ValueError, r"got shape \(3, 4\)"),
    (lambda X: np.full((3, 3), "a"), {}, TypeError, r"D must hold real distances; got dtype"),
    (lambda X: sp.csr_matrix(np.array([[0, np.nan], [1.0, 0]])), {}, ValueError,
     "NaN or infinite distances"),
    (lambda X: repeated_entry(knn_csr(X, 10), "csr"), {}, ValueError,
     r"D must store each pair of points once; 1 entries repeat a pair already stored \(the "
     r"first: row 0, column \d+\)"),
    (lambda X: repeated_entry(knn_csr(X, 10), "coo"), {}, ValueError,
     r"D must store each pair of points once; 1 entries repeat"),
])
def test_errors_name_the_parameter_what_is_allowed_and_what_was_given(X, D, kw, error, match):
    with pytest.raises(error, match=match):
        kernel(D(X), **kw)


def test_rows_of_different_lengths_name_the_fewest(X):
    D = knn_csr(X, 8).tolil()
    D[0, D.rows[0][-1]] = 0  # LIL drops the entry: row 0 holds 7
    D[1, D.rows[1][-1]] = 0
    with pytest.raises(ValueError, match=r"from 7 to 8 neighbours per point \(2 rows fewer "
                                         r"than knn\).*Pass knn <= 7"):
        kernel(D.tocsr(), knn=8)
    # the Gaussian kernel needs no bandwidth neighbour
    K, report = kernel(D.tocsr(), kernel="gaussian", sigma=0.01)
    assert report["stored_neighbors_min"] == 7 and "knn" not in report


# --------------------------------------------------------------------------- through the API


@pytest.mark.parametrize("mode", ["exact", "approx"])
def test_dse_on_the_stored_distances_is_dse_on_the_points(X, mode):
    adata = graph_adata(X, knn_csr(X, 80))
    got = fastdse.dse(adata, T, neighbors_key="neighbors", mode=mode, random_state=0)
    ref = fastdse.dse(X, T, mode=mode, random_state=0)
    np.testing.assert_allclose(got.value, ref.value, rtol=0, atol=1e-10)
    assert got.mode == mode and got.info["kernel"] == "alpha_decay"
    assert got.info["thresh"] == 1e-4 and got.info["knn"] == 5
    graph = got.info["graph"]
    assert graph["neighbors_key"] == "neighbors" and graph["matrix"] == "distances"
    assert graph["obsp_key"] == "distances" and graph["truncated_rows"] == 0
    if mode == "approx":
        assert got.info["operator"]["kernel"] == "alpha_decay"


def test_the_settings_of_the_kernel_apply(X):
    adata = graph_adata(X, knn_csr(X, 100), key="nn")
    kw = dict(knn=3, decay=10.0, anisotropy=0.5, thresh=1e-3)
    got = fastdse.dse(adata, T, neighbors_key="nn", mode="exact", **kw)
    np.testing.assert_allclose(got.value, fastdse.dse(X, T, mode="exact", **kw).value,
                               rtol=0, atol=1e-10)
    assert got.info["graph"]["obsp_key"] == "nn_distances"
    gauss = fastdse.DiffusionGraph(adata, neighbors_key="nn", kernel="gaussian", sigma=0.2,
                                   mode="exact")
    ref = fastdse.dse(X, T, kernel="gaussian", sigma=0.2, thresh=1e-4, mode="exact")
    np.testing.assert_allclose(gauss.dse(T).value, ref.value, rtol=0, atol=1e-10)
    assert gauss.kernel_ == "gaussian" and gauss.input_type_ == "anndata"
    assert "stored graph 'nn' (distances), mode='exact', kernel='gaussian'" in repr(gauss)
    # the threshold of the kernel that ran: the sparse one, also in exact mode
    assert gauss.dse(1).info["thresh"] == 1e-4


def test_mode_auto_and_landmark_on_a_stored_graph(X):
    adata = graph_adata(X, knn_csr(X, 40))
    assert fastdse.DiffusionGraph(adata, neighbors_key="neighbors").mode_ == "exact"
    with pytest.raises(ValueError, match="mode='landmark' needs the points to place landmarks; "
                                         "X is the graph stored under neighbors_key="
                                         "'neighbors'.*use_rep"):
        fastdse.dse(adata, neighbors_key="neighbors", mode="landmark")
    with pytest.raises(ValueError, match=r"knn must be <= 41 \(n - 1, .*got 42"):
        fastdse.dse(graph_adata(X[:42], knn_csr(X[:42], 41)), neighbors_key="neighbors",
                    knn=42)


def test_dsmi_on_the_stored_distances_takes_sub_matrices_of_the_whole_kernel(X):
    y = np.repeat([0, 1], 100)
    adata = graph_adata(X, knn_csr(X, 80))
    got = fastdse.dsmi(adata, y, T, neighbors_key="neighbors", kernel="alpha_decay",
                       mode="exact", random_state=0)
    K = sparse_affinity(X, neighbors="exact")  # the whole data's kernel, sub-matrices per task
    ref = fastdse.dsmi(K, y, T, kernel="precomputed", mode="exact", random_state=0)
    np.testing.assert_allclose(got.value, ref.value, rtol=0, atol=1e-10)
    assert got.info["graph"]["matrix"] == "distances" and got.info["graph"]["knn"] == 5
    with pytest.raises(ValueError, match="mode='landmark' needs points; Z is the graph stored"):
        fastdse.dsmi(adata, y, neighbors_key="neighbors", kernel="alpha_decay", mode="landmark")
    with pytest.raises(ValueError, match=r"sigma='knn' \(a bandwidth measured on the points\) "
                                         "cannot be taken from the graph stored under"):
        fastdse.dsmi(adata, y, neighbors_key="neighbors")  # the default kernel


# --------------------------------------------------------------------------- real scanpy


@pytest.fixture(scope="module")
def scanpy_adata():
    sc = pytest.importorskip("scanpy")
    anndata = pytest.importorskip("anndata")
    X = np.random.default_rng(7).normal(size=(150, 4))
    adata = anndata.AnnData(X)
    sc.pp.neighbors(adata, n_neighbors=60, use_rep="X")  # exact below 4096 cells
    sc.pp.neighbors(adata, n_neighbors=6, use_rep="X", key_added="few")
    return adata


def test_scanpy_graphs_reproduce_dse_on_the_points(scanpy_adata):
    X = scanpy_adata.X
    for mode in ("exact", "approx"):
        got = fastdse.dse(scanpy_adata, T, neighbors_key="neighbors", mode=mode,
                          random_state=0)
        ref = fastdse.dse(X, T, mode=mode, random_state=0)
        np.testing.assert_allclose(got.value, ref.value, rtol=0, atol=1e-9)
        assert got.info["graph"]["stored_neighbors_min"] == 59
    # knn = the 5 stored neighbours: every radius reaches beyond the last of them
    with pytest.warns(fastdse.TruncationWarning, match=r"neighbors_key='few' is truncated in "
                                                       r"150 of 150 rows"):
        fastdse.dse(scanpy_adata, T, neighbors_key="few")
    with pytest.raises(ValueError, match=r"knn=6 is larger than the stored graph allows: "
                                         r"neighbors_key='few' holds 5 neighbours per point "
                                         r"\(X.obsp\['few_distances'\]"):
        fastdse.dse(scanpy_adata, neighbors_key="few", knn=6)
    # kernel="precomputed" keeps reading the connectivities
    conn = fastdse.dse(scanpy_adata, T, neighbors_key="neighbors", kernel="precomputed")
    assert conn.info["graph"]["matrix"] == "connectivities"
    ref = fastdse.dse(scanpy_adata.obsp["connectivities"] + sp.identity(150), T,
                      kernel="precomputed")
    np.testing.assert_allclose(conn.value, ref.value, rtol=1e-12)
