"""The layout's rules, checked on the source: imports go one way, rooms stay small.

Every ``import`` of a fastdse module in every file under ``src/fastdse`` is read with
``ast`` (deferred imports inside functions included), giving the module graph the rules
below are checked on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "fastdse"

MAX_MODULE_LINES = 500
#: lines of code of a function, its signature and docstring not counted
MAX_FUNCTION_LINES = 80

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The fastdse modules that module ``name`` imports (the module, not its package)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # "from pkg import sub" imports the module pkg.sub when it is one
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module
                       for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # "import fastdse.x.y" runs fastdse/__init__ first; that is how Python loads a package,
    # not an arrow of the design, so the root package's own imports are left out
    return {k: {w for w in v if w != "fastdse"} for k, v in graph.items()}


def test_the_walker_sees_known_arrows():
    # a check that cannot fail proves nothing: the graph must hold arrows we know exist
    graph = _graph()
    assert "fastdse.graph" in graph["fastdse.api"]
    assert "fastdse._numba.jit" in graph["fastdse._numba.sparse"]
    assert "fastdse.cli.options" in graph["fastdse.cli.plot"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    assert _cycles(_without_package_inits(_graph())) == []


def test_library_never_imports_the_cli():
    graph = _graph()
    offenders = {m: sorted(w for w in deps if w.startswith("fastdse.cli"))
                 for m, deps in graph.items()
                 # the CLI and `python -m fastdse` (fastdse.__main__) are its entry points
                 if not m.startswith("fastdse.cli") and m != "fastdse.__main__"}
    assert {m: d for m, d in offenders.items() if d} == {}


def test_numba_kernels_are_leaves():
    # kernels import the JIT policy and the one shared distance kernel, which imports
    # only the JIT policy
    graph = _graph()
    allowed = {"fastdse._numba.jit", "fastdse._numba", "fastdse._numba.distance"}
    for name, deps in graph.items():
        if name.startswith("fastdse._numba") and name != "fastdse._numba":
            assert deps <= allowed, (name, deps)
    assert graph["fastdse._numba.distance"] <= {"fastdse._numba.jit", "fastdse._numba"}


def test_util_imports_no_pipeline_stage():
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith("fastdse._util"):
            assert all(d.startswith("fastdse._util") for d in deps), (name, deps)




def _subpackage(module: str) -> str:
    """``fastdse.operator.kernel`` -> ``fastdse.operator``; root modules -> ``fastdse``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else "fastdse"


def test_no_private_name_crosses_subpackages():
    modules = _modules()
    known = set(modules)
    crossings = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")
                source = ".".join(base[: len(base) - (node.level - 1)]
                                  + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source not in known:
                continue
            for alias in node.names:
                private = alias.name.startswith("_") and alias.name != "__version__"
                # "from pkg import _mod" takes the module pkg._mod, of pkg's subpackage
                target = f"{source}.{alias.name}"
                target = target if target in known else source
                if private and _subpackage(target) != _subpackage(name):
                    crossings.append(f"{name} imports {source}.{alias.name}")
    assert crossings == []


@pytest.mark.parametrize("name", sorted(_modules()))
def test_module_is_small(name):
    lines = len(_modules()[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str) and len(body) > 1):
        body = body[1:]  # the docstring
    return (node.end_lineno or node.lineno) - body[0].lineno + 1


@pytest.mark.parametrize("name", sorted(_modules()))
def test_functions_are_short(name):
    tree = ast.parse(_modules()[name].read_text())
    long = [f"{node.name}: {_code_lines(node)} lines" for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _code_lines(node) > MAX_FUNCTION_LINES]
    assert long == []


def test_the_size_checks_can_fail():
    tree = ast.parse("def f():\n    \"\"\"Doc.\"\"\"\n" + "    x = 1\n" * 81)
    assert _code_lines(tree.body[0]) == 81
