"""Lengths follow the run as it really is: max_steps-only runs, unsized data, no batches, smoke runs, max_time."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch.optim import lr_scheduler as ts
from torch.utils.data import DataLoader, IterableDataset

import lightning_lrsched as lrs
from tests.helpers import LRRecorder, TinyModel, make_loader, make_optimizer, reference_trace, trainer
from tests.test_parity import CASES, expected_warnings
from tests.test_warnings import NORMAL

ALL_TYPES: list[tuple[str, Callable[[], lrs.LRSchedulerCallback]]] = [(c[0], c[1]) for c in CASES] + [
    (f"{label}-normal", make) for label, make in NORMAL
] + [
    ("WarmupStableDecayLR-defaults", lambda: lrs.WarmupStableDecayLR()),
    ("MultiStepLR-pct", lambda: lrs.MultiStepLR(["50%", "75%"])),
    ("OneCycleLR-warmup", lambda: lrs.OneCycleLR(0.1, warmup="10%")),
    ("TransformersLR-linear", lambda: lrs.TransformersLR("linear", num_warmup_steps=3)),
    ("TransformersLR-wsd", lambda: lrs.schedule_from_name("warmup_stable_decay", num_warmup_steps="10%",
                                                          num_decay_steps="1ep")),
    ("TransformersLR-min-lr", lambda: lrs.schedule_from_name("cosine_warmup_with_min_lr", num_warmup_steps=0.1,
                                                             min_lr=1e-3)),
    ("GreedyLR", lambda: lrs.GreedyLR(patience=0)),
    ("TimmLR-cosine", lambda: lrs.TimmLR("cosine", warmup_t=1, warmup_lr_init=1e-4, cycle_limit=2)),
    ("TimmLR-multistep", lambda: lrs.TimmLR("multistep", decay_t=["50%", "1ep"], interval="step")),
]  # fmt: skip
ALL_IDS = [label for label, _ in ALL_TYPES]


class Stream(IterableDataset):  # type: ignore[type-arg]
    """Training data without a length: 10 batches of 3 per pass."""

    def __iter__(self) -> Iterator[Any]:
        yield from iter(make_loader().dataset)  # type: ignore[call-overload]


def stream() -> DataLoader[Any]:
    return DataLoader(Stream(), batch_size=3)


def warmup_then(build: Callable[[Any], ts.LRScheduler], warmup: int, total: int) -> list[list[float]]:
    """A linear warmup from 0 over ``warmup`` steps, then torch's scheduler stepped by hand."""
    optimizer = make_optimizer()
    base = [group["lr"] for group in optimizer.param_groups]
    ramp = [[lr * (0.0 + (1 - 0.0) * step / warmup) for lr in base] for step in range(warmup)]  # DESIGN.md formula
    return ramp + reference_trace(build, epochs=1, steps_per_epoch=total - warmup, interval="step")


MAX_STEPS_ONLY = [
    ("T_max-2ep", lambda: lrs.CosineAnnealingLR("2ep"), {"T_max": 20}, lambda: reference_trace(
        lambda o: ts.CosineAnnealingLR(o, 20), epochs=1, steps_per_epoch=40, interval="step")),
    ("warmup-1ep", lambda: lrs.CosineAnnealingLR(warmup="1ep"), {"T_max": 30}, lambda: warmup_then(
        lambda o: ts.CosineAnnealingLR(o, 30), 10, 40)),
    ("warmup-10%", lambda: lrs.PolynomialLR(warmup="10%"), {"total_iters": 36}, lambda: warmup_then(
        lambda o: ts.PolynomialLR(o, 36), 4, 40)),
    ("step-1ep", lambda: lrs.StepLR("1ep", interval="step"), {"step_size": 10}, lambda: reference_trace(
        lambda o: ts.StepLR(o, 10), epochs=1, steps_per_epoch=40, interval="step")),
    ("milestones-pct", lambda: lrs.MultiStepLR(["10%", "50%"], interval="step"), {"milestones": [4, 20]},
     lambda: reference_trace(lambda o: ts.MultiStepLR(o, [4, 20]), epochs=1, steps_per_epoch=40, interval="step")),
]  # fmt: skip


@pytest.mark.parametrize(("label", "make", "lengths", "expected"), MAX_STEPS_ONLY, ids=[m[0] for m in MAX_STEPS_ONLY])
def test_max_steps_only_runs_resolve_epochs_from_the_real_data(tmp_path, label, make, lengths, expected) -> None:
    schedule, recorder = make(), LRRecorder()
    with expected_warnings(label):
        trainer(tmp_path, max_steps=40, callbacks=[schedule, recorder]).fit(TinyModel(), make_loader())
    assert schedule.resolved_lengths == lengths
    assert recorder.lrs == expected()


WHOLE_RUN = [
    ("cosine", lambda: lrs.CosineAnnealingLR()),
    ("polynomial", lambda: lrs.PolynomialLR()),
    ("onecycle", lambda: lrs.OneCycleLR(0.1)),
    ("wsd", lambda: lrs.WarmupStableDecayLR()),
    ("linear-100%", lambda: lrs.LinearLR(1.0, 0.0, total_iters="100%", interval="step")),
    ("warmup-10%", lambda: lrs.StepLR(2, interval="step", warmup="10%")),
    ("sequential", lambda: lrs.SequentialLR([lrs.ConstantLR(1.0, 1), lrs.CosineAnnealingLR()], milestones=["10%"])),
]


@pytest.mark.parametrize(("label", "make"), WHOLE_RUN, ids=[w[0] for w in WHOLE_RUN])
def test_unsized_data_without_max_steps_is_a_clear_error(tmp_path, label, make) -> None:
    with pytest.raises(
        ValueError, match=r"no length \(an iterable dataset\) and the Trainer has no `max_steps`"
    ) as info:
        trainer(tmp_path, max_epochs=3, callbacks=[make()]).fit(TinyModel(), stream())
    assert "-1" not in str(info.value)
    assert "Set `max_steps` on the Trainer" in str(info.value)


@pytest.mark.parametrize(("label", "make"), WHOLE_RUN, ids=[w[0] for w in WHOLE_RUN])
def test_max_time_only_is_a_clear_error_for_whole_run_lengths(tmp_path, label, make) -> None:
    with pytest.raises(ValueError, match=r"only `max_time`\)\. Set `max_steps` on the Trainer"):
        trainer(tmp_path, max_time={"seconds": 30}, callbacks=[make()]).fit(TinyModel(), make_loader())


def test_max_time_only_runs_fixed_lengths(tmp_path) -> None:
    schedule, recorder = lrs.StepLR(5, gamma=0.5, interval="step"), LRRecorder()
    trainer(tmp_path, max_time={"seconds": 1}, callbacks=[schedule, recorder]).fit(TinyModel(), make_loader())
    steps = len(recorder.lrs)
    assert steps > 10
    assert recorder.lrs == reference_trace(lambda o: ts.StepLR(o, 5, 0.5), epochs=1, steps_per_epoch=steps,
                                           interval="step")  # fmt: skip


def test_unsized_data_with_max_steps_plans_the_whole_run(tmp_path) -> None:
    schedule, recorder = lrs.CosineAnnealingLR(), LRRecorder()
    trainer(tmp_path, max_steps=25, callbacks=[schedule, recorder]).fit(TinyModel(), stream())
    assert schedule.resolved_lengths == {"T_max": 25}
    assert recorder.lrs == reference_trace(lambda o: ts.CosineAnnealingLR(o, 25), epochs=1, steps_per_epoch=25,
                                           interval="step")  # fmt: skip


@pytest.mark.parametrize(("label", "make"), ALL_TYPES, ids=ALL_IDS)
def test_no_training_batches_runs_without_error(tmp_path, label, make) -> None:
    schedule, recorder = make(), LRRecorder()
    trainer(tmp_path, max_epochs=2, limit_train_batches=0, callbacks=[schedule, recorder]).fit(
        TinyModel(), make_loader(), make_loader(6)
    )
    assert recorder.trace == []
    assert schedule.scheduler is None
    assert schedule.summary()["text"].endswith("no optimizer step yet")


def package_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    from tests.test_warnings import from_package

    messages = {str(w.message) for w in from_package(caught)}
    return sorted(messages | {str(w.message) for w in caught if str(w.message).startswith("`fast_dev_run`")})


@pytest.mark.parametrize(("label", "make"), ALL_TYPES, ids=ALL_IDS)
def test_fast_dev_run_never_fails_and_warns_at_most_once(tmp_path, label, make) -> None:
    schedule, recorder = make(), LRRecorder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path, fast_dev_run=True, callbacks=[schedule, recorder]).fit(
            TinyModel(), make_loader(), make_loader(6)
        )
    assert len(recorder.trace) == 1
    assert len(package_warnings(caught)) <= 1


def test_fast_dev_run_names_what_it_does_instead(tmp_path) -> None:
    schedule = lrs.MultiStepLR(["50%", "75%"], interval="step")
    with pytest.warns(UserWarning, match=r"`fast_dev_run`: MultiStepLR cannot be planned for a smoke run of 1"):
        trainer(tmp_path, fast_dev_run=True, callbacks=[schedule]).fit(TinyModel(), make_loader())
    assert schedule.scheduler is None
    schedule.summary()  # still answers
    good = lrs.CosineAnnealingLR()
    trainer(tmp_path, fast_dev_run=2, callbacks=[good]).fit(TinyModel(), make_loader())
    assert good.resolved_lengths == {"T_max": 2}
    assert torch.isfinite(torch.tensor(good.summary()["last"]))
