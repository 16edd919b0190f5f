"""schedule_from_name: build a schedule callback from a name, for configs and the command line."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from lightning_lrsched.core import timm_schedules
from lightning_lrsched.core.hf_schedules import FACTORIES
from lightning_lrsched.lightning import schedules
from lightning_lrsched.lightning.callback import OPTIONS, LRSchedulerCallback
from lightning_lrsched.lightning.schedules import (
    ChainedScheduler,
    GreedyLR,
    ReduceLROnPlateau,
    SequentialLR,
    TransformersLR,
)

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
        GreedyLR,
        TransformersLR,
        SequentialLR,
        ChainedScheduler,
    )
}


def _transformers(lr_scheduler_type: str) -> Callable[..., LRSchedulerCallback]:
    def build(**kwargs: Any) -> LRSchedulerCallback:
        return TransformersLR(lr_scheduler_type, **kwargs)

    return build


SCHEDULE_NAMES: dict[str, Callable[..., LRSchedulerCallback]] = {
    # transformers' 12 `SchedulerType` names, with transformers' arguments
    **{name: _transformers(name) for name in FACTORIES},
    "reduce_lr_on_plateau": ReduceLROnPlateau,
    "greedy": GreedyLR,
    # this package's short names
    "wsd": schedules.WarmupStableDecayLR,
    "plateau": ReduceLROnPlateau,
    "one_cycle": schedules.OneCycleLR,
    "cyclic": schedules.CyclicLR,
    "step": schedules.StepLR,
    "multistep": schedules.MultiStepLR,
    "exponential": schedules.ExponentialLR,
    **_CLASSES,
}


def schedule_from_name(name: str, **kwargs: Any) -> LRSchedulerCallback:
    """Build a schedule callback from its name and arguments.

    Names: transformers' twelve ``SchedulerType`` names with transformers' arguments (``"linear"``,
    ``"cosine"``, ``"cosine_with_restarts"``, ``"polynomial"``, ``"constant"``, ``"constant_with_warmup"``,
    ``"inverse_sqrt"``, ``"cosine_with_min_lr"``, ``"cosine_warmup_with_min_lr"``, ``"warmup_stable_decay"``:
    :class:`TransformersLR`; ``"reduce_lr_on_plateau"``: :class:`ReduceLROnPlateau`; ``"greedy"``:
    :class:`GreedyLR`), this package's ``"wsd"`` (:class:`WarmupStableDecayLR`), ``"plateau"``, ``"one_cycle"``,
    ``"cyclic"``, ``"step"``, ``"multistep"``, ``"exponential"``, and every callback's class name
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


def schedule_from_timm(sched: str = "cosine", **kwargs: Any) -> LRSchedulerCallback:
    """The callback of the schedule timm's ``create_scheduler_v2`` builds from these arguments.

    The arguments are those of :func:`lightning_lrsched.core.timm_schedules.schedule_from_timm` (timm's names and
    defaults: ``num_epochs``, ``warmup_epochs``, ``min_lr``, ...), and those of every callback (``optimizer``,
    ``log_lr``, ``name``, ...).

    Example::

        >>> schedule_from_timm("cosine", warmup_epochs=2, warmup_lr=1e-6, min_lr=1e-5, log_lr=False).interval
        'epoch'
    """
    options = {key: kwargs.pop(key) for key in OPTIONS if key in kwargs}
    return LRSchedulerCallback.holding(timm_schedules.schedule_from_timm(sched, **kwargs), **options)
