"""Bad input gets a clear error that names the parameter."""

import numpy as np
import pytest

import fastdse
from fastdse._util.validation import check_random_state


@pytest.fixture
def X(rng):
    return rng.normal(size=(40, 3))


@pytest.mark.parametrize(
    "bad,exc,match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), ValueError, "X contains 1 NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), ValueError, "NaN or infinite"),
        (np.arange(10.0), ValueError, "X must be a 2-D array.*1 dimension"),
        (np.zeros((3, 2, 2)), ValueError, "X must be a 2-D array.*3 dimension"),
        (np.zeros((1, 3)), ValueError, "at least 2 points.*got 1"),
        (np.zeros((0, 3)), ValueError, "at least 2 points.*got 0"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "X must hold numbers.*<U1"),
        (np.array([[1 + 1j, 0], [0, 1]]), TypeError, "real-valued"),
        (np.array([[object(), 1], [2, 3]], dtype=object), TypeError, "X must hold numbers"),
    ],
)
def test_bad_points(bad, exc, match):
    with pytest.raises(exc, match=match):
        fastdse.dse(bad, mode="exact", knn=1)


def test_complex_sparse_features_are_refused():
    import scipy.sparse

    # sparse feature matrices are densified (tests/test_inputs.py); a non-numeric one is not
    bad = scipy.sparse.csr_matrix(np.eye(5), dtype=complex)
    with pytest.raises(TypeError, match="X must be real-valued; got a sparse matrix of complex"):
        fastdse.dse(bad)


@pytest.mark.parametrize(
    "t,exc,match",
    [
        (0, ValueError, "t must be positive and finite; got 0"),
        (-1.5, ValueError, "t must be positive"),
        (np.inf, ValueError, "t must be positive and finite"),
        (np.nan, ValueError, "t must be positive and finite"),
        ([1, 0], ValueError, "t must be positive"),
        ([], ValueError, "non-empty"),
        ("1", TypeError, "t must be a positive finite number"),
        (True, TypeError, "not a boolean"),
        ([[1, 2]], ValueError, "1-D sequence"),
        (None, TypeError, "t must be a positive finite number"),
    ],
)
def test_bad_t(X, t, exc, match):
    with pytest.raises(exc, match=match):
        fastdse.dse(X, t=t, mode="exact")


@pytest.mark.parametrize(
    "kw,exc,match",
    [
        ({"mode": "fast"}, ValueError, "mode must be one of 'auto', 'exact'.*got 'fast'"),
        ({"kernel": "rbf"}, ValueError, "kernel must be one of 'alpha_decay', 'gaussian'.*'rbf'"),
        ({"knn": 40}, ValueError, r"knn must be <= 39 \(n - 1.*n=40\); got 40"),
        ({"knn": 0}, ValueError, "knn must be >= 1; got 0"),
        ({"knn": 2.5}, TypeError, "knn must be an integer"),
        ({"decay": 0}, ValueError, "decay must be > 0.0"),
        ({"sigma": -1.0}, ValueError, "sigma must be > 0.0"),
        ({"sigma": "wide"}, ValueError, "sigma must be one of 'knn'; got 'wide'"),
        ({"thresh": 1.0}, ValueError, "thresh must be < 1.0"),
        ({"anisotropy": 1.5}, ValueError, "anisotropy must be <= 1.0; got 1.5"),
        ({"anisotropy": -0.1}, ValueError, "anisotropy must be >= 0.0"),
        ({"base": 1.0}, ValueError, "base must be greater than 1"),
        ({"base": -2.0}, ValueError, "base must be greater than 1"),
        # a base below 1 turns every entropy negative: refused, not computed
        ({"base": 0.5}, ValueError, r"base must be greater than 1 \(2: bits"),
        # 2 sigma^2 would underflow: every affinity 0/0 and a LAPACK failure without the check
        ({"kernel": "gaussian", "sigma": 1e-300}, ValueError, "sigma must be at least 1.05e-154"),
        ({"random_state": "seed"}, TypeError, "random_state must be None"),
        ({"random_state": 1.5}, TypeError,
         "random_state must be None, a non-negative integer, a numpy.random.RandomState or "
         r"a numpy.random.Generator; got 1.5 \(float\)"),
        ({"random_state": True}, TypeError, "random_state must be None.*RandomState.*got True"),
        # the legacy global module is not a RandomState (scikit-learn reads it as the global one)
        ({"random_state": np.random}, TypeError, "random_state must be None.*got <module"),
        ({"random_state": -3}, ValueError, "random_state must be a non-negative integer"),
    ],
)
def test_bad_parameters(X, kw, exc, match):
    with pytest.raises(exc, match=match):
        fastdse.dse(X, **{"mode": "exact", **kw})


def test_caller_array_is_not_modified(X):
    before = X.copy()
    fastdse.dse(X, t=[1, 2], mode="exact")
    np.testing.assert_array_equal(X, before)


# random_state=numpy.random.RandomState, as scikit-learn accepts it: a Generator seeded from
# the RandomState's stream; the same state gives the same numbers, and the RandomState moves on


def test_random_state_accepts_a_randomstate():
    rs = np.random.RandomState(0)
    gen = check_random_state(rs)
    assert isinstance(gen, np.random.Generator)
    again = check_random_state(np.random.RandomState(0))
    np.testing.assert_array_equal(gen.random(5), again.random(5))


def test_randomstate_is_advanced_and_gives_a_new_generator():
    rs = np.random.RandomState(0)
    first = check_random_state(rs).random(5)
    second = check_random_state(rs).random(5)  # the RandomState moved on: new draws
    assert not np.array_equal(first, second)
    assert rs.random_sample() != np.random.RandomState(0).random_sample()


def test_randomstate_seed_is_not_an_integer_seed():
    # the stream is drawn from, not the RandomState's seed reused: RandomState(0) != 0
    a = check_random_state(np.random.RandomState(0)).random(3)
    b = check_random_state(0).random(3)
    assert not np.array_equal(a, b)


@pytest.fixture(scope="module")
def cloud():
    return np.random.default_rng(7).normal(size=(400, 5))


def test_same_randomstate_same_dse(cloud):
    def run(random_state):
        return fastdse.dse(cloud, [1, 5], mode="approx", neighbors="exact", n_probes=4,
                           random_state=random_state)

    a, b = run(np.random.RandomState(3)), run(np.random.RandomState(3))
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.stderr, b.stderr)
    rs = np.random.RandomState(3)
    run(rs)
    c = run(rs)  # the same object, advanced by the first call: other probes
    assert not np.array_equal(a.value, c.value)


def test_same_randomstate_same_dsmi(cloud):
    labels = np.repeat([0, 1], 200)

    def run(random_state):
        return fastdse.dsmi(cloud, labels, 1, mode="approx", neighbors="exact", n_probes=4,
                            num_repetitions=2, n_jobs=1, progress=False,
                            random_state=random_state)

    a, b = run(np.random.RandomState(5)), run(np.random.RandomState(5))
    assert a.value == b.value and a.stderr == b.stderr
    rs = np.random.RandomState(5)
    run(rs)
    assert rs.random_sample() != np.random.RandomState(5).random_sample()
