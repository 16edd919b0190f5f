"""Learning-rate logging cost per optimizer step as the number of param groups grows (layer-wise decay).

Times the callback's own work per step (logging every group's lr to TensorBoard and to `callback_metrics` at the
batch start, then its optimizer pre/post hooks and the scheduler step) for 1 to 200 param groups, with
log_every_n_steps=1. For comparison it also times
writing the same values through `TensorBoardLogger.log_metrics`, one event per value, which is what
Lightning's LearningRateMonitor does.

    python benchmarks/param_groups.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from types import SimpleNamespace

import torch
from lightning.pytorch.loggers import TensorBoardLogger

from lightning_lrsched import CosineAnnealingLR, TrainingLength
from lightning_lrsched.lightning.fit_run import FitRun
from lightning_lrsched.lightning.lr_logging import LogOptions, LrLog


class _Trainer:
    """The Trainer attributes the callback's hooks and its lr log read."""

    def __init__(self, logger: TensorBoardLogger) -> None:
        self.loggers = [logger]
        self.callbacks: list[object] = []
        self.log_every_n_steps = 1
        self.global_step = 0
        self.should_stop = False
        self.progress_bar_callback = None
        self.callback_metrics: dict[str, torch.Tensor] = {}
        self.strategy = SimpleNamespace(root_device=torch.device("cpu"))
        self.fit_loop = SimpleNamespace(epoch_loop=SimpleNamespace(_batches_that_stepped=0))


def per_step_microseconds(groups: int, steps: int, root: str) -> float:
    params = [{"params": [torch.nn.Parameter(torch.zeros(()))], "lr": 1e-3} for _ in range(groups)]
    optimizer = torch.optim.AdamW(params)
    logger = TensorBoardLogger(root, name=f"groups{groups}")
    callback = CosineAnnealingLR(plan=False)
    trainer = _Trainer(logger)
    # what `on_fit_start` sets up, without a Trainer: the plan, the lr log and the trainer the hooks read
    timeline = callback.schedule.timeline(optimizer, TrainingLength(steps, steps), attach=True)
    log = LrLog(trainer, optimizer, "lr-AdamW", callback.schedule, LogOptions())  # type: ignore[arg-type]
    fit = FitRun(timeline, log, SimpleNamespace(), optimizer)  # type: ignore[arg-type]
    optimizer._opt_called = True  # type: ignore[attr-defined]
    start = time.perf_counter()
    for step in range(steps):
        trainer.global_step = trainer.fit_loop.epoch_loop._batches_that_stepped = step
        log.batch_start(timeline)
        fit.before_optimizer_step(optimizer, (), {})
        fit.after_optimizer_step(optimizer, (), {})
    seconds = time.perf_counter() - start
    logger.finalize("success")
    return seconds / steps * 1e6


def per_value_events_microseconds(groups: int, steps: int, root: str) -> float:
    logger = TensorBoardLogger(root, name=f"per_value{groups}")
    metrics = {f"lr-AdamW/pg{i + 1}": 1e-3 for i in range(groups)}
    start = time.perf_counter()
    for step in range(steps):
        logger.log_metrics(metrics, step=step)
    seconds = time.perf_counter() - start
    logger.finalize("success")
    return seconds / steps * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        for groups in (1, 10, 50, 200):
            ours = statistics.median(per_step_microseconds(groups, 300, root) for _ in range(3))
            per_value = statistics.median(per_value_events_microseconds(groups, 300, root) for _ in range(3))
            print(
                f"{groups:>4} param groups: callback {ours:8.1f} us per step ({ours / groups:5.1f} per group);"
                f" one event per value (LearningRateMonitor's way) {per_value:8.1f} us"
            )


if __name__ == "__main__":
    main()
