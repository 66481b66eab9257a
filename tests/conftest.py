import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator; tests never seed globally."""
    return np.random.default_rng(12345)
