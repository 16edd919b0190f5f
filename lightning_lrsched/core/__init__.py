"""The core: what the learning rate is at each position of a run, with torch alone (no Lightning).

A schedule is a description (:class:`Schedule` and one class per type, named as torch's); its :class:`Timeline`
on an optimizer is the plan and the position, moved by the events of a run (``optimizer_step()``,
``epoch_end()``, ``validation(values)``), which write each group's lr once. A plain torch loop or Lightning Fabric
drives it by hand; the callbacks of :mod:`lightning_lrsched` drive it from a Trainer's hooks.

Example::

    >>> import torch
    >>> from lightning_lrsched.core import CosineAnnealingLR, TrainingLength
    >>> optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    >>> timeline = CosineAnnealingLR(warmup=2).timeline(optimizer, TrainingLength(total_steps=10, steps_per_epoch=5))
    >>> for _ in range(3):
    ...     optimizer.step()
    ...     timeline.optimizer_step()
    >>> round(optimizer.param_groups[0]["lr"], 4)
    0.0962
"""

from lightning_lrsched.core.composite import ChainedScheduler, SequentialLR
from lightning_lrsched.core.duration import Duration, DurationLike, TrainingLength
from lightning_lrsched.core.greedy import GreedyLR
from lightning_lrsched.core.hf_schedules import TransformersLR
from lightning_lrsched.core.plateau import ReduceLROnPlateau
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.core.schedules import (
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    InverseSqrtLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    StepLR,
    WarmupStableDecayLR,
)
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.core.timm_schedules import TimmLR, schedule_from_timm

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "Duration",
    "DurationLike",
    "ExponentialLR",
    "GreedyLR",
    "InverseSqrtLR",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "Schedule",
    "SequentialLR",
    "StepLR",
    "Timeline",
    "TimmLR",
    "TrainingLength",
    "TransformersLR",
    "WarmupStableDecayLR",
    "schedule_from_timm",
]
