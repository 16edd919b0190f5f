"""Every callback is configurable from LightningCLI: YAML and `--trainer.callbacks+=...`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.cli import LightningCLI

import lightning_lrsched as lrs
from tests.helpers import TinyModel, make_loader


class TinyData(pl.LightningDataModule):
    def train_dataloader(self) -> Any:
        return make_loader()

    def val_dataloader(self) -> Any:  # ReduceLROnPlateau needs validation runs
        return make_loader()


@pytest.fixture(autouse=True)
def _no_pytest_argv(monkeypatch) -> None:
    monkeypatch.setattr("sys.argv", ["train.py"])  # LightningCLI reads `args`, not pytest's own arguments


def cli(args: list[str]) -> LightningCLI:
    return LightningCLI(TinyModel, TinyData, args=args, save_config_callback=None)


def common(tmp_path: Any) -> list[str]:
    return [
        "fit",
        f"--trainer.default_root_dir={tmp_path}",
        "--trainer.max_epochs=2",
        "--trainer.logger=false",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_checkpointing=false",
        "--trainer.accelerator=cpu",
    ]


def test_callback_from_yaml(tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        """
trainer:
  callbacks:
    - class_path: lightning_lrsched.OneCycleLR
      init_args:
        max_lr: 0.5
        pct_start: 0.25
        interval: step
        name: schedule
"""
    )
    run = cli([*common(tmp_path), f"--config={config}"])
    (schedule,) = [c for c in run.trainer.callbacks if isinstance(c, lrs.OneCycleLR)]
    assert schedule.resolved_lengths == {"total_steps": 20}
    assert schedule.scheduler is not None
    assert schedule.scheduler.last_epoch == 19
    assert schedule.scheduler.get_last_lr()[0] == pytest.approx(0.5 / 25 / 1e4)


def test_callback_from_command_line_with_duration(tmp_path) -> None:
    run = cli([*common(tmp_path), "--trainer.callbacks+=lightning_lrsched.StepLR", "--trainer.callbacks.step_size=1ep",
               "--trainer.callbacks.gamma=0.5", "--trainer.callbacks.interval=step"])  # fmt: skip
    (schedule,) = [c for c in run.trainer.callbacks if isinstance(c, lrs.StepLR)]
    assert schedule.interval == "step"
    assert schedule.resolved_lengths == {"step_size": 10}
    assert schedule.scheduler is not None
    assert schedule.scheduler.get_last_lr() == [0.1 * 0.25, 0.01 * 0.25]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("StepLR", {"step_size": 2}),
        ("MultiStepLR", {"milestones": ["50%", 2]}),
        ("ConstantLR", {"factor": 0.5, "total_iters": "1ep"}),
        ("LinearLR", {"start_factor": 0.5, "total_iters": "1ep"}),
        ("ExponentialLR", {"gamma": 0.9}),
        ("PolynomialLR", {"power": 2.0}),
        ("CosineAnnealingLR", {"eta_min": 0.001}),
        ("CosineAnnealingWarmRestarts", {"T_0": 1}),
        ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5}),
        ("OneCycleLR", {"max_lr": 0.1}),
        ("ReduceLROnPlateau", {"monitor": "val_loss", "patience": 2}),
        ("InverseSqrtLR", {"warmup": "10%"}),
        ("WarmupStableDecayLR", {"decay": "20%", "decay_type": "1-sqrt", "warmup": 2}),
    ],
)
def test_every_yaml_configurable_type_parses(tmp_path, name, args) -> None:
    values = [f"--trainer.callbacks.{key}={value}" for key, value in args.items()]
    run = cli([*common(tmp_path), f"--trainer.callbacks+=lightning_lrsched.{name}", *values])
    (schedule,) = [c for c in run.trainer.callbacks if type(c).__name__ == name]
    assert schedule.scheduler is not None


def test_sequential_from_yaml(tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        """
trainer:
  callbacks:
    - class_path: lightning_lrsched.SequentialLR
      init_args:
        milestones: ["25%"]
        schedulers:
          - class_path: lightning_lrsched.LinearLR
            init_args: {start_factor: 0.1, end_factor: 1.0, total_iters: "100%", interval: step}
          - class_path: lightning_lrsched.CosineAnnealingLR
"""
    )
    run = cli([*common(tmp_path), f"--config={config}"])
    (schedule,) = [c for c in run.trainer.callbacks if isinstance(c, lrs.SequentialLR)]
    assert schedule.resolved_lengths == {"milestones": [5]}
    assert isinstance(schedule.scheduler, torch.optim.lr_scheduler.CosineAnnealingLR)


@pytest.mark.parametrize(
    ("on_divergence", "expected"),
    [("\n          factor: 0.3\n          every: 5", lrs.Rewind(factor=0.3, every=5)), (" rewind", lrs.Rewind())],
    ids=["rewind-arguments", "rewind-name"],
)
def test_lr_diagnostics_rewind_from_yaml(tmp_path, on_divergence, expected) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
trainer:
  callbacks:
    - class_path: lightning_lrsched.LRDiagnostics
      init_args:
        verbose: false
        on_divergence:{on_divergence}
"""
    )
    run = cli([*common(tmp_path), f"--config={config}"])
    (diagnostics,) = [c for c in run.trainer.callbacks if isinstance(c, lrs.LRDiagnostics)]
    assert diagnostics.on_divergence == expected
    assert diagnostics.rewinds == []  # a healthy run: the good state kept, never needed


def test_the_docs_cli_page_runs_as_written(tmp_path) -> None:
    """The YAML block of docs/cli.md, and its command line, configure a real LightningCLI fit."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    yaml_block = re.search(r"```yaml\n(.*?)```", page, re.S)
    command = re.search(r"`(--trainer\.callbacks\+=\S+ --trainer\.callbacks\.\S+)`", page)
    assert yaml_block is not None
    assert command is not None
    config = tmp_path / "config.yaml"
    config.write_text(yaml_block.group(1))
    run = cli([*common(tmp_path), f"--config={config}"])
    kinds = [type(c).__name__ for c in run.trainer.callbacks]
    assert "OneCycleLR" in kinds
    assert "LRDiagnostics" in kinds
    (diagnostics,) = [c for c in run.trainer.callbacks if isinstance(c, lrs.LRDiagnostics)]
    assert isinstance(diagnostics.on_divergence, lrs.Rewind)
    assert diagnostics.on_divergence.every == 100
    run = cli([*common(tmp_path), "--trainer.max_epochs=6", *command.group(1).split()])  # (3 epochs a step)
    (step,) = [c for c in run.trainer.callbacks if isinstance(c, lrs.StepLR)]
    assert step.resolved_lengths == {"step_size": 3}
