"""The schedules of the golden checkpoints: one per kind of state (plain, warmup, plateau, composite)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import lightning_lrsched as lrs
from tests.helpers import TinyModel

STOP_STEP = 13
"""The checkpoint is written after this many optimizer steps: mid-epoch (10 batches per epoch)."""

CASES: dict[str, Callable[[], lrs.LRSchedulerCallback]] = {
    "onecycle": lambda: lrs.OneCycleLR(max_lr=[1.0, 0.1]),
    "steplr": lambda: lrs.StepLR(1, gamma=0.5),
    "cosine_warmup": lambda: lrs.CosineAnnealingLR(warmup="20%", warmup_start_factor=0.1),
    "plateau": lambda: lrs.ReduceLROnPlateau(patience=0, factor=0.5, warmup=5),
    "sequential": lambda: lrs.SequentialLR(
        [lrs.LinearLR(0.1, 1.0, total_iters="100%", interval="step"), lrs.CosineAnnealingLR()], milestones=["25%"]
    ),
}


CASES_V1: dict[str, Callable[[], lrs.LRSchedulerCallback]] = {
    "hf_cosine": lambda: lrs.TransformersLR("cosine", num_warmup_steps=4),
    "timm_cosine": lambda: lrs.TimmLR("cosine", warmup_t=1, warmup_lr_init=0.01, lr_min=0.001),
    "greedy": lambda: lrs.GreedyLR(patience=0, factor=0.5, min_lr=0.0001, warmup=3),
    "wsd": lambda: lrs.WarmupStableDecayLR(decay="30%", warmup=4),
    "chained": lambda: lrs.ChainedScheduler([lrs.ConstantLR(factor=0.5, total_iters=2), lrs.ExponentialLR(0.8)]),
    "multistep_percent": lambda: lrs.MultiStepLR(["25%", "60%"], gamma=0.3, warmup="1ep"),
}
"""Written by lightning_lrsched 0.1.0 after the Timeline redesign, before the core redesign (issue 21):
`python -m tests.golden.make_golden v1` writes them to tests/golden/v1/."""


class GoldenModel(TinyModel):
    """Logs val_loss from a fixed sequence per epoch, so that the plateau schedule reduces the same way."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", torch.tensor([1.0, 1.1, 0.9, 0.95, 1.0][self.current_epoch]))
