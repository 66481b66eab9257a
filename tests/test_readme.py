"""The README's Python examples run as written (a new user's first contact)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    # the quick-start loads the user's own file: give it one
    np.save(tmp_path / "embeddings.npy", np.random.default_rng(0).normal(size=(400, 8)))
    code = python_blocks()[index]
    if "from dse_dsmi import" in code or code.lstrip().startswith("# from dse_dsmi"):
        pytest.importorskip("dse_dsmi")
    exec(compile(code, f"README.md block {index}", "exec"), {"__name__": "__readme__"})
    if "savefig" in code:
        assert (tmp_path / "dse_curve.png").read_bytes()[:4] == b"\x89PNG"
    import matplotlib.pyplot as plt

    plt.close("all")
