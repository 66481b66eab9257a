"""Translation and scale: every mode gives the same DSE across the float64 range."""

import numpy as np
import pytest

import fastdse
from fastdse.operator.conditioning import SCALE_RANGE, condition_points


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(600, 5))


def test_ordinary_points_are_used_as_they_are(X):
    Y, scale, report = condition_points(X)
    assert Y is X and scale == 1.0 and report == {}


def test_far_points_are_centred_and_scaled_by_a_power_of_two(X):
    Y, scale, report = condition_points(X * 1e-18)
    assert np.log2(scale) == np.round(np.log2(scale))  # exact in floating point
    np.testing.assert_array_equal(Y, X * 1e-18 * scale)
    assert SCALE_RANGE[0] <= np.abs(Y).max() <= SCALE_RANGE[1]
    Y, scale, report = condition_points(X + 1e8)
    assert report["centred"] == 1.0
    # X + 1e8 holds X only to the spacing of float64 at 1e8 (1.5e-8), and its mean to ~1e-7
    np.testing.assert_allclose(Y / scale, X - X.mean(axis=0), atol=1e-6)


# (transform, tolerance): an offset costs the input its low digits (the spacing of float64
# at 1e8 is 1.5e-8, at 1e11 1.5e-5 for unit-scale data); a scaling costs nothing
TRANSFORMS = {
    "+1e8": (lambda X: X + 1e8, 1e-6),
    "-1e11": (lambda X: X - 1e11, 1e-3),
    "*1e-18": (lambda X: X * 1e-18, 1e-9),
    "*1e-160": (lambda X: X * 1e-160, 1e-9),
    "*1e154": (lambda X: X * 1e154, 1e-9),
    "*2^500+2^505": (lambda X: X * 2.0**500 + 2.0**505, 1e-6),
}


@pytest.mark.parametrize("mode", ["exact", "approx"])
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_alpha_decay_dse_is_invariant(X, mode, name):
    transform, tol = TRANSFORMS[name]
    kw = dict(t=[1, 5], mode=mode, neighbors="exact", random_state=0)
    base = fastdse.dse(X, **kw)
    moved = fastdse.dse(transform(X), **kw)
    np.testing.assert_allclose(moved.value, base.value, atol=tol)


@pytest.mark.parametrize("mode", ["exact", "approx"])
def test_gaussian_dse_is_invariant_when_sigma_scales_with_the_data(X, mode):
    kw = dict(t=[1, 5], mode=mode, kernel="gaussian", random_state=0)
    base = fastdse.dse(X, sigma=1.0, **kw)
    np.testing.assert_allclose(fastdse.dse(X * 1e-18, sigma=1e-18, **kw).value, base.value,
                               atol=1e-6)
    np.testing.assert_allclose(fastdse.dse(X * 2.0**70, sigma=2.0**70, **kw).value,
                               base.value, atol=1e-6)


def test_integers_beyond_two_to_the_53_keep_their_differences(rng):
    Z = rng.integers(-1000, 1000, size=(400, 4))
    base = fastdse.dse(Z, t=[1, 5], mode="exact")
    far = fastdse.dse(Z.astype(np.int64) + 2**62, t=[1, 5], mode="exact")
    np.testing.assert_allclose(far.value, base.value, atol=1e-9)
    wide = Z.astype(np.int64)
    wide[0, 2] = 2**62
    wide[1, 2] = -(2**62)
    with pytest.raises(ValueError, match=r"column 2 spans .* > 2\^53"):
        fastdse.dse(wide, mode="exact")


def test_a_sigma_below_what_the_data_scale_allows_is_refused(X):
    with pytest.raises(ValueError, match=r"sigma=1e-05 is too small for points of this scale"):
        fastdse.dse(X * 1e150, kernel="gaussian", sigma=1e-5, mode="exact")


def test_info_reports_the_conditioning(X):
    assert "conditioning" not in fastdse.dse(X, mode="exact").info
    info = fastdse.dse(X + 1e8, mode="exact").info["conditioning"]
    assert info["centred"] == 1.0 and info["scale"] < 1
