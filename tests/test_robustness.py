"""DSE on awkward point clouds (hypothesis): repeated rows, discrete features, heavy tails,
two far apart scales. The large-n version of these checks is benchmarks/bench_robustness.py."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastdse
from fastdse.spectral import lanczos

# derandomize: the same examples in every run, so the suite's outcome does not depend on luck
FAST = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
TS = [1, 2, 5, 20, 100]
KINDS = ("repeated", "discrete", "heavy_tails", "two_scales")


def make_cloud(kind, n, d, fraction, seed):
    rng = np.random.default_rng(seed)
    if kind == "repeated":  # `fraction` of the rows copies of the others
        m = n - int(round(fraction * n))
        X = rng.normal(size=(m, d))
        X = np.vstack([X, X[rng.integers(0, m, size=n - m)]])
    elif kind == "discrete":  # integers 0..4: ties everywhere, repeats at small d
        X = rng.integers(0, 5, size=(n, d)).astype(float)
    elif kind == "heavy_tails":  # Student t, 1.5 degrees of freedom
        X = rng.standard_t(1.5, size=(n, d))
    else:  # spread 1 at the origin and spread 1e-3 at distance 1e3
        X = rng.normal(size=(n, d))
        X[n // 2:] = 1e-3 * X[n // 2:]
        X[n // 2:, 0] += 1e3
    return X[rng.permutation(n)]




def clouds_of(kinds):
    return st.builds(
        make_cloud,
        kind=st.sampled_from(kinds),
        n=st.integers(40, 300),
        d=st.integers(1, 6),
        fraction=st.sampled_from([0.1, 0.2, 0.5]),
        seed=st.integers(0, 2**32 - 1),
    )


clouds = clouds_of(KINDS)
#: the exact path is invariant to 1e-8 on every kind (two scales included: distances that
#: cancel in the Gram form are recomputed from coordinate differences)
INVARIANT_KINDS = KINDS
kernels = st.sampled_from(["alpha_decay", "gaussian"])


def kernel_args(X, kernel):
    """Alpha-decay at its defaults; Gaussian with sigma = median distance to the 5th
    distinct neighbour (a bandwidth that moves with the data)."""
    if kernel == "alpha_decay":
        return {"kernel": kernel}
    U = np.unique(X, axis=0)
    D = np.sqrt(((U[:, None, :] - U[None, :, :]) ** 2).sum(-1))
    k = min(5, len(U) - 1)
    sigma = float(np.median(np.sort(D, axis=1)[:, k])) if k > 0 else 1.0
    return {"kernel": kernel, "sigma": sigma if sigma > 0 else 1.0}


def exact(X, **kw):
    return fastdse.dse(X, TS, mode="exact", **kw).value


@FAST
@given(X=clouds, kernel=kernels)
def test_exact_within_bounds(X, kernel):
    v = exact(X, **kernel_args(X, kernel))
    assert np.all(np.isfinite(v))
    assert np.all(v >= -1e-9) and np.all(v <= np.log2(X.shape[0]) + 1e-9)


@FAST
@given(X=clouds_of(INVARIANT_KINDS), kernel=kernels, seed=st.integers(0, 2**32 - 1))
def test_exact_invariant_to_row_order_translation_and_rotation(X, kernel, seed):
    rng = np.random.default_rng(seed)
    kw = kernel_args(X, kernel)
    base = exact(X, **kw)
    permuted = exact(X[rng.permutation(X.shape[0])], **kw)
    np.testing.assert_allclose(permuted, base, rtol=0, atol=1e-8)
    moved = exact(X + rng.normal(size=X.shape[1]) * 10.0, **kw)
    np.testing.assert_allclose(moved, base, rtol=0, atol=1e-8)
    # a rotation keeps every distance up to rounding (exact copies stay exact copies)
    Q, _ = np.linalg.qr(rng.normal(size=(X.shape[1], X.shape[1])))
    np.testing.assert_allclose(exact(X @ Q, **kw), base, rtol=0, atol=1e-8)


@FAST
@given(X=clouds_of(INVARIANT_KINDS), power=st.integers(-60, 60),
       extreme=st.sampled_from([1e50, 1e-50]))
def test_exact_alpha_decay_invariant_to_scale(X, power, extreme):
    base = exact(X)
    np.testing.assert_allclose(exact(X * 2.0**power), base, rtol=0, atol=1e-8)
    np.testing.assert_allclose(exact(X * extreme), base, rtol=0, atol=1e-8)


@FAST
@given(X=clouds)
def test_approx_within_bar_and_stderr(X):
    truth = exact(X)
    with pytest.MonkeyPatch.context() as mp:  # the stochastic estimate from 200 points
        mp.setattr(lanczos, "AUTO_DENSE_MAX_N", lanczos.DENSE_MAX_N)
        res = fastdse.dse(X, TS, mode="approx", neighbors="exact", random_state=0)
    bar = np.maximum(0.005 * np.abs(truth), 0.02)
    assert np.all(np.abs(res.value - truth) <= bar + 4 * res.stderr)


def brute_force_alpha_decay(X, knn=5, decay=40.0, thresh=1e-4):
    """Dense alpha-decay DSE from direct coordinate differences (no Gram form)."""
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    K = np.exp(-((D / np.sort(D, axis=1)[:, knn, None]) ** decay))
    K[K < thresh] = 0.0
    K = (K + K.T) / 2
    deg = K.sum(1)
    lam = np.abs(np.linalg.eigvalsh(K / np.sqrt(np.outer(deg, deg))))
    out = []
    for t in TS:
        a = lam**t
        a = a[a > 0] / a.sum()
        out.append(-(a * np.log2(a)).sum())
    return np.array(out)


#: found by hypothesis: n = 151, d = 1. mode="exact" was 7.6e-3 bits off the brute force at
#: t = 1 on it when its Gram-form distances lost their digits (the cluster of spread 1e-3 lies
#: ~500 from the global mean); those pairs are now recomputed from coordinate differences.
TWO_SCALES_CASE = ("two_scales", 151, 1, 0.1, 3086052821)


def test_exact_and_approx_match_brute_force():
    X = make_cloud(*TWO_SCALES_CASE)
    truth = brute_force_alpha_decay(X)
    np.testing.assert_allclose(exact(X), truth, rtol=0, atol=1e-9)
    res = fastdse.dse(X, TS, mode="approx", neighbors="exact", random_state=0)
    np.testing.assert_allclose(res.value, truth, rtol=0, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_examples_of_every_kind(kind):
    """One fixed cloud per kind at the largest size, so every kind runs every time."""
    X = make_cloud(kind, 300, 4, 0.5, 7)
    test_exact_within_bounds.hypothesis.inner_test(X, "alpha_decay")
    test_exact_within_bounds.hypothesis.inner_test(X, "gaussian")
    test_approx_within_bar_and_stderr.hypothesis.inner_test(X)
    invariant = test_exact_invariant_to_row_order_translation_and_rotation.hypothesis
    invariant.inner_test(X, "gaussian", 3)
    invariant.inner_test(X, "alpha_decay", 3)
    test_exact_alpha_decay_invariant_to_scale.hypothesis.inner_test(X, 37, 1e-50)
