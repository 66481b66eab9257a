"""fastdse: Diffusion Spectral Entropy and Mutual Information for point clouds of any size.

The pipeline, one stage a subpackage or module (``docs/architecture.md``)::

    X -> operator (neighbors -> kernel -> normalize) -> spectral (dense | lanczos | landmark)
      -> entropy -> mutual_information

Main entry points: :func:`dse`, :func:`dsmi`, :class:`DiffusionGraph`,
:func:`shannon_entropy`; :mod:`fastdse.compat` replaces ``dse-dsmi``.
"""

from fastdse import tl
from fastdse._version import __version__
from fastdse.api import dse
from fastdse.graph import DiffusionGraph
from fastdse.monitor import History, TrainingMonitor
from fastdse.mutual_information import dsmi
from fastdse.operator.kernel import TruncationWarning
from fastdse.results import ClassTerm, DSEResult, DSMIResult
from fastdse.shannon import shannon_entropy
from fastdse.spectral.measure import SpectralMeasure

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
    "tl",
]
