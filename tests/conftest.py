import os

import numpy as np
import pytest

from fastdse.spectral import lanczos


@pytest.fixture
def stochastic_plan(monkeypatch):
    """The automatic plan runs its stochastic estimate from ``DENSE_MAX_N`` points.

    By default it solves densely up to ``AUTO_DENSE_MAX_N``; tests of the pilot, the
    deflation and the probes on small operators set the threshold down to the one that
    holds for every plan.
    """
    monkeypatch.setattr(lanczos, "AUTO_DENSE_MAX_N", lanczos.DENSE_MAX_N)


@pytest.fixture
def rng():
    """A seeded generator; tests never seed globally."""
    return np.random.default_rng(12345)


@pytest.fixture
def mpl():
    """matplotlib on the Agg backend, every figure closed afterwards (skips without it)."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield matplotlib
    plt.close("all")


@pytest.fixture
def ax():
    """A fresh axes on a figure of its own (no pyplot state)."""
    from matplotlib.figure import Figure

    return Figure().add_subplot()


@pytest.fixture
def deny_write(monkeypatch):
    """``deny_write(path)``: ``os.access`` answers "not writable" for ``path``.

    The tests run as root, for whom every path is writable, so the checks of an output
    path are exercised through ``os.access``.
    """
    denied = set()
    real_access = os.access

    def access(path, mode, **kwargs):
        if os.path.abspath(path) in denied:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    return lambda path: denied.add(os.path.abspath(path))
