import numpy as np
import pytest


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
