"""Warmup forms equal transformers' schedules step for step when configured alike."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
import transformers

import lightning_lrsched as lrs
from tests.helpers import LRRecorder, TinyModel, make_loader, reference_trace, trainer
from tests.test_parity import ACCUMULATE, EPOCHS, PER_EPOCH, TOTAL

W = 3

CASES: list[tuple[str, Callable[[], lrs.LRSchedulerCallback], Callable[[Any], Any]]] = [
    (
        "linear",
        lambda: lrs.schedule_from_name("linear", warmup=W),
        lambda o: transformers.get_linear_schedule_with_warmup(o, W, TOTAL),
    ),
    (
        "cosine",
        lambda: lrs.schedule_from_name("cosine", warmup=W),
        lambda o: transformers.get_cosine_schedule_with_warmup(o, W, TOTAL),
    ),
    (
        "constant_with_warmup",
        lambda: lrs.schedule_from_name("constant_with_warmup", warmup=W),
        lambda o: transformers.get_constant_schedule_with_warmup(o, W),
    ),
    (
        "inverse_sqrt",
        lambda: lrs.InverseSqrtLR(warmup=W),
        lambda o: transformers.get_inverse_sqrt_schedule(o, W),
    ),
    (
        "wsd-cosine",
        lambda: lrs.WarmupStableDecayLR(decay=4, warmup=W, warmup_start_factor=0.1, min_lr_ratio=0.1),
        lambda o: transformers.get_wsd_schedule(o, W, 4, num_training_steps=TOTAL, min_lr_ratio=0.1),
    ),
    (
        "wsd-1-sqrt",
        lambda: lrs.schedule_from_name("wsd", decay="25%", decay_type="1-sqrt", warmup=W),
        lambda o: transformers.get_wsd_schedule(o, W, 4, num_training_steps=TOTAL, decay_type="1-sqrt"),
    ),
    (
        "wsd-linear",
        lambda: lrs.WarmupStableDecayLR(decay="1ep", decay_type="linear", warmup=W),
        lambda o: transformers.get_wsd_schedule(o, W, PER_EPOCH, num_training_steps=TOTAL, decay_type="linear"),
    ),
]


@pytest.mark.parametrize(("label", "callback", "reference"), CASES, ids=[c[0] for c in CASES])
def test_warmup_forms_match_transformers(tmp_path, label, callback, reference) -> None:
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[callback(), recorder])
    run.fit(TinyModel(), make_loader())
    expected = reference_trace(reference, epochs=EPOCHS, steps_per_epoch=PER_EPOCH, interval="step")
    got = list(itertools.chain.from_iterable(recorder.lrs))
    assert got == pytest.approx(list(itertools.chain.from_iterable(expected)), rel=1e-9, abs=1e-15)


def test_transformers_factory_wrapped_directly_is_exact(tmp_path) -> None:
    schedule = lrs.LRSchedulerCallback(
        transformers.get_linear_schedule_with_warmup,
        num_warmup_steps="25%",
        num_training_steps="100%",
        lengths=["num_warmup_steps", "num_training_steps"],
    )
    assert schedule.interval == "step"  # transformers' schedules step per optimizer step
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[schedule, recorder])
    run.fit(TinyModel(), make_loader())
    expected = reference_trace(
        lambda o: transformers.get_linear_schedule_with_warmup(o, 4, TOTAL),
        epochs=EPOCHS,
        steps_per_epoch=PER_EPOCH,
        interval="step",
    )
    assert recorder.lrs == expected


def test_names() -> None:
    assert isinstance(lrs.schedule_from_name("plateau", monitor="val_f1"), lrs.ReduceLROnPlateau)
    assert isinstance(lrs.schedule_from_name("OneCycleLR", max_lr=0.1), lrs.OneCycleLR)
    assert isinstance(lrs.schedule_from_name("Cosine"), lrs.TransformersLR)  # transformers' name, case-insensitive
    torch_names = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
                   "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
                   "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"]  # fmt: skip
    assert set(torch_names) <= set(lrs.SCHEDULE_NAMES)
    with pytest.raises(ValueError, match=r"Unknown schedule name 'cosin'\. Did you mean 'cosine'\? Valid names: "):
        lrs.schedule_from_name("cosin")
