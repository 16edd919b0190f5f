"""Figures: a schedule's learning rate per step, and the curves of logged runs. matplotlib is imported lazily."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lightning_lrsched.tensorboard import find_runs, read_scalars

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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


def draw_schedule(trace: Sequence[Sequence[float]], *, steps_per_epoch: int, title: str) -> Figure:
    """The lr of every optimizer step (one line per param group), epoch boundaries marked.

    Example::

        >>> figure = draw_schedule([[0.1], [0.05], [0.025]], steps_per_epoch=1, title="halving")
        >>> figure.axes[0].get_ylabel()
        'learning rate'
    """
    figure = new_figure(figsize=(7, 3.5))
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.15, top=0.9)
    axis = figure.add_subplot()
    for group in range(len(trace[0])):
        axis.plot(range(len(trace)), [step[group] for step in trace], label=f"param group {group + 1}")
    epochs = -(-len(trace) // steps_per_epoch)
    if epochs <= 50:
        for epoch in range(1, epochs):
            axis.axvline(epoch * steps_per_epoch, color="0.85", linewidth=0.8, zorder=0)
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("learning rate")
    axis.set_title(title)
    if len(trace[0]) > 1:
        axis.legend()
    return figure


def plot_runs(paths: Sequence[str | Path]) -> Figure:
    """A Figure with the learning rate, the losses and the accuracy/F1 curves of one or several runs."""
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
