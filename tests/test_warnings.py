"""Warnings hygiene: a normal fit with each callback emits no warning from this package and silences none."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

import lightning_lrsched as lrs
from tests.helpers import TinyModel, make_loader, trainer

PACKAGE = str(Path(lrs.__file__).parent)

NORMAL: list[tuple[str, Callable[[], lrs.LRSchedulerCallback]]] = [
    ("LambdaLR", lambda: lrs.LambdaLR(lambda n: 0.9**n)),
    ("MultiplicativeLR", lambda: lrs.MultiplicativeLR(lambda n: 0.9)),
    ("StepLR", lambda: lrs.StepLR("1ep")),
    ("MultiStepLR", lambda: lrs.MultiStepLR(["50%", "75%"])),
    ("ConstantLR", lambda: lrs.ConstantLR(0.5, total_iters=1)),
    ("LinearLR", lambda: lrs.LinearLR(0.1, 1.0, total_iters="1ep", interval="step")),
    ("ExponentialLR", lambda: lrs.ExponentialLR(0.9)),
    ("PolynomialLR", lambda: lrs.PolynomialLR(warmup="10%")),
    ("CosineAnnealingLR", lambda: lrs.CosineAnnealingLR(warmup="10%")),
    ("CosineAnnealingWarmRestarts", lambda: lrs.CosineAnnealingWarmRestarts(1, interval="step")),
    ("CyclicLR", lambda: lrs.CyclicLR(0.01, 0.1, step_size_up="1ep")),
    ("OneCycleLR", lambda: lrs.OneCycleLR(0.1)),
    ("ReduceLROnPlateau", lambda: lrs.ReduceLROnPlateau(patience=1)),
    ("InverseSqrtLR", lambda: lrs.InverseSqrtLR(warmup=4)),
    ("WarmupStableDecayLR", lambda: lrs.WarmupStableDecayLR(warmup="5%")),
    (
        "SequentialLR",
        lambda: lrs.SequentialLR(
            [lrs.LinearLR(0.1, 1.0, "100%", interval="step"), lrs.CosineAnnealingLR()], milestones=["10%"]
        ),
    ),
    ("ChainedScheduler", lambda: lrs.ChainedScheduler([lrs.ConstantLR(0.5, 2), lrs.ExponentialLR(0.9)])),
]


def from_package(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    """Warnings raised by this package: attributed to its files, or sent through Lightning's rank-zero helper
    from one of its frames (the helper's stacklevel points into Lightning)."""
    return [w for w in caught if w.filename.startswith(PACKAGE) or _raised_here(w)]


def _raised_here(w: warnings.WarningMessage) -> bool:
    return any(
        marker in str(w.message)
        for marker in ("`warmup`=", "ReduceLROnPlateau", "OneCycleLR reached", "resumes with the lengths")
    )


def test_the_detector_sees_a_warning_of_ours(tmp_path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path, max_epochs=4, callbacks=[lrs.CosineAnnealingLR(warmup="50%")]).fit(TinyModel(), make_loader())
    assert len(from_package(caught)) == 1


@pytest.mark.parametrize(("label", "make"), NORMAL, ids=[n[0] for n in NORMAL])
def test_normal_fit_emits_no_package_warning_and_silences_none(tmp_path, label, make) -> None:
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path, max_epochs=4, callbacks=[make()]).fit(TinyModel(), make_loader(), make_loader(6))
        inner_filters = list(warnings.filters)
    assert from_package(caught) == []
    assert inner_filters[0] == ("always", None, Warning, None, 0)  # nothing of ours changed the filters
    assert list(warnings.filters) == filters_before
