"""The callbacks under the standalone ``pytorch_lightning`` package: its Trainer, module, logger and checkpoints.

Each run is compared with the same run under ``lightning.pytorch``: the same learning rate at every optimizer step,
the same TensorBoard tags, the same findings; ``ClassifierModule`` comes from ``lightning_lrsched.pytorch_lightning``.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import pytest
import torch
from torch import nn

import lightning_lrsched as lrs
from lightning_lrsched.report.tensorboard import read_scalars
from tests.helpers import make_loader, seed_quietly

NAMESPACES = ["lightning.pytorch", "pytorch_lightning"]
pytest.importorskip("pytorch_lightning")

SCHEDULES = {
    "onecycle": lambda: lrs.OneCycleLR(max_lr=0.05),
    "warmup-cosine": lambda: lrs.CosineAnnealingLR(warmup="10%"),
    "plateau": lambda: lrs.ReduceLROnPlateau(patience=0, factor=0.5),
    "steplr": lambda: lrs.StepLR(1, gamma=0.5),
}


def fit(
    namespace: str, root: Any, schedule: lrs.LRSchedulerCallback, accumulation: dict[int, int] | None = None
) -> tuple[list[float], dict[str, Any], Any]:
    pl = importlib.import_module(namespace)

    class Module(pl.LightningModule):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = nn.Linear(4, 1)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss = nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.log("val_loss", nn.functional.mse_loss(self.net(x), y) * (1 + self.current_epoch))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    lrs_seen: list[float] = []

    class Record(pl.Callback):  # type: ignore[name-defined,misc]
        def on_train_batch_start(self, trainer: Any, *args: Any) -> None:
            lrs_seen.append(trainer.optimizers[0].param_groups[0]["lr"])

    diagnostics = lrs.LRDiagnostics(verbose=False, summary_file=None)
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=root / "ckpt", monitor="val_loss")
    logger = pl.loggers.TensorBoardLogger(str(root), name="run")
    callbacks = [schedule, Record(), diagnostics, checkpoint]
    if accumulation is not None:
        callbacks.append(pl.callbacks.GradientAccumulationScheduler(accumulation))
    trainer = pl.Trainer(max_epochs=3, logger=logger, log_every_n_steps=1, callbacks=callbacks,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")  # fmt: skip
    trainer.fit(Module(), make_loader(), make_loader(6))
    return lrs_seen, read_scalars(logger.log_dir), diagnostics


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_pytorch_lightning_run_equals_the_lightning_run(tmp_path, name) -> None:
    runs = {ns: fit(ns, tmp_path / ns, SCHEDULES[name]()) for ns in NAMESPACES}
    (lrs_a, logged_a, diagnostics_a), (lrs_b, logged_b, diagnostics_b) = runs.values()
    assert lrs_b == lrs_a
    assert len(lrs_a) == 30
    tags = sorted(tag for tag in logged_a if tag.startswith("lr-"))
    assert tags == sorted(tag for tag in logged_b if tag.startswith("lr-"))
    assert "lr-SGD" in tags
    assert all(logged_b[tag] == logged_a[tag] for tag in tags)  # into TensorBoard the same way, at the same steps
    best_a, best_b = diagnostics_a.summary["best"], diagnostics_b.summary["best"]
    assert best_b.pop("checkpoint").endswith(".ckpt")  # pytorch_lightning's ModelCheckpoint is found
    assert best_a.pop("checkpoint").endswith(".ckpt")
    assert best_b == best_a
    assert diagnostics_b.summary["lr_path"] == diagnostics_a.summary["lr_path"]


def test_an_accumulation_schedule_of_pytorch_lightning_is_planned_for(tmp_path) -> None:
    """``pytorch_lightning``'s ``GradientAccumulationScheduler({1: 2})`` is planned for as ``lightning.pytorch``'s:
    10 optimizer steps, then 5 and 5, one cosine over the 20 without a re-plan, the same lrs under both names."""
    runs = {ns: fit(ns, tmp_path / ns, lrs.CosineAnnealingLR(interval="step"), {1: 2}) for ns in NAMESPACES}
    (lrs_a, _, _), (lrs_b, _, _) = runs.values()
    assert lrs_b == lrs_a
    assert len(lrs_a) == 30  # (the lr at every batch's start: 30 batches, 20 optimizer steps)
    expected = [0.1 * (1 + math.cos(math.pi * step / 20)) / 2 for step in range(20)]
    stepped = [*range(10), *(10 + (batch - 10) // 2 for batch in range(10, 30))]  # (the step each batch is in)
    assert lrs_a == pytest.approx([expected[step] for step in stepped], rel=1e-12)


def classifier_fit(namespace: str, root: Any, find_lr: bool) -> tuple[dict[str, Any], dict[str, float], Any]:
    """The package's ClassifierModule (from the namespace's own path) on 4 blobs, with a schedule and diagnostics."""
    pl = importlib.import_module(namespace)
    home = importlib.import_module(
        "lightning_lrsched" if namespace == "lightning.pytorch" else f"lightning_lrsched.{namespace}"
    )
    from tests.test_range_test import loader

    seed_quietly(0)
    module = home.ClassifierModule(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), num_classes=4, lr=1e-3)
    diagnostics = lrs.LRDiagnostics(verbose=False, summary_file=None)
    logger = pl.loggers.TensorBoardLogger(str(root), name="run")
    schedule = lrs.CosineAnnealingLR(warmup="10%", find_lr=find_lr)
    trainer = pl.Trainer(max_epochs=3, logger=logger, log_every_n_steps=5, callbacks=[schedule, diagnostics],
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                         enable_checkpointing=False)  # fmt: skip
    trainer.fit(module, loader(), loader(shuffle=False, n=160))
    metrics = {key: float(value) for key, value in trainer.callback_metrics.items()}
    return read_scalars(logger.log_dir), metrics, schedule


@pytest.mark.parametrize("find_lr", [False, True])
def test_the_classifier_module_under_pytorch_lightning_equals_the_lightning_run(tmp_path, find_lr) -> None:
    (logged_a, metrics_a, schedule_a), (logged_b, metrics_b, schedule_b) = (
        classifier_fit(ns, tmp_path / ns, find_lr) for ns in NAMESPACES
    )
    from lightning_lrsched.pytorch_lightning import ClassifierModule

    assert ClassifierModule.__mro__[2].__module__.startswith("pytorch_lightning")
    assert {"train_acc", "train_f1", "val_acc", "val_f1", "val_loss"} <= set(metrics_b)
    assert metrics_b == metrics_a
    assert sorted(logged_b) == sorted(logged_a)
    assert logged_b["lr-AdamW/decay"] == logged_a["lr-AdamW/decay"]
    if find_lr:
        assert schedule_b.range_result.lr == schedule_a.range_result.lr
