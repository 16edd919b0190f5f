"""The layering of DESIGN.md holds: no import circle, a pure timeline, TensorBoard I/O alone, small classes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lightning_lrsched

PACKAGE = Path(lightning_lrsched.__file__).parent
NAME = "lightning_lrsched"
LARGEST_CLASS = 250  # the bar issue 21 sets


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


def test_no_class_is_over_250_lines() -> None:
    sizes = {
        f"{module}.{node.name}": node.end_lineno - node.lineno + 1  # type: ignore[operator]
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    }
    assert {name: size for name, size in sizes.items() if size > LARGEST_CLASS} == {}
    assert sizes[f"{NAME}.lightning.callback.LRSchedulerCallback"] > 100  # the measurement sees the classes


WITHOUT_LIGHTNING = """
import importlib.abc, json, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("lightning", "pytorch_lightning", "lightning_fabric"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None

sys.meta_path.insert(0, Blocked())
import torch
from lightning_lrsched.core import CosineAnnealingLR, LinearLR, ReduceLROnPlateau, SequentialLR, TrainingLength
from lightning_lrsched.report.preview import preview

schedule = SequentialLR([LinearLR(0.1, 1.0, total_iters=4, interval="step"), CosineAnnealingLR()], milestones=[4])
optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=1.0)
timeline = ReduceLROnPlateau(patience=0).timeline(optimizer, TrainingLength(total_steps=6, steps_per_epoch=3))
for epoch, value in enumerate([1.0, 2.0]):
    for _ in range(3):
        optimizer.step()
        timeline.optimizer_step()
    timeline.epoch_end()
    timeline.validation({"val_loss": value}, step=3 * (epoch + 1), epoch=epoch)
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("lightning", "pytorch_lightning"))
print(json.dumps({"preview": preview(schedule, epochs=2, steps_per_epoch=5, lr=1.0),
                  "plateau": optimizer.param_groups[0]["lr"], "loaded": loaded}))
"""


def test_the_core_and_the_preview_run_with_lightning_unimportable() -> None:
    """The core and preview need torch alone: with every Lightning import refused, they plan, step and preview."""
    import json
    import subprocess
    import sys

    import lightning_lrsched as lrs

    ran = subprocess.run([sys.executable, "-c", WITHOUT_LIGHTNING], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr[-2000:]
    result = json.loads(ran.stdout)
    expected = lrs.SequentialLR([lrs.LinearLR(0.1, 1.0, total_iters=4, interval="step"), lrs.CosineAnnealingLR()], [4])
    assert result["preview"] == lrs.preview(expected, epochs=2, steps_per_epoch=5, lr=1.0)
    assert result["plateau"] == 0.1  # the second value did not improve, patience 0: one cut
    assert result["loaded"] == []


def test_every_public_callback_holds_a_core_schedule_of_its_name_and_takes_its_arguments() -> None:
    """Composition: a callback is not a schedule; it holds one, built from the same arguments."""
    import inspect

    import lightning_lrsched as lrs
    from lightning_lrsched.lightning.callback import OPTIONS

    callbacks = [getattr(lrs, name) for name in lrs.__all__ if isinstance(getattr(lrs, name), type)]
    callbacks = [cls for cls in callbacks if issubclass(cls, lrs.LRSchedulerCallback)]
    assert len(callbacks) == 21
    for cls in callbacks:
        assert not issubclass(cls, lrs.core.Schedule), cls
        assert cls.schedule_type.__module__.startswith(f"{NAME}.core"), cls
        if cls is not lrs.LRSchedulerCallback:
            assert cls.schedule_type is getattr(lrs.core, cls.__name__), cls
        taken = set(inspect.signature(cls).parameters)
        own = {p for p in inspect.signature(cls.schedule_type).parameters if p not in ("self", "kwargs")}
        assert own <= taken, cls
        assert set(OPTIONS) <= taken, cls


def test_a_callback_holding_a_core_schedule_is_the_callback_of_its_type() -> None:
    import lightning_lrsched as lrs

    schedule = lrs.core.CosineAnnealingLR(warmup="5%", eta_min=1e-4)
    callback = lrs.LRSchedulerCallback.holding(schedule, name="backbone")
    assert (type(callback), callback.schedule, callback.name) == (lrs.CosineAnnealingLR, schedule, "backbone")
    built = lrs.CosineAnnealingLR(warmup="5%", eta_min=1e-4, name="backbone")
    assert (built.state_key, built.label, built.interval) == (callback.state_key, callback.label, callback.interval)


def test_the_package_and_its_schedule_free_callback_need_no_schedulefree() -> None:
    """``schedulefree`` is an optional extra: without it the package imports and the callback says what to install."""
    import subprocess
    import sys

    script = """
import importlib.abc, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "schedulefree":
            raise ModuleNotFoundError("No module named 'schedulefree' (blocked by the test)")
sys.meta_path.insert(0, Blocked())
import lightning_lrsched as lrs
callback = lrs.ScheduleFreeCallback()
print(lrs.ScheduleFreeCallback.__doc__)
"""
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "pip install schedulefree" in " ".join(ran.stdout.split())


def private_reads(path: Path, own: set[str]) -> list[tuple[str, int, str]]:
    """Reads of a private attribute that another object has: ``x._name`` or ``getattr(x, "_name")``.

    Not counted: ``self``, ``cls`` and ``super()``, and names that the package itself defines (its own classes).
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            name, base = node.attr, ast.unparse(node.value)
            if base in ("self", "cls", "super()"):
                continue
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("getattr", "hasattr") and len(node.args) > 1:
            name = node.args[1].value if isinstance(node.args[1], ast.Constant) else ""
        else:
            continue
        if isinstance(name, str) and name.startswith("_") and not name.startswith("__") and name not in own:
            found.append((module_name(path), node.lineno, name))
    return found


def own_names() -> set[str]:
    """The private names the package defines: its functions and methods, class attributes, ``self.x`` writes."""
    names: set[str] = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if ast.unparse(node.value) in ("self", "cls"):
                    names.add(node.attr)
            elif isinstance(node, (ast.AnnAssign, ast.Assign)):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
                names |= {e.id for t in targets if isinstance(t, ast.Tuple) for e in t.elts if isinstance(e, ast.Name)}
    return names


def test_lightning_and_torch_privates_are_read_in_privates_py_only_and_at_most_ten_times() -> None:
    own = own_names()
    reads = [read for path in MODULES.values() for read in private_reads(path, own)]
    assert [read for read in reads if read[0] != f"{NAME}.privates"] == []
    assert 0 < len(reads) <= 10, reads  # (0 would mean the measurement no longer sees them)
