"""Bad input fails early, with a message naming the argument, the value and the fix."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.optim import lr_scheduler as ts
from torch.utils.data import DataLoader, IterableDataset

import lightning_lrsched as lrs
from lightning_lrsched.core.duration import Duration, TrainingLength
from tests.helpers import TinyModel, make_loader, trainer

CONSTRUCTION: list[tuple[Any, type[Exception], str]] = [
    (lambda: lrs.StepLR(2, gamma=0), ValueError, r"`gamma` to be positive, but got 0\. Use e\.g\. gamma=0\.1"),
    (lambda: lrs.StepLR(2, gamma=-1.0), ValueError, r"`gamma` to be positive, but got -1\.0"),
    (lambda: lrs.ExponentialLR(gamma="0.9"), TypeError, r"`gamma` to be a finite float .* but got '0\.9'"),
    (lambda: lrs.OneCycleLR(0.1, pct_start=1.5), ValueError, r"`pct_start` to be in the \(0, 1\) range, but got 1\.5"),
    (lambda: lrs.OneCycleLR(0.1, pct_start=0), ValueError, r"`pct_start` to be in the \(0, 1\) range, but got 0"),
    (lambda: lrs.OneCycleLR(-0.1), ValueError, r"`max_lr` to be positive, but got -0\.1"),
    (lambda: lrs.OneCycleLR(0.1, anneal_strategy="cosine"), ValueError, r"`anneal_strategy` to be one of 'cos'"),
    (lambda: lrs.OneCycleLR(0.1, total_steps=10, epochs=2), ValueError, r"both `total_steps`=10 and `epochs`=2"),
    (lambda: lrs.OneCycleLR(0.1, steps_per_epoch=5), ValueError, r"`steps_per_epoch`=5 needs `epochs`"),
    (lambda: lrs.OneCycleLR(0.1, epochs=0), ValueError, r"`epochs` to be an int >= 1, but got 0"),
    (lambda: lrs.MultiStepLR([]), ValueError, r"`milestones` to be a non-empty list .* but got \[\]"),
    (lambda: lrs.MultiStepLR(3), ValueError, r"`milestones` to be a non-empty list .* but got 3"),
    (lambda: lrs.MultiStepLR([2, "x"]), ValueError, r"`milestones\[1\]` to be an int, or a string .* got 'x'"),
    (lambda: lrs.StepLR("3 weeks"), ValueError, r"`step_size` .* but got '3 weeks'\. Known units: '%', 'ep'"),
    (lambda: lrs.StepLR(1.5), TypeError, r"`step_size` .* got 1\.5 of type float\. .* percentage, e\.g\. '10%'"),
    (lambda: lrs.StepLR("150%"), ValueError, r"`step_size` to be at most '100%' of the training, but got '150%'"),
    (lambda: lrs.StepLR(0), ValueError, r"`step_size` to be a positive length, but got 0"),
    (lambda: lrs.StepLR("2.5"), ValueError, r"`step_size` to be a whole number of intervals, but got '2\.5'"),
    (lambda: lrs.StepLR(2, interval="batch"), ValueError, r"`interval` to be one of 'step', 'epoch', but got 'batch'"),
    (lambda: lrs.StepLR(2, optimizer=-1), ValueError, r"`optimizer` to be an index >= 0 .* but got -1"),
    (lambda: lrs.StepLR(2, log_lr="yes"), TypeError, r"`log_lr` to be True or False, but got 'yes'"),
    (lambda: lrs.StepLR(2, name=""), ValueError, r"`name` to be a non-empty string or None, but got ''"),
    (lambda: lrs.LambdaLR(3), TypeError, r"`lr_lambda` to be a function .* but got 3\. Example"),
    (lambda: lrs.ConstantLR(factor=2.0), ValueError, r"`factor` to be in the \[0, 1\] range, but got 2\.0"),
    (lambda: lrs.LinearLR(start_factor=0), ValueError, r"`start_factor` to be in the \(0, 1\] range, but got 0"),
    (lambda: lrs.PolynomialLR(power=-1.0), ValueError, r"`power` to be non-negative, but got -1\.0"),
    (lambda: lrs.CosineAnnealingLR(eta_min=-1.0), ValueError, r"`eta_min` to be non-negative, but got -1\.0"),
    (lambda: lrs.CosineAnnealingWarmRestarts(2, T_mult=0), ValueError, r"`T_mult` to be an int >= 1, but got 0"),
    (lambda: lrs.CyclicLR(0.1, 1.0, mode="zigzag"), ValueError, r"`mode` to be one of 'triangular'.* got 'zigzag'"),
    (lambda: lrs.CyclicLR(0.1, 1.0, scale_fn=3), TypeError, r"`scale_fn` to be a function or None, but got 3"),
    (lambda: lrs.LRSchedulerCallback("StepLR"), TypeError, r"`scheduler` to be a scheduler class .* got 'StepLR'"),
    (
        lambda: lrs.LRSchedulerCallback(ts.StepLR, lengths=["step_size"]),
        ValueError,
        r"`lengths` names \['step_size'\], which are not among the scheduler arguments",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), CONSTRUCTION, ids=[c[2][:40] for c in CONSTRUCTION])
def test_construction_errors(make, error, message) -> None:
    with pytest.raises(error, match=message):
        make()


class Unsized(IterableDataset):
    def __iter__(self) -> Any:
        yield from make_loader().dataset  # type: ignore[attr-defined]


FIT_START: list[tuple[str, Any, dict[str, Any], str]] = [
    (
        "unbounded",
        lambda: lrs.CosineAnnealingLR(),
        {"max_epochs": -1},
        r"omitted `T_max` needs the length .* Set `max_steps`",
    ),
    ("unbounded-pct", lambda: lrs.StepLR("10%"), {"max_epochs": -1}, r"`step_size`='10%' needs the length"),
    ("index", lambda: lrs.StepLR(1, optimizer=3), {}, r"`StepLR\(optimizer=3\)` is out of range: .* 1 optimizer"),
    (
        "name",
        lambda: lrs.StepLR(1, optimizer="Adam"),
        {},
        r"optimizer='Adam'\)` matches no optimizer .*\(0: SGD\). Use the optimizer's index",
    ),
    (
        "order",
        lambda: lrs.MultiStepLR(["75%", "25%"]),
        {},
        r"`milestones` to be increasing, .* resolves to \[2, 1\] epochs",
    ),
    ("zero", lambda: lrs.StepLR("1 steps"), {}, r"`step_size`='1 steps' is 0\.1 epochs .* rounds to 0"),
]


@pytest.mark.parametrize(("label", "make", "options", "message"), FIT_START, ids=[c[0] for c in FIT_START])
def test_fit_start_errors(tmp_path, label, make, options, message) -> None:
    run = trainer(tmp_path, callbacks=[make()], **{"max_epochs": 2, **options})
    with pytest.raises(ValueError, match=message):
        run.fit(TinyModel(), make_loader())


def test_epoch_length_without_sized_data_is_an_error(tmp_path) -> None:
    run = trainer(tmp_path, max_steps=20, callbacks=[lrs.StepLR("1ep", interval="step")])
    with pytest.raises(ValueError, match=r"`step_size`='1ep' converts between epochs and steps, but .* no length"):
        run.fit(TinyModel(), DataLoader(Unsized(), batch_size=3))


def test_module_scheduler_and_callback_on_one_optimizer(tmp_path) -> None:
    model = TinyModel(scheduler=lambda optimizer: ts.StepLR(optimizer, 1))
    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.OneCycleLR(0.1)])
    with pytest.raises(ValueError, match=r"returns its own scheduler \(StepLR\) for SGD, which `OneCycleLR` also"):
        run.fit(model, make_loader())


def test_two_callbacks_on_one_optimizer(tmp_path) -> None:
    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.StepLR(1), lrs.ExponentialLR(0.9, name="other")])
    with pytest.raises(ValueError, match=r"`StepLR` and `ExponentialLR`, schedule the same optimizer .*SequentialLR"):
        run.fit(TinyModel(), make_loader())


def test_checkpoint_of_another_schedule_type(tmp_path) -> None:
    first = trainer(tmp_path, max_epochs=1, callbacks=[lrs.StepLR(1)])
    first.fit(TinyModel(), make_loader())
    path = tmp_path / "step.ckpt"
    first.save_checkpoint(path)
    second = trainer(tmp_path, max_epochs=2, callbacks=[lrs.ExponentialLR(0.5)])
    with pytest.raises(ValueError, match=r"holds learning-rate schedule state under .*StepLR.*load_from_checkpoint"):
        second.fit(TinyModel(), make_loader(), ckpt_path=path)


def test_corrupted_state() -> None:
    schedule = lrs.StepLR(1)
    with pytest.raises(ValueError, match=r"written by `ExponentialLR`, but this callback is `StepLR`"):
        schedule.load_state_dict({"type": "ExponentialLR", "scheduler": {}})
    with pytest.raises(ValueError, match=r"is corrupted: keys \['scheduler', 'steps'\] are missing"):
        schedule.load_state_dict({"type": "StepLR", "scheduler": 3, "epochs": 1, "interval": "epoch", "resolved": {}})


def test_cyclic_momentum_without_momentum_is_a_clear_error(tmp_path) -> None:
    class Plain(TinyModel):
        def configure_optimizers(self) -> Any:
            return torch.optim.Adagrad(self.parameters(), lr=0.1)  # neither momentum nor betas to cycle

    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.CyclicLR(0.01, 0.1, step_size_up=5)])
    with pytest.raises(ValueError, match=r"CyclicLR could not build its scheduler on Adagrad .*momentum"):
        run.fit(Plain(), make_loader())


DURATIONS = [
    (7, "step", 7),
    ("10%", "step", 4),
    ("50%", "epoch", 2),
    ("1ep", "step", 10),
    ("1.5 epochs", "step", 15),
    ("2 epochs", "epoch", 2),
    ("20 steps", "epoch", 2),
    ("15steps", "step", 15),
    ("100%", "step", 40),
]


@pytest.mark.parametrize(("text", "interval", "expected"), DURATIONS)
def test_duration_resolution(text, interval, expected) -> None:
    length = TrainingLength(total_steps=40, steps_per_epoch=10)
    assert Duration.parse("x", text).resolve("x", interval, length) == expected
