"""Closed-form and property checks of fastdse.shannon.shannon_entropy."""

from __future__ import annotations

import itertools
import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fastdse.shannon import cell_counts, shannon_entropy


def corners(k, repeats):
    """All 2^k corners of the unit cube, each repeated ``repeats`` times."""
    cube = np.array(list(itertools.product([0.0, 1.0], repeat=k)))
    return np.repeat(cube, repeats, axis=0)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("repeats", [1, 4])
def test_equally_occupied_corners_give_k_bits(k, repeats):
    assert shannon_entropy(corners(k, repeats)) == pytest.approx(k, rel=1e-15)


def test_unequal_occupancy_closed_form():
    # cells with 1, 1 and 2 points: H = 1.5 bits
    X = np.array([[0.0], [1.0], [2.0], [2.0]])
    assert shannon_entropy(X, bins_per_dim=3) == pytest.approx(1.5, rel=1e-15)
    # 2 bins: values 0 and 1 scale to 0 and 0.5 -> bins 1 and 2; the counts are 1 and 3
    p = np.array([0.25, 0.75])
    assert shannon_entropy(X) == pytest.approx(-np.sum(p * np.log2(p)), rel=1e-15)


def test_cell_counts_are_the_occupied_cells_in_order():
    # the counts shannon_entropy (and fastdse.compat's classic Shannon entropy) is taken of
    np.testing.assert_array_equal(cell_counts(corners(3, 2), 2), np.full(8, 2))
    X = np.array([[0.0], [1.0], [2.0], [2.0]])
    np.testing.assert_array_equal(cell_counts(X, 3), [1, 1, 2])
    np.testing.assert_array_equal(cell_counts(X[::-1], 3), [1, 1, 2])  # cells, not rows
    X = np.array([[1.0, 5.0], [0.0, 5.0], [1.0, 5.0]])  # a constant column: one bin
    np.testing.assert_array_equal(cell_counts(X, 4), [1, 2])


def test_identical_points_give_zero():
    X = np.full((50, 4), 3.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert shannon_entropy(X, bins_per_dim=5) == 0.0


def test_single_point_and_single_bin():
    assert shannon_entropy([[1.0, 2.0]]) == 0.0
    X = np.random.default_rng(0).normal(size=(40, 3))
    assert shannon_entropy(X, bins_per_dim=1) == 0.0


def test_constant_column_does_not_change_entropy(rng):
    X = rng.uniform(size=(200, 3))
    with_constant = np.column_stack([X[:, :1], np.full(200, -7.0), X[:, 1:]])
    assert shannon_entropy(with_constant, 4) == shannon_entropy(X, 4)


def test_max_in_last_bin_and_returns_python_float():
    X = np.array([[0.0], [0.49], [0.51], [1.0]])
    value = shannon_entropy(X)
    assert type(value) is float
    assert value == 1.0


def test_base_changes_units(rng):
    X = rng.normal(size=(300, 2))
    bits = shannon_entropy(X, 3)
    assert shannon_entropy(X, 3, base=np.e) == pytest.approx(bits * np.log(2), rel=1e-14)
    assert shannon_entropy(X, 3, base=8) == pytest.approx(bits / 3, rel=1e-14)


def test_bounds(rng):
    for n, d, b in [(10, 4, 3), (500, 2, 3), (64, 6, 2)]:
        X = rng.normal(size=(n, d))
        h = shannon_entropy(X, b)
        assert 0.0 <= h <= np.log2(min(n, b**d)) + 1e-12


def test_integer_and_boolean_input(rng):
    ints = rng.integers(0, 4, (100, 3))
    assert shannon_entropy(ints, 4) == shannon_entropy(ints.astype(float), 4)
    bools = corners(3, 2).astype(bool)
    assert shannon_entropy(bools) == pytest.approx(3.0, rel=1e-15)


def test_affine_per_column_invariance(rng):
    X = rng.uniform(size=(300, 4))
    scale = np.array([3.0, 0.25, 1e3, 7.5])
    shift = np.array([-12.5, 4.0, 1e4, 0.0])
    for b in (2, 3, 5):
        assert shannon_entropy(X * scale + shift, b) == pytest.approx(
            shannon_entropy(X, b), rel=1e-14
        )


@settings(max_examples=40, deadline=None)
@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(1, 30), st.integers(1, 4)),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
    ),
    bins=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_row_order_invariance(X, bins, seed):
    perm = np.random.default_rng(seed).permutation(X.shape[0])
    h = shannon_entropy(X, bins)
    assert shannon_entropy(X[perm], bins) == pytest.approx(h, rel=1e-14, abs=1e-15)
    assert 0.0 <= h <= np.log2(X.shape[0]) + 1e-12


@pytest.mark.parametrize(
    "X,kwargs,exc,match",
    [
        (np.zeros(5), {}, ValueError, "X must be a 2-D array"),
        (np.zeros((0, 2)), {}, ValueError, "X must have at least 1 point \\(rows\\)"),
        (np.zeros((3, 0)), {}, ValueError, "X must have at least 1 feature"),
        ([[0.0, np.inf]], {}, ValueError, "X contains 1 NaN or infinite"),
        ([["a"]], {}, TypeError, "X must hold numbers"),
        ([[1j]], {}, TypeError, "X must be real-valued"),
        ([[0.0]], {"bins_per_dim": 0}, ValueError, "bins_per_dim must be >= 1"),
        ([[0.0]], {"bins_per_dim": 2.0}, TypeError, "bins_per_dim must be an integer"),
        ([[0.0]], {"base": 1}, ValueError, "base must be greater than 1"),
        ([[0.0]], {"base": 0}, ValueError, "base must be greater than 1"),
        ([[0.0]], {"base": "2"}, TypeError, "base must be a real number"),
    ],
)
def test_bad_input(X, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        shannon_entropy(X, **kwargs)


def test_base_is_keyword_only():
    with pytest.raises(TypeError, match="positional argument"):
        shannon_entropy([[0.0]], 2, 2.0)


# ---------------------------------------------------------------------------
# agreement with the reference's classic Shannon entropy
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_cse():
    with warnings.catch_warnings():  # undoes the reference's filterwarnings("ignore")
        from dse_dsmi import diffusion_spectral_entropy

    def call(X, bins):
        state = random.getstate()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its 0 / 0 on constant columns
                return diffusion_spectral_entropy(
                    X, classic_shannon_entropy=True, num_bins_per_dim=bins
                )
        finally:
            random.setstate(state)

    return call


@pytest.mark.parametrize("bins", [2, 3, 7])
def test_agrees_with_reference_cse(rng, reference_cse, bins):
    # The reference adds eps to each of the m occupied-cell probabilities, which
    # moves its value by about eps * sum(log2(1 / p) - 1 / ln 2), at most m * 60 * eps,
    # i.e. below 1e-11 bits for the m <= 500 cells here.
    datasets = [
        rng.uniform(size=(500, 256)),
        rng.normal(size=(400, 3)),
        rng.integers(0, 6, (300, 5)),
        np.column_stack([rng.normal(size=300), np.full(300, 2.0)]),  # constant column
    ]
    for X in datasets:
        expected = reference_cse(X, bins)
        value = shannon_entropy(X, bins)
        assert value == pytest.approx(expected, rel=0, abs=1e-11)
