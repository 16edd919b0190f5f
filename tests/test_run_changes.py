"""When the run changes under the schedule: each case against torch stepped by hand with the intended plan, the
uninterrupted run, or the run without the callback; its warning exactly once, or its error by message."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import (
    BaseFinetuning,
    Callback,
    GradientAccumulationScheduler,
    ModelCheckpoint,
    StochasticWeightAveraging,
)
from torch import nn
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from lightning_lrsched.report.reporting import describe_plan
from tests.helpers import GROUP_LRS, SAFE_LOAD, Catcher, LRRecorder, TinyModel, make_loader, make_optimizer, trainer
from tests.test_stepping import ManualModel

# ---------------------------------------------------------------------------------------------- helpers


def caught_messages(run: Callable[[], Any]) -> list[str]:
    """Run ``run`` and return the messages of the package's warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def containing(messages: list[str], text: str) -> list[str]:
    return [m for m in messages if text in m]


def by_hand(segments: list[tuple[Callable[[Any], ts.LRScheduler], int]], optimizer: Any = None) -> list[list[float]]:
    """Torch's schedulers stepped by hand, one segment after the other; each segment starts from the current
    lrs (its ``initial_lr``), as a re-plan rebuilds what remains. Returns the lrs before each optimizer step."""
    optimizer = optimizer or make_optimizer()
    trace: list[list[float]] = []
    for build, steps in segments:
        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
        scheduler = build(optimizer)
        for _ in range(steps):
            trace.append([group["lr"] for group in optimizer.param_groups])
            optimizer.step()
            scheduler.step()
    return trace


def assert_lrs(actual: list[list[float]], expected: list[list[float]]) -> None:
    assert len(actual) == len(expected)
    for step, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15), f"optimizer step {step}"


def checkpoint_at(tmp_path: Path, schedule: lrs.LRSchedulerCallback, model: Any, step: int, **kwargs: Any) -> str:
    """Fit with ``schedule``, writing a checkpoint after optimizer step ``step``; returns its path."""
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=step, save_top_k=-1)
    trainer(tmp_path / "first", callbacks=[schedule, checkpoint], enable_checkpointing=True, **kwargs).fit(
        model, make_loader()
    )
    return str(next((tmp_path / "ckpt").glob(f"*step={step}.ckpt")))


def replanned_resume(
    tmp_path: Path, schedule: Callable[..., lrs.LRSchedulerCallback], step: int, *, epochs: int, into: int
) -> tuple[list[list[float]], list[str]]:
    """A fit of ``epochs`` checkpointed after optimizer step ``step``, resumed into ``into`` epochs with
    ``schedule(replan_on_resume=True)``; returns the resumed fit's lrs and the package's warnings."""
    path = checkpoint_at(tmp_path, schedule(), TinyModel(), step, max_epochs=epochs)
    recorder = LRRecorder()
    run = trainer(tmp_path / "resumed", max_epochs=into, callbacks=[schedule(replan_on_resume=True), recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    return recorder.lrs, messages


# ---------------------------------------------------------------------------------------------- 1. extending a run


def test_extending_a_run_keeps_the_plan_by_default_and_names_the_argument_once(tmp_path) -> None:
    path = checkpoint_at(tmp_path, lrs.CosineAnnealingLR(), TinyModel(), 10, max_epochs=2)
    recorder = LRRecorder()
    run = trainer(tmp_path / "b", max_epochs=4, callbacks=[lrs.CosineAnnealingLR(), recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    (message,) = containing(messages, "resumes into a run of 40 optimizer steps")
    assert "planned 20" not in message
    assert "was for 20" in message
    assert "replan_on_resume=True" in message
    assert len(containing(messages, "past the end of its plan")) == 1
    expected = by_hand([(lambda o: ts.CosineAnnealingLR(o, 20), 20)])
    assert_lrs(recorder.lrs, expected[10:] + [by_hand_end(20)] * 20)  # the checkpoint's plan, then its end held


def by_hand_end(steps: int) -> list[float]:
    """The lrs of a whole-run cosine after its last step (its floor, 0)."""
    optimizer = make_optimizer()
    scheduler = ts.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    return [group["lr"] for group in optimizer.param_groups]


def test_replan_on_resume_stretches_cosine_from_the_current_lr_to_its_floor_at_the_new_end(tmp_path) -> None:
    path = checkpoint_at(tmp_path, lrs.CosineAnnealingLR(eta_min=1e-4), TinyModel(), 10, max_epochs=2)
    recorder = LRRecorder()
    schedule = lrs.CosineAnnealingLR(eta_min=1e-4, replan_on_resume=True)
    run = trainer(tmp_path / "b", max_epochs=4, callbacks=[schedule, recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert containing(messages, "resumes into a run") == []
    assert containing(messages, "past the end") == []
    expected = by_hand(
        [(lambda o: ts.CosineAnnealingLR(o, 20, 1e-4), 10), (lambda o: ts.CosineAnnealingLR(o, 30, 1e-4), 30)]
    )
    assert_lrs(recorder.lrs, expected[10:])  # continues from the checkpoint's lr, no jump
    assert recorder.lrs[-1][0] < 3e-4  # and comes down to the floor at the new end
    assert schedule.summary()["steps"] == 40


def test_replan_on_resume_moves_the_wsd_decay_to_the_new_end(tmp_path) -> None:
    from transformers import get_wsd_schedule

    first = lrs.WarmupStableDecayLR(decay="20%", decay_type="cosine")
    path = checkpoint_at(tmp_path, first, TinyModel(), 10, max_epochs=2)
    recorder = LRRecorder()
    schedule = lrs.WarmupStableDecayLR(decay="20%", decay_type="cosine", replan_on_resume=True)
    trainer(tmp_path / "b", max_epochs=4, callbacks=[schedule, recorder]).fit(
        TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD
    )
    # stable until 80% of the new 40-step run, then the decay over its last 20%: a fresh 40-step WSD's lrs
    expected = by_hand([(lambda o: get_wsd_schedule(o, 0, num_decay_steps=8, num_training_steps=40), 40)])
    assert_lrs(recorder.lrs, expected[10:])


def test_a_schedule_that_cannot_replan_keeps_its_plan_and_says_why(tmp_path) -> None:
    path = checkpoint_at(tmp_path, lrs.OneCycleLR(0.5), TinyModel(), 10, max_epochs=2)
    run = trainer(tmp_path / "b", max_epochs=4, callbacks=[lrs.OneCycleLR(0.5, replan_on_resume=True)])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert len(containing(messages, "cannot re-plan what remains of its schedule")) == 1
    assert len(containing(messages, "past the end of its plan")) == 1


# ---------------------------------------------------------------------------------------------- 2. epochs change size


class GrowingData(TinyModel):
    """Reloads its data every epoch; epoch sizes (in batches of 3) come from ``sizes``."""

    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        self.sizes = sizes

    def train_dataloader(self) -> Any:
        return make_loader(3 * self.sizes[min(self.current_epoch, len(self.sizes) - 1)])


def fit_growing(
    tmp_path: Path, schedule: lrs.LRSchedulerCallback, sizes: list[int], **kwargs: Any
) -> tuple[LRRecorder, list[str]]:
    recorder = LRRecorder()
    run = trainer(
        tmp_path, max_epochs=len(sizes), reload_dataloaders_every_n_epochs=1, callbacks=[schedule, recorder], **kwargs
    )
    return recorder, caught_messages(lambda: run.fit(GrowingData(sizes)))


@pytest.mark.parametrize(
    ("sizes", "first"),
    [([5, 10, 10], 15), ([10, 5, 5], 30)],
    ids=["growing", "shrinking"],
)
def test_a_whole_run_cosine_replans_when_the_epochs_change_size(tmp_path, sizes, first) -> None:
    recorder, messages = fit_growing(tmp_path, lrs.CosineAnnealingLR(), sizes)
    done, rest = sizes[0], sum(sizes[1:])
    expected = by_hand(
        [(lambda o: ts.CosineAnnealingLR(o, first), done), (lambda o: ts.CosineAnnealingLR(o, rest), rest)]
    )
    assert_lrs(recorder.lrs, expected)
    assert max(lrs_[0] for lrs_ in recorder.lrs[done:]) <= recorder.lrs[done - 1][0]  # never climbs back
    (message,) = containing(messages, "the epochs of this run changed size")
    assert f"(now {sizes[1]} batches, `accumulate_grad_batches`=1)" in message  # (what changed, not a guess)


def test_polynomial_decay_reaches_zero_only_at_the_real_end(tmp_path) -> None:
    recorder, _ = fit_growing(tmp_path, lrs.PolynomialLR(power=1.0), [5, 10, 10])
    expected = by_hand([(lambda o: ts.PolynomialLR(o, 15, 1.0), 5), (lambda o: ts.PolynomialLR(o, 20, 1.0), 20)])
    assert_lrs(recorder.lrs, expected)
    assert all(lr[0] > 0 for lr in recorder.lrs)


def cosine(steps: int) -> Callable[[Any], ts.LRScheduler]:
    return lambda o: ts.CosineAnnealingLR(o, steps)


@pytest.mark.parametrize(
    ("scheduling", "sizes", "card"),
    [({1: 2}, [10, 5, 5], "10, 5 from epoch 1"), ({0: 2, 2: 5}, [5, 5, 2], "5, 2 from epoch 2")],
    ids=["from-epoch-1", "from-epoch-0"],
)
@pytest.mark.parametrize("first", [True, False], ids=["accumulation-first", "schedule-first"])
def test_a_gradient_accumulation_scheduler_is_planned_from_the_fits_start(
    tmp_path, scheduling: dict[int, int], sizes: list[int], card: str, first: bool
) -> None:
    """``GradientAccumulationScheduler({1: 2})``: epochs of 10 optimizer steps, then 5. The Trainer's estimate counts
    every epoch at the first accumulation (30 steps); the plan counts each epoch at its own (20), so the cosine is
    torch's over the run's real steps, with no re-plan and no warning, whichever callback comes first. An
    accumulation from epoch 0 on (which the estimate does not see either) is planned for too. The plan's text card
    (TensorBoard) gives the epochs' sizes. Before, the cosine was planned for 30 steps and re-planned at epoch 1,
    with a warning."""
    schedule, recorder = lrs.CosineAnnealingLR(interval="step"), LRRecorder()
    accumulation = GradientAccumulationScheduler(scheduling)
    callbacks = [accumulation, schedule, recorder] if first else [schedule, accumulation, recorder]
    run = trainer(tmp_path, max_epochs=3, callbacks=callbacks)
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader()))
    assert_lrs(recorder.lrs, by_hand([(cosine(sum(sizes)), sum(sizes))]))
    assert run.global_step == sum(sizes)
    assert schedule.schedule.last_timeline.plan.replans == []
    assert containing(messages, "changed size") == containing(messages, "did not reach its end") == []
    assert f"- optimizer steps per epoch: {card}\n" in describe_plan(schedule.schedule.last_timeline)


@pytest.mark.parametrize(("warmup", "steps"), [("1ep", 10), ("2ep", 15), ("1.5ep", 13), ("20%", 4), ("12 steps", 12)])
def test_lengths_in_epochs_count_each_epoch_at_its_accumulation(tmp_path, warmup: str, steps: int) -> None:
    """A warmup of ``"2ep"`` with ``GradientAccumulationScheduler({1: 2})`` (epochs of 10 steps, then 5) ends where
    Lightning's epoch 2 starts, at step 15; ``"1.5ep"`` half way through epoch 1 (12.5, rounded); a percentage counts
    the run's real 20 steps. The cosine after it is torch's over the steps left."""
    schedule, recorder = lrs.CosineAnnealingLR(interval="step", warmup=warmup), LRRecorder()
    run = trainer(tmp_path, max_epochs=3, callbacks=[GradientAccumulationScheduler({1: 2}), schedule, recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader()))
    assert schedule.schedule.last_timeline.plan.warmup.steps == steps
    optimizer = make_optimizer()
    warmup_lrs = [[lr * i / steps for lr in (0.1, 0.01)] for i in range(steps)]  # (linear from 0)
    assert_lrs(recorder.lrs[:steps], warmup_lrs)
    assert_lrs(recorder.lrs[steps:], by_hand([(cosine(20 - steps), 20 - steps)], optimizer))
    assert containing(messages, "changed size") == []


def test_warm_restarts_per_step_restart_at_each_epoch_of_an_accumulation_schedule(tmp_path) -> None:
    """Per step, each epoch's fraction counts over its own size by the accumulation (10, then 5 and 5)."""
    recorder = LRRecorder()
    callbacks = [GradientAccumulationScheduler({1: 2}), lrs.CosineAnnealingWarmRestarts(T_0=1, interval="step")]
    run = trainer(tmp_path, max_epochs=3, callbacks=[*callbacks, recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader()))
    assert_lrs(recorder.lrs, warm_restart_reference([10, 5, 5]))
    assert containing(messages, "changed size") == []


def test_an_accumulation_schedule_bounded_by_max_steps_ends_there(tmp_path) -> None:
    """``max_steps=13`` ends the run in epoch 1 (10 steps, then 3 of 5): the cosine ends at step 13."""
    schedule, recorder = lrs.CosineAnnealingLR(interval="step"), LRRecorder()
    callbacks = [GradientAccumulationScheduler({1: 2}), schedule, recorder]
    run = trainer(tmp_path, max_epochs=3, max_steps=13, callbacks=callbacks)
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader()))
    assert_lrs(recorder.lrs, by_hand([(cosine(13), 13)]))
    assert containing(messages, "changed size") == containing(messages, "did not reach its end") == []


def accumulation_run(tmp_path: Path, *more: Callback, **options: Any) -> tuple[lrs.LRSchedulerCallback, list[str]]:
    """A fit of 4 epochs with ``GradientAccumulationScheduler({1: 2})`` (10, 5, 5, 5 steps) and a per-step cosine
    with a warmup of 3 (``fit``: the arguments of ``fit``); returns the schedule and the package's warnings."""
    schedule, fit = lrs.CosineAnnealingLR(interval="step", warmup=3), options.pop("fit", {})
    run = trainer(tmp_path, max_epochs=4, callbacks=[schedule, GradientAccumulationScheduler({1: 2}), *more], **options)
    return schedule, caught_messages(lambda: run.fit(TinyModel(), make_loader(), **fit))


def test_an_accumulation_schedule_resumed_at_an_epochs_end_equals_the_uninterrupted_run(tmp_path) -> None:
    """Checkpoints at each epoch's end (``ModelCheckpoint``'s default), resumed at epochs 1, 2 and 3: each resumed
    run's lrs are the uninterrupted run's from there, with no re-plan (the checkpoint keeps the epochs' sizes)."""
    whole = LRRecorder()
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_top_k=-1, every_n_epochs=1)
    accumulation_run(tmp_path / "whole", whole, checkpoints, enable_checkpointing=True)
    paths = sorted((tmp_path / "ckpt").glob("epoch=*.ckpt"))
    assert len(paths) == 4
    for epoch, path in enumerate(paths[:3]):
        recorder = LRRecorder()
        schedule, messages = accumulation_run(tmp_path / f"r{epoch}", recorder, fit={"ckpt_path": path, **SAFE_LOAD})
        done = 10 + 5 * epoch
        assert [step for step, _ in recorder.trace] == list(range(done, 25))
        assert_lrs(recorder.lrs, whole.lrs[done:])
        assert schedule.schedule.last_timeline.plan.replans == []
        assert containing(messages, "re-planned") == containing(messages, "changed size") == []


def cosine_with_accumulation(*more: Callback) -> list[Callback]:
    """A per-step cosine and ``GradientAccumulationScheduler({1: 2})`` (10, then 5 steps an epoch), and ``more``."""
    return [lrs.CosineAnnealingLR(interval="step"), GradientAccumulationScheduler({1: 2}), *more]


def test_a_gradient_accumulation_scheduler_resumed_in_an_epochs_middle_is_followed_as_lightning_runs_it(
    tmp_path,
) -> None:
    """``GradientAccumulationScheduler({1: 2})``, 4 epochs: 10 steps, then 5 an epoch (25, planned from the start).
    Stopped at step 14 and resumed from step 12 (4 batches into epoch 1): Lightning calls no epoch-start hook for the
    resumed epoch, so its 6 batches left run at accumulation 1, 6 steps (28 in all). At the resumed first batch the
    cosine is re-planned from the current lr over the 16 steps left (one warning); epoch 2's accumulation is the
    plan's, so nothing more changes, and the lr comes down to the floor at the run's last step. Torch's cosine by
    hand over each segment."""
    from tests.test_lifecycle import Crash

    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=4, save_last=True, save_top_k=0)
    crashing = trainer(tmp_path / "a", max_epochs=4, callbacks=cosine_with_accumulation(checkpoint, Crash(step=14)),
                       enable_checkpointing=True)  # fmt: skip
    with pytest.raises(RuntimeError, match="simulated crash"):
        caught_messages(lambda: crashing.fit(TinyModel(), make_loader()))
    recorder = LRRecorder()
    resumed = trainer(tmp_path / "b", max_epochs=4, callbacks=cosine_with_accumulation(recorder))
    path = checkpoint.last_model_path
    messages = caught_messages(lambda: resumed.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert [step for step, _ in recorder.trace] == list(range(12, 28))
    assert_lrs(recorder.lrs, by_hand([(cosine(25), 12), (cosine(16), 16)])[12:])
    (message,) = containing(messages, "re-planned")
    assert "resumed in the middle of epoch 1, which has 6 optimizer steps left" in message
    assert "re-planned for 28 optimizer steps in all" in message
    assert "so it runs at `accumulate_grad_batches=1`, not the 2 that GradientAccumulationScheduler sets" in message
    assert containing(messages, "past the end") == containing(messages, "did not reach its end") == []


def test_a_gradient_accumulation_scheduler_resumed_after_an_epochs_last_batch_is_followed_as_lightning_runs_it(
    tmp_path,
) -> None:
    """``GradientAccumulationScheduler({1: 2})``, 4 epochs (25 steps planned), resumed from the checkpoint written
    after epoch 0's last batch (``every_n_train_steps``): Lightning ends epoch 0 and calls no epoch-start hook for
    epoch 1 either, so epoch 1 runs its 10 batches at accumulation 1 (30 steps in all). The cosine is re-planned once
    from the current lr over the 20 steps left, and the warning names the cause: Lightning's, not the user's
    ``accumulate_grad_batches``. Torch's cosine by hand over each segment."""

    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=10, save_top_k=-1)
    trainer(
        tmp_path / "a", max_epochs=4, callbacks=cosine_with_accumulation(checkpoints), enable_checkpointing=True
    ).fit(TinyModel(), make_loader())
    recorder, path = LRRecorder(), next((tmp_path / "ckpt").glob("epoch=0-step=10.ckpt"))
    resumed = trainer(tmp_path / "b", max_epochs=4, callbacks=cosine_with_accumulation(recorder))
    messages = caught_messages(lambda: resumed.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert [step for step, _ in recorder.trace] == list(range(10, 30))
    assert_lrs(recorder.lrs, by_hand([(cosine(25), 10), (cosine(20), 20)])[10:])
    (message,) = containing(messages, "re-planned")
    assert "resumed at the start of epoch 1, after 10 optimizer steps, and epoch 1 has 10 optimizer steps" in message
    assert "without calling `on_train_epoch_start`, so it runs at `accumulate_grad_batches=1`, not the 2" in message
    assert "re-planned for 30 optimizer steps in all" in message


def test_fixed_lengths_stay_as_given_when_the_epochs_change_size(tmp_path) -> None:
    recorder, messages = fit_growing(tmp_path, lrs.CosineAnnealingLR(T_max="25 steps"), [5, 10, 10])
    assert_lrs(recorder.lrs, by_hand([(lambda o: ts.CosineAnnealingLR(o, 25), 25)]))
    assert containing(messages, "changed size") == []
    assert containing(messages, "past the end") == []


def warm_restart_reference(sizes: list[int], t0: int = 1) -> list[list[float]]:
    """torch's CosineAnnealingWarmRestarts stepped by the fractional epoch of each step, from each epoch's size."""
    optimizer = make_optimizer()
    scheduler = ts.CosineAnnealingWarmRestarts(optimizer, t0)
    trace = []
    for epoch, size in enumerate(sizes):
        for i in range(1, size + 1):
            trace.append([group["lr"] for group in optimizer.param_groups])
            optimizer.step()
            scheduler.step(epoch + i / size)
    return trace


def test_warm_restarts_per_step_keep_the_epoch_fraction_when_epochs_change_size(tmp_path) -> None:
    sizes = [5, 10, 4]
    recorder, _ = fit_growing(tmp_path, lrs.CosineAnnealingWarmRestarts(T_0=1, interval="step"), sizes)
    assert_lrs(recorder.lrs, warm_restart_reference(sizes))


def test_warm_restarts_resumed_mid_epoch_after_a_size_change_equal_the_uninterrupted_run(tmp_path) -> None:
    sizes = [5, 10, 4]
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=8, save_top_k=-1)
    first = trainer(tmp_path / "a", max_epochs=3, reload_dataloaders_every_n_epochs=1, enable_checkpointing=True,
                    callbacks=[lrs.CosineAnnealingWarmRestarts(T_0=1, interval="step"), checkpoint])  # fmt: skip
    first.fit(GrowingData(sizes))
    recorder = LRRecorder()
    second = trainer(tmp_path / "b", max_epochs=3, reload_dataloaders_every_n_epochs=1,
                     callbacks=[lrs.CosineAnnealingWarmRestarts(T_0=1, interval="step"), recorder])  # fmt: skip
    second.fit(GrowingData(sizes), ckpt_path=str(tmp_path / "ckpt" / "epoch=1-step=8.ckpt"), **SAFE_LOAD)
    assert_lrs(recorder.lrs, warm_restart_reference(sizes)[8:])


# ---------------------------------------------------------------------------------------------- 3. no schedule state


@pytest.mark.parametrize("written_with", ["module-scheduler", "no-schedule"])
def test_a_checkpoint_without_this_schedules_state_starts_the_schedule_at_its_position(tmp_path, written_with) -> None:
    own = (lambda o: ts.StepLR(o, 3, 0.5)) if written_with == "module-scheduler" else None
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)
    trainer(tmp_path / "a", max_epochs=1, callbacks=[checkpoint], enable_checkpointing=True).fit(
        TinyModel(scheduler=own), make_loader()
    )
    recorder = LRRecorder()
    run = trainer(tmp_path / "b", max_epochs=3, callbacks=[lrs.CosineAnnealingLR(), recorder])
    messages = caught_messages(
        lambda: run.fit(TinyModel(), make_loader(), ckpt_path=checkpoint.last_model_path, **SAFE_LOAD)
    )
    assert len(containing(messages, "has no state for this run, which is at optimizer step 10 (epoch 1)")) == 1
    # as if the schedule had run from the start: the lrs of steps 10..29 of a 30-step cosine
    assert_lrs(recorder.lrs, by_hand([(lambda o: ts.CosineAnnealingLR(o, 30), 30)])[10:])


# ---------------------------------------------------------------------------------------------- 5. param groups join


class Backbone(TinyModel):
    """The `hidden` layer is frozen at first; only the head is in the optimizer (one group, lr 0.1)."""

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD([p for p in self.parameters() if p.requires_grad], lr=GROUP_LRS[0], momentum=0.9)


class Unfreeze(BaseFinetuning):
    """Unfreezes `hidden` at the start of epoch ``at`` as a new param group with lr 0.01."""

    def __init__(self, at: int = 1) -> None:
        super().__init__()
        self.at = at

    def freeze_before_training(self, pl_module: Any) -> None:
        self.freeze(pl_module.hidden)

    def finetune_function(self, pl_module: Any, epoch: int, optimizer: Any) -> None:
        if epoch == self.at:
            self.unfreeze_and_add_param_group(pl_module.hidden, optimizer, lr=GROUP_LRS[1])


GROUP_SCHEDULES: list[tuple[str, Callable[[], lrs.LRSchedulerCallback], Callable[[Any], ts.LRScheduler]]] = [
    ("cosine", lambda: lrs.CosineAnnealingLR(), lambda o: ts.CosineAnnealingLR(o, 30)),
    ("onecycle", lambda: lrs.OneCycleLR(0.5), lambda o: ts.OneCycleLR(o, 0.5, total_steps=30)),
    ("step", lambda: lrs.StepLR(1, 0.5), lambda o: ts.StepLR(o, 1, 0.5)),
]


@pytest.mark.parametrize(("label", "schedule", "reference"), GROUP_SCHEDULES, ids=[g[0] for g in GROUP_SCHEDULES])
def test_an_unfrozen_group_joins_with_the_same_multiplier_and_gets_its_tag(
    tmp_path, label, schedule, reference
) -> None:
    recorder, catcher = LRRecorder(), Catcher()
    run = trainer(tmp_path, max_epochs=3, callbacks=[Unfreeze(), schedule(), recorder], logger=catcher,
                  log_every_n_steps=1)  # fmt: skip
    run.fit(Backbone(), make_loader())
    optimizer = torch.optim.SGD([nn.Linear(4, 4).weight], lr=GROUP_LRS[0], momentum=0.9)
    interval = "epoch" if label == "step" else "step"
    head = [lrs_[0] for lrs_ in recorder.lrs]
    expected = []
    scheduler = reference(optimizer)
    for step in range(30):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if interval == "step" or (step + 1) % 10 == 0:
            scheduler.step()
    assert head == pytest.approx(expected, rel=1e-12)  # the head's schedule is untouched by the new group
    assert [len(lrs_) for lrs_ in recorder.lrs] == [1] * 10 + [2] * 20
    for lrs_ in recorder.lrs[10:]:  # the backbone follows the same multiplier from its own lr 0.01
        assert lrs_[1] == pytest.approx(lrs_[0] * GROUP_LRS[1] / GROUP_LRS[0], rel=1e-12)
    tags = set().union(*(metrics for _, metrics in catcher.calls))
    assert {"lr-SGD", "lr-SGD/pg1", "lr-SGD/pg2"} <= tags  # renamed as LearningRateMonitor does


def test_a_group_joining_during_the_warmup_warms_up_with_the_others(tmp_path) -> None:
    recorder = LRRecorder()  # 6 epochs of 5 steps, a 7-step warmup: the backbone joins at step 5, mid-warmup
    trainer(tmp_path, max_epochs=6, callbacks=[Unfreeze(), lrs.CosineAnnealingLR(warmup=7), recorder]).fit(
        Backbone(), make_loader(15)
    )
    assert [lrs_[0] for lrs_ in recorder.lrs[:8]] == pytest.approx([GROUP_LRS[0] * s / 7 for s in range(7)] + [0.1])
    for lrs_ in recorder.lrs[5:]:
        assert lrs_[1] == pytest.approx(lrs_[0] * GROUP_LRS[1] / GROUP_LRS[0], rel=1e-12)
    assert recorder.lrs[5][1] == pytest.approx(GROUP_LRS[1] * 5 / 7)  # it warms up from its share, not from 0.01


@pytest.mark.parametrize("order", ["finetuning-first", "schedule-first"])
@pytest.mark.parametrize(
    "make", [lambda: lrs.OneCycleLR(0.5), lambda: lrs.CosineAnnealingLR(warmup=3)], ids=["onecycle", "cosine-warmup"]
)
def test_resume_after_unfreezing_equals_the_uninterrupted_run(tmp_path, order, make) -> None:
    def callbacks(schedule: Any, *others: Any) -> list[Any]:
        pair = [Unfreeze(), schedule] if order == "finetuning-first" else [schedule, Unfreeze()]
        return [*pair, *others]

    whole = LRRecorder()
    trainer(tmp_path / "whole", max_epochs=3, callbacks=callbacks(make(), whole)).fit(Backbone(), make_loader())
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=15, save_top_k=-1)
    trainer(tmp_path / "a", max_epochs=3, enable_checkpointing=True, callbacks=callbacks(make(), checkpoint)).fit(
        Backbone(), make_loader()
    )
    resumed = LRRecorder()
    trainer(tmp_path / "b", max_epochs=3, callbacks=callbacks(make(), resumed)).fit(
        Backbone(), make_loader(), ckpt_path=str(tmp_path / "ckpt" / "epoch=1-step=15.ckpt"), **SAFE_LOAD
    )
    assert_lrs(resumed.lrs, whole.lrs[15:])


# ---------------------------------------------------------------------------------------------- 6. SWA


def swa_run(tmp_path: Path, *schedule: Any) -> tuple[LRRecorder, list[str], list[Any]]:
    recorder = LRRecorder()
    swa = StochasticWeightAveraging(swa_lrs=0.05, swa_epoch_start=3, annealing_epochs=2)
    run = trainer(tmp_path, max_epochs=5, callbacks=[*schedule, swa, recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader()))
    return recorder, messages, list(schedule)


def test_swa_takes_over_the_lr_from_its_first_epoch_as_it_does_alone(tmp_path) -> None:
    alone, _, _ = swa_run(tmp_path / "alone")
    with_schedule, messages, (schedule,) = swa_run(tmp_path / "scheduled", lrs.OneCycleLR(0.5))
    assert_lrs(with_schedule.lrs[20:], alone.lrs[20:])  # SWA's phase (epochs 2-4): SWA alone's lrs
    onecycle = by_hand([(lambda o: ts.OneCycleLR(o, 0.5, total_steps=50), 20)])
    assert_lrs(with_schedule.lrs[:20], onecycle)  # before it: the schedule
    assert len(containing(messages, "hands the learning rate over to StochasticWeightAveraging from epoch 2")) == 1
    assert "handed over to StochasticWeightAveraging at step 20" in schedule.summary()["text"]


def test_swa_takes_over_from_a_composite_whose_phase_steps_per_epoch(tmp_path) -> None:
    alone, _, _ = swa_run(tmp_path / "alone")
    composite = lrs.SequentialLR([lrs.LinearLR(0.5, 1.0, total_iters=5, interval="step"), lrs.StepLR(1, 0.5)], [5])
    with_schedule, messages, _ = swa_run(tmp_path / "scheduled", composite)
    assert_lrs(with_schedule.lrs[20:], alone.lrs[20:])  # the StepLR phase's epoch steps stop at SWA's start
    assert len(containing(messages, "hands the learning rate over")) == 1


# ---------------------------------------------------------------------------------------------- 7. stepping rates


def test_an_optimizer_stepping_every_second_batch_is_measured_and_replanned(tmp_path) -> None:
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=3, callbacks=[lrs.CosineAnnealingLR(), recorder])
    messages = caught_messages(lambda: run.fit(ManualModel(), make_loader()))
    expected = by_hand([(lambda o: ts.CosineAnnealingLR(o, 30), 5), (lambda o: ts.CosineAnnealingLR(o, 10), 10)])
    assert_lrs(recorder.lrs, expected)
    (message,) = containing(messages, "took 5 optimizer steps in epoch 0")
    assert "steps_per_batch=0.5" in message


def test_steps_per_batch_plans_an_optimizer_by_its_own_steps_from_the_start(tmp_path) -> None:
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=3, callbacks=[lrs.CosineAnnealingLR(steps_per_batch=0.5), recorder])
    messages = caught_messages(lambda: run.fit(ManualModel(), make_loader()))
    assert_lrs(recorder.lrs, by_hand([(lambda o: ts.CosineAnnealingLR(o, 15), 15)]))
    assert containing(messages, "optimizer steps in epoch") == []


class Gan(TinyModel):
    """Two optimizers in manual optimization: the critic steps every batch, the generator every second batch."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def configure_optimizers(self) -> Any:
        return [torch.optim.SGD(self.out.parameters(), lr=0.1), torch.optim.Adam(self.hidden.parameters(), lr=0.01)]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        critic, generator = self.optimizers()
        x, y = batch
        for optimizer, due in ((critic, True), (generator, batch_idx % 2 == 0)):
            loss = nn.functional.mse_loss(self(x), y)
            optimizer.zero_grad()
            self.manual_backward(loss)
            if due:
                optimizer.step()


def test_each_optimizer_of_a_gan_ends_its_cosine_at_its_own_last_step(tmp_path) -> None:
    recorder = LRRecorder()
    critic, generator = lrs.CosineAnnealingLR(optimizer=0), lrs.CosineAnnealingLR(optimizer=1)
    with pytest.warns(UserWarning, match="Adam took 5 optimizer steps in epoch 0"):
        trainer(tmp_path, max_epochs=3, callbacks=[critic, generator, recorder]).fit(Gan(), make_loader())
    assert critic.summary()["steps"] == 30
    assert generator.summary()["steps"] == 15
    for schedule, lr0 in ((critic, 0.1), (generator, 0.01)):
        scheduler = schedule.scheduler
        assert scheduler is not None
        last_lr = schedule.summary()["last"]
        assert last_lr < 0.03 * lr0  # the last step's lr is near the floor, not halfway (0.5 * lr0)


def test_a_gan_generator_whose_schedule_cannot_replan_is_told_the_rate_to_pass(tmp_path) -> None:
    """OneCycleLR cannot re-plan without a jump: the generator's plan of 30 steps is kept (torch's OneCycleLR for 30
    steps, by hand) and it runs 15. Before, the only advice was the generic "give its lengths as fixed durations"
    ('3ep' would plan 30 steps again); now one warning names the measured rate to pass as ``steps_per_batch``."""
    recorder = LRRecorder(optimizer=1)
    generator = lrs.OneCycleLR(0.05, optimizer=1)
    run = trainer(tmp_path, max_epochs=3, callbacks=[lrs.CosineAnnealingLR(optimizer=0), generator, recorder])
    messages = caught_messages(lambda: run.fit(Gan(), make_loader()))
    sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.05, momentum=0.9)
    assert_lrs(recorder.lrs, by_hand([(lambda o: ts.OneCycleLR(o, 0.05, total_steps=30), 30)], sgd)[:15])
    (advice,) = containing(messages, "Pass `steps_per_batch=0.5`")
    assert "Its plan of 30 optimizer steps is kept, of which this run takes about 15" in advice


# ---------------------------------------------------------------------------------------------- 8. no validation


class NoValidationStep(TinyModel):
    validation_step = None  # type: ignore[assignment]


NO_VALIDATION = [
    ("no-dataloader", {}, TinyModel, False, "there is no validation dataloader"),
    ("no-validation_step", {}, NoValidationStep, True, "has no `validation_step`"),
    ("limit_val_batches", {"limit_val_batches": 0}, TinyModel, True, "`limit_val_batches=0`"),
    ("check_val_every", {"check_val_every_n_epoch": 5}, TinyModel, True, "`check_val_every_n_epoch=5` is beyond"),
]


@pytest.mark.parametrize(
    ("label", "options", "model", "val_data", "reason"), NO_VALIDATION, ids=[n[0] for n in NO_VALIDATION]
)
def test_plateau_without_validation_is_an_error_at_fit_start(tmp_path, label, options, model, val_data, reason) -> None:
    run = trainer(tmp_path, max_epochs=3, callbacks=[lrs.ReduceLROnPlateau()], **options)
    loaders = (make_loader(), make_loader()) if val_data else (make_loader(),)
    with pytest.raises(ValueError, match=r"monitors \['val_loss'\], a validation metric, but no validation will run"):
        run.fit(model(), *loaders)
    assert run.global_step == 0  # at fit start, before any training
    run = trainer(
        tmp_path, max_epochs=3, callbacks=[lrs.ReduceLROnPlateau(strict=False), lrs.LRDiagnostics()], **options
    )
    messages = caught_messages(lambda: run.fit(model(), *loaders))
    assert len(containing(messages, reason)) == 1
    (diagnostics,) = [c for c in run.callbacks if isinstance(c, lrs.LRDiagnostics)]
    assert [f["kind"] for f in diagnostics.findings if f["kind"] == "no-validation"] == ["no-validation"]


def test_plateau_on_a_training_metric_needs_no_validation(tmp_path) -> None:
    schedule = lrs.ReduceLROnPlateau("train_loss", patience=0)
    with pytest.warns(UserWarning, match="a training metric"):
        trainer(tmp_path, max_epochs=3, limit_val_batches=0, callbacks=[schedule]).fit(TinyModel(), make_loader())
    assert len(schedule.history) == 3


# ------------------------------------------------------------------------------------ 9. the same Trainer fits twice


def test_the_same_trainer_fitting_again_continues_the_schedule_and_holds_by_default(tmp_path) -> None:
    schedule, recorder = lrs.CosineAnnealingLR(), LRRecorder()
    run = trainer(tmp_path, max_epochs=2, callbacks=[schedule, recorder])
    model = TinyModel()
    run.fit(model, make_loader())
    run.fit_loop.max_epochs = 4
    messages = caught_messages(lambda: run.fit(model, make_loader()))
    assert len(containing(messages, "at the end of its plan of 20 optimizer steps into a run of 40")) == 1
    assert schedule.summary()["steps"] == 40  # one clock over both fits
    assert_lrs(recorder.lrs, by_hand([(lambda o: ts.CosineAnnealingLR(o, 20), 20)]) + [by_hand_end(20)] * 20)


def test_a_schedule_added_to_a_trainer_that_already_trained_starts_at_its_position(tmp_path) -> None:
    run = trainer(tmp_path, max_epochs=2)
    model = TinyModel()
    run.fit(model, make_loader())
    recorder = LRRecorder()
    run.callbacks.extend([lrs.CosineAnnealingLR(), recorder])
    run.fit_loop.max_epochs = 4
    messages = caught_messages(lambda: run.fit(model, make_loader()))
    assert len(containing(messages, "has no state for this run, which is at optimizer step 20 (epoch 2)")) == 1
    assert_lrs(recorder.lrs, by_hand([(lambda o: ts.CosineAnnealingLR(o, 40), 40)])[20:])


def test_catch_up_counts_epochs_for_epoch_schedules() -> None:
    optimizer = make_optimizer()
    timeline = lrs.core.StepLR(1, 0.5).timeline(optimizer, lrs.TrainingLength(30, 10))
    from lightning_lrsched.core.timeline import catch_up

    catch_up(timeline, 15, 1)
    assert (timeline.position.steps, timeline.position.epochs) == (15, 1)
    assert timeline.planned.written == pytest.approx([GROUP_LRS[0] / 2, GROUP_LRS[1] / 2])
    assert math.isclose(timeline.plan.epoch_position(timeline.position), 1.5)


def test_a_removed_param_group_is_an_error_naming_it() -> None:
    optimizer = make_optimizer()
    timeline = lrs.core.StepLR(1).timeline(optimizer, lrs.TrainingLength(30, 10))
    optimizer.param_groups.pop()
    with pytest.raises(ValueError, match="scheduled 2 param groups of SGD, which now has 1"):
        timeline.join_new_groups()


def test_an_optimizer_that_is_not_a_torch_optimizer_is_a_clear_error() -> None:
    from types import SimpleNamespace

    class DeepSpeedZeroOptimizer:  # what DeepSpeed puts in `trainer.optimizers`: a wrapper with param_groups
        def __init__(self) -> None:
            self.param_groups = [{"lr": 0.1}]

    fake = SimpleNamespace(optimizers=[DeepSpeedZeroOptimizer()])
    with pytest.raises(ValueError, match=r"optimizer is a DeepSpeedZeroOptimizer .* FSDP strategy"):
        lrs.CosineAnnealingLR().target.select(fake)  # type: ignore[arg-type]


def test_replan_on_resume_moves_percentage_milestones_of_an_epoch_schedule(tmp_path) -> None:
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_epochs=1, save_top_k=-1)
    trainer(tmp_path / "a", max_epochs=4, callbacks=[lrs.MultiStepLR(["50%", "75%"]), checkpoint],
            enable_checkpointing=True).fit(TinyModel(), make_loader())  # fmt: skip
    recorder = LRRecorder()
    schedule = lrs.MultiStepLR(["50%", "75%"], replan_on_resume=True)
    trainer(tmp_path / "b", max_epochs=8, callbacks=[schedule, recorder]).fit(
        TinyModel(), make_loader(), ckpt_path=str(tmp_path / "ckpt" / "epoch=1-step=20.ckpt"), **SAFE_LOAD
    )
    # the checkpoint's plan (4 epochs) applied its first decay at epoch 2; the new plan's milestones are epochs 4
    # and 6: the decay already applied counts as the first, the second comes at epoch 6
    per_epoch = [recorder.lrs[10 * k][0] for k in range(6)]
    assert per_epoch == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.001, 0.001])


@pytest.mark.parametrize("warmup", ["1ep", "10 steps"])
def test_replan_on_resume_of_an_epoch_schedule_after_a_warmup_of_a_whole_epoch(tmp_path, warmup: str) -> None:
    """A cosine per epoch after a warmup of one epoch (10 steps), 4 epochs: ``T_max=3``,
    epoch 3 at index 2 (0.025). Resumed there into 6 epochs with ``replan_on_resume=True``: ``T_max=5``, and the rest
    is rebuilt from 0.025 at index 2 over the 3 epochs left, torch's cosine by hand: 0.025, 0.01875, 0.00625.
    Before, a warmup ending with its epoch counted 0.99999... epochs, so the rebuilt cosine started one epoch late
    and reached 0 at the last epoch (0.025, 0.0125, 0.0)."""
    lrs_, _ = replanned_resume(
        tmp_path,
        lambda **kwargs: lrs.CosineAnnealingLR(interval="epoch", warmup=warmup, **kwargs),
        30,
        epochs=4,
        into=6,
    )
    optimizer = make_optimizer()
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] = group["lr"] * 0.25  # (the current lr: index 2 of a 3-epoch cosine)
    scheduler, per_epoch = ts.CosineAnnealingLR(optimizer, 3), []
    for _ in range(3):
        per_epoch.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    assert_lrs(lrs_, [row for row in per_epoch for _ in range(10)])


def test_a_checkpoint_that_counted_a_one_epoch_warmup_below_1_resumes_with_the_whole_epoch() -> None:
    """Checkpoints of the version before wrote ``warmup_epochs`` = 0.99999... for a warmup of one whole epoch; it
    loads as 1, so a re-plan after it rebuilds from the right epoch."""
    from lightning_lrsched.core.plan import BELOW_ONE, Plan
    from lightning_lrsched.core.warmup import Warmup

    plan = Plan.for_run(lrs.TrainingLength(40, 10), Warmup(10), {"T_max": 3})
    plan.load({**plan.state(), "warmup_epochs": BELOW_ONE}, 0.0)
    assert plan.warmup_epochs == 1.0
    plan.load({**plan.state(), "warmup_epochs": 0.5}, 0.0)
    assert plan.warmup_epochs == 0.5


class AddNamedGroup(Callback):
    """At the start of epoch 1, `optimizer.add_param_group` with a `name`, as a user's own unfreezing code does."""

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.current_epoch == 1:
            pl_module.hidden.requires_grad_(True)
            params = list(pl_module.hidden.parameters())
            trainer.optimizers[0].add_param_group({"params": params, "lr": 0.02, "name": "backbone"})


def test_a_named_group_added_by_hand_gets_its_name_as_tag(tmp_path) -> None:
    class Frozen(Backbone):
        def setup(self, stage: str) -> None:  # before `configure_optimizers`
            self.hidden.requires_grad_(False)

    catcher, recorder = Catcher(), LRRecorder()
    trainer(tmp_path, max_epochs=2, logger=catcher, log_every_n_steps=1,
            callbacks=[AddNamedGroup(), lrs.CosineAnnealingLR(), recorder]).fit(Frozen(), make_loader())  # fmt: skip
    tags = set().union(*(metrics for _, metrics in catcher.calls))
    assert {"lr-SGD", "lr-SGD/pg1", "lr-SGD/backbone"} <= tags
    for lrs_ in recorder.lrs[10:]:
        assert lrs_[1] == pytest.approx(lrs_[0] * 0.02 / GROUP_LRS[0], rel=1e-12)
