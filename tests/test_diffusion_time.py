"""t="auto": the knee of the DSE-vs-t curve."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdse
from fastdse.diffusion_time import T_AUTO_MAX, auto_t_grid, knee_point


def brute_force_knee(x, y):
    """Independent implementation: np.polyfit for every split, smallest total residual."""
    best, best_k = np.inf, None
    for k in range(2, len(x) - 2):
        err = 0.0
        for xs, ys in ((x[: k + 1], y[: k + 1]), (x[k:], y[k:])):
            coef = np.polyfit(xs, ys, 1)
            err += float(np.sum((np.polyval(coef, xs) - ys) ** 2))
        if best_k is None or err < best - 1e-9 * max(1.0, best):
            best, best_k = err, k
    return best_k


@pytest.mark.parametrize("knee", [3, 7, 15, 40])
def test_piecewise_linear_knee_found_exactly(knee):
    x = np.arange(1.0, 61.0)
    y = np.where(x <= knee, 50 - 3 * (x - 1), 50 - 3 * (knee - 1) - 0.05 * (x - knee))
    assert x[knee_point(x, y)] == knee


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=5, max_size=40))
def test_knee_matches_brute_force(values):
    y = np.asarray(values)
    x = np.arange(1.0, y.size + 1)
    k = knee_point(x, y)
    # ties (several splits with equal residual) may resolve differently: compare residuals
    kb = brute_force_knee(x, y)

    def total(k):
        err = 0.0
        for xs, ys in ((x[: k + 1], y[: k + 1]), (x[k:], y[k:])):
            coef = np.polyfit(xs, ys, 1)
            err += float(np.sum((np.polyval(coef, xs) - ys) ** 2))
        return err

    assert total(k) <= total(kb) + 1e-7 * max(1.0, total(kb))


def test_knee_point_validation():
    with pytest.raises(ValueError, match="at least 5 points"):
        knee_point(np.arange(4.0), np.arange(4.0))
    with pytest.raises(ValueError, match="strictly increasing"):
        knee_point(np.array([1.0, 2, 2, 3, 4]), np.arange(5.0))
    with pytest.raises(ValueError, match="same length"):
        knee_point(np.arange(5.0), np.arange(6.0))


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=8, size=(4, 5))
    return np.repeat(centres, 60, axis=0) + rng.normal(size=(240, 5))


def test_auto_t_is_knee_of_exact_curve(blobs):
    res = fastdse.dse(blobs, "auto", mode="exact")
    ts = np.arange(1.0, T_AUTO_MAX + 1)
    curve = fastdse.dse(blobs, ts, mode="exact").value
    k = brute_force_knee(ts, curve)
    assert res.t == ts[k] == res.info["t_auto"]
    assert res.value == curve[k]
    assert res.stderr == 0.0
    np.testing.assert_array_equal(res.info["curve_value"], curve)
    # four separated blobs: the curve levels off near log2(4) = 2 bits past the knee
    assert curve[-1] < res.value < curve[0]


def test_auto_t_approx_close_to_exact(blobs):
    exact = fastdse.dse(blobs, "auto", mode="exact")
    approx = fastdse.DiffusionGraph(blobs, mode="approx", neighbors="exact",
                                    random_state=0).dse("auto")
    assert approx.mode == "approx"
    assert isinstance(approx.t, float) and isinstance(approx.value, float)
    assert abs(approx.value - exact.value) <= 0.02 + 3 * approx.stderr + 0.1 * abs(
        approx.t - exact.t)


def test_dse_curve(blobs):
    g = fastdse.DiffusionGraph(blobs, mode="exact")
    curve = g.dse_curve(20)
    np.testing.assert_array_equal(curve.t, auto_t_grid(20))
    np.testing.assert_allclose(curve.value, g.dse(np.arange(1, 21)).value)
    with pytest.raises(ValueError, match="t_max must be >= 5"):
        g.dse_curve(3)


def test_bad_t_strings(blobs):
    with pytest.raises(TypeError, match="sequence of them, or 'auto'; got 'knee'"):
        fastdse.dse(blobs, "knee", mode="exact")
    with pytest.raises(TypeError, match="sequence of them, or 'auto'; got 'knee'"):
        fastdse.dsmi(blobs, np.repeat([0, 1], 120), t="knee")
