"""The bad-input matrix: every constructor parameter of every public callback, given wrong types and values.

The table is built from the signatures, so a parameter added later is covered without editing this file. Each
bad value must be refused at construction with a TypeError or ValueError whose message names the parameter in
backticks, never accepted silently and never left to fail deep inside torch. The few values that are valid for
a parameter (a string for `name`, an empty list for `lengths`, ...) are listed in ACCEPTED with the reason.
Errors that need the Trainer (optimizer out of range, unbounded runs, conflicts, checkpoints) are in
test_errors.py; metric problems (missing key, NaN) in test_plateau.py.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import pytest
from lightning.pytorch.callbacks import Callback
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import TinyModel, make_loader, trainer

PUBLIC = [getattr(lrs, name) for name in lrs.__all__]
CALLBACKS = sorted(
    (obj for obj in PUBLIC if inspect.isclass(obj) and issubclass(obj, lrs.LRSchedulerCallback)),
    key=lambda cls: cls.__name__,
)
OTHERS = [lrs.LRDiagnostics]
"""Public callbacks that are not schedules: no shared schedule arguments."""

REQUIRED: dict[str, dict[str, Any]] = {
    "LRSchedulerCallback": {"scheduler": ts.StepLR, "step_size": 1, "lengths": ["step_size"]},
    "LambdaLR": {"lr_lambda": lambda n: 1.0},
    "MultiplicativeLR": {"lr_lambda": lambda n: 0.9},
    "StepLR": {"step_size": 1},
    "MultiStepLR": {"milestones": [1]},
    "ExponentialLR": {"gamma": 0.9},
    "CosineAnnealingWarmRestarts": {"T_0": 1},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2},
    "OneCycleLR": {"max_lr": 0.1},
    "SequentialLR": {"schedulers": [lrs.StepLR(1), lrs.ExponentialLR(0.9)], "milestones": ["50%"]},
    "ChainedScheduler": {"schedulers": [lrs.StepLR(1), lrs.ExponentialLR(0.9)]},
}
"""The smallest valid arguments of each class; the matrix replaces one of them at a time."""

BAD_VALUES: list[tuple[str, Any]] = [
    ("object", object()),
    ("word", "nonsense"),
    ("negative", -1),
    ("nan", math.nan),
    ("inf", math.inf),
    ("empty-list", []),
    ("dict", {"a": 1}),
]

ACCEPTED: dict[tuple[str, str], str] = {
    ("optimizer", "word"): "an optimizer class name; checked at fit start (test_errors.py::test_fit_start_errors)",
    ("name", "word"): "any non-empty string is a valid tag prefix",
    ("lengths", "empty-list"): "no length arguments",
    ("monitor", "word"): "any logged key; a missing one fails after the first validation (test_plateau.py)",
    ("loss_key", "word"): "any logged key",
    ("summary_file", "word"): "a file name in the log directory",
}


def parameters(cls: type) -> list[str]:
    signature = inspect.signature(cls)
    return [
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


def shared_parameters() -> list[str]:
    return [name for name in parameters(lrs.LRSchedulerCallback) if name not in {"scheduler", "lengths"}]


MATRIX = [
    (cls, param, label, value)
    for cls in CALLBACKS + OTHERS
    for param in dict.fromkeys(parameters(cls) + (shared_parameters() if cls in CALLBACKS else []))
    for label, value in BAD_VALUES
    if (param, label) not in ACCEPTED
    and not (cls is lrs.ReduceLROnPlateau and param == "interval")  # refused, tested in test_plateau.py
]


def test_the_matrix_covers_every_public_callback_and_parameter() -> None:
    assert len(CALLBACKS) == 21
    covered = {(cls.__name__, param) for cls, param, _, _ in MATRIX}
    assert ("OneCycleLR", "pct_start") in covered
    assert ("CosineAnnealingLR", "warmup_start_factor") in covered
    assert ("SequentialLR", "schedulers") in covered
    assert ("LRDiagnostics", "spike_factor") in covered
    assert ("TransformersLR", "num_warmup_steps") in covered
    assert ("GreedyLR", "wait_after_increase") in covered
    assert len(MATRIX) > 600


@pytest.mark.parametrize(
    ("cls", "param", "label", "value"),
    MATRIX,
    ids=[f"{cls.__name__}-{param}-{label}" for cls, param, label, _ in MATRIX],
)
def test_every_bad_argument_is_refused_at_construction_naming_the_parameter(cls, param, label, value) -> None:
    kwargs = {**REQUIRED.get(cls.__name__, {}), param: value}
    if cls is lrs.LRSchedulerCallback and param == "lengths":
        kwargs["lengths"] = value
    with pytest.raises((TypeError, ValueError)) as raised:
        cls(**kwargs)
    message = str(raised.value)
    assert f"`{param}" in message, f"{cls.__name__}({param}={value!r}) raised without naming it: {message}"


@pytest.mark.parametrize("cls", CALLBACKS + OTHERS, ids=[cls.__name__ for cls in CALLBACKS + OTHERS])
def test_the_required_arguments_alone_are_valid(cls) -> None:
    assert isinstance(cls(**REQUIRED.get(cls.__name__, {})), Callback)


RELATIONS: list[tuple[Any, str]] = [
    (lambda: lrs.CyclicLR(0.1, 0.01), r"`base_lr`=0\.1 to be at most `max_lr`=0\.01\. Swap them"),
    (lambda: lrs.CyclicLR([0.1, 0.001], 0.01), r"`base_lr`=\[0\.1, 0\.001\] to be at most `max_lr`=0\.01"),
    (lambda: lrs.CyclicLR([0.1, 0.2], [1.0, 2.0, 3.0]), r"`base_lr` and `max_lr` give 2 and 3 values"),
    (lambda: lrs.OneCycleLR(0.1, base_momentum=0.99, max_momentum=0.9), r"`base_momentum`=0\.99 to be at most"),
    (lambda: lrs.OneCycleLR(0.1, max_momentum=1.5), r"`max_momentum` to be in the \[0, 1\] range, but got 1\.5"),
    (lambda: lrs.LRSchedulerCallback(ts.StepLR, step_size=1, lengths="step_size"), r"`lengths` to be a list"),
    (lambda: lrs.SequentialLR("StepLR", []), r"`schedulers` of `SequentialLR` to be a non-empty list"),
]


@pytest.mark.parametrize(("make", "message"), RELATIONS, ids=[r[1][:30] for r in RELATIONS])
def test_arguments_that_disagree_with_each_other(make, message) -> None:
    with pytest.raises(ValueError if "lengths" not in message else TypeError, match=message):
        make()


PAST_THE_END: list[tuple[str, Any, str]] = [
    ("epochs", lambda: lrs.StepLR("20ep"), r"`step_size`='20ep' resolves to 20 epochs, but this training has 2 epochs"),
    ("steps", lambda: lrs.StepLR("500 steps", interval="step"), r"`step_size`='500 steps' resolves to 500 steps"),
    ("milestone", lambda: lrs.MultiStepLR(["1ep", "30ep"]), r"`milestones`=\['1ep', '30ep'\] resolves to 30 epochs"),
    ("cosine", lambda: lrs.CosineAnnealingLR(T_max="30ep"), r"`T_max`='30ep' resolves to 300 steps, but .* 20 steps"),
    ("onecycle", lambda: lrs.OneCycleLR(0.1, total_steps=1000), r"`total_steps`=1000 resolves to 1000 steps"),
    (
        "after-warmup",
        lambda: lrs.CosineAnnealingLR(T_max="19 steps", warmup=5),
        r"`T_max`='19 steps' resolves to 19 steps, but this training has 15 steps after the warmup",
    ),
]


@pytest.mark.parametrize(("label", "make", "message"), PAST_THE_END, ids=[p[0] for p in PAST_THE_END])
def test_a_length_longer_than_the_training_warns_once_and_trains(tmp_path, label, make, message) -> None:
    run = trainer(tmp_path, max_epochs=2, callbacks=[make()])
    with pytest.warns(UserWarning, match=message) as caught:
        run.fit(TinyModel(), make_loader())
    ours = [w for w in caught if "resolves to" in str(w.message)]
    assert len(ours) == 1
    assert run.global_step == 20


def test_a_time_constant_may_be_longer_than_the_training(tmp_path) -> None:
    run = trainer(tmp_path, max_epochs=2, callbacks=[lrs.InverseSqrtLR(timescale=1000)])
    run.fit(TinyModel(), make_loader())  # no warning: the filterwarnings setting turns ours into errors
    assert run.global_step == 20
