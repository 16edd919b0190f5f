"""Learning-rate schedules for PyTorch Lightning that step themselves correctly.

The names below import on first use: ``lightning_lrsched.core`` (the schedules, torch alone) imports without
Lightning installed.

Example::

    >>> import lightning as L
    >>> from lightning_lrsched import OneCycleLR
    >>> trainer = L.Trainer(max_epochs=5, callbacks=[OneCycleLR(max_lr=3e-4)], logger=False)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightning_lrsched.core.duration import Duration, DurationLike, TrainingLength
    from lightning_lrsched.core.timeline import Timeline
    from lightning_lrsched.diagnostics import LRDiagnostics, Rewind
    from lightning_lrsched.lightning.callback import LRSchedulerCallback
    from lightning_lrsched.lightning.hf_config import schedule_from_hf
    from lightning_lrsched.lightning.metrics import ClassificationMetrics
    from lightning_lrsched.lightning.module import ClassifierModule
    from lightning_lrsched.lightning.names import SCHEDULE_NAMES, schedule_from_name, schedule_from_timm
    from lightning_lrsched.lightning.range_test import LRRangeTest, RangeResult
    from lightning_lrsched.lightning.schedule_free import ScheduleFreeCallback
    from lightning_lrsched.lightning.schedules import (
        ChainedScheduler,
        ConstantLR,
        CosineAnnealingLR,
        CosineAnnealingWarmRestarts,
        CyclicLR,
        ExponentialLR,
        GreedyLR,
        InverseSqrtLR,
        LambdaLR,
        LinearLR,
        MultiplicativeLR,
        MultiStepLR,
        OneCycleLR,
        PolynomialLR,
        ReduceLROnPlateau,
        SequentialLR,
        StepLR,
        TimmLR,
        TransformersLR,
        WarmupStableDecayLR,
    )
    from lightning_lrsched.report.preview import plot_schedule, preview

__version__ = "0.1.0"

_HOMES: dict[str, str] = {
    "ScheduleFreeCallback": "lightning_lrsched.lightning.schedule_free",
    **dict.fromkeys(["LRRangeTest", "RangeResult"], "lightning_lrsched.lightning.range_test"),
    **dict.fromkeys(["Duration", "DurationLike", "TrainingLength"], "lightning_lrsched.core.duration"),
    **dict.fromkeys(["Timeline"], "lightning_lrsched.core.timeline"),
    **dict.fromkeys(["LRDiagnostics", "Rewind"], "lightning_lrsched.diagnostics"),
    **dict.fromkeys(["LRSchedulerCallback"], "lightning_lrsched.lightning.callback"),
    **dict.fromkeys(["schedule_from_hf"], "lightning_lrsched.lightning.hf_config"),
    **dict.fromkeys(["ClassificationMetrics"], "lightning_lrsched.lightning.metrics"),
    **dict.fromkeys(["ClassifierModule"], "lightning_lrsched.lightning.module"),
    **dict.fromkeys(
        ["SCHEDULE_NAMES", "schedule_from_name", "schedule_from_timm"], "lightning_lrsched.lightning.names"
    ),
    **dict.fromkeys(
        [
            "ChainedScheduler",
            "ConstantLR",
            "CosineAnnealingLR",
            "CosineAnnealingWarmRestarts",
            "CyclicLR",
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
            "SequentialLR",
            "StepLR",
            "TimmLR",
            "TransformersLR",
            "WarmupStableDecayLR",
        ],
        "lightning_lrsched.lightning.schedules",
    ),
    **dict.fromkeys(["plot_schedule", "preview"], "lightning_lrsched.report.preview"),
}
"""The module each public name lives in."""

__all__ = [
    "ChainedScheduler",
    "ClassificationMetrics",
    "ClassifierModule",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "Duration",
    "DurationLike",
    "ExponentialLR",
    "GreedyLR",
    "InverseSqrtLR",
    "LRDiagnostics",
    "LRSchedulerCallback",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "Rewind",
    "SCHEDULE_NAMES",
    "ScheduleFreeCallback",
    "LRRangeTest",
    "RangeResult",
    "SequentialLR",
    "StepLR",
    "Timeline",
    "TimmLR",
    "TrainingLength",
    "TransformersLR",
    "WarmupStableDecayLR",
    "plot_schedule",
    "preview",
    "schedule_from_hf",
    "schedule_from_name",
    "schedule_from_timm",
]


def __getattr__(name: str) -> Any:
    if name in ("core", "lightning", "report", "diagnostics"):
        return importlib.import_module(f"{__name__}.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'lightning_lrsched' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
