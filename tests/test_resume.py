"""Resuming from a checkpoint reproduces the uninterrupted learning-rate trace, step for step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

import lightning_lrsched as lrs
from tests.helpers import SAFE_LOAD, LRRecorder, TinyModel, make_loader, trainer
from tests.test_parity import CASES, expected_warnings


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
    model = kwargs.pop("model", TinyModel)()
    run_ = trainer(tmp_path, max_epochs=4, callbacks=[callback, recorder, *extra], **kwargs)
    run_.fit(model, make_loader(), make_loader(9) if validate else None)
    return recorder, callback


def resumed_trace(
    tmp_path: Path,
    schedule: Callable[[], lrs.LRSchedulerCallback],
    stop: StopAt,
    *,
    validate: bool,
    checkpoint: ModelCheckpoint,
    model: type = TinyModel,
) -> tuple[list[tuple[int, list[float]]], Path]:
    first, _ = run(
        tmp_path / "a",
        schedule,
        validate=validate,
        callbacks=[stop, checkpoint],
        enable_checkpointing=True,
        model=model,
    )
    path = Path(checkpoint.last_model_path)
    recorder, second = LRRecorder(), schedule()
    resumed = trainer(tmp_path / "b", max_epochs=4, callbacks=[second, recorder])
    resumed.fit(model(), make_loader(), make_loader(9) if validate else None, ckpt_path=path, **SAFE_LOAD)
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
    run_ = trainer(tmp_path, max_epochs=3, callbacks=[schedule, checkpoint], enable_checkpointing=True)
    with expected_warnings(label):
        run_.fit(TinyModel(), make_loader())
    state = torch.load(checkpoint.last_model_path, weights_only=True)["callbacks"][schedule.state_key]
    assert state["type"] == type(schedule).__name__
    assert state["steps"] == 30
    assert state["epochs"] == 3
    assert state["scheduler"]["last_epoch"] == schedule.scheduler.last_epoch  # type: ignore[union-attr]


def test_resume_in_the_middle_of_warmup(tmp_path) -> None:
    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.CosineAnnealingLR(warmup=8, warmup_start_factor=0.1)

    straight, _ = run(tmp_path / "straight", schedule, validate=False)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=5, save_last=True, save_top_k=0)
    trace, path = resumed_trace(tmp_path, schedule, StopAt(step=5), validate=False, checkpoint=checkpoint)
    assert torch.load(path, weights_only=True)["global_step"] == 5  # 5 of 8 warmup steps done
    assert trace == straight.trace


class EpochScripted(TinyModel):
    """Logs val_loss from a fixed sequence indexed by epoch, so a resumed run logs the same values."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", torch.tensor([1.0, 1.1, 1.2, 1.3, 1.4][self.current_epoch]))


def test_resume_in_the_middle_of_a_plateau_patience_window(tmp_path) -> None:
    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.ReduceLROnPlateau(patience=1, factor=0.5)

    straight, plain = run(tmp_path / "straight", schedule, validate=True, model=EpochScripted)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)
    trace, path = resumed_trace(
        tmp_path, schedule, StopAt(epoch=1), validate=True, checkpoint=checkpoint, model=EpochScripted
    )
    state = torch.load(path, weights_only=True)["callbacks"][plain.state_key]
    assert state["scheduler"]["num_bad_epochs"] == 1  # 1.1 after the best 1.0: inside the patience window
    assert trace == straight.trace
    lrs_by_epoch = [lrs_[0] for step, lrs_ in straight.trace if step % 10 == 0]
    assert lrs_by_epoch == [0.1, 0.1, 0.1, 0.05]  # reduced after the 2nd bad validation
