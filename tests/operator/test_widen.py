"""Widening neighbour lists to given radii: radius query, two hops, rounds (operator/widen)."""

import numpy as np
import pytest

from fastdse.operator import widen
from fastdse.operator.exact_search import ExactSearcher
from fastdse.operator.neighbors import widen_to_radius


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


class RoundsOnly:
    """An exact searcher without a radius query: widening runs rounds of k-NN searches."""

    def __init__(self, X):
        self.searcher = ExactSearcher(X)

    def query(self, rows, k1):
        return self.searcher.query(rows, k1)


def test_widen_to_radius_covers_radius(rng):
    X = rng.normal(size=(400, 3))
    s = ExactSearcher(X)
    idx, dist = s.query(np.arange(400), 4)
    radius = np.full(400, 0.6)
    indptr, nbr, nd, trunc, info = widen_to_radius(s, idx, dist, radius, max_neighbors=399,
                                                   multiplier=3)
    assert len(trunc) == 0 and info["rounds"] >= 1
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    for i in range(400):
        row = nbr[indptr[i]:indptr[i + 1]]
        assert row[0] == i
        within = set(np.nonzero(D[i] < 0.6)[0])
        assert within <= set(row.tolist())
    # a cap reports the truncated rows
    *_, trunc, _ = widen_to_radius(s, idx, dist, np.full(400, 10.0), max_neighbors=20)
    assert len(trunc) == 400


def test_widening_by_rounds_lists_every_point_in_radius(rng):
    X = rng.normal(size=(400, 3))
    s = RoundsOnly(X)
    idx, dist = s.query(np.arange(400), 4)
    radius = rng.uniform(0.2, 0.7, size=400)
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    short = np.sort(D, axis=1)[:, 3] < radius  # the 4-point lists that miss their radius
    indptr, nbr, nd, trunc, info = widen_to_radius(s, idx, dist, radius, max_neighbors=399,
                                                   multiplier=2)
    assert info["widened_rows"] == short.sum() > 0 and len(info["radius_rows"]) == 0
    assert info["rounds"] >= 2 and len(trunc) == 0
    for i in range(400):
        row = nbr[indptr[i]:indptr[i + 1]]
        d = nd[indptr[i]:indptr[i + 1]]
        assert row[0] == i and np.all(np.diff(d) >= 0)
        np.testing.assert_allclose(d, D[i, row], atol=1e-12)
        assert set(np.nonzero(D[i] <= radius[i])[0].tolist()) <= set(row.tolist())
        if not short[i]:
            np.testing.assert_array_equal(row, idx[i])
    # the cap: rounds cannot tell, so rows whose 11 nearest points (self included) all lie
    # inside their radius are reported
    *_, trunc, _ = widen_to_radius(s, idx, dist, radius, max_neighbors=10, multiplier=2)
    assert len(trunc) > 0
    np.testing.assert_array_equal(trunc, np.nonzero(np.sort(D, axis=1)[:, 10] < radius)[0])


def test_two_hop_widening(rng, monkeypatch):
    X = rng.normal(size=(600, 3))
    s = ExactSearcher(X)
    s.two_hop = True  # as the pynndescent searcher
    idx, dist = s.query(np.arange(600), 20)
    radius = np.full(600, 0.5)
    monkeypatch.setattr(widen, "EXACT_WIDEN_MAX_PAIRS", 0)
    indptr, nbr, nd, trunc, info = widen_to_radius(s, idx, dist, radius, max_neighbors=599)
    assert info["two_hop_rows"] > 0 and len(trunc) == 0
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    found = total = 0
    for i in range(600):
        row = nbr[indptr[i]:indptr[i + 1]]
        d = nd[indptr[i]:indptr[i + 1]]
        assert row[0] == i and d[0] == 0.0 and np.all(np.diff(d) >= 0)
        np.testing.assert_allclose(d, D[i, row], atol=1e-12)
        want = set(np.nonzero(D[i] <= 0.5)[0].tolist())
        found += len(want & set(row.tolist()))
        total += len(want)
    assert found / total > 0.99  # two hops of 20 find nearly all in-radius points in 3-d
