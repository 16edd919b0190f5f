"""Step schedules advance once per optimizer step that really ran; epoch schedules once per epoch."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins import MixedPrecision
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import LRRecorder, TinyModel, make_loader, make_optimizer, trainer


class ManualModel(TinyModel):
    """Manual optimization that steps on even batches only."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> None:
        optimizer = self.optimizers()
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.manual_backward(loss)
        if batch_idx % 2 == 0:
            optimizer.step()
            optimizer.zero_grad()


def test_manual_optimization_counts_real_optimizer_steps(tmp_path) -> None:
    recorder = LRRecorder()
    schedule = lrs.LinearLR(1.0, 0.1, total_iters=10, interval="step")
    trainer(tmp_path, max_epochs=3, callbacks=[schedule, recorder]).fit(ManualModel(), make_loader())

    optimizer = make_optimizer()
    reference = ts.LinearLR(optimizer, 1.0, 0.1, 10)
    expected = []
    for _ in range(15):  # 5 real steps per epoch
        expected.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        reference.step()
    assert recorder.lrs == expected


SKIPPED = {2, 3, 7}  # batch indices whose gradients are inf


class OverflowModel(TinyModel):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        return loss * float("inf") if batch_idx in SKIPPED and self.current_epoch == 0 else loss


class AttemptRecorder(LRRecorder):
    """The lr at every step attempt (Lightning calls this hook before the scaler decides), and which ran."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[list[float]] = []
        self.ran: list[bool] = []

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        self.attempts.append([g["lr"] for g in optimizer.param_groups])
        self.ran.append(False)

    def _record(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.ran[-1] = True  # the optimizer's own pre-hook: this attempt really steps


def test_amp_step_skipped_on_inf_gradients_does_not_advance_the_schedule(tmp_path) -> None:
    recorder = AttemptRecorder()
    schedule = lrs.StepLR(1, gamma=0.5, interval="step")
    amp = MixedPrecision("16-mixed", "cpu", torch.amp.GradScaler("cpu", init_scale=16.0))
    trainer(tmp_path, max_epochs=2, plugins=[amp], callbacks=[schedule, recorder]).fit(OverflowModel(), make_loader())

    assert len(recorder.attempts) == 20
    assert {i for i, ran in enumerate(recorder.ran) if not ran} == SKIPPED
    real_steps = 0
    for lrs_, ran in zip(recorder.attempts, recorder.ran, strict=False):
        assert lrs_ == [0.1 * 0.5**real_steps, 0.01 * 0.5**real_steps]
        real_steps += ran
    assert schedule.scheduler is not None
    assert schedule.scheduler.last_epoch == real_steps


class StateAtValidation(Callback):
    """What a ModelCheckpoint at validation end would save: the schedule's state at that moment."""

    def __init__(self, schedule: lrs.LRSchedulerCallback) -> None:
        self.schedule = schedule
        self.epochs_seen: list[int] = []

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        self.epochs_seen.append(self.schedule.state_dict()["scheduler"]["last_epoch"])


def test_epoch_schedule_steps_before_end_of_epoch_validation(tmp_path) -> None:
    schedule = lrs.StepLR(1, gamma=0.5)
    probe = StateAtValidation(schedule)
    trainer(tmp_path, max_epochs=3, callbacks=[schedule, probe]).fit(TinyModel(), make_loader(), make_loader(9))
    # Lightning steps its own epoch schedulers at the same point: after the last batch, before validation.
    assert probe.epochs_seen == [1, 2, 3]


def test_epoch_schedule_does_not_step_when_max_steps_ends_mid_epoch(tmp_path) -> None:
    schedule = lrs.StepLR(1, gamma=0.5)
    trainer(tmp_path, max_steps=15, callbacks=[schedule]).fit(TinyModel(), make_loader())
    assert schedule.scheduler is not None
    assert schedule.scheduler.last_epoch == 1
