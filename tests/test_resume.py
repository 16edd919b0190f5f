"""Resuming from a checkpoint reproduces the uninterrupted learning-rate trace, step for step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

import lightning_lrsched as lrs
from tests.helpers import LRRecorder, TinyModel, make_loader, trainer
from tests.test_parity import CASES


class StopAt(Callback):
    """Stops training gracefully after the given optimizer step or at the end of the given epoch."""

    def __init__(self, step: int | None = None, epoch: int | None = None) -> None:
        self.step, self.epoch = step, epoch

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        if self.step is not None and trainer.global_step >= self.step:
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.epoch is not None and trainer.current_epoch >= self.epoch:
            trainer.should_stop = True


def run(
    tmp_path: Path, schedule: Callable[[], lrs.LRSchedulerCallback], *, validate: bool, **kwargs: Any
) -> tuple[LRRecorder, lrs.LRSchedulerCallback]:
    recorder, callback = LRRecorder(), schedule()
    extra = kwargs.pop("callbacks", [])
    run_ = trainer(tmp_path, max_epochs=4, callbacks=[callback, recorder, *extra], **kwargs)
    run_.fit(TinyModel(), make_loader(), make_loader(9) if validate else None, ckpt_path=kwargs.get("ckpt"))
    return recorder, callback


def resumed_trace(tmp_path: Path, schedule: Callable[[], lrs.LRSchedulerCallback], stop: StopAt, *, validate: bool,
                  checkpoint: ModelCheckpoint) -> tuple[list[tuple[int, list[float]]], Path]:  # fmt: skip
    first, _ = run(tmp_path / "a", schedule, validate=validate, callbacks=[stop, checkpoint], enable_checkpointing=True)
    path = Path(checkpoint.last_model_path)
    recorder, second = LRRecorder(), schedule()
    resumed = trainer(tmp_path / "b", max_epochs=4, callbacks=[second, recorder])
    resumed.fit(TinyModel(), make_loader(), make_loader(9) if validate else None, ckpt_path=path, weights_only=True)
    return first.trace + recorder.trace, path


@pytest.mark.parametrize("validate", [False, True], ids=["no-val", "val"])
def test_epoch_schedule_resumed_at_epoch_end_matches_uninterrupted(tmp_path, validate) -> None:
    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.StepLR(1, gamma=0.5)

    straight, _ = run(tmp_path / "straight", schedule, validate=validate)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)
    trace, path = resumed_trace(tmp_path, schedule, StopAt(epoch=1), validate=validate, checkpoint=checkpoint)
    assert torch.load(path, weights_only=True)["global_step"] == 20  # after 2 of 4 epochs
    assert trace == straight.trace
    assert len(trace) == 40


def test_step_schedule_resumed_mid_epoch_matches_uninterrupted(tmp_path) -> None:
    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.OneCycleLR(max_lr=[1.0, 0.1])

    straight, _ = run(tmp_path / "straight", schedule, validate=False)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=15, save_last=True, save_top_k=0)
    trace, path = resumed_trace(tmp_path, schedule, StopAt(step=15), validate=False, checkpoint=checkpoint)
    loaded = torch.load(path, weights_only=True)
    assert loaded["global_step"] == 15  # mid-epoch: 10 steps per epoch
    assert trace == straight.trace
    assert [step for step, _ in trace] == list(range(40))


@pytest.mark.parametrize(("label", "callback"), [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES])
def test_every_type_checkpoints_load_with_weights_only(tmp_path, label, callback) -> None:
    schedule = callback()
    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_last=True, save_top_k=0)
    run_ = trainer(tmp_path, max_epochs=2, callbacks=[schedule, checkpoint], enable_checkpointing=True)
    run_.fit(TinyModel(), make_loader())
    state = torch.load(checkpoint.last_model_path, weights_only=True)["callbacks"][schedule.state_key]
    assert state["type"] == type(schedule).__name__
    assert state["steps"] == 20
    assert state["epochs"] == 2
    assert state["scheduler"]["last_epoch"] == schedule.scheduler.last_epoch  # type: ignore[union-attr]
