"""Plots of spectra, DSE curves, benchmark scaling and training histories.

matplotlib is an optional dependency (``pip install matplotlib``); it is
imported only when a function here is called. Every function draws into the
matplotlib ``Axes`` given as ``ax`` (or a new figure from
:func:`matplotlib.pyplot.subplots` when ``ax`` is None) and returns that
``Axes``. Nothing here calls ``plt.show()``, switches the backend or changes
``rcParams``.

Functions
---------
plot_spectrum
    Eigenvalues (descending) or the spectral density of a diffusion operator.
plot_dse_curve
    DSE against the diffusion time ``t``, with standard errors.
plot_scaling
    Log-log time (or memory) against ``n`` from a ``fastdse bench`` CSV.
plot_history
    DSE / DSMI over training epochs (implemented in :mod:`fastdse.monitor`).
"""

from fastdse.plotting.dse_curve import DEFAULT_T_GRID, plot_dse_curve
from fastdse.plotting.scaling import fit_slope, plot_scaling
from fastdse.plotting.spectrum import SPECTRUM_KINDS as SPECTRUM_KINDS
from fastdse.plotting.spectrum import plot_spectrum
from fastdse.plotting.training import plot_history

__all__ = [
    "plot_spectrum",
    "plot_dse_curve",
    "plot_scaling",
    "plot_history",
    "fit_slope",
    "DEFAULT_T_GRID",
]
