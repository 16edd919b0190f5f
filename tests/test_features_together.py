"""Features where they meet, on real Trainer runs: a re-plan during a warmup, a re-plan of a re-plan, a rewind after a
plateau cut (a lone plateau, one chained, a plateau phase; resumed after the rewind), a plateau on a metric logged in
training, the warnings of a re-planned resume, a resume from the end of the plan, transformers' names with this
package's warmup, the logging of a param group that joins, a resume of a resume, a resume in an epoch's middle into
another accumulation or epoch size (and again in the same epoch), a resume from a checkpoint written before a
validation that Lightning then skips, and a resume in an epoch's middle after a rewind.

References: torch's schedulers stepped by hand with the intended plan, the uninterrupted run, transformers' own
schedule, and Lightning's LearningRateMonitor.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import BaseFinetuning, LearningRateMonitor, ModelCheckpoint, StochasticWeightAveraging
from torch import nn
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import SAFE_LOAD, Catcher, LRRecorder, TinyModel, make_loader, make_optimizer, trainer
from tests.test_resume import EpochScripted, StopAt
from tests.test_rewind import Poisoned
from tests.test_run_changes import assert_lrs, by_hand, caught_messages, checkpoint_at, containing, replanned_resume

# make_loader(): 10 optimizer steps an epoch; TinyModel's groups start at 0.1 and 0.01


def every_step(tmp_path: Path) -> ModelCheckpoint:
    """A checkpoint after every optimizer step, under ``tmp_path / "ckpt"`` (see :func:`written_at`)."""
    return ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=1, save_top_k=-1)


def written_at(tmp_path: Path, step: int) -> str:
    """The path of the checkpoint :func:`every_step` wrote after optimizer step ``step``."""
    return str(next((tmp_path / "ckpt").glob(f"*step={step}.ckpt")))


def warmup_then(build: Any, warmup: int, total: int) -> list[list[float]]:
    """The lrs of a run of ``total`` steps: a linear warmup from 0 over ``warmup`` steps, then ``build`` by hand."""
    after = by_hand([(build, total - warmup)])
    peak = after[0]
    return [[lr * step / warmup for lr in peak] for step in range(warmup)] + after


# ------------------------------------------------------------------------------------ re-planning during a warmup


@pytest.mark.parametrize(
    ("schedule", "reference"),
    [
        (lambda **kw: lrs.CosineAnnealingLR(warmup=6, **kw), lambda left: lambda o: ts.CosineAnnealingLR(o, left)),
        (lambda **kw: lrs.PolynomialLR(warmup=6, **kw), lambda left: lambda o: ts.PolynomialLR(o, left)),
        (
            lambda **kw: lrs.schedule_from_name("linear", warmup=6, **kw),
            lambda left: lambda o: ts.LinearLR(o, 1.0, 0.0, left),
        ),
    ],
    ids=["cosine", "polynomial", "linear"],
)
def test_a_replan_during_the_warmup_reaches_the_peak_and_plans_the_rest(tmp_path, schedule, reference) -> None:
    path = checkpoint_at(tmp_path, schedule(), TinyModel(), 4, max_epochs=3)
    recorder = LRRecorder()
    run = trainer(tmp_path / "b", max_epochs=5, callbacks=[schedule(replan_on_resume=True), recorder])
    run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD)
    expected = warmup_then(reference(50 - 6), 6, 50)  # as if planned for 50 steps from the start
    assert_lrs(recorder.lrs, expected[4:])
    assert max(lr for lr, _ in recorder.lrs) == pytest.approx(0.1)


# ------------------------------------------------------------------------------------ a re-plan of a re-plan


def epoch_end_checkpoint(tmp_path: Path, name: str, epochs: int, step: int, **fit: Any) -> str:
    """Fit a re-planning cosine for ``epochs`` epochs, writing a checkpoint at each epoch end; returns step's."""
    checkpoint = ModelCheckpoint(dirpath=tmp_path / name, save_top_k=-1, save_on_train_epoch_end=True)
    trainer(
        tmp_path / f"{name}-run",
        max_epochs=epochs,
        callbacks=[lrs.CosineAnnealingLR(replan_on_resume=True), checkpoint],
        enable_checkpointing=True,
    ).fit(TinyModel(), make_loader(), **SAFE_LOAD, **fit)
    return str(next((tmp_path / name).glob(f"*step={step}.ckpt")))


def test_a_second_replanned_resume_replans_again(tmp_path) -> None:
    first = epoch_end_checkpoint(tmp_path, "a", 2, 10)
    second = epoch_end_checkpoint(tmp_path, "b", 3, 20, ckpt_path=first)
    recorder, schedule = LRRecorder(), lrs.CosineAnnealingLR(replan_on_resume=True)
    run = trainer(tmp_path / "c", max_epochs=5, callbacks=[schedule, recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=second, **SAFE_LOAD))
    assert containing(messages, "replan_on_resume=True") == []  # (it was passed)
    expected = by_hand(
        [
            (lambda o: ts.CosineAnnealingLR(o, 20), 10),
            (lambda o: ts.CosineAnnealingLR(o, 20), 10),  # 30 steps planned at step 10
            (lambda o: ts.CosineAnnealingLR(o, 30), 30),  # 50 steps planned at step 20
        ]
    )
    assert_lrs(recorder.lrs, expected[20:])
    assert recorder.lrs[-1][0] < 1e-3  # the decay reaches its floor at the new end
    assert [r["step"] for r in schedule.schedule.last_timeline.plan.replans] == [10, 20]


# ------------------------------------------------------------------------------------ a rewind after a plateau cut


class Plateaus(Poisoned):
    """Validation loss from a fixed sequence: an improvement, then worse (a plateau cut after epoch 2)."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", torch.tensor([1.0, 1.5, 1.6, 1.7][self.current_epoch]))


CUTTING = pytest.mark.parametrize(
    "schedule",
    [
        lambda: lrs.ReduceLROnPlateau(patience=0, factor=0.1),
        lambda: lrs.GreedyLR(patience=0, factor=0.1, min_lr=1e-5, max_lr=[0.1, 0.01]),
    ],
    ids=["plateau", "greedy"],
)
"""The two schedules that cut on a plateau (patience 0, by 10x)."""


def rewinding() -> lrs.LRDiagnostics:
    """Diagnostics that rewind on a divergence to a state 5-10 steps back, at 0.5x."""
    return lrs.LRDiagnostics(window=4, on_divergence=lrs.Rewind(every=5, factor=0.5), verbose=False)


@CUTTING
def test_a_rewind_after_a_plateau_cut_goes_on_below_the_cut(tmp_path, schedule) -> None:
    diagnostics = rewinding()
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=4, callbacks=[schedule(), diagnostics, recorder])
    messages = caught_messages(lambda: run.fit(Plateaus(nan_at=(25,)), make_loader(), make_loader(9)))
    lrs_by_step = dict(recorder.trace)
    assert lrs_by_step[19][0] == pytest.approx(0.1)
    assert lrs_by_step[21][0] == pytest.approx(0.01)  # the cut after the validation of epoch 1 (step 20)
    [event] = diagnostics.rewinds
    assert event["to_step"] <= 20  # back to a state taken before the validation that cut
    after = [lrs for step, lrs in recorder.trace if step > event["step"]]
    assert after
    assert all(lr <= 0.5 * 0.01 * (1 + 1e-12) for lr, _ in after)  # never above half the lr that diverged
    assert after[0][0] == pytest.approx(0.005)
    assert after[0][1] == pytest.approx(0.0005)
    (message,) = containing(messages, "goes on from")
    assert "goes on from 0.005" in message


@CUTTING
def test_a_resume_after_a_rewind_under_a_plateau_gives_the_uninterrupted_runs_lrs(tmp_path, schedule) -> None:
    """A cut at step 20, a rewind at step 26 to step 20 (6 steps taken back), a cut after epoch 2; resumed
    from a checkpoint of step 27 or 33, every lr is the uninterrupted run's. The checkpoint of step 30 precedes
    epoch 2's validation, which Lightning skips on resume: the warning names the step as the checkpoint does (30),
    not the schedule's own count (24)."""
    whole, watching = LRRecorder(), rewinding()
    checkpoint = every_step(tmp_path)
    callbacks = [schedule(), watching, whole, checkpoint]
    run = trainer(tmp_path / "whole", max_epochs=4, callbacks=callbacks, enable_checkpointing=True)
    caught_messages(lambda: run.fit(Plateaus(nan_at=(25,)), make_loader(), make_loader(9)))
    [event] = watching.rewinds
    assert (event["step"], event["to_step"]) == (26, 20)
    assert [dict(whole.trace)[step][0] for step in (19, 21, 26, 31)] == pytest.approx([0.1, 0.01, 0.005, 5e-4])
    for stop in (27, 30, 33):
        recorder = LRRecorder()
        resumed = trainer(tmp_path / f"from{stop}", max_epochs=4, callbacks=[schedule(), rewinding(), recorder])
        path = written_at(tmp_path, stop)
        data = (make_loader(), make_loader(9))
        messages = caught_messages(lambda: resumed.fit(Plateaus(nan_at=(25,)), *data, ckpt_path=path, **SAFE_LOAD))  # noqa: B023
        skipped = containing(messages, "before the validation that followed it")
        if stop == 30:
            (warning,) = skipped
            assert "training batch (step 30)" in warning
            assert [lrs_[0] for _, lrs_ in recorder.trace[:10]] == pytest.approx([0.005] * 10)  # no cut: no value
        else:
            assert skipped == []
            assert recorder.trace == [(step, lrs_) for step, lrs_ in whole.trace if step >= stop]


def chained_by_hand(values_after: dict[int, float], steps: int) -> list[list[float]]:
    """torch's ExponentialLR(0.9) and ReduceLROnPlateau(patience=0, factor=0.1) on one optimizer, stepped by hand:
    the exponential after every step, the plateau with ``values_after[n]`` after the n-th step."""
    optimizer = make_optimizer()
    exponential = ts.ExponentialLR(optimizer, 0.9)
    plateau = ts.ReduceLROnPlateau(optimizer, patience=0, factor=0.1)
    trace: list[list[float]] = []
    for done in range(1, steps + 1):
        trace.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        exponential.step()
        if done in values_after:
            plateau.step(values_after[done])
    return trace


def test_a_rewind_under_a_chained_plateau_keeps_its_cut_and_goes_on_as_torch_by_hand(tmp_path) -> None:
    """Validations after steps 10 (1.0), 20 (1.5: a cut) and 30; a NaN at step 25 rewinds to step 20, before the
    cut. Before, the chain went on from the state's lr, 8.5x above the lr that diverged: the cut was undone.
    Resumed from a checkpoint after the rewind, every lr is the uninterrupted run's."""
    recorder = LRRecorder()
    chained = lambda: lrs.ChainedScheduler(  # noqa: E731
        [lrs.ExponentialLR(0.9, interval="step"), lrs.ReduceLROnPlateau(patience=0, factor=0.1)]
    )
    watching = rewinding()
    checkpoint = every_step(tmp_path)
    callbacks = [chained(), watching, recorder, checkpoint]
    run = trainer(tmp_path / "whole", max_epochs=4, callbacks=callbacks, enable_checkpointing=True)
    messages = caught_messages(lambda: run.fit(Plateaus(nan_at=(25,)), make_loader(), make_loader(9)))
    [event] = watching.rewinds
    assert (event["step"], event["to_step"]) == (26, 20)
    before = chained_by_hand({10: 1.0, 20: 1.5}, 26)  # the run up to the NaN
    after = chained_by_hand({10: 1.0, 20: 1.5, 24: 1.6}, 34)[20:]  # from the schedule's step 20 on (epoch 2's
    assert_lrs(recorder.lrs, before + [[0.5 * lr for lr in row] for row in after])  # validation: its step 24)
    (message,) = containing(messages, "goes on from")
    assert "at lr 0.000718" in message
    assert "goes on from 0.000608" in message
    for stop in (27, 33):
        resumed = LRRecorder()
        again = trainer(tmp_path / f"from{stop}", max_epochs=4, callbacks=[chained(), rewinding(), resumed])
        path = written_at(tmp_path, stop)
        data = (make_loader(), make_loader(9))
        caught_messages(lambda: again.fit(Plateaus(nan_at=(25,)), *data, ckpt_path=path, **SAFE_LOAD))  # noqa: B023
        assert resumed.trace == [(step, lrs_) for step, lrs_ in recorder.trace if step >= stop]


def plateau_phase(milestone: int) -> lrs.SequentialLR:
    """A linear ramp (0.1x to 1x over its phase), then a plateau phase from step ``milestone``."""
    ramp = lrs.LinearLR(0.1, 1.0, "100%", interval="step")
    return lrs.SequentialLR([ramp, lrs.ReduceLROnPlateau(patience=0, factor=0.1)], milestones=[milestone])


def test_a_rewind_inside_a_plateau_phase_keeps_its_cut(tmp_path) -> None:
    """The plateau phase from step 5 cuts after step 20 (0.1 -> 0.01); a NaN at step 25 rewinds to step 20, before
    the cut: the lr goes on at 0.5x the cut level, as for a lone plateau. Before, at 0.05: 5x the lr that diverged."""
    recorder = LRRecorder()
    diagnostics = rewinding()
    run = trainer(tmp_path, max_epochs=4, callbacks=[plateau_phase(5), diagnostics, recorder])
    messages = caught_messages(lambda: run.fit(Plateaus(nan_at=(25,)), make_loader(), make_loader(9)))
    [event] = diagnostics.rewinds
    assert (event["step"], event["to_step"]) == (26, 20)
    expected = [0.1 * (0.1 + 0.9 * step / 5) for step in range(5)] + [0.1] * 15 + [0.01] * 6 + [0.005] * 4
    assert_lrs(recorder.lrs, [[lr, lr / 10] for lr in [*expected, *[0.0005] * 10]])  # epoch 2's cut after step 30
    (message,) = containing(messages, "goes on from")
    assert "goes on from 0.005" in message
    assert containing(messages, "without the reductions it made since") == []


class CutAtStep14(Poisoned):
    """Validated every 2 steps: val_loss 1.0 up to step 12, 2.0 at step 14 (a cut with patience 0), then 0.5."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        step = self.trainer.global_step
        self.log("val_loss", torch.tensor(1.0 if step <= 12 else 2.0 if step == 14 else 0.5))


def test_a_rewind_back_across_the_start_of_a_plateau_phase_says_that_its_cut_is_not_kept(tmp_path) -> None:
    """The plateau phase starts at step 11 and cuts after step 14; a NaN at step 15 rewinds to step 10, in the
    ramp: the plateau phase starts again from there, at 0.5x the initial lr (5x the cut level), and says so."""
    recorder = LRRecorder()
    diagnostics = rewinding()
    run = trainer(tmp_path, max_epochs=2, val_check_interval=2, callbacks=[plateau_phase(11), diagnostics, recorder])
    messages = caught_messages(lambda: run.fit(CutAtStep14(nan_at=(15,)), make_loader(), make_loader(9)))
    [event] = diagnostics.rewinds
    assert (event["step"], event["to_step"]) == (16, 10)
    lrs_by_step = {step: lrs_[0] for step, lrs_ in recorder.trace}
    assert [lrs_by_step[step] for step in (14, 15)] == pytest.approx([0.01, 0.01])
    assert lrs_by_step[16] == pytest.approx(0.5 * 0.1 * (0.1 + 0.9 * 10 / 11))  # the ramp's step 10, at 0.5x
    assert lrs_by_step[17] == pytest.approx(0.05)  # the plateau phase again, from the initial lr
    (warning,) = containing(messages, "without the reductions it made since")
    assert "from phase 2 to phase 1 (LinearLR, ReduceLROnPlateau)" in warning


def test_each_change_of_a_plateau_is_reported_under_its_own_schedules_name(tmp_path, caplog) -> None:
    """A GreedyLR chained after a StepLR raises the lr after an improvement and cuts it after a worse value: the
    info lines name GreedyLR (before: "ReduceLROnPlateau: lr 0.05 -> 0.1 ... improved")."""
    greedy = lrs.GreedyLR(patience=0, factor=0.1, min_lr=1e-6, max_lr=[0.1, 0.01])
    chained = lrs.ChainedScheduler([lrs.StepLR(1, gamma=0.5), greedy])
    with caplog.at_level("INFO"):
        trainer(tmp_path, max_epochs=3, callbacks=[chained]).fit(Plateaus(), make_loader(), make_loader(9))
    lines = [record.getMessage() for record in caplog.records if "validations, values" in record.getMessage()]
    assert lines == [
        "GreedyLR: lr 0.05 -> 0.1 at step 10 (epoch 0): val_loss improved for 1 validations, values ['1']",
        "GreedyLR: lr 0.05 -> 0.005 at step 20 (epoch 1): val_loss did not improve for 1 validations, values ['1.5']",
        "GreedyLR: lr 0.0025 -> 0.00025 at step 30 (epoch 2): val_loss did not improve for 1 validations, values"
        " ['1.6']",
    ]


# ------------------------------------------------------------------------------------ a plateau on a training metric


class LogsLossInTraining(TinyModel):
    """Logs ``name`` in training_step only (as many modules log "loss"), falling then rising."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.key = name

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        self.log(self.key, torch.tensor([1.0, 2.0, 3.0, 4.0][self.current_epoch]))
        return loss


@pytest.mark.parametrize(("monitor", "mode"), [("loss", "auto"), ("my_error", "min")])
def test_a_plateau_on_a_metric_logged_in_training_steps_once_per_epoch(tmp_path, monitor, mode) -> None:
    schedule, recorder = lrs.ReduceLROnPlateau(monitor, mode=mode, patience=0, factor=0.5), LRRecorder()
    run = trainer(tmp_path, max_epochs=4, callbacks=[schedule, recorder])
    messages = caught_messages(lambda: run.fit(LogsLossInTraining(monitor), make_loader(), make_loader(9)))
    assert len(containing(messages, f"`{monitor}` is logged during training")) == 1
    assert [value for _, value in schedule.history] == [1.0, 2.0, 3.0, 4.0]
    assert [lrs[0] for lrs in recorder.lrs[::10]] == pytest.approx([0.1, 0.1, 0.05, 0.025])


# ---------------------------------------------------------------------------------- the warnings of a re-planned resume


@pytest.mark.parametrize("replan", [False, True])
def test_a_percentage_warmup_over_a_longer_run_is_no_changed_argument(tmp_path, replan) -> None:
    path = checkpoint_at(tmp_path, lrs.CosineAnnealingLR(warmup="10%"), TinyModel(), 10, max_epochs=2)
    run = trainer(
        tmp_path / "b", max_epochs=4, callbacks=[lrs.CosineAnnealingLR(warmup="10%", replan_on_resume=replan)]
    )
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert containing(messages, "differ from the checkpoint's") == []
    assert len(containing(messages, "resumes into a run of 40")) == (0 if replan else 1)


@pytest.mark.parametrize("replan", [False, True])
def test_a_changed_warmup_argument_is_still_named(tmp_path, replan) -> None:
    """The run is the checkpoint's: its plan goes on, and no warning speaks of another length (before, a second one
    said the plan was for another run and would hold its end)."""
    path = checkpoint_at(tmp_path, lrs.CosineAnnealingLR(warmup="10%"), TinyModel(), 10, max_epochs=2)
    recorder = LRRecorder()
    schedule = lrs.CosineAnnealingLR(warmup="20%", replan_on_resume=replan)
    run = trainer(tmp_path / "b", max_epochs=2, callbacks=[schedule, recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    (message,) = containing(messages, "differ from the checkpoint's")
    assert "`warmup` was '10%' and is now '20%'" in message
    assert containing(messages, "resumes into a run of") == []
    assert_lrs(recorder.lrs, warmup_then(lambda o: ts.CosineAnnealingLR(o, 18), 2, 20)[10:])  # the checkpoint's plan


@pytest.mark.parametrize("replan", [False, True])
@pytest.mark.parametrize("schedule", [lrs.CosineAnnealingLR, lrs.PolynomialLR])
@pytest.mark.parametrize(("accumulation", "run_steps"), [(1, 40), (2, 30)], ids=["more-epochs", "accumulation-2"])
def test_a_resume_from_the_end_of_the_plan_says_the_final_lr_holds_replanned_or_not(
    tmp_path, schedule, replan, accumulation, run_steps
):
    """A finished decay resumed into a longer run has nothing left to stretch: not a silent run at the floor.

    With ``accumulate_grad_batches=2`` Lightning's estimate is the plan's 20 steps (4 epochs of 5), and the run's
    30 are found at its first batch. Before, that re-planned the finished decay "from the current lr 0" (a
    re-plan that changed nothing) instead of saying that the final lr holds.
    """
    path = checkpoint_at(tmp_path, schedule(), TinyModel(), 20, max_epochs=2)
    recorder = LRRecorder()
    callbacks = [schedule(replan_on_resume=replan), recorder]
    run = trainer(tmp_path / "b", max_epochs=4, accumulate_grad_batches=accumulation, callbacks=callbacks)
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    (message,) = containing(messages, f"at the end of its plan of 20 optimizer steps into a run of {run_steps}")
    assert "holds at its final value 0, re-planned (`replan_on_resume=True`) or not" in message
    assert "load_from_checkpoint" in message
    assert containing(messages, "past the end of its plan") == []  # (said once, by the resume)
    assert containing(messages, "pass `replan_on_resume=True`") == []  # (it would change nothing)
    assert containing(messages, "re-planned for") == []
    assert [lrs for lrs in recorder.lrs] == [[0.0, 0.0]] * (run_steps - 20)


def test_the_same_trainer_fitting_on_after_the_end_of_the_plan_says_the_final_lr_holds(tmp_path) -> None:
    recorder, model = LRRecorder(), TinyModel()
    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.CosineAnnealingLR(warmup=2, replan_on_resume=True), recorder])
    run.fit(model, make_loader())
    run.fit_loop.max_epochs = 3
    messages = caught_messages(lambda: run.fit(model, make_loader()))
    assert len(containing(messages, "at the end of its plan of 10 optimizer steps into a run of 30")) == 1
    assert recorder.lrs[2][0] == pytest.approx(0.1)  # the first fit: warmup to the peak, then the decay
    assert [lrs for lrs in recorder.lrs[10:]] == [[0.0, 0.0]] * 20


@pytest.mark.parametrize("replan", [False, True], ids=["kept", "replan"])
def test_the_same_trainer_fitting_on_at_another_accumulation_after_the_end_says_once_that_the_final_lr_holds(
    tmp_path, replan
) -> None:
    """The plan ended at step 20 (2 epochs of 10); the same Trainer fits on to 4 epochs at accumulation 2: Lightning's
    estimate (4 epochs of 5) equals the plan, the run has 30 steps, found at the first batch. One message says that
    the final lr holds; the 10 new steps run at it, as with a checkpoint (the resume test above)."""
    recorder, model = LRRecorder(), TinyModel()
    run = trainer(tmp_path, max_epochs=2, callbacks=[lrs.CosineAnnealingLR(replan_on_resume=replan), recorder])
    run.fit(model, make_loader())
    run.fit_loop.max_epochs, run.accumulate_grad_batches = 4, 2
    messages = caught_messages(lambda: run.fit(model, make_loader()))
    (message,) = containing(messages, "at the end of its plan of 20 optimizer steps into a run of 30")
    assert "fit a new Trainer without `ckpt_path`" in message
    assert containing(messages, "re-planned for") == containing(messages, "past the end of its plan") == []
    assert_lrs(recorder.lrs[:20], by_hand([(lambda o: ts.CosineAnnealingLR(o, 20), 20)]))
    assert recorder.lrs[20:] == [[0.0, 0.0]] * 10


# ------------------------------------------------------------------------------------ transformers' names, our warmup


def test_inverse_sqrt_by_name_with_the_packages_warmup_decays_on_the_warmups_timescale(tmp_path) -> None:
    from transformers import get_inverse_sqrt_schedule

    recorder = LRRecorder()
    schedule = lrs.schedule_from_name("inverse_sqrt", warmup=2)
    trainer(tmp_path, max_epochs=1, callbacks=[schedule, recorder]).fit(TinyModel(), make_loader())
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    reference = get_inverse_sqrt_schedule(optimizer, num_warmup_steps=2)
    expected = []
    for _ in range(10):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        reference.step()
    got = [lr for lr, _ in recorder.lrs]
    assert got[2:] == pytest.approx(expected[2:], rel=1e-12)  # 0.1, 0.0816, 0.0707, ... as transformers
    assert got[:2] == pytest.approx([0.0, 0.05])  # this package's warmup from 0 (transformers' starts at 0 too)
    assert math.isclose(got[3], 0.1 / math.sqrt(1.5), rel_tol=1e-12)


# ------------------------------------------------------------------------------------ a joining group is logged


class Unfreeze(BaseFinetuning):
    def __init__(self, at_epoch: int = 1) -> None:
        super().__init__()
        self.at_epoch = at_epoch

    def freeze_before_training(self, pl_module: Any) -> None:
        self.freeze(pl_module.out)

    def finetune_function(self, pl_module: Any, epoch: int, optimizer: Any) -> None:
        if epoch == self.at_epoch:
            self.unfreeze_and_add_param_group(pl_module.out, optimizer, lr=0.01, initial_denom_lr=1.0)


class OneGroup(TinyModel):
    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(filter(lambda p: p.requires_grad, self.parameters()), lr=0.1)


def lr_points(logger: Catcher) -> dict[str, list[int]]:
    points: dict[str, list[int]] = {}
    for step, metrics in logger.calls:
        for key in metrics:
            if key.startswith("lr-"):
                points.setdefault(key, []).append(step)
    return points


@pytest.mark.parametrize("logging_interval", ["epoch", "step"])
def test_a_joining_group_is_logged_from_the_epoch_it_joins_as_lightning_does(tmp_path, logging_interval) -> None:
    theirs, ours = Catcher(), Catcher()
    monitor = LearningRateMonitor(logging_interval=logging_interval)
    own = lambda o: ts.StepLR(o, 1, gamma=0.5)  # noqa: E731
    model = OneGroup(scheduler=own)
    trainer(tmp_path / "a", max_epochs=3, logger=theirs, log_every_n_steps=1, callbacks=[Unfreeze(), monitor]).fit(
        model, make_loader()
    )
    schedule = lrs.StepLR(1, gamma=0.5, logging_interval=logging_interval)
    trainer(tmp_path / "b", max_epochs=3, logger=ours, log_every_n_steps=1, callbacks=[Unfreeze(), schedule]).fit(
        OneGroup(), make_loader()
    )
    assert lr_points(ours) == lr_points(theirs)
    assert "lr-SGD/pg2" in lr_points(ours)


# ------------------------------------------------------------------------------------ a resume of a resume


RESUMED_TWICE = [
    ("plateau+warmup", lambda: lrs.ReduceLROnPlateau(patience=0, factor=0.5, warmup=5), (13, 27), {}),
    ("greedy+warmup", lambda: lrs.GreedyLR(patience=0, factor=0.5, warmup=4), (12, 31), {}),
    (
        "sequential+warmup",
        lambda: lrs.SequentialLR(
            [lrs.CosineAnnealingLR(), lrs.ReduceLROnPlateau(patience=0)], milestones=["1ep"], warmup=3
        ),
        (7, 25),
        {},
    ),
    ("epoch-steplr+warmup", lambda: lrs.StepLR(1, gamma=0.5, warmup=8), (7, 16), {}),
    (
        "chained+warmup",
        lambda: lrs.ChainedScheduler([lrs.ConstantLR(0.5, 2), lrs.ExponentialLR(0.9)], warmup=5),
        (3, 24),
        {},
    ),
    ("cosine+warmup, accumulation", lambda: lrs.CosineAnnealingLR(warmup=3), (2, 7), {"accumulate_grad_batches": 3}),
]


@pytest.mark.parametrize(("label", "schedule", "stops", "options"), RESUMED_TWICE, ids=[r[0] for r in RESUMED_TWICE])
def test_a_resume_of_a_resume_gives_the_uninterrupted_runs_lrs(tmp_path, label, schedule, stops, options) -> None:
    """Stopped at two steps (mid-epoch, inside or after the warmup and the plateau cuts), resumed each time."""
    straight = LRRecorder()
    trainer(tmp_path / "straight", max_epochs=4, callbacks=[schedule(), straight], **options).fit(
        EpochScripted(), make_loader(), make_loader(9)
    )
    trace: list[Any] = []
    path = None
    for part, stop in enumerate([*stops, None]):
        recorder = LRRecorder()
        checkpoint = ModelCheckpoint(
            dirpath=tmp_path / f"ckpt{part}", save_last=True, save_top_k=0, every_n_train_steps=1
        )
        callbacks = [schedule(), recorder, checkpoint, *([StopAt(step=stop)] if stop else [])]
        run = trainer(tmp_path / f"part{part}", max_epochs=4, callbacks=callbacks, enable_checkpointing=True, **options)
        run.fit(EpochScripted(), make_loader(), make_loader(9), ckpt_path=path, **SAFE_LOAD)  # (no warning of ours)
        trace += recorder.trace
        path = checkpoint.last_model_path
    assert [step for step, _ in trace] == [step for step, _ in straight.trace]
    assert trace == straight.trace  # exact, every group, every optimizer step


# ------------------------------------------------------------------ a resume in an epoch's middle, the run resized


def optimizer_at(row: list[float]) -> torch.optim.Optimizer:
    """The tests' optimizer with its groups at the lrs ``row``: torch by hand goes on from there, as a re-plan does."""
    optimizer = make_optimizer()
    for group, lr in zip(optimizer.param_groups, row, strict=True):
        group["lr"] = lr
    return optimizer


def cosine_from(row: list[float], steps: int, scale: float = 1.0) -> list[list[float]]:
    """torch's CosineAnnealingLR by hand over ``steps`` steps from the lrs ``row`` (as a re-plan continues from the
    current lrs), each lr times ``scale`` (the rewinds' scale)."""
    rows = by_hand([(lambda o: ts.CosineAnnealingLR(o, steps), steps)], optimizer_at(row))
    return [[scale * lr for lr in r] for r in rows]


def planned_for(total: int, warmup: int = 4) -> list[list[float]]:
    """The lrs of ``CosineAnnealingLR(warmup=warmup)`` planned for ``total`` optimizer steps."""
    return warmup_then(lambda o: ts.CosineAnnealingLR(o, total - warmup), warmup, total)


RESIZED = [  # (checkpoint step, the resumed fit's options, the optimizer steps the run really has)
    ("accumulation", 6, {"accumulate_grad_batches": 2}, 6 + 2 + 3 * 5),  # batches 7-10 of epoch 0 in 2 steps
    ("epoch size", 15, {"limit_train_batches": 6}, 15 + 1 + 2 * 6),  # batch 6 of 6 left in epoch 1
    ("accumulation at an epoch's end", 10, {"accumulate_grad_batches": 2}, 10 + 3 * 5),
    ("epoch size at an epoch's end", 20, {"limit_train_batches": 6}, 20 + 2 * 6),
    ("unchanged", 6, {}, 40),
    ("unchanged at an epoch's end", 20, {}, 40),
]


@pytest.mark.parametrize(("label", "stop", "options", "total"), RESIZED, ids=[r[0] for r in RESIZED])
def test_a_replanned_resume_mid_epoch_or_at_an_epochs_end_plans_for_the_steps_the_run_really_has(
    tmp_path, label, stop, options, total
) -> None:
    """Lightning's estimate counts whole epochs of the new size; the resumed epoch's first batches, and the epochs
    before it, ran at the old. A checkpoint at an epoch's end resumes at the next one's start: before, that plan
    went on for Lightning's estimate (40 steps where the run has 25 or 32) and the cosine stopped short of its floor
    ("did not reach its end")."""
    path = checkpoint_at(tmp_path, lrs.CosineAnnealingLR(warmup=4), TinyModel(), stop, max_epochs=4)
    recorder = LRRecorder()
    schedule = lrs.CosineAnnealingLR(warmup=4, replan_on_resume=True)
    run = trainer(tmp_path / "b", max_epochs=4, callbacks=[schedule, recorder], **options)
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert len(recorder.lrs) == total - stop
    expected = cosine_from(planned_for(40)[stop], total - stop)  # from the resumed lr to the floor at the real end
    assert_lrs(recorder.lrs, planned_for(40)[stop:] if label.startswith("unchanged") else expected)
    assert containing(messages, "past the end") == containing(messages, "did not reach its end") == []
    replanned = containing(messages, "this fit resumed")
    if label.startswith("unchanged"):
        assert replanned == []
    else:
        (message,) = replanned
        assert f"re-planned for {total} optimizer steps" in message
        where = f"at the start of epoch {stop // 10}" if label.endswith("end") else "in the middle of epoch"
        assert where in message


def test_a_kept_plan_stays_when_a_resume_in_an_epochs_middle_changes_the_accumulation(tmp_path) -> None:
    path = checkpoint_at(tmp_path, lrs.CosineAnnealingLR(warmup=4), TinyModel(), 6, max_epochs=4)
    recorder = LRRecorder()
    callbacks = [lrs.CosineAnnealingLR(warmup=4), recorder]
    run = trainer(tmp_path / "b", max_epochs=4, accumulate_grad_batches=2, callbacks=callbacks)
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert_lrs(recorder.lrs, planned_for(40)[6:23])  # the checkpoint's plan of 40 steps, not re-planned
    assert containing(messages, "resumed in the middle of epoch") == []
    assert len(containing(messages, "it ran 23 of the 40 optimizer steps")) == 1


@pytest.mark.parametrize(
    ("options", "per_epoch"),
    [({"accumulate_grad_batches": 2}, 5), ({"limit_train_batches": 8}, 8)],
    ids=["another-accumulation", "fewer-batches"],
)
def test_warm_restarts_per_step_restart_at_the_real_end_of_an_epoch_resumed_into_another_size(
    tmp_path, options, per_epoch
) -> None:
    """Epoch 0 is 6 steps of the checkpoint's size and 2 of the new one: the cycle ends with its 8th step.

    Its fractions count over those 8 steps from the resumed step on (6/8, then 7/8: no kink of one step at 6/10).
    Before, with another accumulation its fraction went on counting steps of the new epochs' size (5): 7/5 of an
    epoch, a restart mid-epoch; with 8 batches an epoch (its new size is the new epochs' size), the resumed step
    ran at the checkpoint's 6/10.
    """

    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.CosineAnnealingWarmRestarts(T_0=1, interval="step")

    path = checkpoint_at(tmp_path, schedule(), TinyModel(), 6, max_epochs=3)
    recorder = LRRecorder()
    run = trainer(tmp_path / "b", max_epochs=3, callbacks=[schedule(), recorder], **options)
    run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD)
    later = [epoch + k / per_epoch for epoch in (1, 2) for k in range(per_epoch)]
    epochs = [6 / 8, 7 / 8, *later]  # (epoch 0: 8 steps)
    optimizer = make_optimizer()
    scheduler = ts.CosineAnnealingWarmRestarts(optimizer, T_0=1)
    expected = []
    for epoch in epochs:
        scheduler.step(epoch)  # type: ignore[arg-type]  # (fractional epochs)
        expected.append([group["lr"] for group in optimizer.param_groups])
    assert_lrs(recorder.lrs, expected)


def test_warm_restarts_resumed_again_in_the_epoch_a_resume_resized_restart_where_the_once_resumed_run_does(
    tmp_path,
) -> None:
    """The resumed epoch's own size (6 steps of the first run's size, 2 of the second's) is in the checkpoint."""

    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.CosineAnnealingWarmRestarts(T_0=1, interval="step")

    path = checkpoint_at(tmp_path, schedule(), TinyModel(), 6, max_epochs=3)
    once, checkpoint = LRRecorder(), ModelCheckpoint(dirpath=tmp_path / "again", every_n_train_steps=1, save_top_k=-1)
    callbacks = [schedule(), once, checkpoint]
    run = trainer(
        tmp_path / "b", max_epochs=3, accumulate_grad_batches=2, callbacks=callbacks, enable_checkpointing=True
    )
    run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD)
    twice = LRRecorder()
    run = trainer(tmp_path / "c", max_epochs=3, accumulate_grad_batches=2, callbacks=[schedule(), twice])
    again = str(next((tmp_path / "again").glob("*step=7.ckpt")))  # (in epoch 0: its last step is left)
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=again, **SAFE_LOAD))
    assert twice.trace == [(step, lrs) for step, lrs in once.trace if step >= 7]
    assert containing(messages, "resumed in the middle") == []


# ---------------------------------------------------------- a resume that skips the validation after the checkpoint


class StepScripted(TinyModel):
    """Logs a val_loss that is a function of the optimizer step (so a resumed run validates with the same values)."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        step = self.trainer.global_step
        self.log("val_loss", torch.tensor(1.0 + 0.01 * step if step % 10 else 0.5 + 0.001 * step))


def resumed_from(
    tmp_path: Path,
    model: Any,
    callbacks: Any,
    stops: tuple[int, ...],
    *,
    epochs: int = 3,
    validate: bool = True,
    **options: Any,
) -> tuple[Any, list[str]]:
    """Stop after each optimizer step of ``stops`` (a checkpoint at each batch end) and resume; the lrs and warnings."""
    trace: list[Any] = []
    path, messages = None, []
    data = [make_loader(), make_loader(9)] if validate else [make_loader()]
    for part, until in enumerate([*stops, None]):
        recorder = LRRecorder()
        checkpoint = ModelCheckpoint(dirpath=tmp_path / f"ckpt{part}", save_last=True, every_n_train_steps=1)
        stopping = [StopAt(step=until)] if until else []
        run = trainer(
            tmp_path / f"part{part}",
            max_epochs=epochs,
            callbacks=[*callbacks(), recorder, checkpoint, *stopping],
            enable_checkpointing=True,
            **options,
        )
        fit = lambda: run.fit(model(), *data, ckpt_path=path, **SAFE_LOAD)  # noqa: B023, E731
        messages += caught_messages(fit)
        trace += recorder.trace
        path = checkpoint.last_model_path
    return trace, messages


SKIPPED = [  # (stop, Trainer options, Lightning's own plateau config, whether a validation follows the checkpoint)
    (6, {"val_check_interval": 3}, {"interval": "step", "frequency": 3}, True),
    (10, {}, {"interval": "epoch"}, True),  # the epoch's last batch: its end-of-epoch validation
    (7, {"val_check_interval": 3}, None, False),
    (5, {}, None, False),
    # an epoch's last batch after a validation in its middle: before, unsaid (Lightning's count did not move)
    (10, {"val_check_interval": 0.5}, {"interval": "step", "frequency": 5}, True),
    # validation every second epoch: before, said after epoch 0's last batch (none follows) and not after epoch 1's
    (20, {"check_val_every_n_epoch": 2}, {"interval": "epoch", "frequency": 2}, True),
    (10, {"check_val_every_n_epoch": 2}, None, False),
]


@pytest.mark.parametrize(("stop", "options", "config", "skipped"), SKIPPED)
def test_a_resume_that_skips_a_validation_goes_on_as_lightnings_own_plateau_and_says_so(
    tmp_path, stop, options, config, skipped
) -> None:
    """Resumed from a batch-end checkpoint, Lightning counts the validation after that batch as done, unrun.

    The reference where it does: Lightning's own plateau scheduler, resumed the same way (it misses that value
    too). Where no validation follows the checkpoint: the uninterrupted run.
    """
    schedule = lambda: [lrs.ReduceLROnPlateau(patience=0, factor=0.5)]  # noqa: E731
    ours, messages = resumed_from(tmp_path / "ours", StepScripted, schedule, (stop,), **options)
    if skipped:
        plateau = lambda o: {"scheduler": ts.ReduceLROnPlateau(o, patience=0, factor=0.5), "monitor": "val_loss"}  # noqa: E731
        native = lambda: StepScripted(scheduler=lambda o: {**plateau(o), **config})  # noqa: E731
        reference, _ = resumed_from(tmp_path / "native", native, lambda: [], (stop,), **options)
    else:
        straight = LRRecorder()
        run = trainer(tmp_path / "straight", max_epochs=3, callbacks=[*schedule(), straight], **options)
        run.fit(StepScripted(), make_loader(), make_loader(9))
        reference = straight.trace
    assert ours == reference  # every group, every optimizer step, before and after the resume
    assert len(containing(messages, "before the validation that followed it")) == (1 if skipped else 0)
    unmonitored = lambda: [lrs.CosineAnnealingLR()]  # noqa: E731  (nothing is missing for it)
    _, messages = resumed_from(tmp_path / "cosine", StepScripted, unmonitored, (stop,), **options)
    assert containing(messages, "before the validation") == []


# ------------------------------------------------------------------------- a resume before or during SWA's phase


@pytest.mark.parametrize(
    "stops", [(8,), (15,), (20,), (8, 25)], ids=["before", "in-its-first-epoch", "at-its-end", "twice"]
)
def test_a_resume_around_the_hand_over_to_swa_gives_lightnings_own_swa_lrs(tmp_path, stops) -> None:
    """Before SWA's first epoch (epoch 1) the schedule's lrs are the uninterrupted run's; from it on, SWALR's are
    those of Lightning's own SWA resumed at the same steps (which, resumed in an SWA epoch, anneals one epoch later
    than uninterrupted, with or without this package)."""

    def swa() -> StochasticWeightAveraging:
        return StochasticWeightAveraging(swa_lrs=0.05, swa_epoch_start=2, annealing_epochs=2)

    straight = LRRecorder()
    run = trainer(tmp_path / "straight", max_epochs=5, callbacks=[lrs.CosineAnnealingLR(warmup=3), swa(), straight])
    caught_messages(lambda: run.fit(TinyModel(), make_loader(), make_loader(9)))
    ours, messages = resumed_from(
        tmp_path / "ours", TinyModel, lambda: [lrs.CosineAnnealingLR(warmup=3), swa()], stops, epochs=5
    )
    native, _ = resumed_from(tmp_path / "native", TinyModel, lambda: [swa()], stops, epochs=5)
    assert [step for step, _ in ours] == list(range(50))
    assert [t for t in ours if t[0] < 10] == [t for t in straight.trace if t[0] < 10]
    assert [t for t in ours if t[0] >= 10] == [t for t in native if t[0] >= 10]  # every group, exact
    assert len(containing(messages, "hands the learning rate over to StochasticWeightAveraging")) == 1


# ------------------------------------------------------------- a GAN resumed inside the epoch that measures its rate


@pytest.mark.parametrize("stops", [(7,), (8, 29)], ids=["once", "twice"])
def test_a_gan_resumed_inside_its_measured_epoch_gives_the_uninterrupted_runs_lrs(tmp_path, stops) -> None:
    """The generator steps every second batch: its rate is measured over the first epoch, across the resume too."""
    from tests.test_run_changes import Gan

    def schedules() -> list[Any]:
        return [lrs.CosineAnnealingLR(optimizer=0, warmup=2), lrs.CosineAnnealingLR(optimizer=1, warmup=2)]

    straight = LRRecorder()
    run = trainer(tmp_path / "straight", max_epochs=4, callbacks=[*schedules(), straight])
    caught_messages(lambda: run.fit(Gan(), make_loader()))
    trace, messages = resumed_from(tmp_path, Gan, schedules, stops, epochs=4, validate=False)
    assert trace == straight.trace  # both optimizers, every step: the generator re-planned after epoch 0 as straight
    (measured,) = containing(messages, "Adam took 5 optimizer steps in epoch 0")
    assert "steps_per_batch=0.5" in measured


# ------------------------------------------------------------------- a rewind to before the epochs changed size


class Growing(Poisoned):
    """10 batches in epoch 0, 20 from epoch 1 on (``reload_dataloaders_every_n_epochs=1``), NaN at ``nan_at``."""

    def train_dataloader(self) -> Any:
        return make_loader(30 if self.current_epoch == 0 else 60)


@pytest.mark.parametrize(
    "schedule",
    [lambda: lrs.CosineAnnealingLR(warmup=3), lambda: lrs.TimmLR("cosine", interval="step", warmup=3)],
    ids=["torch", "timm"],
)
def test_a_rewind_to_before_the_epochs_grew_goes_on_along_the_plan_for_the_run_as_it_is(tmp_path, schedule) -> None:
    """The state of step 4 was planned for 30 steps; the run is 50 since epoch 1: what remains is re-planned for it.

    Before, the 30-step plan came back with the state and ran, at 0.5x, until the next epoch's start re-planned
    (timm's cosine, whose formula with ``lr_min=0`` is torch's: it kept its 30-step plan, "cannot re-plan").
    """
    recorder = LRRecorder()
    diagnostics = lrs.LRDiagnostics(window=4, on_divergence=lrs.Rewind(every=4, factor=0.5), verbose=False)
    run = trainer(
        tmp_path,
        max_epochs=3,
        reload_dataloaders_every_n_epochs=1,
        callbacks=[schedule(), diagnostics, recorder],
    )
    caught_messages(lambda: run.fit(Growing(nan_at=(11,))))
    [event] = diagnostics.rewinds
    assert (event["step"], event["to_step"]) == (12, 4)
    first = warmup_then(lambda o: ts.CosineAnnealingLR(o, 27), 3, 30)  # the plan of epoch 0 (30 steps)

    regrown = cosine_from(first[10], 40)  # epoch 1 is 20 steps: re-planned at step 10 for 50 steps in all
    rewound = cosine_from(first[4], 46, 0.5)  # back at step 4, re-planned for the 50: at 0.5x from step 12 on
    expected = first[:10] + regrown[:2] + rewound[: 50 - 12]
    assert len(recorder.lrs) == 50
    assert_lrs(recorder.lrs, expected)


# ------------------------------------------------------------------- a resume in an epoch's middle after a rewind


def rewound_checkpoints(tmp_path: Path, rewind: lrs.Rewind, nan_at: int) -> tuple[LRRecorder, lrs.LRDiagnostics]:
    """A 30-step warmup + cosine that rewinds after a NaN at ``nan_at``; a checkpoint at every optimizer step."""
    recorder = LRRecorder()
    diagnostics = lrs.LRDiagnostics(window=4, on_divergence=rewind, verbose=False)
    checkpoint = every_step(tmp_path)
    run = trainer(
        tmp_path / "whole",
        max_epochs=3,
        callbacks=[lrs.CosineAnnealingLR(warmup=3), diagnostics, recorder, checkpoint],
        enable_checkpointing=True,
    )
    caught_messages(lambda: run.fit(Poisoned(nan_at=(nan_at,)), make_loader()))
    return recorder, diagnostics


REWOUND = [  # (NaN at, batches skipped after the rewind, the checkpoint's step, the rewind's (step, to_step))
    (11, 0, 15, (12, 4)),  # back into epoch 0: the schedule counts epoch 0 on while Lightning is in epoch 1
    (15, 0, 18, (16, 8)),
    (15, 3, 17, (16, 8)),  # resumed while skipping
    (15, 3, 19, (16, 8)),
]


@pytest.mark.parametrize(("nan_at", "skip", "stop", "rewind"), REWOUND)
def test_a_resume_in_an_epochs_middle_after_a_rewind_gives_the_uninterrupted_runs_lrs(
    tmp_path, nan_at, skip, stop, rewind
) -> None:
    """The schedule's count is behind the run's by the steps the rewind took back, and its epoch count may be too.

    Before, the resumed epoch's size was taken from the schedule's count (7 + 5 steps for an epoch of 10): the plan
    was re-planned for 22 steps with a warning of another accumulation, and the cosine ended 8 steps early.
    """
    make = lambda: lrs.Rewind(every=4, factor=0.5, skip_batches=skip)  # noqa: E731
    whole, diagnostics = rewound_checkpoints(tmp_path, make(), nan_at)
    assert [(e["step"], e["to_step"]) for e in diagnostics.rewinds] == [rewind]
    recorder = LRRecorder()
    callbacks = [lrs.CosineAnnealingLR(warmup=3), lrs.LRDiagnostics(window=4, on_divergence=make()), recorder]
    run = trainer(tmp_path / "resumed", max_epochs=3, callbacks=callbacks)
    path = written_at(tmp_path, stop)
    messages = caught_messages(lambda: run.fit(Poisoned(nan_at=(nan_at,)), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert recorder.trace == [(step, lrs) for step, lrs in whole.trace if step >= stop]  # every group, exact
    assert containing(messages, "resumed in the middle") == []


def test_a_replanned_resume_after_a_rewind_plans_for_the_runs_steps_in_an_epochs_middle_or_at_its_end(tmp_path) -> None:
    """Re-planned into 5 epochs, from the middle of epoch 1 or its end: the plan counts the run's 50 steps, as the
    fit's own plan did (the 8 steps the rewind took back are the schedule's shortfall, said at the fit's end)."""
    rewound_checkpoints(tmp_path, lrs.Rewind(every=4, factor=0.5), 11)
    first = warmup_then(lambda o: ts.CosineAnnealingLR(o, 27), 3, 30)  # the fit's plan of 30 steps
    for stop in (15, 20):
        recorder = LRRecorder()
        schedule = lrs.CosineAnnealingLR(warmup=3, replan_on_resume=True)
        run = trainer(tmp_path / f"from{stop}", max_epochs=5, callbacks=[schedule, recorder])
        path = written_at(tmp_path, stop)
        messages = caught_messages(lambda: run.fit(Poisoned(), make_loader(), ckpt_path=path, **SAFE_LOAD))  # noqa: B023
        at = stop - 8  # the schedule's own step: the rewind took 8 back
        assert_lrs(recorder.lrs, cosine_from(first[at], 50 - at, 0.5)[: 50 - stop])
        assert containing(messages, "resumed in the middle") == []
        (shortfall,) = containing(messages, "did not reach its end")
        assert "ran 42 of the 50 optimizer steps" in shortfall
        assert schedule.schedule.last_timeline.plan.steps == 50


# ------------------------------------------------------------ LRDiagnostics added to a resumed run without its state


def test_diagnostics_added_on_resume_judge_the_curve_once_a_window_of_losses_came(tmp_path, monkeypatch) -> None:
    """The checkpoint has no LRDiagnostics state: its window starts empty at step 15, one step before a check.

    Before, the oscillation check at step 16 split a window of one loss in halves and the fit died (StatisticsError).
    """
    from lightning_lrsched.diagnostics import findings

    checked: list[tuple[int, int]] = []
    oscillation = findings.oscillation

    def spy(window: Any, step: int, *args: Any) -> Any:
        checked.append((step, len(window.losses)))
        return oscillation(window, step, *args)

    monkeypatch.setattr(findings, "oscillation", spy)
    path = checkpoint_at(tmp_path, lrs.CosineAnnealingLR(), TinyModel(), 15, max_epochs=3)
    recorder, diagnostics = LRRecorder(), lrs.LRDiagnostics(window=4, verbose=False)
    run = trainer(tmp_path / "b", max_epochs=3, callbacks=[lrs.CosineAnnealingLR(), diagnostics, recorder])
    caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))  # (findings or none)
    assert run.global_step == 30
    assert_lrs(recorder.lrs, by_hand([(lambda o: ts.CosineAnnealingLR(o, 30), 30)])[15:])
    assert checked == [(20, 5), (24, 7), (28, 7)]  # from the first check with a whole window (4 losses, and 3 more)


# ------------------------------------------------------------------- a composite in a run that changes its length


def chain(cosine_steps: int) -> Any:
    """torch's CosineAnnealingLR over ``cosine_steps`` chained with ExponentialLR(0.99), for :func:`by_hand`."""
    return lambda o: ts.ChainedScheduler([ts.CosineAnnealingLR(o, cosine_steps), ts.ExponentialLR(o, 0.99)])


def chained(**options: Any) -> lrs.ChainedScheduler:
    return lrs.ChainedScheduler([lrs.CosineAnnealingLR(), lrs.ExponentialLR(0.99, interval="step")], **options)


@pytest.mark.parametrize(
    ("schedule", "reference"),
    [
        (chained, [(chain(30), 10), (chain(40), 40)]),
        (
            lambda: lrs.SequentialLR([lrs.LinearLR(0.1, 1.0, "100%", interval="step"), lrs.CosineAnnealingLR()], [5]),
            [
                (lambda o: ts.LinearLR(o, 0.1, 1.0, 5), 5),
                (lambda o: ts.CosineAnnealingLR(o, 25), 5),
                (lambda o: ts.CosineAnnealingLR(o, 40), 40),
            ],
        ),
    ],
    ids=["chained", "sequential"],
)
def test_a_composite_whose_epochs_grow_replans_its_running_phase_as_torch_by_hand(tmp_path, schedule, reference):
    """Epochs of 10, then 20 steps: at step 10 the run becomes 50 steps. The cosine phase stretches from its current
    lr over the new end, as a lone cosine does. Before, the composite's own lengths (none, or fixed milestones)
    did not change, so it said nothing while its cosine ended at step 30 and held 0 for the last 20 steps.
    Resumed from a checkpoint after the re-plan, every lr is the uninterrupted run's."""
    recorder = LRRecorder()
    checkpoint = every_step(tmp_path)
    growing = {"max_epochs": 3, "reload_dataloaders_every_n_epochs": 1}
    run = trainer(tmp_path, **growing, callbacks=[schedule(), recorder, checkpoint], enable_checkpointing=True)
    messages = caught_messages(lambda: run.fit(Growing()))
    assert_lrs(recorder.lrs, by_hand(reference))
    (replanned,) = containing(messages, "the epochs of this run changed size")
    assert "re-planned for 50 optimizer steps in all (it was 30)" in replanned
    for stop in (15, 37):
        resumed = LRRecorder()
        path = written_at(tmp_path, stop)
        again = trainer(tmp_path / f"from{stop}", **growing, callbacks=[schedule(), resumed])
        caught_messages(lambda: again.fit(Growing(), ckpt_path=path, **SAFE_LOAD))  # noqa: B023
        assert resumed.trace == [(step, lrs_) for step, lrs_ in recorder.trace if step >= stop]


@pytest.mark.parametrize("stop", [4, 12], ids=["in-the-warmup", "after-it"])
def test_a_chained_composite_resumed_into_a_longer_run_replans_its_children_when_asked(tmp_path, stop) -> None:
    """A 6-step warmup, then a chained cosine; resumed into 5 epochs from 3. Inside the warmup nothing has started:
    the run is the fresh 5-epoch run's. After it the cosine stretches from its lr over the 38 steps left to it.
    Before, each child kept its 24-step plan and warned "pass `replan_on_resume=True`", which was passed (and a
    SequentialLR with a warmup raised a TypeError there)."""
    path = checkpoint_at(tmp_path, chained(warmup=6), TinyModel(), stop, max_epochs=3)
    recorder = LRRecorder()
    run = trainer(tmp_path / "resumed", max_epochs=5, callbacks=[chained(warmup=6, replan_on_resume=True), recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    planned = warmup_then(chain(44), 6, 50)  # the fresh 5-epoch run
    if stop == 4:
        assert_lrs(recorder.lrs, planned[stop:])
    else:
        first = warmup_then(chain(24), 6, 30)  # the checkpoint's plan, stretched at step 12 (the chain's step 6)
        assert_lrs(recorder.lrs, by_hand([(chain(38), 38)], optimizer_at(first[stop])))
    assert containing(messages, "replan_on_resume") == []
    sequential = lrs.SequentialLR([lrs.ConstantLR(1.0, 1), lrs.CosineAnnealingLR()], [8], warmup=6)
    path = checkpoint_at(tmp_path / "sequential", sequential, TinyModel(), 4, max_epochs=3)
    again = lrs.SequentialLR([lrs.ConstantLR(1.0, 1), lrs.CosineAnnealingLR()], [8], warmup=6, replan_on_resume=True)
    run = trainer(tmp_path / "sequential-resumed", max_epochs=5, callbacks=[again])
    caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    assert again.schedule.last_timeline.plan.steps == 50


def test_a_composite_rewound_to_before_its_epochs_grew_goes_on_along_the_plan_for_the_run_as_it_is(tmp_path) -> None:
    """The chained cosine re-planned at step 10 for 50 steps; a NaN at step 11 rewinds to step 4, planned for 30: what
    remains is re-planned for the 50 from there, at 0.5x, as for a lone cosine. Before, each child restored by the
    rewind also warned that it "resumes into a run of 50 optimizer steps" and kept its 30-step plan."""
    recorder = LRRecorder()
    diagnostics = lrs.LRDiagnostics(window=4, on_divergence=lrs.Rewind(every=4, factor=0.5), verbose=False)
    growing = {"max_epochs": 3, "reload_dataloaders_every_n_epochs": 1}
    run = trainer(tmp_path, **growing, callbacks=[chained(), diagnostics, recorder])
    messages = caught_messages(lambda: run.fit(Growing(nan_at=(11,))))
    [event] = diagnostics.rewinds
    assert (event["step"], event["to_step"]) == (12, 4)
    first = by_hand([(chain(30), 10), (chain(40), 2)])  # the 30-step plan, re-planned at step 10
    rewound = [[0.5 * lr for lr in row] for row in by_hand([(chain(46), 38)], optimizer_at(first[4]))]
    assert_lrs(recorder.lrs, first + rewound)
    assert containing(messages, "resumes into a run") == []


def test_a_percentage_milestone_ahead_moves_with_a_run_that_grows_and_the_running_phase_stretches(tmp_path) -> None:
    """SequentialLR([ramp, cosine, ConstantLR(0.5)], milestones=["10%", "80%"]), as docs/composition.md writes them:
    the cosine runs from step 3 to 24 of 30. At step 10 the run becomes 50 steps: the ramp's milestone (begun)
    stays at 3, the one ahead moves to 40, and the running cosine stretches from its lr over the 30 steps left to
    it. Before, the composite could not re-plan "without a jump": the cosine ended at step 24 as planned for 30."""
    ramp = lrs.LinearLR(0.01, 1.0, "100%", interval="step")
    parts = [ramp, lrs.CosineAnnealingLR(), lrs.ConstantLR(0.5, "100%", interval="step")]
    recorder, sequential = LRRecorder(), lrs.SequentialLR(parts, ["10%", "80%"])
    run = trainer(tmp_path, max_epochs=3, reload_dataloaders_every_n_epochs=1, callbacks=[sequential, recorder])
    messages = caught_messages(lambda: run.fit(Growing()))
    ramped = by_hand([(lambda o: ts.LinearLR(o, 0.01, 1.0, 3), 3)])
    cosine = by_hand([(lambda o: ts.CosineAnnealingLR(o, 21), 7), (lambda o: ts.CosineAnnealingLR(o, 30), 30)])
    constant = by_hand([(lambda o: ts.ConstantLR(o, 0.5, 10), 10)])  # from the initial rates, as each phase starts
    assert_lrs(recorder.lrs, ramped + cosine + constant)
    assert containing(messages, "cannot re-plan") == []
    timeline = sequential.schedule.last_timeline
    assert timeline is not None
    assert timeline.plan.resolved["milestones"] == [3, 40]


def test_a_sequential_resumed_into_a_longer_run_moves_its_milestones_ahead_when_asked(tmp_path) -> None:
    """The same phases, resumed at step 12 of 30 into 50 steps with ``replan_on_resume=True``: the milestone ahead
    moves from 24 to 40 and the cosine stretches from step 12, as torch by hand."""

    def sequential(**options: Any) -> lrs.SequentialLR:
        ramp = lrs.LinearLR(0.01, 1.0, "100%", interval="step")
        parts = [ramp, lrs.CosineAnnealingLR(), lrs.ConstantLR(0.5, "100%", interval="step")]
        return lrs.SequentialLR(parts, ["10%", "80%"], **options)

    path = checkpoint_at(tmp_path, sequential(), TinyModel(), 12, max_epochs=3)
    recorder = LRRecorder()
    run = trainer(tmp_path / "resumed", max_epochs=5, callbacks=[sequential(replan_on_resume=True), recorder])
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD))
    ramped = by_hand([(lambda o: ts.LinearLR(o, 0.01, 1.0, 3), 3)])
    cosine = by_hand([(lambda o: ts.CosineAnnealingLR(o, 21), 9), (lambda o: ts.CosineAnnealingLR(o, 28), 28)])
    constant = by_hand([(lambda o: ts.ConstantLR(o, 0.5, 10), 10)])
    assert_lrs(recorder.lrs, (ramped + cosine + constant)[12:])
    assert containing(messages, "replan_on_resume") == []
    assert containing(messages, "cannot re-plan") == []


def test_a_gan_generators_running_phase_whose_share_falls_behind_ends_as_planned_and_the_rest_follows(tmp_path):
    """A generator stepping every second batch: ``SequentialLR([ramp, cosine], ["20%"])`` planned for 30 steps (the
    ramp to step 6). Its rate, measured at step 5, makes the run 15 steps, where 20% is step 3, already behind: the
    running ramp ends at step 6 as planned and the cosine runs over the 9 steps left. Before, the composite kept its
    30-step plan ("cannot re-plan without a jump") until epoch 2, where the epoch-size check re-planned it under a
    wrong guess ("reloaded dataloaders?")."""
    from tests.test_run_changes import Gan

    ramp = lrs.LinearLR(0.1, 1.0, "100%", interval="step")
    generator = lrs.SequentialLR([ramp, lrs.CosineAnnealingLR()], ["20%"], optimizer=1)
    recorder = LRRecorder(optimizer=1)
    run = trainer(tmp_path, max_epochs=3, callbacks=[lrs.CosineAnnealingLR(optimizer=0), generator, recorder])
    messages = caught_messages(lambda: run.fit(Gan(), make_loader()))
    generator_group = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01)  # (as the generator's Adam)
    ramped = by_hand([(lambda o: ts.LinearLR(o, 0.1, 1.0, 6), 6)], generator_group)
    generator_group.param_groups[0]["lr"] = 0.01  # (each phase starts from the initial rate)
    cosine = by_hand([(lambda o: ts.CosineAnnealingLR(o, 9), 9)], generator_group)
    assert_lrs(recorder.lrs, ramped + cosine)
    (measured,) = containing(messages, "Adam took 5 optimizer steps in epoch 0")
    assert "15 optimizer steps in all instead of 30" in measured
    assert containing(messages, "cannot re-plan") == containing(messages, "epochs of this run changed size") == []


def test_a_sequential_resumed_into_a_shorter_run_inside_a_phase_whose_share_is_behind_moves_the_rest(tmp_path):
    """``SequentialLR([ramp, cosine], ["20%"])`` for 50 steps (the ramp to step 10), resumed at step 8 into 30 steps
    with ``replan_on_resume=True``: 20% is step 6, behind; the ramp ends at 10 as planned and the cosine fits the 20
    steps left. Before, the lrs were these, but a false warning said that the 50-step plan was kept and its end held
    ("cannot re-plan without a jump")."""

    def sequential(**options: Any) -> lrs.SequentialLR:
        ramp = lrs.LinearLR(0.01, 1.0, "100%", interval="step")
        return lrs.SequentialLR([ramp, lrs.CosineAnnealingLR()], ["20%"], **options)

    resumed, messages = replanned_resume(tmp_path, sequential, 8, epochs=5, into=3)
    ramped = by_hand([(lambda o: ts.LinearLR(o, 0.01, 1.0, 10), 10)])
    cosine = by_hand([(lambda o: ts.CosineAnnealingLR(o, 20), 20)])
    assert_lrs(resumed, (ramped + cosine)[8:])
    assert containing(messages, "cannot re-plan") == containing(messages, "replan_on_resume") == []


def test_epochs_that_grow_inside_transformers_own_warmup_give_the_fresh_schedule_of_the_longer_run(tmp_path):
    """``TransformersLR("linear", num_warmup_steps=12)``: at step 10 the epochs grow from 10 to 20 steps (30 -> 50 in
    all), inside the formula's warmup, whose lrs do not depend on the run's length: the run is transformers' linear
    schedule for 50 steps, exactly. Before, it kept its 30-step plan ("cannot re-plan without a jump") and held lr 0
    over the last 20 steps."""
    from transformers import get_linear_schedule_with_warmup

    recorder = LRRecorder()
    schedule = lrs.TransformersLR("linear", num_warmup_steps=12)
    run = trainer(tmp_path, max_epochs=3, reload_dataloaders_every_n_epochs=1, callbacks=[schedule, recorder])
    messages = caught_messages(lambda: run.fit(Growing()))
    assert_lrs(recorder.lrs, by_hand([(lambda o: get_linear_schedule_with_warmup(o, 12, 50), 50)]))
    assert containing(messages, "cannot re-plan") == []
    assert len(containing(messages, "re-planned for 50 optimizer steps")) == 1
