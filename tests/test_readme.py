"""The README's Python examples run as written (a new user's first contact).

And its install lines work on a fresh machine: fastdse installs from a checkout
(``pip install ".[plot]"``), not from a package index, in the README and in the docs.
"""

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


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


# "pip install fastdse", "pip install 'fastdse[plot]'", "pip install -U fastdse==0.1": an index
_INDEX_NAME = re.compile(r"""^["']?fastdse(?:$|[\[<>=!~;@"'])""")


def index_installs(text):
    """The ``pip install`` commands in ``text`` that name fastdse from a package index."""
    found = []
    for command in re.findall(r"pip3? install\b([^`\n&|;#]*)", text):
        if any(_INDEX_NAME.match(arg) for arg in command.split()):
            found.append("pip install" + command.rstrip())
    return found


def test_the_install_check_can_fail():
    assert index_installs('pip install "fastdse[plot]"  # or') == ['pip install "fastdse[plot]"']
    assert index_installs("`pip install -U fastdse`, `pip install 'fastdse[a,b]'`") == [
        "pip install -U fastdse", "pip install 'fastdse[a,b]'"]
    assert index_installs("python -m pip install fastdse==0.1.0") != []
    assert index_installs('pip install "fastdse[plot, pandas]"') != []
    # from a checkout, and other packages: fine
    assert index_installs('pip install ".[plot]" && pip install -e ".[test]"') == []
    assert index_installs("pip install torch==2.13.0 fastdse-extra ./fastdse") == []


def install_pages():
    return [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_no_install_line_names_a_package_index():
    # fastdse is installed from a checkout; "pip install fastdse" fails on a fresh machine
    found = {str(p.relative_to(ROOT)): index_installs(p.read_text()) for p in install_pages()}
    assert {page: lines for page, lines in found.items() if lines} == {}


def test_readme_sets_up_from_the_checkout():
    setup = README.read_text().split("## Set up", 1)[1].split("```bash\n", 1)[1]
    first, second = setup.splitlines()[:2]
    assert first.startswith('pip install ".[plot]"')
    assert second.startswith("fastdse demo")
