"""schedule_from_name: build a schedule callback from a name, for configs and the command line."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from lightning_lrsched import schedules
from lightning_lrsched.callback import LRSchedulerCallback
from lightning_lrsched.composite import ChainedScheduler, SequentialLR
from lightning_lrsched.plateau import ReduceLROnPlateau


def _fixed(cls: type[LRSchedulerCallback], **defaults: Any) -> Callable[..., LRSchedulerCallback]:
    def build(**kwargs: Any) -> LRSchedulerCallback:
        return cls(**{**defaults, **kwargs})

    return build


_CLASSES: dict[str, type[LRSchedulerCallback]] = {
    cls.__name__: cls
    for cls in (
        schedules.LambdaLR,
        schedules.MultiplicativeLR,
        schedules.StepLR,
        schedules.MultiStepLR,
        schedules.ConstantLR,
        schedules.LinearLR,
        schedules.ExponentialLR,
        schedules.PolynomialLR,
        schedules.CosineAnnealingLR,
        schedules.CosineAnnealingWarmRestarts,
        schedules.CyclicLR,
        schedules.OneCycleLR,
        schedules.InverseSqrtLR,
        schedules.WarmupStableDecayLR,
        ReduceLROnPlateau,
        SequentialLR,
        ChainedScheduler,
    )
}

SCHEDULE_NAMES: dict[str, Callable[..., LRSchedulerCallback]] = {
    # the names transformers' `get_scheduler` uses, mapped to the callback that gives the same curve
    "linear": _fixed(schedules.PolynomialLR, power=1.0),
    "cosine": schedules.CosineAnnealingLR,
    "cosine_with_restarts": schedules.CosineAnnealingWarmRestarts,
    "polynomial": schedules.PolynomialLR,
    "constant": _fixed(schedules.ConstantLR, factor=1.0, total_iters=1, interval="step"),
    "constant_with_warmup": _fixed(schedules.ConstantLR, factor=1.0, total_iters=1, interval="step"),
    "inverse_sqrt": schedules.InverseSqrtLR,
    "warmup_stable_decay": schedules.WarmupStableDecayLR,
    "wsd": schedules.WarmupStableDecayLR,
    "plateau": ReduceLROnPlateau,
    "reduce_lr_on_plateau": ReduceLROnPlateau,
    "one_cycle": schedules.OneCycleLR,
    "cyclic": schedules.CyclicLR,
    "step": schedules.StepLR,
    "multistep": schedules.MultiStepLR,
    "exponential": schedules.ExponentialLR,
    **_CLASSES,
}


def schedule_from_name(name: str, **kwargs: Any) -> LRSchedulerCallback:
    """Build a schedule callback from its name and arguments.

    Names: ``"linear"``, ``"cosine"``, ``"cosine_with_restarts"``, ``"polynomial"``, ``"constant"``,
    ``"constant_with_warmup"``, ``"inverse_sqrt"``, ``"warmup_stable_decay"`` (``"wsd"``), ``"plateau"``,
    ``"one_cycle"``, ``"cyclic"``, ``"step"``, ``"multistep"``, ``"exponential"``, and every callback's class name
    (``"OneCycleLR"``, ``"CosineAnnealingLR"``, ...).

    Args:
        name: the schedule's name (case-insensitive for the short names).
        **kwargs: the callback's arguments, ``warmup`` and ``interval`` included.

    Raises:
        ValueError: for an unknown name, listing the valid ones and the closest match.

    Example::

        >>> schedule_from_name("cosine", warmup="10%").interval
        'step'
    """
    factory = SCHEDULE_NAMES.get(name) or SCHEDULE_NAMES.get(name.lower() if isinstance(name, str) else name)
    if factory is None:
        names = sorted(SCHEDULE_NAMES)
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown schedule name {name!r}.{hint} Valid names: {', '.join(names)}.")
    return factory(**kwargs)
