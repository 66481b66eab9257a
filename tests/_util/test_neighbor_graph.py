"""Reading scanpy's stored neighbour graph (_util/neighbor_graph): its keys, its matrices."""

import numpy as np
import pytest
import scipy.sparse as sp

from fastdse._util.neighbor_graph import graph_keys, stored_distances, stored_graph


@pytest.fixture
def adata():
    anndata = pytest.importorskip("anndata")
    # one neighbour per row; point 2's is a duplicate: an explicitly stored zero
    D = sp.csr_matrix((np.array([1.0, 1.0, 0.0, 2.0]), np.array([1, 0, 0, 1]),
                       np.array([0, 1, 2, 4])), shape=(3, 3))
    C = sp.csr_matrix(np.array([[0, 0.5, 0], [0.5, 0, 1], [0, 1, 0]]))
    return anndata.AnnData(
        np.zeros((3, 2)),
        obsp={"distances": D, "connectivities": C, "nn_distances": 2 * D,
              "nn_connectivities": C, "mine": 3 * D},
        uns={"neighbors": {"params": {}}, "nn": {"connectivities_key": "nn_connectivities"},
             "custom": {"distances_key": "mine", "connectivities_key": "connectivities"}})


def test_the_keys_follow_scanpys_convention(adata):
    assert graph_keys(adata) == ["custom", "neighbors", "nn"]
    for key, obsp_key, scale in (("neighbors", "distances", 1), ("nn", "nn_distances", 2),
                                 ("custom", "mine", 3)):
        D, found = stored_distances(adata, "X", key, "alpha_decay")
        assert found == obsp_key
        np.testing.assert_array_equal(D.toarray(), scale * adata.obsp["distances"].toarray())
    D, _ = stored_distances(adata, "X", "neighbors", "alpha_decay")
    assert D.nnz == 4  # returned as stored: the explicit zero is kept
    np.testing.assert_array_equal(stored_graph(adata, "X", "custom").diagonal(), 1.0)


def test_old_anndata_kept_the_matrices_in_uns(adata):
    adata.uns["old"] = {"distances": adata.obsp["distances"]}
    D, key = stored_distances(adata, "X", "old", "gaussian")
    assert key == "old_distances" and D is adata.obsp["distances"]


def test_errors(adata):
    with pytest.raises(TypeError, match=r"neighbors_key must be a string \(a key of "
                                        r"adata.uns\); got 1 \(int\)"):
        stored_distances(adata, "X", 1, "alpha_decay")
    with pytest.raises(ValueError, match=r"neighbors_key='nope' is not a key of X.uns; "
                                         r"neighbour graphs stored there: \['custom', "
                                         r"'neighbors', 'nn'\]"):
        stored_distances(adata, "X", "nope", "alpha_decay")
    del adata.obsp["nn_distances"]
    with pytest.raises(ValueError, match=r"X.uns\['nn'\] names the distances 'nn_distances', "
                                         r"which is not a key of X.obsp.*kernel='gaussian' "
                                         r"builds.*kernel='precomputed'"):
        stored_distances(adata, "X", "nn", "gaussian")
