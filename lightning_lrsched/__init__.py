"""Learning-rate schedules for PyTorch Lightning that step themselves correctly.

Example::

    >>> import lightning as L
    >>> from lightning_lrsched import OneCycleLR
    >>> trainer = L.Trainer(max_epochs=5, callbacks=[OneCycleLR(max_lr=3e-4)], logger=False)
"""

from lightning_lrsched.core.composite import ChainedScheduler, SequentialLR
from lightning_lrsched.core.duration import Duration, DurationLike, TrainingLength
from lightning_lrsched.core.greedy import GreedyLR
from lightning_lrsched.core.hf_schedules import TransformersLR
from lightning_lrsched.core.plateau import ReduceLROnPlateau
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
from lightning_lrsched.diagnostics import LRDiagnostics, Rewind
from lightning_lrsched.lightning.callback import LRSchedulerCallback
from lightning_lrsched.lightning.hf_config import schedule_from_hf
from lightning_lrsched.lightning.metrics import ClassificationMetrics
from lightning_lrsched.lightning.module import ClassifierModule
from lightning_lrsched.lightning.names import SCHEDULE_NAMES, schedule_from_name
from lightning_lrsched.report.preview import plot_schedule, preview

__version__ = "0.1.0"

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
    "Rewind",
    "LRSchedulerCallback",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "SCHEDULE_NAMES",
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
