"""Preview a schedule without training: the lr of every optimizer step, exactly as a Trainer run produces it."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lightning_lrsched import _checks
from lightning_lrsched.callback import LRSchedulerCallback
from lightning_lrsched.plateau import ReduceLROnPlateau

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class _EpochLoop:
    finished: bool = False

    def _num_ready_batches_reached(self) -> bool:
        return self.finished


@dataclass
class _FitLoop:
    epoch_loop: _EpochLoop = field(default_factory=_EpochLoop)


class _PreviewTrainer:
    """The few Trainer attributes a schedule callback reads, for a run of ``epochs`` x ``steps_per_epoch``."""

    def __init__(self, optimizer: torch.optim.Optimizer, callback: LRSchedulerCallback, epochs: int, steps: int):
        self.optimizers = [optimizer]
        self.lr_scheduler_configs: list[Any] = []
        self.callbacks = [callback]
        self.estimated_stepping_batches = epochs * steps
        self.num_training_batches = steps
        self.accumulate_grad_batches = 1
        self.progress_bar_callback = None
        self.loggers: list[Any] = []
        self.log_every_n_steps = 1
        self.fit_loop = _FitLoop()
        self.sanity_checking = False
        self.callback_metrics: dict[str, torch.Tensor] = {}
        self.world_size = 1
        self.is_global_zero = True
        self.global_step = 0
        self.current_epoch = 0


def preview(
    schedule: LRSchedulerCallback,
    *,
    epochs: int,
    steps_per_epoch: int,
    lr: float | Sequence[float] = 1e-3,
    metrics: Sequence[float] | None = None,
) -> list[list[float]]:
    """The learning rate of every optimizer step of a run, per param group, without a model or data.

    The callback is driven through the same hooks a Trainer calls (fit start, every optimizer step, every epoch
    end, and a validation at every epoch end), so the result is exactly what ``trainer.fit`` would produce with
    ``max_epochs=epochs`` and ``steps_per_epoch`` optimizer steps per epoch. The callback passed in is not
    changed (a copy is driven).

    Args:
        schedule: any callback of this package (warmup and composites included).
        epochs: number of training epochs.
        steps_per_epoch: optimizer steps per epoch (training batches / accumulate_grad_batches, rounded up).
        lr: the optimizer's learning rate, or one per param group.
        metrics: for ``ReduceLROnPlateau`` (also inside a composite), the monitored value of each epoch's
            validation; epochs beyond the list run without validation.

    Returns:
        One list per optimizer step, with the learning rate of each param group.

    Example::

        >>> from lightning_lrsched import CosineAnnealingLR
        >>> lrs = preview(CosineAnnealingLR(warmup=2), epochs=2, steps_per_epoch=6, lr=1.0)
        >>> [round(group[0], 3) for group in lrs]
        [0.0, 0.5, 1.0, 0.976, 0.905, 0.794, 0.655, 0.5, 0.345, 0.206, 0.095, 0.024]
    """
    _checks.integer("epochs", epochs, 1)
    _checks.integer("steps_per_epoch", steps_per_epoch, 1)
    if not isinstance(schedule, LRSchedulerCallback):
        raise TypeError(
            f"Expected argument `schedule` to be a lightning_lrsched callback such as `OneCycleLR(...)`, but got"
            f" {schedule!r}. For a name use `schedule_from_name(name, **kwargs)`."
        )
    rates = [float(lr)] if isinstance(lr, (int, float)) else [float(v) for v in lr]
    _checks.positive("lr", rates)
    callback = copy.deepcopy(schedule)
    optimizer = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(()))], "lr": r} for r in rates], momentum=0.9)
    trainer = _PreviewTrainer(optimizer, callback, epochs, steps_per_epoch)
    monitor = _monitors(callback)
    callback.on_fit_start(trainer, None)  # type: ignore[arg-type]
    optimizer._opt_called = True  # type: ignore[attr-defined]  # steps are simulated: no optimizer.step() runs
    trace: list[list[float]] = []
    # the same objects all along: a plateau schedule sees no fresh value (and does not step) in epochs without one
    unchanged = {key: torch.tensor(math.nan) for key in monitor}
    for epoch in range(epochs):
        trainer.current_epoch = epoch
        trainer.callback_metrics = unchanged
        callback.on_train_epoch_start(trainer, None)  # type: ignore[arg-type]
        for batch in range(steps_per_epoch):
            trace.append([group["lr"] for group in optimizer.param_groups])
            callback._after_optimizer_step(optimizer, (), {})
            trainer.global_step += 1
            trainer.fit_loop.epoch_loop.finished = batch == steps_per_epoch - 1
            callback.on_train_batch_end(trainer, None, None, None, batch)  # type: ignore[arg-type]
        if metrics is not None and epoch < len(metrics) and monitor:
            callback.on_validation_start(trainer, None)  # type: ignore[arg-type]
            trainer.callback_metrics = {key: torch.tensor(float(metrics[epoch])) for key in monitor}
            callback.on_validation_end(trainer, None)  # type: ignore[arg-type]
        callback.on_train_epoch_end(trainer, None)  # type: ignore[arg-type]
    callback.on_fit_end(trainer, None)  # type: ignore[arg-type]
    return trace


def _monitors(callback: LRSchedulerCallback) -> list[str]:
    found = [callback.monitor] if isinstance(callback, ReduceLROnPlateau) else []
    for child in getattr(callback, "_children", []):
        found += _monitors(child)
    return found


def plot_schedule(
    schedule: LRSchedulerCallback,
    *,
    epochs: int,
    steps_per_epoch: int,
    lr: float | Sequence[float] = 1e-3,
    metrics: Sequence[float] | None = None,
    title: str | None = None,
) -> Figure:
    """A matplotlib Figure of :func:`preview`: lr per optimizer step for each param group, epochs marked.

    Example::

        >>> from lightning_lrsched import OneCycleLR
        >>> figure = plot_schedule(OneCycleLR(max_lr=0.1), epochs=3, steps_per_epoch=50)
        >>> figure.axes[0].get_xlabel()
        'optimizer step'
    """
    trace = preview(schedule, epochs=epochs, steps_per_epoch=steps_per_epoch, lr=lr, metrics=metrics)
    figure = new_figure(figsize=(7, 3.5))
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.15, top=0.9)
    axis = figure.add_subplot()
    for group in range(len(trace[0])):
        axis.plot(range(len(trace)), [step[group] for step in trace], label=f"param group {group + 1}")
    if epochs <= 50:
        for epoch in range(1, epochs):
            axis.axvline(epoch * steps_per_epoch, color="0.85", linewidth=0.8, zorder=0)
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("learning rate")
    axis.set_title(title or _describe(schedule))
    if len(trace[0]) > 1:
        axis.legend()
    return figure


def _describe(schedule: LRSchedulerCallback) -> str:
    warmup = f" + warmup {schedule._warmup.text}" if schedule._warmup is not None else ""
    return f"{type(schedule).__name__}{warmup} ({schedule.interval} interval)"


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A matplotlib Figure that needs no pyplot (so no GUI backend and no global state is touched).

    Raises:
        ModuleNotFoundError: naming what to install when matplotlib is missing.
    """
    try:
        from matplotlib.figure import Figure
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "Plotting needs matplotlib: `pip install matplotlib` (or `pip install lightning-lrsched[plot]`)."
        ) from error
    return Figure(figsize=figsize)
