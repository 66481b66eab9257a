"""fastdse.compat's API surface (dse-dsmi 1.1's names and signatures) and import side effects."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import pytest

from fastdse import compat

PUBLIC = [
    "diffusion_spectral_entropy",
    "adjacency_spectral_entropy",
    "diffusion_spectral_mutual_information",
    "adjacency_spectral_mutual_information",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_signature_matches_reference(ref_module, name):
    theirs = inspect.signature(getattr(ref_module, name)).parameters
    ours = inspect.signature(getattr(compat, name)).parameters
    assert list(ours) == list(theirs)
    for key, param in theirs.items():
        assert ours[key].kind == param.kind, key
        assert ours[key].default is param.default or ours[key].default == param.default, key


def test_module_exports_the_reference_api(ref_module):
    assert sorted(compat.__all__) == sorted(ref_module.__all__)


def _run(code):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_has_no_global_side_effects():
    out = _run(
        """
        import sys, warnings
        import numpy, scipy.linalg, scipy.sparse, numba, fastdse  # dependencies' own filters
        before = list(warnings.filters)
        import fastdse.compat
        assert warnings.filters == before, "warning filters changed"
        assert "matplotlib" not in sys.modules, "matplotlib imported"
        with warnings.catch_warnings(record=True) as seen:
            warnings.warn("probe", UserWarning)
        print(len(seen))
        """
    )
    assert out == "1"


def test_side_effect_probe_detects_the_reference():
    # the same probe sees the reference's global filterwarnings("ignore") and matplotlib
    out = _run(
        """
        import sys, warnings
        import dse_dsmi
        with warnings.catch_warnings(record=True) as seen:
            warnings.warn("probe", UserWarning)
        print(len(seen), "matplotlib" in sys.modules)
        """
    )
    assert out == "0 True"

