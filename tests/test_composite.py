"""SequentialLR and ChainedScheduler over callbacks equal torch's composites stepped by hand."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import SAFE_LOAD, LRRecorder, TinyModel, make_loader, make_optimizer, reference_trace, trainer
from tests.test_parity import ACCUMULATE, EPOCHS, PER_EPOCH, TOTAL
from tests.test_plateau import VALUES, LrAfterValidation, ScriptedModel, by_hand
from tests.test_resume import EpochScripted, StopAt
from tests.test_run_changes import by_hand as torch_by_hand


def fit(tmp_path: Any, schedule: lrs.LRSchedulerCallback, **kwargs: Any) -> LRRecorder:
    recorder = LRRecorder()
    options = {"max_epochs": EPOCHS, "accumulate_grad_batches": ACCUMULATE, **kwargs}
    trainer(tmp_path, callbacks=[schedule, recorder], **options).fit(TinyModel(), make_loader())
    return recorder


def test_sequential_equals_torch_sequential(tmp_path) -> None:
    schedule = lrs.SequentialLR(
        [lrs.LinearLR(0.1, 1.0, total_iters="100%", interval="step"), lrs.CosineAnnealingLR(eta_min=1e-4)],
        milestones=["25%"],
    )
    recorder = fit(tmp_path, schedule)

    def build(optimizer: Any) -> ts.LRScheduler:
        warm = ts.LinearLR(optimizer, 0.1, 1.0, total_iters=4)
        cosine = ts.CosineAnnealingLR(optimizer, TOTAL - 4, eta_min=1e-4)
        return ts.SequentialLR(optimizer, [warm, cosine], milestones=[4])

    assert recorder.lrs == reference_trace(build, epochs=EPOCHS, steps_per_epoch=PER_EPOCH, interval="step")


def test_sequential_with_an_epoch_phase(tmp_path) -> None:
    schedule = lrs.SequentialLR([lrs.ConstantLR(0.5, total_iters="1ep", interval="step"), lrs.StepLR(1, 0.5)], [4])
    recorder = fit(tmp_path, schedule)
    expected = [[0.05, 0.005]] * 4  # constant phase: 4 steps at half the rate
    for epoch in range(1, EPOCHS):  # then StepLR from the initial rates, halving at each epoch end
        expected += [[0.1 * 0.5 ** (epoch - 1), 0.01 * 0.5 ** (epoch - 1)]] * PER_EPOCH
    assert recorder.lrs == expected


def test_warm_restarts_per_step_as_a_phase_from_an_epochs_middle_restart_at_the_next_epochs_first_step(
    tmp_path,
) -> None:
    """Warm restarts per step count fractions of Lightning's epochs. As a phase from step 15 (the middle of epoch
    1) its first cycle is cut short by the epoch's end: it restarts at epoch 2's first step, against torch's
    scheduler stepped by hand. Before: that step ran at the cut cycle's next lr (0.05, a fraction of 0.5), and the
    restart came a step late."""
    schedule = lrs.SequentialLR(
        [lrs.ConstantLR(0.5, total_iters=15, interval="step"), lrs.CosineAnnealingWarmRestarts(T_0=1, interval="step")],
        milestones=[15],
        plan=False,
    )
    recorder = LRRecorder()
    trainer(tmp_path, max_epochs=4, callbacks=[schedule, recorder]).fit(TinyModel(), make_loader(30, 3))
    optimizer = make_optimizer()
    scheduler = ts.CosineAnnealingWarmRestarts(optimizer, T_0=1)
    expected = [[0.05, 0.005]] * 15  # (ConstantLR's half)
    for epoch in [k / 10 for k in range(5)] + [1 + k / 10 for k in range(10)] + [2 + k / 10 for k in range(10)]:
        scheduler.step(epoch)  # (torch's fractional epochs, by hand: the phase's epoch 1 is Lightning's epoch 2)
        expected.append([group["lr"] for group in optimizer.param_groups])
    assert recorder.lrs == [pytest.approx(row, rel=1e-12) for row in expected]
    assert recorder.lrs[20] == pytest.approx([0.1, 0.01])  # (the restart: epoch 2's first step)


def test_chained_equals_torch_chained(tmp_path) -> None:
    schedule = lrs.ChainedScheduler(
        [lrs.ConstantLR(0.1, total_iters=3, interval="step"), lrs.ExponentialLR(0.9, interval="step")]
    )
    recorder = fit(tmp_path, schedule)

    def build(optimizer: Any) -> ts.LRScheduler:
        return ts.ChainedScheduler([ts.ConstantLR(optimizer, 0.1, 3), ts.ExponentialLR(optimizer, 0.9)])

    assert recorder.lrs == reference_trace(build, epochs=EPOCHS, steps_per_epoch=PER_EPOCH, interval="step")


def test_chained_with_mixed_intervals(tmp_path) -> None:
    schedule = lrs.ChainedScheduler([lrs.ExponentialLR(0.9, interval="step"), lrs.StepLR(1, 0.5)])
    recorder = fit(tmp_path, schedule)
    optimizer = make_optimizer()
    per_step, per_epoch = ts.ExponentialLR(optimizer, 0.9), ts.StepLR(optimizer, 1, 0.5)
    expected = []
    for _ in range(EPOCHS):
        for _ in range(PER_EPOCH):
            expected.append([g["lr"] for g in optimizer.param_groups])
            optimizer.step()
            per_step.step()
        per_epoch.step()
    assert recorder.lrs == expected


def test_sequential_with_a_plateau_phase(tmp_path) -> None:
    schedule = lrs.SequentialLR([lrs.LinearLR(0.5, 1.0, total_iters=10, interval="step"),
                                 lrs.ReduceLROnPlateau(patience=1, factor=0.5)], milestones=["2ep"])  # fmt: skip
    probe = LrAfterValidation()
    trainer(tmp_path, max_epochs=8, callbacks=[schedule, probe]).fit(ScriptedModel(), make_loader(), make_loader(6))
    # validation 0 (step 10) is in the linear phase; the switch comes after step 20, before validation 1,
    # so the plateau phase counts values 1.. only, starting from the initial rate
    assert probe.lrs[0] == pytest.approx(0.1)
    assert probe.lrs[1:] == by_hand(VALUES[1:8], patience=1, factor=0.5)
    assert [value for _, value in schedule.parts[1].history] == pytest.approx(VALUES[1:8])


@pytest.mark.parametrize(
    "before", [[], [lrs.ConstantLR(0.5, total_iters="100%", interval="step")]], ids=["first", "second"]
)
def test_a_phase_after_a_plateau_phase_starts_from_the_initial_rates_wherever_the_plateau_is(tmp_path, before) -> None:
    """The plateau phase cuts 0.1 -> 0.01 after step 20; the cosine phase from step 30 starts from 0.1 as torch's
    SequentialLR starts each phase. Before, only when a phase came before the plateau (which sets no initial_lr):
    as the first phase, the cosine started from the cut, 0.01."""
    plateau = lrs.ReduceLROnPlateau(patience=0, factor=0.1)
    milestones = [5, 30] if before else [30]
    schedule = lrs.SequentialLR([*before, plateau, lrs.CosineAnnealingLR()], milestones=milestones)
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=4, callbacks=[schedule, recorder])
    run.fit(EpochScripted(), make_loader(), make_loader(9))
    assert recorder.lrs[10:30] == [[0.1, 0.01]] * 10 + [[pytest.approx(0.01), pytest.approx(0.001)]] * 10
    cosine = torch_by_hand([(lambda o: ts.CosineAnnealingLR(o, 10), 10)])  # from the initial rates 0.1 and 0.01
    assert recorder.lrs[30:] == [pytest.approx(row, rel=1e-12) for row in cosine]


def test_sequential_resume_across_a_milestone(tmp_path) -> None:
    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.SequentialLR([lrs.LinearLR(0.1, 1.0, total_iters="100%", interval="step"), lrs.CosineAnnealingLR()],
                                milestones=[12])  # fmt: skip

    straight = LRRecorder()
    trainer(tmp_path / "s", max_epochs=4, callbacks=[schedule(), straight]).fit(TinyModel(), make_loader())
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=15, save_last=True, save_top_k=0)
    first = LRRecorder()
    trainer(tmp_path / "a", max_epochs=4, enable_checkpointing=True,
            callbacks=[schedule(), first, StopAt(step=15), checkpoint]).fit(TinyModel(), make_loader())  # fmt: skip
    second = LRRecorder()
    trainer(tmp_path / "b", max_epochs=4, callbacks=[schedule(), second]).fit(
        TinyModel(), make_loader(), ckpt_path=checkpoint.last_model_path, **SAFE_LOAD
    )
    assert first.trace + second.trace == straight.trace


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: lrs.SequentialLR([], []), ValueError, r"`schedulers` of `SequentialLR` to be a non-empty list"),
        (lambda: lrs.SequentialLR([lrs.StepLR(1)], [3]), ValueError, r"got 1 schedules and milestones \[3\]"),
        (lambda: lrs.SequentialLR([lrs.StepLR(1), 3], [3]), TypeError, r"`schedulers\[1\]` of `SequentialLR` to be"),
        (lambda: lrs.ChainedScheduler(lrs.StepLR(1)), ValueError, r"`schedulers` of `ChainedScheduler` to be a non"),
        (lambda: lrs.ChainedScheduler([lrs.StepLR(1, optimizer=1)]), ValueError, r"sets `optimizer` or `name`"),
        (
            lambda: lrs.ChainedScheduler([torch.optim.lr_scheduler.StepLR]),
            TypeError,
            r"Wrap other schedulers with `LRSchedulerCallback",
        ),
    ],
)
def test_composite_errors(make, error, message) -> None:
    with pytest.raises(error, match=message):
        make()


def test_milestones_out_of_order_fail_at_fit_start(tmp_path) -> None:
    schedule = lrs.SequentialLR([lrs.StepLR(1), lrs.StepLR(1), lrs.StepLR(1)], milestones=["75%", "25%"])
    with pytest.raises(ValueError, match=r"resolve to increasing optimizer steps .* but got \[12, 4\]"):
        fit(tmp_path, schedule)
