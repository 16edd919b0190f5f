"""What one optimizer step costs the package: calls into it during a Trainer run, and the timeline's own time.

Two figures per schedule kind, both stable where the whole-fit ratios of `overhead.py` move by a few percent from
run to run on a 4 ms step:

- calls: functions of `lightning_lrsched` entered between the end of one training batch and the end of the next
  (`sys.setprofile`), mid-epoch and past the warmup, in a Trainer run with `log_every_n_steps=1` (a step whose lrs
  are logged) and with Lightning's default 50 (a step whose lrs are not: 49 of 50);
- time: microseconds per `Timeline.optimizer_step()` on a plain two-group AdamW (median of 7 runs of 2,000 steps).

    python benchmarks/step_cost.py
"""

from __future__ import annotations

import collections
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from overhead import Model, loader  # the same model and data as the overhead benchmark
from torch import nn

import lightning_lrsched as lrs

KINDS: dict[str, Callable[[], lrs.LRSchedulerCallback]] = {
    "OneCycleLR": lambda: lrs.OneCycleLR(1e-3),
    "warmup + cosine": lambda: lrs.CosineAnnealingLR(warmup=5),
    "StepLR (epochs)": lambda: lrs.StepLR(1, gamma=0.5),
    "ReduceLROnPlateau": lambda: lrs.ReduceLROnPlateau(),
}


class Window(Callback):
    """Counts the package's function calls from the end of batch 14 to the end of batch 15."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def _count(self, frame: Any, event: str, arg: Any) -> None:
        name = frame.f_code.co_filename
        if event == "call" and "lightning_lrsched" in name and "benchmarks" not in name:
            self.calls[f"{name.rsplit('lightning_lrsched/', 1)[-1]}:{frame.f_code.co_name}"] += 1

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == 15:
            sys.setprofile(self._count)
        elif trainer.global_step == 16:
            sys.setprofile(None)


def calls_per_step(make: Callable[[], lrs.LRSchedulerCallback], log_every_n_steps: int) -> int:
    window = Window()
    with tempfile.TemporaryDirectory() as root:
        trainer = pl.Trainer(
            default_root_dir=root,
            max_epochs=2,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            log_every_n_steps=log_every_n_steps,
            callbacks=[window, make()],
        )
        trainer.fit(Model(None), loader(32 * 32, 0), loader(256, 1))
    return sum(window.calls.values())


def microseconds_per_step(make: Callable[[], lrs.LRSchedulerCallback], steps: int = 2000) -> float:
    def once() -> float:
        groups = [{"params": [nn.Parameter(torch.zeros(1))]}, {"params": [nn.Parameter(torch.zeros(1))], "lr": 1e-4}]
        optimizer = torch.optim.AdamW(groups, lr=1e-3)
        timeline = make().schedule.timeline(optimizer, lrs.TrainingLength(steps, 100))
        start = time.perf_counter()
        for _ in range(steps):
            timeline.optimizer_step()
        return (time.perf_counter() - start) / steps * 1e6

    return statistics.median(once() for _ in range(7))


def main() -> None:
    warnings.simplefilter("ignore")
    for name, make in KINDS.items():
        logged, unlogged, micro = calls_per_step(make, 1), calls_per_step(make, 50), microseconds_per_step(make)
        print(
            f"{name:>18}: {logged:3d} calls a logged step, {unlogged:3d} an unlogged one,"
            f" {micro:5.1f} us a timeline step"
        )


if __name__ == "__main__":
    main()
