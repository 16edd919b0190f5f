"""What one optimizer step costs the package in a Trainer run: the calls into it, counted as issue 21 counts them.

``sys.setprofile`` between the end of one training batch and the end of the next, mid-epoch and past the warmup,
with ``log_every_n_steps=1`` (the lrs are logged at every step), and at a step Lightning does not log (the default
cadence, 49 of 50 steps). The bounds are today's figures: a change that adds a call to every step fails here and says
where the calls go.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from lightning_lrsched.core import Schedule, TrainingLength
from tests.helpers import TinyModel, make_loader, trainer

PACKAGE = "lightning_lrsched"


class StepWindow(Callback):
    """Counts the package's function calls from the end of one training batch to the end of the next."""

    def __init__(self, at_step: int) -> None:
        self.at_step = at_step
        self.calls: collections.Counter[str] = collections.Counter()

    def _count(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" and f"/{PACKAGE}/" in frame.f_code.co_filename:
            self.calls[f"{frame.f_code.co_filename.rsplit(PACKAGE, 1)[-1]}:{frame.f_code.co_name}"] += 1

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.at_step:
            sys.setprofile(self._count)
        elif trainer.global_step == self.at_step + 1:
            sys.setprofile(None)


@pytest.mark.parametrize(
    ("make", "most"),
    [
        (lambda: lrs.CosineAnnealingLR(warmup=3), 11),
        (lambda: lrs.OneCycleLR(max_lr=0.5), 12),
        (lambda: lrs.StepLR(step_size=1), 10),
        (lambda: lrs.ReduceLROnPlateau(monitor="val_loss"), 10),
    ],
    ids=["warmup+cosine", "onecycle", "steplr", "plateau"],
)
def test_calls_into_the_package_per_optimizer_step(tmp_path, make: Callable[[], Any], most: int) -> None:
    window = StepWindow(at_step=6)  # (batch 7 of 10 in the first epoch: past the warmup, not an epoch's end)
    fit = trainer(tmp_path, max_epochs=2, log_every_n_steps=1, callbacks=[window, make()])
    try:
        fit.fit(TinyModel(), make_loader(30), make_loader(9))
    finally:
        sys.setprofile(None)
    counted = sum(window.calls.values())
    assert 0 < counted <= most, dict(window.calls)
    assert window.calls["/core/planned_lrs.py:write"] == 1  # the lrs are written once a step


def test_a_step_that_lightning_does_not_log_costs_a_warmup_cosine_at_most_ten_calls(tmp_path) -> None:
    """Issue 21's bar, at the default ``log_every_n_steps=50``: the hooks, the lr of the next step, one write."""
    window = StepWindow(at_step=6)
    fit = trainer(tmp_path, max_epochs=2, callbacks=[window, lrs.CosineAnnealingLR(warmup=3)])
    try:
        fit.fit(TinyModel(), make_loader(30), make_loader(9))
    finally:
        sys.setprofile(None)
    assert sum(window.calls.values()) <= 10, dict(window.calls)
    assert window.calls["/core/planned_lrs.py:write"] == 1
    assert "/lightning/lr_logging.py:log_lrs" not in window.calls  # (not a logged step: only the check ran)


class CountedSteps(Schedule):
    """A schedule of one's own that steps its scheduler itself (here: torch's step, counted on the object)."""

    stepped = 0

    def step_scheduler(self, scheduler: Any, timeline: Any) -> None:
        self.stepped += 1
        scheduler.step()


def test_a_schedule_that_steps_its_scheduler_itself_is_never_stepped_past_it() -> None:
    """The timeline steps torch's scheduler directly only where the schedule's step is torch's own; both give
    torch's cosine stepped by hand after the warmup."""

    def lrs_of(schedule: Schedule) -> list[float]:
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        timeline = schedule.timeline(optimizer, TrainingLength(8, 4))
        seen = []
        for _ in range(8):
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            timeline.optimizer_step()
        return seen

    reference = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    by_hand, cosine = [], ts.CosineAnnealingLR(reference, T_max=6)
    for _ in range(6):
        by_hand.append(reference.param_groups[0]["lr"])
        reference.step()
        cosine.step()
    plain = Schedule(ts.CosineAnnealingLR, interval="step", warmup=2, T_max=6)
    own = CountedSteps(ts.CosineAnnealingLR, interval="step", warmup=2, T_max=6)
    assert (plain.steps_by_torch, own.steps_by_torch) == (True, False)
    expected = [0.0, 0.5, *by_hand]  # (the warmup's two steps from 0, then torch's cosine from the peak)
    assert lrs_of(plain) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert lrs_of(own) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert own.stepped == 6  # (every step after the 2 of the warmup, through the schedule)
