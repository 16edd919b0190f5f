"""The same schedule objects driven without a Trainer: a plain torch loop and Lightning Fabric.

Reference: the lrs of a Trainer run with the schedule as a callback (every optimizer step), and torch's own
scheduler stepped by hand. The README's section "Without a Trainer" runs as written.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.fabric import Fabric
from torch import nn
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import LRRecorder, TinyModel, flat, make_loader, trainer

ROOT = Path(__file__).resolve().parents[1]
SCHEDULES = {  # each built from the callbacks (`lrs`) or from the core schedules of the same names (`lrs.core`)
    "cosine-warmup": lambda kind: kind.CosineAnnealingLR(warmup="10%", eta_min=1e-4),
    "onecycle": lambda kind: kind.OneCycleLR(max_lr=[0.5, 0.05]),
    "steplr-epochs": lambda kind: kind.StepLR(1, gamma=0.5),
    "sequential": lambda kind: kind.SequentialLR(
        [kind.ConstantLR(0.5, total_iters="3 steps", interval="step"), kind.CosineAnnealingLR()], ["20%"]
    ),
}


def trainer_lrs(tmp_path: Path, schedule: lrs.LRSchedulerCallback) -> list[list[float]]:
    recorder = LRRecorder()
    trainer(tmp_path, max_epochs=3, callbacks=[schedule, recorder]).fit(TinyModel(), make_loader())
    return recorder.lrs


def loop_lrs(model: nn.Module, optimizer: Any, schedule: lrs.core.Schedule, step: Any) -> list[list[float]]:
    """Three epochs of ten batches: the timeline is told of every optimizer step and every epoch end."""
    timeline = schedule.timeline(optimizer, lrs.TrainingLength(total_steps=30, steps_per_epoch=10))
    seen = []
    for _ in range(3):
        for x, y in make_loader():
            seen.append([group["lr"] for group in optimizer.param_groups])
            loss = nn.functional.mse_loss(model(x), y)
            step(loss)
            timeline.optimizer_step()
        timeline.epoch_end()
    return seen


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_plain_torch_loop_gets_the_lrs_of_a_trainer_run(tmp_path, name) -> None:
    expected = trainer_lrs(tmp_path, SCHEDULES[name](lrs))
    model = TinyModel()
    optimizer = model.configure_optimizers()

    def step(loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    assert flat(loop_lrs(model, optimizer, SCHEDULES[name](lrs.core), step)) == pytest.approx(flat(expected), rel=1e-12)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_fabric_drives_the_same_schedule_objects(tmp_path, name) -> None:
    expected = trainer_lrs(tmp_path, SCHEDULES[name](lrs))
    fabric = Fabric(accelerator="cpu", devices=1)
    module = TinyModel()
    model, optimizer = fabric.setup(module, module.configure_optimizers())

    def step(loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        fabric.backward(loss)
        optimizer.step()

    got = loop_lrs(model, optimizer.optimizer, SCHEDULES[name](lrs.core), step)
    assert flat(got) == pytest.approx(flat(expected), rel=1e-12)


def test_a_plain_loop_matches_torch_stepped_by_hand() -> None:
    model = nn.Linear(4, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    reference = torch.optim.AdamW(nn.Linear(4, 1).parameters(), lr=1e-3)
    by_hand = ts.CosineAnnealingLR(reference, 40)
    timeline = lrs.core.CosineAnnealingLR().timeline(optimizer, lrs.TrainingLength(total_steps=40, steps_per_epoch=10))
    for _ in range(40):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(reference.param_groups[0]["lr"], rel=1e-12)
        optimizer.step()
        reference.step()
        by_hand.step()
        timeline.optimizer_step()


def test_the_docs_plain_loop_runs_as_written() -> None:
    text = (ROOT / "docs" / "without-a-trainer.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the loop raises no warning of its own
        exec(compile(code.group(1), "without-a-trainer.md", "exec"), namespace)
    assert namespace["timeline"].position.steps == 300
    assert namespace["optimizer"].param_groups[0]["lr"] < 1e-5  # the cosine came down to its end


class CountingGroup(dict):  # type: ignore[type-arg]
    """A param group that counts the writes of its lr."""

    writes = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        if key == "lr":
            self.writes += 1
        super().__setitem__(key, value)


@pytest.mark.parametrize("name", ["warmup+cosine", "onecycle", "plateau"])
def test_each_optimizer_step_writes_each_groups_lr_once(name) -> None:
    schedule = {
        "warmup+cosine": lambda: lrs.core.CosineAnnealingLR(warmup=5),
        "onecycle": lambda: lrs.core.OneCycleLR(max_lr=0.5),
        "plateau": lambda: lrs.core.ReduceLROnPlateau(warmup=5),
    }[name]()
    groups = [{"params": [nn.Parameter(torch.zeros(2))]}, {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.01}]
    optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    optimizer.param_groups[:] = [CountingGroup(group) for group in optimizer.param_groups]
    timeline = schedule.timeline(optimizer, lrs.TrainingLength(total_steps=40, steps_per_epoch=10))
    for _ in range(40):
        before = [group.writes for group in optimizer.param_groups]
        optimizer.step()
        timeline.optimizer_step()
        assert [group.writes - b for group, b in zip(optimizer.param_groups, before, strict=True)] == [1, 1]


def test_a_callbacks_timeline_is_its_schedules() -> None:
    """``callback.timeline(...)`` (what the README showed before the core existed) drives the held schedule."""
    lrs_of = []
    for make in (lambda: lrs.OneCycleLR(max_lr=0.5), lambda: lrs.core.OneCycleLR(max_lr=0.5)):
        optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
        timeline = make().timeline(optimizer, lrs.TrainingLength(total_steps=20, steps_per_epoch=10))
        seen = []
        for _ in range(20):
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            timeline.optimizer_step()
        lrs_of.append(seen)
    assert lrs_of[0] == lrs_of[1]
    assert max(lrs_of[0]) == pytest.approx(0.5)


def test_warm_restarts_per_step_in_a_loop_that_never_ends_an_epoch_hold_and_say_so() -> None:
    """Per step, warm restarts restart where an epoch starts. A loop that never calls ``timeline.epoch_end()``
    runs its first epoch past the 10 steps it counts: the lr holds at the cycle's end (torch's value at 0.99...
    of the cycle, not a restart), and one warning says what to call. With the epoch ends, torch's restarts."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    timeline = lrs.core.CosineAnnealingWarmRestarts(T_0=1, interval="step").timeline(
        optimizer, lrs.TrainingLength(total_steps=30, steps_per_epoch=10)
    )
    seen = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(13):
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            timeline.optimizer_step()
    reference = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = ts.CosineAnnealingWarmRestarts(reference, T_0=1)
    expected = []
    for step in range(13):
        scheduler.step(min(step / 10, 0.9999999999999999))  # type: ignore[arg-type]  # (fractional epochs)
        expected.append(reference.param_groups[0]["lr"])
    assert seen == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert seen[10:] == pytest.approx([0.0] * 3, abs=1e-15)  # (held, no restart inside the epoch)
    [message] = [str(w.message) for w in caught]
    assert "epoch 0 has taken 11 optimizer steps, past the 10 it counts" in message
    assert "call `timeline.epoch_end()` after each epoch's last step" in message
    timeline.epoch_end()  # (the epoch ends: the next step restarts)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1.0)
