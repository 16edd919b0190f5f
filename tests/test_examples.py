"""The examples run end to end with tiny settings."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.test_logging import scalars

EXAMPLES = Path(__file__).parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_trains_and_logs_the_schedule(tmp_path) -> None:
    result = load("quickstart").main(["--epochs", "2", "--logdir", str(tmp_path)])
    assert result["val_acc"] > 0.8  # digits is easy: two epochs of OneCycle already get far
    logged = scalars(str(tmp_path / "quickstart" / "version_0"))
    lr = [value for _, value in logged["lr-AdamW"]]
    assert len(lr) == 2 * 45  # one point per optimizer step
    # OneCycle peaks at max_lr at the end of its first phase: step 0.3 * 90 - 1 = 26
    assert lr.index(max(lr)) == 26
    assert max(lr) == pytest.approx(1e-2, rel=1e-6)
    assert {"lr-AdamW-momentum", "train_loss", "val_loss", "val_acc"} <= set(logged)
