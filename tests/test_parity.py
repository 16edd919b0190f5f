"""The lr before every optimizer step equals torch's scheduler stepped by hand at the same points."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import LRRecorder, TinyModel, make_loader, reference_trace, trainer

EPOCHS = 4
BATCHES = 10  # 30 samples / batch 3
ACCUMULATE = 3
PER_EPOCH = 4  # ceil(10 / 3)
TOTAL = EPOCHS * PER_EPOCH


def half(epoch: int) -> float:
    return 0.5**epoch


def ninety(epoch: int) -> float:
    return 0.9


def fractional(scheduler: Any, done: int) -> None:
    scheduler.step(done / PER_EPOCH)


CASES: list[tuple[str, Callable[[], lrs.LRSchedulerCallback], Callable[[Any], ts.LRScheduler], str, Any]] = [
    ("LambdaLR", lambda: lrs.LambdaLR(half), lambda o: ts.LambdaLR(o, half), "epoch", None),
    ("LambdaLR-step", lambda: lrs.LambdaLR(half, interval="step"), lambda o: ts.LambdaLR(o, half), "step", None),
    ("MultiplicativeLR", lambda: lrs.MultiplicativeLR(ninety), lambda o: ts.MultiplicativeLR(o, ninety), "epoch", None),
    ("StepLR", lambda: lrs.StepLR(2, gamma=0.5), lambda o: ts.StepLR(o, 2, 0.5), "epoch", None),
    ("StepLR-1ep", lambda: lrs.StepLR("1ep", interval="step"), lambda o: ts.StepLR(o, PER_EPOCH), "step", None),
    (
        "MultiStepLR",
        lambda: lrs.MultiStepLR([1, 3], gamma=0.3),
        lambda o: ts.MultiStepLR(o, [1, 3], 0.3),
        "epoch",
        None,
    ),
    (
        "MultiStepLR-pct",
        lambda: lrs.MultiStepLR(["25%", "75%"], interval="step"),
        lambda o: ts.MultiStepLR(o, [TOTAL // 4, TOTAL * 3 // 4]),
        "step",
        None,
    ),
    ("ConstantLR", lambda: lrs.ConstantLR(0.5, 2), lambda o: ts.ConstantLR(o, 0.5, 2), "epoch", None),
    ("LinearLR", lambda: lrs.LinearLR(0.25, 1.0, 3), lambda o: ts.LinearLR(o, 0.25, 1.0, 3), "epoch", None),
    (
        "LinearLR-decay",
        lambda: lrs.LinearLR(1.0, 0.0, "100%", interval="step"),
        lambda o: ts.LinearLR(o, 1.0, 0.0, TOTAL),
        "step",
        None,
    ),
    ("ExponentialLR", lambda: lrs.ExponentialLR(0.8), lambda o: ts.ExponentialLR(o, 0.8), "epoch", None),
    ("PolynomialLR", lambda: lrs.PolynomialLR(power=2.0), lambda o: ts.PolynomialLR(o, TOTAL, 2.0), "step", None),
    ("PolynomialLR-ep", lambda: lrs.PolynomialLR(3), lambda o: ts.PolynomialLR(o, 3), "epoch", None),
    ("CosineAnnealingLR", lambda: lrs.CosineAnnealingLR(), lambda o: ts.CosineAnnealingLR(o, TOTAL), "step", None),
    (
        "CosineAnnealingLR-ep",
        lambda: lrs.CosineAnnealingLR(3, eta_min=1e-3),
        lambda o: ts.CosineAnnealingLR(o, 3, 1e-3),
        "epoch",
        None,
    ),
    (
        "CosineAnnealingLR-2ep",
        lambda: lrs.CosineAnnealingLR("2ep"),
        lambda o: ts.CosineAnnealingLR(o, 2 * PER_EPOCH),
        "step",
        None,
    ),
    (
        "CosineAnnealingWarmRestarts",
        lambda: lrs.CosineAnnealingWarmRestarts(1, T_mult=2),
        lambda o: ts.CosineAnnealingWarmRestarts(o, 1, 2),
        "epoch",
        None,
    ),
    (
        "CosineAnnealingWarmRestarts-step",
        lambda: lrs.CosineAnnealingWarmRestarts(1, T_mult=2, interval="step"),
        lambda o: ts.CosineAnnealingWarmRestarts(o, 1, 2),
        "step",
        fractional,
    ),
    (
        "CyclicLR",
        lambda: lrs.CyclicLR(0.01, 0.1, step_size_up=3),
        lambda o: ts.CyclicLR(o, 0.01, 0.1, step_size_up=3),
        "step",
        None,
    ),
    (
        "CyclicLR-triangular2",
        lambda: lrs.CyclicLR([0.01, 0.001], [0.1, 0.01], step_size_up="1ep", mode="triangular2"),
        lambda o: ts.CyclicLR(o, [0.01, 0.001], [0.1, 0.01], step_size_up=PER_EPOCH, mode="triangular2"),
        "step",
        None,
    ),
    ("OneCycleLR", lambda: lrs.OneCycleLR([1.0, 0.1]), lambda o: ts.OneCycleLR(o, [1.0, 0.1], TOTAL), "step", None),
    (
        "OneCycleLR-epochs",
        lambda: lrs.OneCycleLR(0.5, epochs=EPOCHS, anneal_strategy="linear"),
        lambda o: ts.OneCycleLR(o, 0.5, epochs=EPOCHS, steps_per_epoch=PER_EPOCH, anneal_strategy="linear"),
        "step",
        None,
    ),
]


CLIMBS_BACK = {"CosineAnnealingLR-2ep", "T_max-2ep"}
"""Cases whose cosine ends before the training: torch's formula climbs back after ``T_max``; the callback says so."""


def expected_warnings(label: str) -> contextlib.AbstractContextManager[Any]:
    """The warning a case's fit gives (a cosine that ends early), or none."""
    return pytest.warns(UserWarning, match="climbs back") if label in CLIMBS_BACK else contextlib.nullcontext()


@pytest.mark.parametrize(("label", "callback", "reference", "interval", "step"), CASES, ids=[c[0] for c in CASES])
def test_lr_matches_torch_stepped_by_hand(tmp_path, label, callback, reference, interval, step) -> None:
    schedule = callback()
    assert schedule.interval == interval
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[schedule, recorder])
    with expected_warnings(label):
        run.fit(TinyModel(), make_loader())

    expected = reference_trace(reference, epochs=EPOCHS, steps_per_epoch=PER_EPOCH, interval=interval, step=step)
    assert len(recorder.trace) == TOTAL
    assert [s for s, _ in recorder.trace] == list(range(TOTAL))
    assert recorder.lrs == expected  # exact, every group, every optimizer step


def test_every_torch_scheduler_type_is_covered() -> None:
    wrapped = {label.split("-")[0] for label, *_ in CASES}
    expected = {
        "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
        "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
    }  # fmt: skip
    assert expected <= wrapped
    assert all(hasattr(ts, name) and hasattr(lrs, name) for name in expected)


RESOLUTION = [
    ("max_steps", {"max_epochs": 10, "max_steps": 7}, lambda: lrs.OneCycleLR(0.1), {"total_steps": 7}),
    ("limit", {"max_epochs": 3, "limit_train_batches": 4}, lambda: lrs.CosineAnnealingLR(), {"T_max": 6}),
    (
        "limit-ep",
        {"max_epochs": 3, "limit_train_batches": 4},
        lambda: lrs.StepLR("1ep", interval="step"),
        {"step_size": 2},
    ),
    ("pct-epochs", {"max_epochs": 8}, lambda: lrs.MultiStepLR(["50%", "75%"]), {"milestones": [4, 6]}),
    ("steps-in-epochs", {"max_epochs": 8}, lambda: lrs.StepLR("8 steps"), {"step_size": 2}),
    ("cawr-epochs", {"max_epochs": 8}, lambda: lrs.CosineAnnealingWarmRestarts("2ep", interval="step"), {"T_0": 2}),
    ("onecycle-epochs", {"max_epochs": 2}, lambda: lrs.OneCycleLR(0.1, epochs=2), {"steps_per_epoch": 4}),
]


@pytest.mark.parametrize(("label", "options", "callback", "expected"), RESOLUTION, ids=[r[0] for r in RESOLUTION])
def test_lengths_resolve_against_the_trainer(tmp_path, label, options, callback, expected) -> None:
    schedule = callback()
    run = trainer(tmp_path, accumulate_grad_batches=ACCUMULATE, callbacks=[schedule], **options)
    run.fit(TinyModel(), make_loader())
    assert schedule.resolved_lengths == expected
