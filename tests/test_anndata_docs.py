"""docs/anndata.md: its code runs, on scanpy's pbmc68k_reduced, and prints what it says."""

import re
from pathlib import Path

import numpy as np
import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "anndata.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_the_page_runs_and_its_numbers_hold(capsys):
    pytest.importorskip("scanpy")
    blocks = python_blocks()
    assert len(blocks) == 5
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)  # noqa: S102 - the page's own code
    assert np.round(namespace["res"].value, 3).tolist() == [8.983, 6.615, 2.878]
    assert np.round(namespace["graph"].value, 3).tolist() == [8.899, 6.128, 2.958]
    assert np.round(namespace["mi"].value, 3).tolist() == [0.239, 1.559]
    assert abs(namespace["approx"].value - namespace["mi"].value[0]) < 0.01
    # the table quotes the same numbers
    text = PAGE.read_text()
    assert "| 8.983 | 8.314 | 6.615 | 4.849 | 2.878 |" in text
    assert "| 8.899 | 8.037 | 6.128 | 4.600 | 2.958 |" in text
    assert "dsmi_t5" not in namespace["adata"].uns
    capsys.readouterr()
