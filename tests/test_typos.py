"""Misspelled arguments and monitors are errors at construction that name the typo and the fix."""

from __future__ import annotations

import inspect

import pytest
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.test_bad_input import CALLBACKS, REQUIRED

CASES = [
    (cls, name)
    for cls in CALLBACKS
    if cls.__name__ not in ("SequentialLR", "ChainedScheduler")
    for name in inspect.signature(cls).parameters
    if name not in ("kwargs", "scheduler_kwargs", "scheduler", "lengths")
]


@pytest.mark.parametrize(("cls", "name"), CASES, ids=[f"{c.__name__}-{n}" for c, n in CASES])
def test_a_misspelled_argument_is_named_with_the_closest_valid_one(cls, name) -> None:
    typo = f"{name}x"
    with pytest.raises(TypeError, match=rf"got an unknown argument `{typo}`=1\. Did you mean `{name}`\?"):
        cls(**REQUIRED.get(cls.__name__, {}), **{typo: 1})


@pytest.mark.parametrize(
    ("make", "typo", "meant"),
    [
        (lambda: lrs.OneCycleLR(max_lr=1e-2, pct_strat=0.2), "pct_strat", "pct_start"),
        (lambda: lrs.CosineAnnealingLR(warmp="10%"), "warmp", "warmup"),
        (lambda: lrs.LRSchedulerCallback(ts.StepLR, step_siz=2, lengths=()), "step_siz", "step_size"),
    ],
    ids=["torch-argument", "callback-argument", "own-scheduler"],
)
def test_the_issue_examples(make, typo, meant) -> None:
    with pytest.raises(TypeError, match=rf"`{typo}`.*Did you mean `{meant}`"):
        make()


def test_a_factory_taking_any_keyword_is_not_second_guessed() -> None:
    def factory(optimizer, **anything):  # type: ignore[no-untyped-def]
        return ts.StepLR(optimizer, step_size=anything["every"])

    assert lrs.LRSchedulerCallback(factory, every=2).schedule._kwargs == {"every": 2}


@pytest.mark.parametrize(("monitor", "meant"), [("val_los", "val_loss"), ("val_acuracy", "val_accuracy"),
                                                ("train_los", "train_loss"), ("val/f11", "val/f1")])  # fmt: skip
def test_a_misspelled_monitor_is_named_not_sent_to_mode(monitor, meant) -> None:
    with pytest.raises(ValueError, match=rf"looks like a misspelling of '{meant}'\. Did you mean `monitor='{meant}'`"):
        lrs.ReduceLROnPlateau(monitor)


def test_a_metric_really_named_like_a_typo_can_be_given_with_its_mode() -> None:
    assert lrs.ReduceLROnPlateau("val_los", mode="min").monitor == "val_los"  # checked at the first validation
