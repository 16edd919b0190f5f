"""Figures: a schedule's learning rate per step, and the curves of logged runs. matplotlib is imported lazily."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_lrsched.report.tensorboard import read_scalars

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from lightning_lrsched.core.lr_range import Pick, RangeCurve


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


def draw_schedule(trace: Sequence[Sequence[float]], *, epoch_starts: Sequence[float], title: str) -> Figure:
    """The lr of every optimizer step (one line per param group), the epochs' starts (after the first) marked.

    Example::

        >>> figure = draw_schedule([[0.1], [0.05], [0.025]], epoch_starts=[1, 2], title="halving")
        >>> figure.axes[0].get_ylabel()
        'learning rate'
    """
    figure = new_figure(figsize=(7, 3.5))
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.15, top=0.9)
    axis = figure.add_subplot()
    for group in range(len(trace[0])):
        axis.plot(range(len(trace)), [step[group] for step in trace], label=f"param group {group + 1}")
    if len(epoch_starts) < 50:
        for start in epoch_starts:
            axis.axvline(start, color="0.85", linewidth=0.8, zorder=0)
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("learning rate")
    axis.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))  # (2e-4 as 2.0 and "1e-4": the label fits)
    axis.set_title(title)
    if len(trace[0]) > 1:
        axis.legend()
    return figure


def draw_range_test(curve: RangeCurve, picked: Pick | None, used: float | None = None, *, title: str) -> Figure:
    """An lr range test: the loss per lr (raw and smoothed, log scale), the edge and the lr set (``used``) marked.

    Example::

        >>> from lightning_lrsched.core.lr_range import RangeCurve, geometric
        >>> figure = draw_range_test(RangeCurve(geometric(1e-4, 1.0, 20), [1.0] * 20), None, title="flat")
        >>> figure.axes[0].get_xscale()
        'log'
    """
    figure = new_figure(figsize=(7, 3.8))
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.14, top=0.9)
    axis = figure.add_subplot()
    axis.plot(curve.lrs, curve.losses, color="0.75", linewidth=0.9, label="loss per step")
    axis.plot(curve.lrs, curve.smoothed(), color="C0", linewidth=1.8, label="smoothed")
    if picked is not None:
        if picked.high != picked.lr:
            axis.axvline(picked.high, color="0.4", linewidth=1, linestyle=":", label=f"edge {picked.high:.2g}")
        shown = used if used is not None else picked.lr
        axis.axvline(shown, color="C3", linewidth=1.4, label=f"lr set {shown:.2g} (rule {picked.rule!r})")
    axis.set_xscale("log")
    axis.set_xlabel("learning rate (first param group)")
    axis.set_ylabel("training loss")
    axis.set_title(title if picked is not None else f"{title}: no pick, the optimizer's lr stays")
    low, high = min(curve.losses), max([*curve.losses[: max(len(curve.losses) // 10, 1)], min(curve.losses)])
    axis.set_ylim(low - 0.1 * (high - low + 1e-12), high + 0.6 * (high - low + 1e-12))  # (not the blow-up)
    axis.legend(loc="upper left", fontsize=8)
    return figure


PANELS = (
    ("learning rate", lambda tag: tag.startswith("lr-") and not tag.endswith(("momentum", "weight_decay"))
     and "plateau" not in tag and not tag.endswith(("-plan", "-summary"))),
    ("loss", lambda tag: tag in ("train_loss_step", "train_loss", "val_loss", "train_loss_epoch")),
    ("accuracy / F1", lambda tag: tag.split("_")[-1] in ("acc", "f1") and tag.startswith(("train", "val"))),
)  # fmt: skip
"""The panels of :func:`plot_runs`: title and which logged tags go in it."""


def plot_runs(paths: Sequence[str | Path], *, log_lr: bool = False) -> Figure:
    """The learning rate, the losses and the accuracy/F1 curves of one or several runs, side by side.

    Each run has one colour; training curves are solid, validation curves dashed (a step-level training loss
    thin and faint); the lr is drawn as steps, as it is held between optimizer steps. The legends sit below the
    panels, off the data. TensorBoard runs and CSVLogger runs (``metrics.csv``) are read alike.

    Args:
        paths: run folders, or folders holding runs.
        log_lr: a log scale for the learning rate.

    Example (needs a run's logs on disk)::

        plot_runs(["runs/quickstart"], log_lr=True).savefig("curves.png")
    """
    from matplotlib.lines import Line2D

    runs = find_log_runs(paths)
    figure = new_figure(figsize=(13, 4.4))
    figure.subplots_adjust(left=0.06, right=0.99, bottom=0.25, top=0.92, wspace=0.25)
    axes = figure.subplots(1, len(PANELS))
    prefix = _common_parent(runs)
    colours = _colours(len(runs))
    names = []
    for run, colour in zip(runs, colours, strict=True):
        scalars = read_run(run)
        names.append(str(run.resolve().relative_to(prefix)) if prefix else run.name)
        for axis, (_title, wanted) in zip(axes, PANELS, strict=True):
            for tag in sorted(filter(wanted, scalars)):
                steps, values = zip(*scalars[tag], strict=True)
                style = _style(tag)
                if axis is axes[0]:
                    axis.step(steps, values, where="post", color=colour, linewidth=1.2)
                else:
                    axis.plot(steps, values, color=colour, **style)
    for axis, (title, _wanted) in zip(axes, PANELS, strict=True):
        axis.set_title(title)
        axis.set_xlabel("step (batches that stepped)")
        axis.set_ylabel(title)
        axis.grid(alpha=0.3)
    if log_lr:
        axes[0].set_yscale("log")
    run_handles = [Line2D([], [], color=colour, linewidth=2) for colour in colours]
    figure.legend(run_handles, names, loc="lower left", bbox_to_anchor=(0.06, 0.0), ncol=min(len(names), 4),
                  fontsize=8, title="run", frameon=False)  # fmt: skip
    kinds = {"train (epoch)": "train_acc", "train (step)": "train_loss_step", "validation": "val_loss", "F1": "val_f1"}
    kind_handles = [Line2D([], [], color="0.3", **_style(tag)) for tag in kinds.values()]
    figure.legend(kind_handles, list(kinds), loc="lower right", bbox_to_anchor=(0.99, 0.0), ncol=4,
                  fontsize=8, title="curve", frameon=False)  # fmt: skip
    return figure


def find_log_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Run folders at or below each path: TensorBoard ones (event files) and CSVLogger ones (``metrics.csv``).

    Raises:
        ValueError: naming a path with no run below it.
    """
    runs: list[Path] = []
    for path in map(Path, paths):
        found = sorted(
            {event.parent for event in path.rglob("events.out.tfevents*")}
            | {csv.parent for csv in path.rglob("metrics.csv")}
        )
        if not found:
            raise ValueError(
                f"No TensorBoard event files or CSVLogger metrics.csv under {str(path)!r}. Point at a log directory"
                " of a run."
            )
        runs += [run for run in found if run not in runs]
    return runs


def read_run(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of one run as ``{tag: [(step, value), ...]}``, from its event files or its ``metrics.csv``."""
    if any(run.glob("events.out.tfevents*")):
        return read_scalars(run)
    scalars: dict[str, list[tuple[int, float]]] = {}
    with (run / "metrics.csv").open(newline="") as file:
        for row in csv.DictReader(file):
            for tag, value in row.items():
                if tag in ("step", "epoch") or value in ("", None):
                    continue
                scalars.setdefault(tag, []).append((int(float(row["step"])), float(value)))
    return scalars


def _style(tag: str) -> dict[str, Any]:
    """Solid for training, dashed for validation, thin and faint for step values; F1 with dots, accuracy without."""
    marker = {"marker": "o", "markersize": 3} if tag.endswith("_f1") else {}
    if tag.startswith("val"):
        return {"linestyle": "--", "linewidth": 1.6, **marker}
    if tag.endswith("_step") or tag == "train_loss":
        return {"linestyle": "-", "linewidth": 0.8, "alpha": 0.45, **marker}
    return {"linestyle": "-", "linewidth": 1.6, **marker}


def _colours(count: int) -> list[Any]:
    """One distinct colour per run: tab10 up to 10 runs, evenly spread over a colour map beyond."""
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    return [colormaps["turbo"](i / max(count - 1, 1)) for i in range(count)]


def _common_parent(runs: list[Path]) -> Path | None:
    if len(runs) < 2:
        return None
    return Path(os.path.commonpath([str(run.resolve()) for run in runs]))
