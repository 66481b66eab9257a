"""docs/anndata.md: its code runs, on scanpy's pbmc68k_reduced, and prints what it says."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastdse

PAGE = Path(__file__).resolve().parents[1] / "docs" / "anndata.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_the_page_runs_and_its_numbers_hold(capsys):
    pytest.importorskip("scanpy")
    blocks = python_blocks()
    assert len(blocks) == 6
    namespace: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        # the page's graph at n_neighbors=30 leaves 2 rows short of their radius: it says so
        warnings.simplefilter("always", fastdse.TruncationWarning)
        for block in blocks:
            exec(compile(block, str(PAGE), "exec"), namespace)  # noqa: S102 - the page's code
    truncation = [w for w in caught if issubclass(w.category, fastdse.TruncationWarning)]
    assert truncation and all("neighbors_key='nn30' is truncated in 2 of 700 rows"
                              in str(w.message) for w in truncation)
    assert len(truncation) == len(caught)  # no other warning
    assert np.round(namespace["res"].value, 3).tolist() == [8.983, 6.615, 2.878]
    stored = namespace["stored"]
    assert np.round(stored.value, 3).tolist() == [8.983, 6.616, 2.878]
    np.testing.assert_allclose(stored.value, namespace["res"].value, atol=5e-4)
    assert stored.info["graph"]["truncated_rows"] == 2
    assert np.round(namespace["graph"].value, 3).tolist() == [8.899, 6.128, 2.958]
    mi = namespace["mi"]
    assert (round(mi.value, 3), round(mi.info["sigma"], 2)) == (0.834, 10.25)
    assert mi.info["kernel"] == "gaussian" and mi.info["sigma_rule"] == "knn"
    assert np.round(namespace["mi_stored"].value, 3).tolist() == [0.224, 1.478]
    assert np.round(namespace["conn"].value, 3).tolist() == [0.239, 1.559]
    assert abs(namespace["approx"].value - namespace["conn"].value[0]) < 0.01
    message = namespace["message"]
    assert message.startswith("Z has points with zero total affinity inside their class")
    assert "class 'CD14+ Monocyte' of Y: 2 of its 129 points" in message
    assert message.count("class '") == 5 and "Z + I" in message
    # the table quotes the benchmark's numbers
    text = PAGE.read_text()
    assert "| 8.940 | 6.645 | 4.013 | 0 |" in text
    assert "| 8.983 | 6.616 | 3.618 | 0.00028 |" in text
    bench = (PAGE.parent / "benchmarks" / "stored_graph.md").read_text()
    assert "| 8.941 | 6.659 | 4.022 | 1.4e-02 | 351 of 700" in bench
    assert "dsmi_t5" not in namespace["adata"].uns
    capsys.readouterr()
