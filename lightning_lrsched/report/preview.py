"""Preview a schedule without training: the lr of every optimizer step, exactly as a Trainer run produces it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import torch
from torch import nn

from lightning_lrsched import _checks
from lightning_lrsched.core.duration import TrainingLength
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.report.plotting import draw_schedule, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["new_figure", "plot_schedule", "preview", "preview_run"]


class HoldsSchedule(Protocol):
    """A callback of this package: what it holds is the schedule to preview."""

    schedule: Schedule


def _schedule(given: Schedule | HoldsSchedule) -> Schedule:
    schedule = getattr(given, "schedule", given)
    if not isinstance(schedule, Schedule):
        raise TypeError(
            f"Expected argument `schedule` to be a lightning_lrsched schedule or callback such as `OneCycleLR(...)`,"
            f" but got {given!r}. For a name use `schedule_from_name(name, **kwargs)`."
        )
    return schedule


def preview(
    schedule: Schedule | HoldsSchedule,
    *,
    epochs: int,
    steps_per_epoch: int,
    lr: float | Sequence[float] = 1e-3,
    metrics: Sequence[float] | None = None,
) -> list[list[float]]:
    """The learning rate of every optimizer step of a run, per param group, without a model or data.

    The schedule's :class:`~lightning_lrsched.core.timeline.Timeline`, the same plan and clock a fit uses, is driven
    on a plain optimizer with the events of a run (every optimizer step, every epoch end, and a validation at every
    epoch end), so the result is exactly what ``trainer.fit`` would produce with ``max_epochs=epochs`` and
    ``steps_per_epoch`` optimizer steps per epoch. The callback passed in is not changed.

    Args:
        schedule: any schedule or callback of this package (warmup and composites included).
        epochs: number of training epochs.
        steps_per_epoch: optimizer steps per epoch (training batches / accumulate_grad_batches, rounded up).
        lr: the optimizer's learning rate, or one per param group.
        metrics: for ``ReduceLROnPlateau`` (also inside a composite), the monitored value of each epoch's
            validation; epochs beyond the list run without validation.

    Returns:
        One list per optimizer step, with the learning rate of each param group.

    Example::

        >>> from lightning_lrsched.core import CosineAnnealingLR
        >>> lrs = preview(CosineAnnealingLR(warmup=2), epochs=2, steps_per_epoch=6, lr=1.0)
        >>> [round(group[0], 3) for group in lrs]
        [0.0, 0.5, 1.0, 0.976, 0.905, 0.794, 0.655, 0.5, 0.345, 0.206, 0.095, 0.024]
    """
    _checks.integer("epochs", epochs, 1)
    _checks.integer("steps_per_epoch", steps_per_epoch, 1)
    return preview_run(schedule, TrainingLength(epochs * steps_per_epoch, steps_per_epoch), lr=lr, metrics=metrics)


def preview_run(
    schedule: Schedule | HoldsSchedule,
    length: TrainingLength,
    *,
    lr: float | Sequence[float] = 1e-3,
    metrics: Sequence[float] | None = None,
) -> list[list[float]]:
    """:func:`preview` of a run of ``length``: its optimizer steps in all, each epoch at its own size.

    A fit's planned schedule is this for the length it planned (``max_steps`` ending an epoch early, epochs that an
    accumulation schedule resizes).

    Example::

        >>> from lightning_lrsched.core import StepLR
        >>> trace = preview_run(StepLR(step_size=1), TrainingLength(5, 3, resized=((1, 2),)), lr=1.0)
        >>> [group[0] for group in trace]  # (epochs of 3 steps, then 2; the run ends at step 5)
        [1.0, 1.0, 1.0, 0.1, 0.1]
    """
    sizes = [length.total_steps, length.steps_per_epoch, *(size for _, size in length.resized)]
    if not all(math.isfinite(value) and value >= 1 for value in sizes):
        raise ValueError(
            f"Expected argument `length` to be a run of at least one optimizer step, in epochs of at least one, but"
            f" got {length!r}. Give both, e.g. `TrainingLength(total_steps=100, steps_per_epoch=10)`."
        )
    plan = _schedule(schedule)
    rates = [float(lr)] if isinstance(lr, (int, float)) else [float(v) for v in lr]
    _checks.positive("lr", rates)
    params = [{"params": [nn.Parameter(torch.zeros(()))], "lr": r} for r in rates]
    optimizer = torch.optim.SGD(params, lr=rates[0], momentum=0.9)  # (`defaults["lr"]`: the first group's)
    timeline = plan.timeline(optimizer, length)
    groups = optimizer.param_groups
    trace: list[list[float]] = []
    epoch, total = 0, int(length.total_steps)
    while len(trace) < total:
        for _ in range(min(int(length.epoch_size(epoch)), total - len(trace))):
            trace.append([group["lr"] for group in groups])
            timeline.optimizer_step()
        timeline.epoch_end()
        if metrics is not None and epoch < len(metrics):
            value = float(metrics[epoch])
            timeline.validation(dict.fromkeys(timeline.monitors(), value), step=len(trace), epoch=epoch)
        epoch += 1
    return trace


def plot_schedule(
    schedule: Schedule | HoldsSchedule,
    *,
    epochs: int,
    steps_per_epoch: int,
    lr: float | Sequence[float] = 1e-3,
    metrics: Sequence[float] | None = None,
    title: str | None = None,
) -> Figure:
    """A matplotlib Figure of :func:`preview`: lr per optimizer step for each param group, epochs marked.

    Example::

        >>> from lightning_lrsched.core import OneCycleLR
        >>> figure = plot_schedule(OneCycleLR(max_lr=0.1), epochs=3, steps_per_epoch=50)
        >>> figure.axes[0].get_xlabel()
        'optimizer step'
    """
    trace = preview(schedule, epochs=epochs, steps_per_epoch=steps_per_epoch, lr=lr, metrics=metrics)
    starts = range(steps_per_epoch, len(trace), steps_per_epoch)
    return draw_schedule(trace, epoch_starts=starts, title=title or _describe(_schedule(schedule)))


def _describe(schedule: Schedule) -> str:
    warmup = f" + warmup {schedule.warmup_length.text}" if schedule.warmup_length is not None else ""
    return f"{schedule.label}{warmup} ({schedule.interval} interval)"
