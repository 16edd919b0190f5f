"""The layering of DESIGN.md holds: no import circle, a pure timeline, TensorBoard I/O alone, small classes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lightning_lrsched

PACKAGE = Path(lightning_lrsched.__file__).parent
NAME = "lightning_lrsched"
LARGEST_CLASS = 330  # "no class over about 300 lines"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def runtime_imports(path: Path, *, type_checking: bool = False) -> set[str]:
    """Every module imported anywhere in the file (functions included); under ``if TYPE_CHECKING:`` only if asked."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) and not type_checking
        for statement in node.body
        for child in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(MODULES)
            # `from package import submodule` imports the submodule (its parents are implicit for any import)
            found |= submodules if len(submodules) == len(node.names) else {node.module, *submodules}
    return found


def package_edges(module: str, *, type_checking: bool = False) -> set[str]:
    imported = runtime_imports(MODULES[module], type_checking=type_checking)
    return {name for name in imported if name in MODULES and name != module}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_circle() -> None:
    graph = {module: package_edges(module) for module in MODULES if module != NAME}
    assert find_cycle({m: {t for t in edges if t != NAME} for m, edges in graph.items()}) is None
    importing_the_root = sorted(module for module, edges in graph.items() if NAME in edges)
    assert importing_the_root == []  # the root imports every module: importing it back would be a circle


def test_not_even_the_imports_for_type_checking_make_a_circle() -> None:
    graph = {module: package_edges(module, type_checking=True) - {NAME} for module in MODULES if module != NAME}
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


CORE = sorted(module for module in MODULES if module.startswith(f"{NAME}.core"))
SHARED = {f"{NAME}._checks", f"{NAME}.privates"}  # (privates imports Lightning only inside its functions)


@pytest.mark.parametrize(
    "module", [*CORE, *(f"{NAME}.{m}" for m in ("diagnostics.findings", "report.preview", "report.plotting"))]
)
def test_the_core_imports_no_lightning(module) -> None:
    imported = runtime_imports(MODULES[module])
    assert not [name for name in imported if name.split(".")[0] in ("lightning", "pytorch_lightning")]


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_only_the_core(module) -> None:
    assert package_edges(module, type_checking=True) - set(CORE) - SHARED - {NAME} == set()


def test_tensorboard_io_imports_nothing_of_the_package() -> None:
    assert not [name for name in runtime_imports(MODULES[f"{NAME}.report.tensorboard"]) if name.startswith(NAME)]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith(f"{NAME}.report")))
def test_reporting_does_not_import_the_lightning_adapter(module) -> None:
    assert not [edge for edge in package_edges(module, type_checking=True) if edge.startswith(f"{NAME}.lightning")]


def test_no_class_is_over_about_300_lines() -> None:
    sizes = {
        f"{module}.{node.name}": node.end_lineno - node.lineno + 1  # type: ignore[operator]
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    }
    assert {name: size for name, size in sizes.items() if size > LARGEST_CLASS} == {}
    assert sizes[f"{NAME}.lightning.callback.LRSchedulerCallback"] > 100  # the measurement sees the classes
