"""Warmup is a prefix: lr0 * (f + (1 - f) * s / W) for the first W optimizer steps, then the schedule at its step 0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import LRRecorder, TinyModel, make_loader, make_optimizer, trainer
from tests.test_parity import ACCUMULATE, EPOCHS, PER_EPOCH, TOTAL


def reference_with_warmup(
    build: Callable[[Any], ts.LRScheduler], warmup: int, start: float, interval: str, fractional: bool = False
) -> list[list[float]]:
    """Torch's scheduler stepped by hand after a hand-written linear warmup."""
    optimizer = make_optimizer()
    scheduler = build(optimizer)
    first = [group["lr"] for group in optimizer.param_groups]
    trace, done, epoch_start = [], 0, 0
    for _ in range(EPOCHS):
        for _ in range(PER_EPOCH):
            if done < warmup:
                factor = start + (1 - start) * done / warmup
                trace.append([lr * factor for lr in first])
            else:
                trace.append([group["lr"] for group in optimizer.param_groups])
            optimizer.step()
            done += 1
            if done > warmup and interval == "step":
                scheduler.step((done - warmup) / PER_EPOCH) if fractional else scheduler.step()  # type: ignore[arg-type]
        if interval == "epoch" and done > max(warmup, epoch_start):
            scheduler.step()
        epoch_start = done
    return trace


W = 3  # optimizer steps: ends inside the first epoch
CASES = [
    ("cosine", lambda: lrs.CosineAnnealingLR(warmup=W), lambda o: ts.CosineAnnealingLR(o, TOTAL - W), 0.0, "step"),
    ("onecycle", lambda: lrs.OneCycleLR(1.0, warmup=W), lambda o: ts.OneCycleLR(o, 1.0, TOTAL - W), 0.0, "step"),
    (
        "poly-pct",
        lambda: lrs.PolynomialLR(warmup="25%", warmup_start_factor=0.1),
        lambda o: ts.PolynomialLR(o, TOTAL - 4),
        0.1,
        "step",
    ),
    ("steplr", lambda: lrs.StepLR(1, 0.5, warmup=W), lambda o: ts.StepLR(o, 1, 0.5), 0.0, "epoch"),
    (
        "exp-1ep",
        lambda: lrs.ExponentialLR(0.5, warmup="1ep", warmup_start_factor=0.5),
        lambda o: ts.ExponentialLR(o, 0.5),
        0.5,
        "epoch",
    ),
    (
        "cyclic",
        lambda: lrs.CyclicLR(0.01, 0.1, step_size_up=2, warmup=W),
        lambda o: ts.CyclicLR(o, 0.01, 0.1, step_size_up=2),
        0.0,
        "step",
    ),
    (
        "multiplicative",
        lambda: lrs.MultiplicativeLR(lambda n: 0.9, interval="step", warmup=W),
        lambda o: ts.MultiplicativeLR(o, lambda n: 0.9),
        0.0,
        "step",
    ),
]


@pytest.mark.parametrize(("label", "callback", "reference", "start", "interval"), CASES, ids=[c[0] for c in CASES])
def test_warmup_prefix_then_schedule_from_its_step_zero(tmp_path, label, callback, reference, start, interval) -> None:
    schedule, recorder = callback(), LRRecorder()
    run = trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[schedule, recorder])
    run.fit(TinyModel(), make_loader())
    warmup = 4 if label in ("poly-pct", "exp-1ep") else W
    assert recorder.lrs == reference_with_warmup(reference, warmup, start, interval)


def test_warmup_with_fractional_warm_restarts(tmp_path) -> None:
    schedule, recorder = lrs.CosineAnnealingWarmRestarts(1, interval="step", warmup=W), LRRecorder()
    trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[schedule, recorder]).fit(
        TinyModel(), make_loader()
    )
    expected = reference_with_warmup(lambda o: ts.CosineAnnealingWarmRestarts(o, 1), W, 0.0, "step", fractional=True)
    assert recorder.lrs == expected


def test_long_warmup_warns_and_whole_run_warmup_fails(tmp_path) -> None:
    with pytest.warns(UserWarning, match=r"`warmup`='50%' is 8 of the training's 16 optimizer steps \(more than a qu"):
        trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[
            lrs.CosineAnnealingLR(warmup="50%")]).fit(TinyModel(), make_loader())  # fmt: skip
    run = trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[
        lrs.CosineAnnealingLR(warmup="100%")])  # fmt: skip
    with pytest.raises(ValueError, match=r"`warmup`='100%' is 16 optimizer steps, but the whole training is 16"):
        run.fit(TinyModel(), make_loader())
    with pytest.raises(ValueError, match=r"`warmup_start_factor` to be in the \[0, 1\) range, but got 1\.0"):
        lrs.StepLR(1, warmup=3, warmup_start_factor=1.0)


def test_warmup_shorter_than_a_step_warns_and_is_skipped(tmp_path) -> None:
    schedule, recorder = lrs.CosineAnnealingLR(warmup="1%"), LRRecorder()
    with pytest.warns(UserWarning, match=r"`warmup`='1%' is less than one optimizer step in this run of 16 steps"):
        trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[schedule, recorder]).fit(
            TinyModel(), make_loader()
        )
    assert recorder.lrs == reference_with_warmup(lambda o: ts.CosineAnnealingLR(o, TOTAL), 0, 0.0, "step")
