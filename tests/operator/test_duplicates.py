"""Repeated rows as weighted distinct points, against the plain dense operator on all rows."""

import numpy as np
import pytest

import fastdse
from fastdse import DiffusionGraph
from fastdse.operator.duplicates import find_duplicates, row_hashes, weighted_knn_distance
from fastdse.operator.kernel import dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace
from reference import entropy_bits


def repeated(rng, m=120, d=3, max_copies=9):
    """Distinct points, some repeated up to ``max_copies`` times, rows shuffled."""
    U = rng.normal(size=(m, d))
    counts = rng.integers(1, max_copies + 1, size=m)
    X = np.repeat(U, counts, axis=0)
    return X[rng.permutation(len(X))]


def plain_eigenvalues(X, kernel, anisotropy=0.0, **kw):
    """The reference: the dense operator on every row, as the exact path built it before."""
    K = dense_affinity(X, kernel, **kw)
    normalize_dense_inplace(K, anisotropy)
    return np.linalg.eigvalsh(K)


def test_find_duplicates(rng):
    X = rng.normal(size=(50, 4))
    assert find_duplicates(X) is None
    Y = np.vstack([X, X[:3], -0.0 * X[:1]])
    Y[-1] = np.where(X[0] == 0, -0.0, X[0])
    Z = np.vstack([np.zeros((2, 4)), -np.zeros((1, 4))])  # -0.0 is 0.0
    dups = find_duplicates(Z)
    assert dups.unique.shape == (1, 4) and dups.counts.tolist() == [3.0]
    dups = find_duplicates(Y)
    assert dups.unique.shape[0] == 50 and dups.counts.sum() == len(Y)
    np.testing.assert_array_equal(dups.unique[dups.inverse], Y + 0.0)


def test_rows_of_float32_data_get_distinct_hashes(rng):
    # float32 values widened to float64 end in 29 zero bits; a hash that kept them had
    # 35 bits, and a million distinct rows collided (about 15 pairs expected)
    X = rng.normal(size=(1_000_000, 4)).astype(np.float32).astype(np.float64)
    assert len(np.unique(row_hashes(X))) == len(X)
    assert np.array_equal(row_hashes(np.vstack([X[:3], X[1:2]]))[[1, 3]],
                          row_hashes(X[1:2])[[0, 0]])


def test_weighted_knn_distance_counts_copies(rng):
    X = repeated(rng)
    dups = find_duplicates(X)
    U, w = dups.unique, dups.counts
    D = np.linalg.norm(U[:, None] - U[None], axis=-1)
    order = np.argsort(D, axis=1)
    Dfull = np.linalg.norm(X[:, None] - X[None], axis=-1)
    for knn in (1, 5, 12):
        b = weighted_knn_distance(order, np.take_along_axis(D, order, 1), w, knn)
        # brute force on all rows: the knn-th smallest distance to another row
        first_row = np.array([np.flatnonzero(dups.inverse == a)[0] for a in range(len(U))])
        expected = np.sort(Dfull[first_row], axis=1)[:, knn]
        np.testing.assert_allclose(b, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kernel,kw",
    [("alpha_decay", dict(knn=5, decay=40.0, thresh=1e-4)),
     ("alpha_decay", dict(knn=2, decay=10.0, thresh=0.0)),
     ("gaussian", dict(sigma=0.7, thresh=0.0))],
)
@pytest.mark.parametrize("anisotropy", [0.0, 0.5])
def test_exact_mode_has_the_spectrum_of_all_rows(rng, kernel, kw, anisotropy):
    X = repeated(rng)
    lam = plain_eigenvalues(X, kernel, anisotropy, **kw)
    g = DiffusionGraph(X, mode="exact", kernel=kernel, anisotropy=anisotropy,
                       **{k: v for k, v in kw.items()})
    ev = g.eigenvalues()
    assert ev.shape == lam.shape
    np.testing.assert_allclose(ev, lam, atol=1e-10)
    assert g.spectral_measure().info["distinct_points"] == 120
    for t in (1.0, 3.0, 20.0):
        assert g.dse(t).value == pytest.approx(entropy_bits(lam, t), abs=1e-9)


def test_collapse_is_zero_bits_in_every_mode():
    X = np.zeros((3000, 8))
    for mode in ("exact", "approx"):
        res = fastdse.dse(X, t=[1, 5], mode=mode, random_state=0)
        np.testing.assert_array_equal(res.value, 0.0)


def test_one_block_of_copies_and_a_few_points(rng):
    X = np.vstack([np.zeros((999, 3)), np.ones((1, 3)), rng.normal(size=(20, 3))])
    lam = plain_eigenvalues(X, "alpha_decay", knn=5, decay=40.0, thresh=1e-4)
    expected = [entropy_bits(lam, t) for t in (1.0, 2.0, 5.0)]
    for mode in ("exact", "approx"):
        res = fastdse.dse(X, t=[1, 2, 5], mode=mode, random_state=0)
        np.testing.assert_allclose(res.value, expected, atol=1e-8)


def test_approx_agrees_with_exact_on_repeated_rows_within_its_error_bar():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2500, 6))
    X[rng.choice(2500, 500, replace=False)] = X[rng.choice(2500, 500)]
    ts = [1.0, 2.0, 5.0, 20.0]
    exact = fastdse.dse(X, ts, mode="exact")
    approx = fastdse.dse(X, ts, mode="approx", random_state=0)
    err = np.abs(approx.value - exact.value)
    assert np.all(err <= np.maximum(0.005 * exact.value, 0.02))
    # one draw of a stochastic estimate: within 4 standard errors (before the weighted
    # operator, 20 % repeated rows put t = 1 at 4-12 standard errors)
    assert np.all(err <= 4 * approx.stderr)
    assert err[0] <= 2 * approx.stderr[0]
    # the value at one t does not depend on the others asked for
    alone = fastdse.dse(X, 1.0, mode="approx", random_state=0)
    assert abs(alone.value - approx.value[0]) <= 3 * approx.stderr[0]


def test_landmark_mode_counts_the_zero_eigenvalues(rng):
    X = repeated(rng, m=300, max_copies=4)
    res = fastdse.dse(X, t=[50], mode="landmark", n_landmarks=50, random_state=0)
    measure = DiffusionGraph(X, mode="landmark", n_landmarks=50,
                             random_state=0).spectral_measure()
    assert measure.n == len(X) and measure.info["distinct_points"] == 300
    assert 0 <= res.value[0] <= np.log2(len(X))
