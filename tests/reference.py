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


def collapsed_classes(m: int, noise: float, d: int = 16, seed: int = 3) -> np.ndarray:
    """Three classes of ``m`` near-identical points (a collapsed representation).

    Centres uniform in [0, 1]^d, Gaussian noise ``noise`` per coordinate: at 1e-9 float32
    cannot tell a class's members apart.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(size=(3, d))
    return np.repeat(centres, m, axis=0) + rng.normal(size=(3 * m, d)) * noise


def kth_distance_error(idx: np.ndarray, X: np.ndarray, k: int) -> np.ndarray:
    """Relative error of each row's listed ``k``-th neighbour distance (from differences)."""
    D = np.linalg.norm(X[:, None, :] - X[None], axis=2)
    true = np.sort(D, axis=1)[:, k]
    got = np.linalg.norm(X - X[idx[:, k]], axis=1)
    return np.abs(got / true - 1)

