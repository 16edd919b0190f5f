"""TensorBoard extras: the dashboard layout, the planned schedule at fit start, and curves read back from logs."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch.utilities import rank_zero_only

if TYPE_CHECKING:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import Logger
    from matplotlib.figure import Figure

    from lightning_lrsched.callback import LRSchedulerCallback

LAYOUT = {
    "schedule": {
        "learning rate": ["Multiline", [r"^lr-(?!.*momentum).*"]],
        "momentum / beta1": ["Multiline", [r"^lr-.*momentum$"]],
    },
    "losses": {"train and validation loss": ["Multiline", [r"^train_loss", r"^val_loss$"]]},
    "quality": {
        "accuracy": ["Multiline", [r"^(train|val|test)_acc"]],
        "F1": ["Multiline", [r"^(train|val|test)_f1"]],
    },
}
"""TensorBoard's custom-scalars layout: schedule (lr + momentum), losses (train and val on one chart), quality."""


def log_scalars(loggers: Sequence[Logger], metrics: dict[str, float], step: int) -> None:
    """Log ``metrics`` at ``step`` on every logger; one TensorBoard event for all of them.

    Lightning's ``TensorBoardLogger.log_metrics`` writes one event per value (about 100 us each), which makes
    logging 200 param groups cost 20 ms a step. A single event holding every value costs about 100 us plus
    5 us per value and reads back the same, tag by tag. Other loggers, and a TensorBoard logger with a
    ``prefix``, get ``log_metrics``.
    """
    for logger in loggers:
        writer = _plain_tensorboard_writer(logger)
        if writer is None:
            logger.log_metrics(metrics, step=step)
        else:
            from tensorboard.compat.proto.summary_pb2 import Summary

            values = [Summary.Value(tag=tag, simple_value=value) for tag, value in metrics.items()]
            writer.add_summary(Summary(value=values), step)


def _plain_tensorboard_writer(logger: Logger) -> Any:
    """The file writer of a rank-zero, prefix-free TensorBoardLogger on torch's SummaryWriter, else None."""
    from lightning.pytorch.loggers import TensorBoardLogger

    if not isinstance(logger, TensorBoardLogger) or logger._prefix:
        return None
    if getattr(rank_zero_only, "rank", 0) != 0:
        return None
    experiment = logger.experiment
    if type(experiment).__module__ != "torch.utils.tensorboard.writer":  # tensorboardX has its own protos
        return None
    get_writer = getattr(experiment, "_get_file_writer", None)  # private in torch: fall back should it go
    return get_writer() if callable(get_writer) else None


def tensorboard_experiments(trainer: pl.Trainer) -> list[Any]:
    """The SummaryWriter of each TensorBoard logger of the Trainer (empty without one)."""
    from lightning.pytorch.loggers import TensorBoardLogger

    return [logger.experiment for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]


def describe_plan(callback: LRSchedulerCallback) -> str:
    """A text card of what a schedule resolved at fit start: interval, total steps, warmup, lengths."""
    length = callback._length
    lines = [
        f"**{type(callback).__name__}**, stepped per {callback.interval}",
        "",
        f"- total optimizer steps: {length.total_steps:g}" if length else "",
        f"- optimizer steps per epoch: {length.steps_per_epoch:g}" if length else "",
        f"- warmup steps: {callback._warmup_steps}",
        *(f"- {key}: {value}" for key, value in callback.resolved_lengths.items()),
    ]
    return "\n".join(line for line in lines if line is not None)


def log_plan(trainer: pl.Trainer, callback: LRSchedulerCallback) -> None:
    """At fit start: the layout, a figure of the planned schedule and the text card, on every TensorBoard logger."""
    experiments = tensorboard_experiments(trainer)
    if not experiments or callback._length is None or callback._optimizer is None:
        return
    text = describe_plan(callback)
    figure = _planned_figure(callback)
    tag = callback._tags[0] if callback._tags else "lr"
    for experiment in experiments:
        experiment.add_custom_scalars(LAYOUT)
        experiment.add_text(f"{tag}-plan", text, global_step=trainer.global_step)
        if figure is not None:
            experiment.add_figure(f"{tag}-plan", figure, global_step=trainer.global_step, close=False)


def _planned_figure(callback: LRSchedulerCallback) -> Figure | None:
    from lightning_lrsched.preview import plot_schedule

    length, optimizer = callback._length, callback._optimizer
    assert length is not None
    assert optimizer is not None
    if not (math.isfinite(length.total_steps) and math.isfinite(length.steps_per_epoch)):
        return None  # an unbounded run has no plan to draw
    per_epoch = int(length.steps_per_epoch)
    epochs = math.ceil(length.total_steps / per_epoch)
    rates = [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
    try:
        return plot_schedule(callback, epochs=epochs, steps_per_epoch=per_epoch, lr=rates, title="planned schedule")
    except ModuleNotFoundError:
        return None


def read_scalars(logdir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of one run folder as ``{tag: [(step, value), ...]}``, read with TensorBoard's own reader."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError("Reading logs needs tensorboard: `pip install tensorboard`.") from error
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Run folders (those holding event files) at or below each path."""
    runs: list[Path] = []
    for path in map(Path, paths):
        found = sorted({event.parent for event in path.rglob("events.out.tfevents*")})
        if not found:
            raise ValueError(f"No TensorBoard event files under {str(path)!r}. Point at a log directory of a run.")
        runs += [run for run in found if run not in runs]
    return runs


def plot_runs(paths: Sequence[str | Path]) -> Figure:
    """A Figure with the learning rate, the losses and the accuracy/F1 curves of one or several runs."""
    from lightning_lrsched.preview import new_figure

    runs = find_runs(paths)
    panels = [
        ("learning rate", lambda tag: tag.startswith("lr-") and "momentum" not in tag and "plateau" not in tag),
        ("loss", lambda tag: tag in ("train_loss_step", "train_loss", "val_loss", "train_loss_epoch")),
        ("accuracy / F1", lambda tag: tag.split("_")[-1] in ("acc", "f1") and not tag.startswith("test")),
    ]
    figure = new_figure(figsize=(13, 3.8))
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.14, top=0.9, wspace=0.22)
    axes = figure.subplots(1, len(panels))
    prefix = _common_parent(runs)
    for run in runs:
        scalars = read_scalars(run)
        name = str(run.resolve().relative_to(prefix)) if prefix else run.name
        for axis, (_title, wanted) in zip(axes, panels, strict=True):
            for tag in sorted(filter(wanted, scalars)):
                steps, values = zip(*scalars[tag], strict=True)
                axis.plot(steps, values, label=f"{name}: {tag}" if len(runs) > 1 else tag)
    for axis, (title, _wanted) in zip(axes, panels, strict=True):
        axis.set_title(title)
        axis.set_xlabel("global step")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    return figure


def _common_parent(runs: list[Path]) -> Path | None:
    if len(runs) < 2:
        return None
    return Path(os.path.commonpath([str(run.resolve()) for run in runs]))
