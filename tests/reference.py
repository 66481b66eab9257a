"""Reference values from closed forms and the definition, shared by the tests.

Importable from every test folder (``pythonpath = ["tests"]`` in pyproject.toml).
"""

import numpy as np


def regular_polygon(n: int, radius: float = 1.0) -> np.ndarray:
    """Vertices of a regular n-gon in the plane."""
    angles = 2 * np.pi * np.arange(n) / n
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])


def circulant_eigenvalues(row: np.ndarray) -> np.ndarray:
    """Eigenvalues of the random walk on a symmetric circulant kernel with first row ``row``.

    A symmetric circulant matrix has eigenvalues sum_j c_j cos(2 pi j k / n); every
    degree equals sum_j c_j, so P = K / degree has those divided by the degree.
    """
    n = row.shape[0]
    j = np.arange(n)
    lam = np.array([np.sum(row * np.cos(2 * np.pi * j * k / n)) for k in range(n)])
    return np.sort(lam / row.sum())


def entropy_bits(eigenvalues: np.ndarray, t: float) -> float:
    """DSE straight from the definition (plain numpy, no log-domain tricks)."""
    a = np.abs(eigenvalues) ** t
    p = a / a.sum()
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())
