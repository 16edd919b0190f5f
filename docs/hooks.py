"""MkDocs hooks of the documentation site (``mkdocs.yml``: ``hooks``).

- The benchmark figures live in ``benchmarks/`` beside the scripts that draw them: the site takes them from there,
  and the pages link them as ``../benchmarks/<name>.png`` (the path that also works when a page is read on GitHub).
- A public class, function or method of the package without a docstring fails the build (``mkdocs build --strict``
  is part of the README's test command), as does a public name of ``lightning_lrsched`` that no reference page
  documents.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
FIGURES = "benchmarks"


def on_files(files: Files, config: Any) -> Files:
    """Add the benchmark figures to the site, under ``benchmarks/``."""
    for figure in sorted((ROOT / FIGURES).glob("*.png")):
        files.append(File(f"{FIGURES}/{figure.name}", str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


SIGNATURE = re.compile(r"<!-- signature: ([\w.]+) -->")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Links to ``../benchmarks/`` point at the figures the site took from there; signatures are filled in.

    ``<!-- signature: module.Class -->`` becomes the class's call signature as Python reports it: the public
    schedule callbacks get their ``__init__`` from their schedule's arguments when the class is made, which a
    reading of the source (mkdocstrings' default) cannot see.
    """
    markdown = markdown.replace(f"](../{FIGURES}/", f"]({FIGURES}/")
    return SIGNATURE.sub(lambda match: _signature_block(match[1]), markdown)


def _signature_block(path: str) -> str:
    """A Python block with the call signature of the class at ``path``, one argument a line, without the types."""
    module, name = path.rsplit(".", 1)
    parameters = list(inspect.signature(getattr(importlib.import_module(module), name)).parameters.values())
    lines = [f"    {parameter.replace(annotation=inspect.Parameter.empty)}," for parameter in parameters]
    kinds = [parameter.kind for parameter in parameters]
    if inspect.Parameter.KEYWORD_ONLY in kinds and inspect.Parameter.VAR_POSITIONAL not in kinds:
        lines.insert(kinds.index(inspect.Parameter.KEYWORD_ONLY), "    *,")
    return "\n".join(["```python", f"{name}(", *lines, ")", "```"])


SPHINX_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|obj):<code>(~?)([\w.]+)</code>")


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    """The docstrings' Sphinx roles (``:class:`~a.b.C```, which editors and ``help()`` read) shown as code names."""
    html = SPHINX_ROLE.sub(lambda m: f"<code>{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}</code>", html)
    return html.replace("<p>Example::</p>", "<p><strong>Example</strong></p>")  # (reST's literal-block marker)


def on_pre_build(config: Any) -> None:
    """Fail on a public object of the package without a docstring, or a public name no reference page shows."""
    missing = sorted(set(undocumented()))
    if missing:
        raise PluginError(f"Public objects without a docstring: {', '.join(missing)}. Write one for each.")
    shown = "\n".join(path.read_text() for path in (ROOT / "docs" / "reference").glob("*.md"))
    package = importlib.import_module("lightning_lrsched")
    absent = [name for name in package.__all__ if not re.search(rf"\.{name}\b", shown)]
    if absent:
        raise PluginError(f"Public names of lightning_lrsched that no page of docs/reference shows: {absent}.")


def undocumented() -> list[str]:
    """Public modules, classes, functions and methods (not overrides of a base's) of the package without a docstring."""
    found = []
    package = importlib.import_module("lightning_lrsched")
    for info in pkgutil.walk_packages(package.__path__, "lightning_lrsched."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        if not inspect.getdoc(module):
            found.append(info.name)
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(value) or inspect.isfunction(value):
                if not value.__doc__:
                    found.append(f"{module.__name__}.{name}")
                if inspect.isclass(value) and not getattr(value, "_is_protocol", False):  # (stubs of an interface)
                    found += [f"{module.__name__}.{name}.{m}" for m in _undocumented_members(value)]
    return found


def _undocumented_members(cls: type) -> list[str]:
    """The public methods and properties ``cls`` defines itself, overrides of a base's excluded, without a docstring."""
    inherited = {name for base in cls.__mro__[1:] for name in vars(base)}
    names = []
    for name, member in vars(cls).items():
        if name.startswith("_") or name in inherited:
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if (inspect.isfunction(member) or isinstance(member, property)) and not member.__doc__:
            names.append(name)
    return names
