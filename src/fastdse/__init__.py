"""fastdse: Diffusion Spectral Entropy and Mutual Information for point clouds of any size.

The pipeline, one stage a module::

    X -> neighbors -> kernel -> normalize -> spectrum -> entropy -> mutual_information

Main entry points: :func:`dse`, :func:`dsmi`, :class:`DiffusionGraph`,
:func:`shannon_entropy`; :mod:`fastdse.compat` replaces ``dse-dsmi``.
"""

from . import landmark as _landmark  # noqa: F401  (registers mode='landmark')
from ._version import __version__
from .api import dse
from .graph import DiffusionGraph
from .kernel import TruncationWarning
from .monitor import History, TrainingMonitor
from .mutual_information import dsmi
from .results import ClassTerm, DSEResult, DSMIResult
from .shannon import shannon_entropy
from .spectrum import SpectralMeasure

__all__ = [
    "__version__",
    "dse",
    "dsmi",
    "DiffusionGraph",
    "shannon_entropy",
    "SpectralMeasure",
    "TruncationWarning",
    "DSEResult",
    "DSMIResult",
    "ClassTerm",
    "TrainingMonitor",
    "History",
]
