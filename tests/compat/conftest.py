"""Fixtures of the fastdse.compat tests: the reference package dse-dsmi 1.1 and the data.

Every expected value comes from ``dse_dsmi`` itself. Importing ``dse_dsmi`` calls
``warnings.filterwarnings("ignore")`` and the reference re-seeds the global
``random`` module, so both are contained in fixtures: the import runs inside
``warnings.catch_warnings()`` and every reference call restores ``random``'s state
and runs with warnings ignored (the reference divides 0 by 0 on constant
columns). fastdse.compat runs under the suite's ``filterwarnings = error``.

The parity checks are fixtures too (``assert_parity``, ``assert_mi_parity``), so the
test modules share one tolerance.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

from fastdse import compat

RTOL = 1e-9
# Values below this many bits are sums of n terms of order eps * log2(1 / eps)
# (the reference adds eps to every probability) plus the term of a probability
# within a few ulps of 1, whose rounding alone moves the value by ~1e-16 bits.
# For those (and only those) an absolute tolerance of 1e-13 bits is used.
EPS_DOMINATED = 1e-9
EPS_ATOL = 1e-13


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _single_threaded():
    """One BLAS and one numba thread: the matrices here are small, and threaded
    BLAS on a busy machine makes a 300 x 300 eigvalsh take seconds."""
    numba = pytest.importorskip("numba")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpoolctl.threadpool_limits(limits=1):
            yield
    finally:
        numba.set_num_threads(previous)


@pytest.fixture(scope="module")
def ref_module():
    with warnings.catch_warnings():  # undoes its global filterwarnings("ignore")
        import dse_dsmi
    return dse_dsmi


@pytest.fixture
def ref(ref_module):
    """Call a reference function with warnings ignored and ``random`` state restored."""

    def call(name, *args, **kwargs):
        state = random.getstate()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return getattr(ref_module, name)(*args, **kwargs)
        finally:
            random.setstate(state)

    return call


@pytest.fixture
def mine():
    """Call a compat function and check it left the global ``random`` state alone."""

    def call(name, *args, **kwargs):
        state = random.getstate()
        out = getattr(compat, name)(*args, **kwargs)
        assert random.getstate() == state
        return out

    return call


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20240601)
    uniform = rng.uniform(0, 1, (320, 256))
    centers = rng.normal(scale=6.0, size=(3, 10))
    blob_labels = rng.integers(0, 3, 300)
    blobs = centers[blob_labels] + rng.normal(size=(300, 10))
    # a noisy 2-D swiss roll embedded linearly in 20 dimensions
    s = rng.uniform(1.5 * np.pi, 4.5 * np.pi, 260)
    h = rng.uniform(0, 10, 260)
    roll = np.column_stack([s * np.cos(s), h, s * np.sin(s)])
    manifold = roll @ rng.normal(size=(3, 20)) + 0.05 * rng.normal(size=(260, 20))
    integer = rng.integers(0, 6, (240, 5))
    return {
        "uniform256": uniform,
        "blobs": blobs,
        "manifold": manifold,
        "integer": integer,
        "blob_labels": blob_labels,
    }


def _assert_parity(value, expected):
    assert type(value) is type(expected)
    atol = EPS_ATOL if abs(expected) < EPS_DOMINATED else 0.0
    np.testing.assert_allclose(value, expected, rtol=RTOL, atol=atol)


def _assert_mi_parity(value, expected):
    assert isinstance(value, tuple) and len(value) == 2
    _assert_parity(value[0], expected[0])
    assert value[1].shape == expected[1].shape
    np.testing.assert_array_equal(value[1], expected[1])


@pytest.fixture
def assert_parity():
    """Same type as the reference's value, equal to ``RTOL`` (``EPS_ATOL`` near 0)."""
    return _assert_parity


@pytest.fixture
def assert_mi_parity():
    """A ``(mutual_information, clusters)`` pair: the value as above, the same clusters."""
    return _assert_mi_parity
