"""The spectral stage's renumbering of a badly numbered operator (fastdse.spectral.layout)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from fastdse import DiffusionGraph
from fastdse.spectral import layout
from reference import entropy_bits


def _ring(n: int) -> sp.csr_matrix:
    """A cycle graph in its natural numbering: every entry next to the diagonal."""
    i = np.arange(n)
    rows = np.concatenate([i, i])
    cols = np.concatenate([(i + 1) % n, (i - 1) % n])
    return sp.csr_matrix((np.full(2 * n, 0.5), (rows, cols)), shape=(n, n))


def test_permuted_is_the_symmetric_permutation_and_numbers_back_exactly(rng):
    A = sp.random(300, 300, density=0.05, random_state=1, format="csr")
    A = (A + A.T).tocsr()
    order = rng.permutation(300)
    B = layout.permuted(A, order)
    np.testing.assert_array_equal(B.toarray(), A.toarray()[np.ix_(order, order)])
    assert B.indices.dtype == A.indices.dtype and B.indptr.dtype == A.indptr.dtype
    back = layout.permuted(B, np.argsort(order))
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(back, name), getattr(A, name))


def test_spread_is_small_for_a_local_numbering_and_large_for_a_random_one(rng):
    A = _ring(5000)
    assert layout.numbering_spread(A) < 0.001
    shuffled = layout.permuted(A, rng.permutation(5000))
    assert 0.2 < layout.numbering_spread(shuffled) < 0.4
    assert layout.numbering_spread(sp.csr_matrix((10, 10))) == 0.0


def test_layout_renumbers_only_a_poor_numbering_with_an_order(rng):
    n = 5000
    order = rng.permutation(n)
    shuffled = layout.permuted(_ring(n), order)  # the ring's order undoes the shuffle
    known = rng.normal(size=(n, 2))
    B, known_b, used, info = layout.spectral_layout(shuffled, known, np.argsort(order))
    assert info["renumbered"] and info["spread"] > layout.RENUMBER_MIN_SPREAD
    assert info["spread_after"] < 0.001 and used is not None
    np.testing.assert_array_equal(known_b, known[np.argsort(order)])
    # no order, or a numbering that is fine already: left as it is
    for A, o in ((shuffled, None), (_ring(n), order)):
        same, k, used, info = layout.spectral_layout(A, known, o)
        assert same is A and k is known and used is None and not info["renumbered"]


def test_layout_makes_no_copy_above_its_memory_cap(rng, monkeypatch):
    n = 5000
    order = rng.permutation(n)
    shuffled = layout.permuted(_ring(n), order)
    monkeypatch.setattr(layout, "RENUMBER_MAX_BYTES", shuffled.data.nbytes)
    same, _, used, info = layout.spectral_layout(shuffled, None, np.argsort(order))
    assert same is shuffled and used is None and info["too_large"]
    assert not info["renumbered"] and info["spread"] > layout.RENUMBER_MIN_SPREAD


@pytest.fixture(scope="module")
def shuffled_blobs():
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(6, 8)) * 6.0
    X = np.repeat(centres, 500, axis=0) + rng.normal(size=(3000, 8))
    return X[rng.permutation(len(X))]


def test_renumbered_spectral_stage_measures_the_same_operator(shuffled_blobs, monkeypatch):
    kw = dict(mode="approx", neighbors="nndescent", random_state=0)
    g = DiffusionGraph(shuffled_blobs, **kw)
    res = g.dse([1, 5])
    info = g.spectral_measure().info
    assert info["layout"]["renumbered"] and info["layout"]["spread_after"] < 0.1
    assert "renumber" in [row["stage"] for row in res.info["stages"]]
    # the operator comes back in the points' numbering: the one built without renumbering
    monkeypatch.setattr(layout, "RENUMBER_MIN_SPREAD", 1.0)
    plain = DiffusionGraph(shuffled_blobs, **kw)
    plain_res = plain.dse([1, 5])
    assert not plain.spectral_measure().info["layout"]["renumbered"]
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(g.operator_, name),
                                      getattr(plain.operator_, name))
    # both estimates cover the operator's exact DSE
    lam = scipy.linalg.eigvalsh(g.operator_.toarray())
    exact = np.array([entropy_bits(lam, t) for t in (1, 5)])
    for r in (res, plain_res):
        assert np.all(np.abs(r.value - exact) <= 3 * r.stderr + 0.01), (r.value, exact)


def test_repeated_rows_take_the_distinct_points_order(shuffled_blobs, monkeypatch):
    # the weighted operator of the distinct points is renumbered alike (forced here: the
    # distinct rows come sorted, a numbering with locality)
    X = np.vstack([shuffled_blobs, shuffled_blobs[:500]])
    kw = dict(mode="approx", neighbors="nndescent", random_state=0)
    monkeypatch.setattr(layout, "RENUMBER_MIN_SPREAD", 0.0)
    g = DiffusionGraph(X, **kw)
    res = g.dse([1, 5])
    assert g.spectral_measure().info["layout"]["renumbered"]
    monkeypatch.setattr(layout, "RENUMBER_MIN_SPREAD", 1.0)
    plain = DiffusionGraph(X, **kw)
    plain_res = plain.dse([1, 5])
    assert not plain.spectral_measure().info["layout"]["renumbered"]
    assert g.operator_.shape == (3000, 3000)  # the distinct points
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(g.operator_, name),
                                      getattr(plain.operator_, name))
    both = np.hypot(res.stderr, plain_res.stderr)
    assert np.all(np.abs(res.value - plain_res.value) <= 3 * both + 0.01)
