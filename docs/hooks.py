"""Build helpers for the fastdse documentation (referenced from ``mkdocs.yml``).

Two things, both run at build time, offline:

1. MkDocs hook: ``<!-- fastdse-help ARGS -->`` in a page becomes the output of
   ``fastdse ARGS --help`` (formatted at 80 columns), generated from the
   checkout's ``src/`` so the CLI reference cannot drift from the parser.
   ``<!-- fastdse-help-other -->`` adds a section for every other subcommand
   of the parser (nested ones included) that the page does not already show.
2. Griffe extension ``RstToMarkdown``: fastdse's docstrings are numpydoc with
   Sphinx markup (``:func:`dse```, ``:math:`...```, ``.. math::`` blocks).
   mkdocstrings renders docstrings as Markdown, so this rewrites that markup
   into Markdown (``$...$`` / ``$$`` blocks for pymdownx.arithmatex, code spans
   that link when the target is documented). In the numpydoc item sections it
   gives each name of a combined line (``a, b : int, default 1, 2``) a line of
   its own, so each shows its own default, and strips the markup of the type
   lines, which are shown as code. The source files are not touched.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import griffe

log = logging.getLogger("mkdocs.hooks.fastdse")

# mkdocs.yml names the Griffe extension "fastdse_docs_hooks:RstToMarkdown": this module is
# loaded as a MkDocs hook first, and this alias lets Griffe find it from any working directory.
sys.modules.setdefault("fastdse_docs_hooks", sys.modules[__name__])

# --------------------------------------------------------------------------- CLI help

_HELP_MARKER = re.compile(r"^<!--\s*fastdse-help((?:\s+[\w-]+)*)\s*-->[ \t]*$", re.MULTILINE)
_OTHER_MARKER = re.compile(r"^<!--\s*fastdse-help-other\s*-->[ \t]*$", re.MULTILINE)


def on_config(config: Any) -> Any:
    """Document the checkout, not whatever fastdse happens to be installed."""
    src = Path(config.config_file_path).resolve().parent / "src"
    if (src / "fastdse").is_dir() and str(src) not in sys.path:
        sys.path.insert(0, str(src))
    # without a formatter mkdocstrings prints each API signature as one long line, and says so
    # only at INFO level: make a --strict build fail instead
    if not any(importlib.util.find_spec(name) for name in ("ruff", "black")):
        log.warning("mkdocstrings needs ruff (the `docs` extra) or black to format the API "
                    "signatures; neither is installed")
    return config


def _help_text(args: list[str]) -> str:
    from fastdse.cli import commands as cli

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps to the terminal width: make it fixed
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([*args, "--help"])
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    if code != 0 or not out.getvalue().strip():
        log.warning("`fastdse %s --help` failed (exit %s): %s", " ".join(args), code,
                    err.getvalue().strip())
    return out.getvalue().rstrip()


def _help_block(args: list[str]) -> str:
    return "```text\n$ fastdse " + " ".join([*args, "--help"]) + "\n" + _help_text(args) + "\n```"


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Expand the ``fastdse-help`` markers."""
    if "fastdse-help" not in markdown:
        return markdown
    try:
        from fastdse.cli import commands as cli
    except Exception as exc:  # a broken checkout: say so, fail a --strict build
        log.warning("%s: cannot import fastdse.cli for the help texts: %r", page.file.src_uri, exc)
        return markdown

    shown = {m.group(1).split()[0] for m in _HELP_MARKER.finditer(markdown) if m.group(1).split()}
    for name in shown - set(cli.SUBCOMMANDS):
        log.warning("%s documents `fastdse %s`, which is not a subcommand (have: %s)",
                    page.file.src_uri, name, ", ".join(cli.SUBCOMMANDS))
    markdown = _HELP_MARKER.sub(lambda m: _help_block(m.group(1).split()), markdown)
    sections = [
        f"{'#' * (2 + len(path))} `fastdse {' '.join(path)}`\n\n{_help_block(path)}"
        for path in _command_paths(cli.build_parser())
        if path[0] not in shown
    ]
    return _OTHER_MARKER.sub(lambda m: "\n\n".join(sections), markdown)


def _command_paths(parser: argparse.ArgumentParser, prefix: tuple = ()) -> list[list[str]]:
    """Every subcommand path (``["plot"]``, ``["plot", "spectrum"]``, ...), depth first."""
    paths: list[list[str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append([*prefix, name])
                paths += _command_paths(sub, (*prefix, name))
    return paths


# --------------------------------------------------------------------------- docstrings

# :func:`name`, :func:`~pkg.name`, :mod:`.relative`, :func:`!nolink`, :meth:`title <pkg.Cls.m>`
_ROLE = re.compile(
    r":(?:py:)?(?:func|meth|class|mod|data|attr|exc|obj|const):"
    r"`(?:(?P<title>[^`<]*?)\s*<(?P<target>[^`<>]+)>|(?P<plain>[^`<>]+))`"
)
# any role left (:ref:, :doc:, :envvar:, a cross-reference role of another domain): its text
_ANY_ROLE = re.compile(
    r"(?<![\w`]):(?:[\w-]+:)+`(?:(?P<title>[^`<]*?)\s*<[^`<>]+>|(?P<plain>[^`<>]+))`"
)
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
# ".. math::", optional blank lines, then the lines indented deeper than the directive
_MATH_BLOCK = re.compile(
    r"^([ \t]*)\.\. math::[ \t]*\n((?:[ \t]*\n)*)((?:\1[ \t]+\S.*\n|[ \t]*\n)+)", re.MULTILINE
)
_LITERAL_INTRO = re.compile(r"(?<=\S)::[ \t]*$|^([ \t]*)::[ \t]*$", re.MULTILINE)


def _resolve(name: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str | None:
    """Full path of a Sphinx-role target seen from ``obj``, if it exists."""
    scopes = []
    scope: Any = obj
    while scope is not None:
        scopes.append(scope.path)
        scope = scope.parent
    if name.startswith("."):  # Sphinx's ".name": from the current scope outwards
        name = name.lstrip(".")
        candidates = [f"{s}.{name}" for s in scopes] + [name]
    else:
        candidates = [name] + [f"{s}.{name}" for s in scopes] + [f"fastdse.{name}"]
    for path in candidates:
        with contextlib.suppress(Exception):  # not found (or unresolvable): plain code
            loader.modules_collection.get_member(path)
            return path
    return None


# numpydoc sections that griffe parses as "name : type / indented description" items
_STRUCTURED = {"parameters", "other parameters", "type parameters", "returns", "yields",
               "receives", "raises", "warns", "attributes", "functions", "methods", "classes",
               "type aliases", "modules", "see also", "deprecated", "examples"}
_NOT_A_TERM = re.compile(r"^\s*(?:[-*+] |\d+[.)] |>>>|\.\.\.|\.\. |\$\$|[-=~]{3,}\s*$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _definition_lists(text: str) -> str:
    """RST definition lists (a term line, its definition indented below) -> Markdown def_list.

    Only in free text: griffe parses the numpydoc item sections (Parameters, ...) itself.
    """
    lines = text.split("\n")
    out: list[str] = []
    section, i = "", 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and nxt.strip() and set(nxt.strip()) == {"-"}:  # numpydoc section title
            section = line.strip().lower()
            out += [line, nxt]
            i += 2
            continue
        is_term = (
            section not in _STRUCTURED and line.strip() and nxt.strip()
            and _indent(nxt) > _indent(line) and not _NOT_A_TERM.match(line)
            and not line.rstrip().endswith(":") and (not out or not out[-1].strip()
                                                     or _indent(out[-1]) > _indent(line))
        )
        if not is_term:
            out.append(line)
            i += 1
            continue
        base, j = _indent(line), i + 1
        while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
            j += 1
        while j > i + 1 and not lines[j - 1].strip():  # trailing blank lines stay outside
            j -= 1
        body = lines[i + 1:j]
        inner = min(_indent(b) for b in body if b.strip())
        pad = " " * base
        if out and out[-1].strip():
            out.append("")
        out.append(line)
        for k, b in enumerate(body):
            rest = b[inner:] if b.strip() else ""
            out.append(pad + (":   " if k == 0 else "    ") + rest if rest else "")
        out.append("")
        i = j
    return "\n".join(out)


# numpydoc item sections whose item lines ("name : type") griffe shows in a table
_ITEM_SECTIONS = {"parameters", "other parameters", "type parameters", "returns", "yields",
                  "receives", "raises", "warns", "attributes"}
_PARAM_SECTIONS = {"parameters", "other parameters"}
_COMBINED = re.compile(
    r"^(?P<names>\*{0,2}\w+(?:,[ \t]*\*{0,2}\w+)+)(?:[ \t]+:[ \t]*(?P<type>.*))?$"
)
_DEFAULT = re.compile(r"^(?P<type>.+?),\s+default(?: |: |=)(?P<default>.+)$")


def _top_level_split(text: str) -> list[str]:
    """``'"n", (1, 2)'`` -> ``['"n"', '(1, 2)']``: split at commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [*parts, text[start:].strip()]


def _plain_item_line(line: str) -> str:
    """Unmark an item line, whose type is shown as code: ````x```` and roles -> bare text."""
    line = re.sub(r"``([^`]+)``", r"\1", line)
    return _ANY_ROLE.sub(lambda m: (m.group("title") or m.group("plain")).lstrip("~!."), line)


def _split_names(header: str) -> list[str]:
    """Split ``a, b : int, default 1, 2`` into ``a : int, default 1`` and ``b : ...``.

    griffe gives every name of a combined numpydoc line the type and the default of the line
    (or the signature's default of the first name): one line per name lets each show its own.
    A default list that does not match the names is dropped, and the signature's shows.
    """
    m = _COMBINED.match(header)
    if m is None:
        return [header]
    names = re.split(r",[ \t]*", m.group("names"))
    kind = (m.group("type") or "").strip()
    if not kind:
        return names  # griffe takes each one's annotation and default from the signature
    d = _DEFAULT.match(kind)
    if d is None or kind.startswith("{"):
        return [f"{name} : {kind}" for name in names]
    defaults = _top_level_split(d.group("default"))
    if len(defaults) == 1:
        defaults *= len(names)
    if len(defaults) != len(names):
        return [f"{name} : {d.group('type')}" for name in names]
    return [f"{name} : {d.group('type')}, default {value}" for name, value in zip(names, defaults)]


def _numpydoc_items(text: str) -> str:
    """Clean the item lines of numpydoc sections (see the two helpers above)."""
    lines = text.split("\n")
    out: list[str] = []
    section, i = "", 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and nxt.strip() and set(nxt.strip()) == {"-"}:  # a section title
            section = line.strip().lower()
            out += [line, nxt]
            i += 2
            continue
        if section not in _ITEM_SECTIONS or not line.strip() or line[0].isspace():
            out.append(line)
            i += 1
            continue
        j = i + 1  # the item's description: the lines indented below it
        while j < len(lines) and (not lines[j].strip() or lines[j][0].isspace()):
            j += 1
        while j > i + 1 and not lines[j - 1].strip():
            j -= 1
        header, body = _plain_item_line(line), lines[i + 1:j]
        for name_line in _split_names(header) if section in _PARAM_SECTIONS else [header]:
            out += [name_line, *body]
        i = j
    return "\n".join(out)


def rst_to_markdown(text: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
    """Rewrite the Sphinx markup used in fastdse's docstrings as Markdown."""

    def math_block(m: re.Match) -> str:
        indent = m.group(1)
        body = [f"{indent}{line.strip()}" for line in m.group(3).splitlines() if line.strip()]
        return "\n".join([f"{indent}$$", *body, f"{indent}$$"]) + "\n\n"

    def role(m: re.Match) -> str:
        # Sphinx: "title <target>" shows the title; "~a.b" shows "b"; ".b" looks for b from the
        # current scope outwards and shows "b"; "!b" is not a link
        if m.group("target") is not None:
            shown, name = m.group("title"), m.group("target").lstrip("~")
        else:
            name = m.group("plain").strip()
            shown = name.lstrip("~!.")
            if name.startswith("~"):
                base, call = (shown[:-2], "()") if shown.endswith("()") else (shown, "")
                shown = base.rsplit(".", 1)[-1] + call
        if name.startswith("!"):
            return f"`{shown}`"
        path = _resolve(name.lstrip("~").removesuffix("()"), obj, loader)
        if path is None:
            return f"`{shown}`"
        return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'

    text = _MATH_BLOCK.sub(math_block, text + "\n").rstrip("\n")
    text = _definition_lists(text)
    text = _numpydoc_items(text)
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)
    text = _ROLE.sub(role, text)
    text = _ANY_ROLE.sub(lambda m: f"`{(m.group('title') or m.group('plain')).strip()}`", text)
    return _LITERAL_INTRO.sub(lambda m: "" if m.group(1) is not None else ":", text)


class RstToMarkdown(griffe.Extension):
    """Griffe extension: Sphinx markup in docstrings -> Markdown (see module docstring)."""

    def _fix(self, obj: griffe.Object, loader: griffe.GriffeLoader) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value, obj, loader)

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kw: Any) -> None:
        """Convert the package's own docstring."""
        self._fix(pkg, loader)

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kw: Any) -> None:
        """Convert every module, class, function and attribute docstring."""
        self._fix(obj, loader)
