r"""Drop-in replacements for the public functions of ``dse-dsmi`` 1.1.

:func:`diffusion_spectral_entropy`, :func:`adjacency_spectral_entropy`,
:func:`diffusion_spectral_mutual_information` and
:func:`adjacency_spectral_mutual_information` take the same arguments (names,
order, defaults) as the reference package and return the same numbers (the tests
demand ``1e-9`` relative; typically ``1e-15``) and the same types, including the
reference's quirks:

- ``np.finfo(float).eps`` is added to every probability before the entropy
  :math:`-\sum_i p_i \log_2 p_i` is taken (bits);
- the Gaussian kernel is the fixed-bandwidth
  :math:`\exp(-|x_i - x_j|^2 / 2\sigma^2)` and the diffusion operator is the plain
  random walk :math:`D^{-1} K` (anisotropy 0), whose eigenvalues are those of
  :math:`D^{-1/2} K D^{-1/2}`;
- ``max_N`` subsampling draws ``random.sample(range(n), k=max_N)`` after
  ``random.seed(random_seed)``, with Python's Mersenne Twister;
- with ``eigval_save_path``, eigenvalues are saved at ``eigval_save_precision``
  and the first run already uses the down-cast values;
- the mutual information re-seeds before each class, and an inner entropy call
  on more than 10,000 points re-seeds to 0 (which changes the later draws).

What differs, on purpose:

- No global side effects: importing this module changes no warning filter and
  imports no plotting library; the functions never touch the global ``random``
  state (a local :class:`random.Random` replays the reference's draws). Only
  ``chebyshev_approx=True`` uses global state: like the reference, it draws its
  probe vectors from NumPy's legacy global generator (``np.random.randn``), so
  ``np.random.seed`` makes it reproducible. Warnings the reference silences
  globally (0/0 while scaling a constant column) are avoided locally.
- Bad input raises ``ValueError`` or ``TypeError`` naming the parameter (the
  reference prints a warning for inputs of different lengths, then fails with an
  ``IndexError``, and asserts on discrete multi-column references).
- ``eigval_save_path`` may have no directory part (the reference crashes on
  ``os.makedirs('')``) and cached files are loaded with ``allow_pickle=False``.
- Everything is computed in float64 (the reference computes float32 input in
  float32); with ``random_seed=None`` the draws come from a fresh, OS-seeded
  generator instead of the continuing global ``random`` state.
- The dense path is fastdse's: one n x n array, built, normalised and
  diagonalised in place (no n x n diagonal matrices, no ``Deg @ G @ Deg``).

The entropies live in :mod:`fastdse.compat.entropy` and the mutual informations in
:mod:`fastdse.compat.mutual_information`, both re-exported here. Each function checks
its arguments (private ``_common``, which also reads and writes the eigenvalue cache)
and hands the clean values to private ``_compute``, which replays the reference's
computation.
"""

from __future__ import annotations

from fastdse.compat.entropy import adjacency_spectral_entropy, diffusion_spectral_entropy
from fastdse.compat.mutual_information import (
    adjacency_spectral_mutual_information,
    diffusion_spectral_mutual_information,
)

__all__ = [
    "diffusion_spectral_entropy",
    "adjacency_spectral_entropy",
    "diffusion_spectral_mutual_information",
    "adjacency_spectral_mutual_information",
]
