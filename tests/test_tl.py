"""fastdse.tl: results written into adata.uns, scanpy-style."""

import numpy as np
import pytest

import fastdse
from fastdse import tl

anndata = pytest.importorskip("anndata")


@pytest.fixture
def adata(rng):
    import pandas as pd

    labels = np.repeat(["a", "b/c"], 40)
    X = rng.normal(size=(80, 3)) + 10 * (labels == "a")[:, None]
    return anndata.AnnData(X, obs=pd.DataFrame({"group": labels},
                                               index=[str(i) for i in range(80)]))


def test_dse_writes_uns_and_returns_none(adata, tmp_path):
    assert tl.dse(adata, [1, 5], mode="exact") is None
    ref = fastdse.dse(adata, [1, 5], mode="exact")
    np.testing.assert_array_equal(adata.uns["dse"]["value"], ref.value)
    assert adata.uns["dse"]["n"] == 80 and "eigenvalues" in adata.uns["dse"]
    adata.write_h5ad(tmp_path / "a.h5ad")  # what is stored can be written
    back = anndata.read_h5ad(tmp_path / "a.h5ad")
    np.testing.assert_array_equal(back.uns["dse"]["value"], ref.value)


def test_dsmi_copy_leaves_the_input_alone(adata, tmp_path):
    out = tl.dsmi(adata, "group", [1, 2], key_added="mi", copy=True, kernel="gaussian",
                  sigma=3, random_state=0)
    assert "mi" not in adata.uns
    ref = fastdse.dsmi(adata, "group", [1, 2], kernel="gaussian", sigma=3, random_state=0)
    np.testing.assert_array_equal(out.uns["mi"]["value"], ref.value)
    table = out.uns["mi"]["per_class"]
    assert table["label"].tolist() == ["a", "b/c"] and table["size"].tolist() == [40, 40]
    assert table["unconditional_reps"].shape == (2, 5, 2)
    out.write_h5ad(tmp_path / "mi.h5ad")


def test_tl_refuses_bad_arguments(adata):
    with pytest.raises(TypeError, match="adata must be an anndata.AnnData"):
        tl.dse(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="key_added must be a non-empty string"):
        tl.dse(adata, key_added="a/b")
    with pytest.raises(TypeError, match="copy must be True or False"):
        tl.dsmi(adata, "group", copy="yes")


def test_a_stored_graph_by_its_distances_or_its_connectivities(adata, tmp_path):
    import scipy.sparse as sp
    from sklearn.neighbors import NearestNeighbors

    # scanpy's layout: 50 exact neighbours per row, self excluded; connectivities alike
    dist, idx = NearestNeighbors(n_neighbors=50).fit(adata.X).kneighbors()
    D = sp.csr_matrix((dist.ravel(), idx.ravel(), np.arange(0, 80 * 50 + 1, 50)),
                      shape=(80, 80))
    adata.obsp["distances"] = D
    adata.obsp["connectivities"] = sp.csr_matrix(D.maximum(D.T) > 0, dtype=float)
    adata.uns["neighbors"] = {"distances_key": "distances",
                              "connectivities_key": "connectivities"}
    tl.dse(adata, [1, 5], neighbors_key="neighbors", mode="exact")
    stored = adata.uns["dse"]
    ref = fastdse.dse(adata, [1, 5], use_rep="X", mode="exact")
    np.testing.assert_allclose(stored["value"], ref.value, atol=1e-10)
    graph = stored["info"]["graph"]
    assert graph["matrix"] == "distances" and graph["truncated_rows"] == 0
    tl.dsmi(adata, "group", 1, neighbors_key="neighbors", kernel="alpha_decay", key_added="mi",
            random_state=0)
    tl.dsmi(adata, "group", 1, neighbors_key="neighbors", kernel="precomputed",
            key_added="mi_conn", random_state=0)
    assert adata.uns["mi"]["info"]["graph"]["matrix"] == "distances"
    assert adata.uns["mi_conn"]["info"]["graph"]["matrix"] == "connectivities"
    adata.write_h5ad(tmp_path / "graph.h5ad")  # the graph report can be written
    back = anndata.read_h5ad(tmp_path / "graph.h5ad")
    assert back.uns["dse"]["info"]["graph"]["knn"] == 5
