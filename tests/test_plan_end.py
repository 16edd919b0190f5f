"""Past the end of its plan a schedule with an end holds its final value and says so once; a short run is named."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import SAFE_LOAD, LRRecorder, TinyModel, make_loader, make_optimizer, reference_trace, trainer
from tests.test_stepping import ManualModel  # steps the optimizer on every second batch only

PLANNED = 20  # 2 epochs of 10 batches
PAST_PLAN = "past the end of its plan"


class TwoStepsPerBatch(TinyModel):
    """Manual optimization that steps the optimizer twice per batch: twice the optimizer steps Lightning plans."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> None:
        optimizer = self.optimizers()
        for _ in range(2):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self(x), y)
            optimizer.zero_grad()
            self.manual_backward(loss)
            optimizer.step()


def held(build: Callable[[Any], ts.LRScheduler], steps: int = PLANNED) -> list[list[float]]:
    """Torch's scheduler stepped by hand through the plan, then its value at the plan's end held as long again."""
    trace = reference_trace(build, epochs=1, steps_per_epoch=steps, interval="step")
    optimizer = make_optimizer()
    scheduler = build(optimizer)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    return trace + [[group["lr"] for group in optimizer.param_groups]] * steps


def wsd_end(optimizer: Any) -> ts.LRScheduler:
    from transformers import get_wsd_schedule

    return get_wsd_schedule(optimizer, num_warmup_steps=0, num_decay_steps=2, num_training_steps=PLANNED)


ENDED: list[tuple[str, Callable[[], lrs.LRSchedulerCallback], Callable[[Any], ts.LRScheduler]]] = [
    ("cosine", lambda: lrs.CosineAnnealingLR(), lambda o: ts.CosineAnnealingLR(o, PLANNED)),
    ("polynomial", lambda: lrs.PolynomialLR(power=2.0), lambda o: ts.PolynomialLR(o, PLANNED, 2.0)),
    (
        "linear",
        lambda: lrs.LinearLR(1.0, 0.1, total_iters="100%", interval="step"),
        lambda o: ts.LinearLR(o, 1.0, 0.1, PLANNED),
    ),
    (
        "multistep",
        lambda: lrs.MultiStepLR(["50%", "75%"], interval="step"),
        lambda o: ts.MultiStepLR(o, [10, 15]),
    ),
    ("onecycle", lambda: lrs.OneCycleLR(0.5), lambda o: ts.OneCycleLR(o, 0.5, total_steps=PLANNED)),
    ("wsd", lambda: lrs.WarmupStableDecayLR(decay_type="cosine"), wsd_end),
    (
        "sequential",
        lambda: lrs.SequentialLR(
            [lrs.LinearLR(0.5, 1.0, total_iters="100%", interval="step"), lrs.CosineAnnealingLR()], milestones=[5]
        ),
        lambda o: ts.SequentialLR(o, [ts.LinearLR(o, 0.5, 1.0, 5), ts.CosineAnnealingLR(o, 15)], milestones=[5]),
    ),
]


def fit_recording(tmp_path: Path, schedule: lrs.LRSchedulerCallback, model: TinyModel, **kwargs: Any) -> LRRecorder:
    recorder = LRRecorder()
    trainer(tmp_path, callbacks=[schedule, recorder], **{"max_epochs": 2, **kwargs}).fit(model, make_loader())
    return recorder


def past_plan_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if PAST_PLAN in str(w.message)]


@pytest.mark.parametrize(("label", "schedule", "reference"), ENDED, ids=[e[0] for e in ENDED])
def test_a_run_twice_as_long_as_planned_holds_the_final_value_and_warns_once(
    tmp_path, label, schedule, reference
) -> None:
    callback = schedule()
    callback.options.steps_per_batch = 1.0  # declared one step per batch, so the plan is not re-measured: it runs out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recorder = fit_recording(tmp_path, callback, TwoStepsPerBatch())
    expected = held(reference)
    assert len(recorder.lrs) == 2 * PLANNED
    if label == "onecycle":  # torch's cycle ends at total_steps - 1 steps: its last value is the one held
        expected = expected[:PLANNED] + [expected[PLANNED - 1]] * PLANNED
    assert recorder.lrs == expected  # exact, every group, every optimizer step
    assert recorder.lrs[PLANNED:] == [recorder.lrs[PLANNED]] * PLANNED  # held: constant past the plan
    messages = past_plan_warnings(caught)
    assert len(messages) == 1
    assert f"planned for {PLANNED} optimizer steps and this is step {PLANNED + 1}" in messages[0]


@pytest.mark.parametrize(
    ("schedule", "reference"),
    [
        (lambda: lrs.StepLR(5, 0.5, interval="step"), lambda o: ts.StepLR(o, 5, 0.5)),
        (lambda: lrs.ExponentialLR(0.9, interval="step"), lambda o: ts.ExponentialLR(o, 0.9)),
        (
            lambda: lrs.CyclicLR(0.01, 0.1, step_size_up=3, cycle_momentum=False),
            lambda o: ts.CyclicLR(o, 0.01, 0.1, 3, cycle_momentum=False),
        ),
    ],
    ids=["step", "exponential", "cyclic"],
)
def test_schedules_without_an_end_follow_their_law_past_the_plan(tmp_path, schedule, reference) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recorder = fit_recording(tmp_path, schedule(), TwoStepsPerBatch())
    assert recorder.lrs == reference_trace(reference, epochs=1, steps_per_epoch=2 * PLANNED, interval="step")
    assert past_plan_warnings(caught) == []


def test_resumed_with_a_larger_max_epochs_keeps_the_checkpoints_plan_and_holds(tmp_path) -> None:
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)
    first = LRRecorder()
    trainer(tmp_path / "a", max_epochs=2, callbacks=[lrs.CosineAnnealingLR(), first, checkpoint],
            enable_checkpointing=True).fit(TinyModel(), make_loader())  # fmt: skip
    state = torch.load(checkpoint.last_model_path, weights_only=True)["callbacks"]
    assert next(iter(s for s in state.values() if "scheduler" in s))["total_steps"] == PLANNED
    second = LRRecorder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path / "b", max_epochs=4, callbacks=[lrs.CosineAnnealingLR(), second]).fit(
            TinyModel(), make_loader(), ckpt_path=checkpoint.last_model_path, **SAFE_LOAD
        )
    assert first.lrs + second.lrs == held(lambda o: ts.CosineAnnealingLR(o, PLANNED))
    said = [str(w.message) for w in caught if "at the end of its plan" in str(w.message)]
    assert len(said) == 1  # the resume says it once, at the start: the plan's end is already behind
    assert past_plan_warnings(caught) == []


def test_a_run_that_stops_short_of_its_plan_says_so(tmp_path) -> None:
    schedule = lrs.OneCycleLR(0.5)
    with pytest.warns(UserWarning, match=r"ran 10 of the 20 optimizer steps it was planned for \(50%\)"):
        fit_recording(tmp_path, schedule, ManualModel())
    assert "ran 10 of the 20 optimizer steps" in schedule.summary()["text"]


def test_fixed_lengths_do_not_count_as_a_short_run(tmp_path) -> None:
    schedule = lrs.LinearLR(1.0, 0.1, total_iters=4, interval="step")  # ends after 4 of the 10 steps taken
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_recording(tmp_path, schedule, ManualModel())
    assert not [w for w in caught if "planned for" in str(w.message)]
    assert "planned for" not in schedule.summary()["text"]


def test_an_early_stop_is_reported_in_the_summary_without_a_warning(tmp_path) -> None:
    from tests.test_resume import StopAt

    schedule = lrs.CosineAnnealingLR()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path, max_epochs=4, callbacks=[schedule, StopAt(step=10)]).fit(TinyModel(), make_loader())
    assert not [w for w in caught if "planned for" in str(w.message)]
    assert "ran 10 of the 40 optimizer steps" in schedule.summary()["text"]


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        (lambda: lrs.CosineAnnealingLR("1ep"), "`T_max`='1ep' resolves to 10 steps, but this training has 30 steps"),
        (lambda: lrs.CosineAnnealingLR(1), "`T_max`=1 resolves to 1 epochs, but this training has 3 epochs"),
        (lambda: lrs.CosineAnnealingLR("50%", warmup=2), "resolves to 15 steps, but this training has 28 steps after"),
    ],
    ids=["1ep", "1-epoch", "50%-after-warmup"],
)
def test_a_cosine_that_ends_before_the_training_says_it_climbs_back_as_torchs_does(tmp_path, schedule, says) -> None:
    recorder = LRRecorder()
    with pytest.warns(UserWarning, match="climbs back towards the initial lr") as caught:
        trainer(tmp_path, max_epochs=3, callbacks=[schedule(), recorder]).fit(TinyModel(), make_loader())
    (message,) = [str(w.message) for w in caught if "climbs back" in str(w.message)]
    assert says in message
    assert "Omit `T_max`" in message
    first = [lr for lr, _ in recorder.lrs]
    low = first.index(min(first))
    assert max(first[low:]) > min(first)  # torch's formula, as warned: the lr rises again after T_max


@pytest.mark.parametrize(
    "schedule",
    [lambda: lrs.CosineAnnealingLR(), lambda: lrs.CosineAnnealingLR("3ep"), lambda: lrs.CosineAnnealingLR(2)],
    ids=["whole", "3ep", "2-of-3-epochs"],  # (2 epochs: the third uses the floor, a fourth would rise)
)
def test_a_cosine_over_the_whole_training_does_not_warn(tmp_path, schedule) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # (Lightning's own hints aside)
        warnings.filterwarnings("ignore", module="lightning.pytorch")
        trainer(tmp_path, max_epochs=3, callbacks=[schedule()]).fit(TinyModel(), make_loader())
