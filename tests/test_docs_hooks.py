"""The documentation's docstring converter (docs/hooks.py): Sphinx markup -> Markdown.

mkdocstrings renders fastdse's numpydoc docstrings through the Griffe extension
``RstToMarkdown``; what it leaves behind shows as literal text on the API pages.
"""

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

griffe = pytest.importorskip("griffe")  # the `docs` extra

HOOKS = Path(__file__).resolve().parents[1] / "docs" / "hooks.py"

PACKAGE = '''
"""Toy package. See :mod:`.sub`."""

def target(a, b=1):
    """A function to link to."""

class Monitor:
    """A class."""

    def update(self, z):
        """A method."""

def documented(n_probes=20, n_steps=60, kernel="alpha_decay", knn=5, x="n", y="seconds"):
    """Converted docstring.

    Calls :meth:`Monitor.update <pkg.Monitor.update>`, :func:`target`,
    :func:`~pkg.target`, :func:`!target`, :class:`.Monitor`, :func:`missing` and
    :ref:`a label <somewhere>`; with ``a`` literal and :math:`x^2`.

    Parameters
    ----------
    n_probes, n_steps : int, default 20, 60
        Probes and steps.
    kernel, knn
        As in :func:`target`.
    x, y : str, default "n", "seconds"
        Columns.

    Returns
    -------
    sequence of str, default ``("dse", "dsmi_y")``
        With :class:`Monitor` in a ``description``.
    """
'''


@pytest.fixture(scope="module")
def hooks():
    name = "fastdse_docs_hooks_under_test"
    spec = importlib.util.spec_from_file_location(name, HOOKS)
    module = importlib.util.module_from_spec(spec)
    had_alias = "fastdse_docs_hooks" in sys.modules  # hooks.py registers itself under it
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)
        if not had_alias:
            sys.modules.pop("fastdse_docs_hooks", None)


@pytest.fixture(scope="module")
def package(hooks, tmp_path_factory):
    root = tmp_path_factory.mktemp("src")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text(PACKAGE)
    (root / "pkg" / "sub.py").write_text('"""A submodule."""\n')
    return griffe.load("pkg", search_paths=[root], docstring_parser="numpy",
                       extensions=griffe.load_extensions(hooks.RstToMarkdown))


def test_no_sphinx_markup_is_left(package):
    text = package["documented"].docstring.value
    for leftover in (":func:", ":class:", ":mod:", ":meth:", ":ref:", ":math:", "``("):
        assert leftover not in text


def test_roles_link_when_the_target_exists(package):
    text = package["documented"].docstring.value
    # an explicit title shows the title and links the target
    assert ('<autoref identifier="pkg.Monitor.update" optional>'
            "<code>Monitor.update</code></autoref>") in text
    assert '<autoref identifier="pkg.target" optional><code>target</code></autoref>' in text
    assert "<code>pkg.target</code></autoref>" not in text  # "~" shows the last part only
    assert "`target`" in text  # "!": code, no link
    assert '<autoref identifier="pkg.Monitor" optional><code>Monitor</code>' in text  # ".Monitor"
    assert "`missing`" in text  # no such object: code, no link
    assert "`a label`" in text  # a role of another kind: its title as code
    assert "``a`` literal and $x^2$" in text
    assert '<autoref identifier="pkg.sub" optional><code>sub</code>' in package.docstring.value


def test_combined_parameters_get_their_own_defaults(package):
    params = {p.name: p for p in package["documented"].docstring.parse("numpy")[1].value}
    assert {name: p.value for name, p in params.items()} == {
        "n_probes": "20", "n_steps": "60",  # not "20, 60" for both
        "kernel": "'alpha_decay'", "knn": "5",  # no type line: the signature's, each its own
        "x": '"n"', "y": '"seconds"',
    }
    assert str(params["n_steps"].annotation) == "int"
    assert params["n_probes"].description == params["n_steps"].description == "Probes and steps."


def test_item_lines_lose_their_inline_markup(package):
    returns = package["documented"].docstring.parse("numpy")[2].value[0]
    assert "`" not in str(returns.annotation)
    assert "``description``" in returns.description  # descriptions keep theirs (Markdown)


@pytest.mark.parametrize(("header", "expected"), [
    ("a, b : int, default 1, 2", ["a : int, default 1", "b : int, default 2"]),
    ("a, b : int, default 3", ["a : int, default 3", "b : int, default 3"]),
    ("a, b : tuple, default (1, 2), (3, 4)", ["a : tuple, default (1, 2)",
                                               "b : tuple, default (3, 4)"]),
    ("a, b : int, default 1, 2, 3", ["a : int", "b : int"]),  # ambiguous: the signature's
    ("a, b : float, optional", ["a : float, optional", "b : float, optional"]),
    ("*args, **kwargs", ["*args", "**kwargs"]),
    ("a : int, default 1, 2", ["a : int, default 1, 2"]),  # one name: untouched
])
def test_split_names(hooks, header, expected):
    assert hooks._split_names(header) == expected


def test_math_block(hooks, package):
    text = textwrap.dedent("""\
        Before.

        .. math::

           H = -\\sum_i p_i \\log p_i

        After::

            code
        """)
    out = hooks.rst_to_markdown(text, package["target"], None)  # no role: no loader needed
    assert "$$\nH = -\\sum_i p_i \\log p_i\n$$" in out
    assert "After:\n" in out and ".. math" not in out
