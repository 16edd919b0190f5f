"""What the schedule callbacks show: lr tags and values, the logging cadence, and the sentences of summaries.

Plain functions of an optimizer or a :class:`~lightning_lrsched.core.timeline.Timeline`; writing to TensorBoard is
``tensorboard.py``'s, deciding when is the callback's.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_lrsched import privates
from lightning_lrsched.core.position import FEW_CHANGES
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.namespaces import classes
from lightning_lrsched.report import tensorboard
from lightning_lrsched.report.plotting import draw_schedule
from lightning_lrsched.report.preview import preview_run

if TYPE_CHECKING:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import Logger


def describe_plan(timeline: Timeline) -> str:
    """A text card of what a schedule resolved at fit start: interval, total steps, warmup, lengths."""
    length = timeline.plan.length
    lines = [
        f"**{timeline.name}**, stepped per {timeline.interval}",
        "",
        f"- total optimizer steps: {length.total_steps:g}",
        f"- optimizer steps per epoch: {length.steps_per_epoch:g}"
        + "".join(f", {size:g} from epoch {epoch}" for epoch, size in length.resized),  # (by accumulation)
        f"- warmup steps: {timeline.plan.warmup.steps}",
        *(f"- {key}: {value}" for key, value in timeline.plan.resolved.items()),
    ]
    return "\n".join(lines)


def summary(name: str, interval: str, timeline: Timeline | None) -> dict[str, Any]:
    """What a schedule did in a fit, in numbers and in a sentence (``text``)."""
    info: dict[str, Any] = {
        "schedule": name,
        "interval": interval,
        "optimizer": type(timeline.optimizer).__name__ if timeline is not None else None,
        "steps": timeline.position.steps if timeline is not None else 0,
        "warmup_steps": timeline.plan.warmup.steps if timeline is not None else 0,
        "lengths": dict(timeline.plan.resolved) if timeline is not None else {},
        **(timeline.position.path if timeline is not None else {}),
    }
    if timeline is None or not timeline.position.path:
        info["text"] = f"{name}: no optimizer step yet"
        return info
    text = f"{name}: {_describe_path(timeline)}"
    if timeline.position.handed_over is not None:
        handed = timeline.position.handed_over
        text += f"; handed over to {handed['to']} at step {handed['step']} (epoch {handed['epoch']})"
        info["handed_over"] = dict(handed)
    if timeline.plan.replans:
        text += (
            f"; re-planned {len(timeline.plan.replans)} time(s) as the run changed ({timeline.plan.replans[-1]['why']})"
        )
    short = shortfall(timeline)
    if short is not None:
        text += f"; {shortfall_text(*short)}"
    info["text"] = text
    return info


SHORT_RUN = 0.95
"""A fit that takes fewer than this share of its planned optimizer steps did not finish its schedule."""


def shortfall(timeline: Timeline) -> tuple[int, int, int] | None:
    """(steps taken, steps planned, steps undone by rewinds) when a fit fell noticeably short of its plan."""
    planned, steps = timeline.plan.steps, timeline.position.steps
    if not timeline.schedule.scaled_to_run() or not math.isfinite(planned) or steps >= SHORT_RUN * planned:
        return None
    return steps, int(planned), timeline.position.undone


def report_fit_end(trainer: pl.Trainer, name: str, timeline: Timeline, tag: str, text: str, *, log: bool) -> None:
    """At fit end: a warning for a run that stopped short of its plan, and the summary ``text`` as TensorBoard text."""
    short = shortfall(timeline)
    if short is not None and not trainer.should_stop:  # an early stop explains itself
        rank_zero_warn(f"{name}: {shortfall_text(*short)}.")
    if log and timeline.position.path and trainer.is_global_zero:
        for experiment in tensorboard_experiments(trainer.loggers):
            experiment.add_text(f"{tag}-summary", text, global_step=trainer.global_step)


def track_results(results: dict[str, float], metrics: Mapping[str, Any]) -> None:
    """Fold a validation's ``metrics`` into ``results``: the best ``val_acc``/``val_f1``, the last ``val_loss``.

    With several validation dataloaders, the first one's (``val_acc/dataloader_idx_0``, ...).

    Example::

        >>> results = {}
        >>> track_results(results, {"val_acc": 0.8, "val_loss": 0.5}); track_results(results, {"val_acc": 0.7})
        >>> results
        {'hp/best_val_acc': 0.8, 'hp/final_val_loss': 0.5}
    """
    first = {key: metrics.get(key, metrics.get(f"{key}/dataloader_idx_0")) for key in ("val_acc", "val_f1", "val_loss")}
    for key in ("val_acc", "val_f1"):
        if first[key] is not None:
            value = float(first[key])
            results[f"hp/best_{key}"] = max(value, results.get(f"hp/best_{key}", value))
    if first["val_loss"] is not None:
        results["hp/final_val_loss"] = float(first["val_loss"])


def final_results(results: Mapping[str, float]) -> dict[str, float]:
    """The HParams tab's metrics: ``results`` and ``hp_metric`` = the best accuracy (not Lightning's -1)."""
    final = dict(results)
    if "hp/best_val_acc" in final:
        final["hp_metric"] = final["hp/best_val_acc"]
    return final


def declare_hparams(trainer: pl.Trainer, pl_module: pl.LightningModule, schedule: Schedule, timeline: Timeline) -> None:
    """The HParams tab's definition: the module's hyperparameters and the schedule, results to come.

    The schedule's entries are its class, interval, warmup steps, planned total, resolved lengths and arguments;
    the result metrics get their values at fit end.
    """
    experiments = tensorboard_experiments(trainer.loggers)
    if not experiments:
        return
    params: dict[str, Any] = dict(pl_module.hparams)
    lengths = ", ".join(f"{key}={value}" for key, value in timeline.plan.resolved.items())
    warmup = f", warmup {timeline.plan.warmup.steps} steps" if timeline.plan.warmup.steps else ""
    # `lr_schedule` sorts next to `lr`, among the columns TensorBoard shows at first: short enough for its cell
    params["lr_schedule"] = schedule.short_label
    params["lr_schedule/plan"] = f"{timeline.name}({lengths}) per {timeline.interval}{warmup}"
    params["lr_schedule/interval"] = timeline.interval
    params["lr_schedule/warmup_steps"] = timeline.plan.warmup.steps
    params["lr_schedule/total_steps"] = timeline.plan.steps
    params.update({f"lr_schedule/{key}": value for key, value in timeline.plan.resolved.items()})
    params.update({f"lr_schedule/{key}": value for key, value in schedule.plain_arguments().items()})
    tensorboard.declare_hparams([privates.summary_file_writer(experiment) for experiment in experiments], params)


def shortfall_text(steps: int, planned: int, undone: int = 0) -> str:
    """The sentence for a fit that stopped well before the end of its schedule."""
    taken = "step was" if undone == 1 else "steps were"
    rewound = f" ({undone} {taken} taken back by LRDiagnostics' rewinds)" if undone else ""
    return (
        f"it ran {steps} of the {planned} optimizer steps it was planned for ({steps / planned:.0%}){rewound}, so"
        " the schedule did not reach its end"
    )


def reduction_text(event: dict[str, Any], monitor: str) -> str:
    """One plateau reduction in words: the lrs, where, and the values that caused it."""
    before, after = event["lr_before"][0], event["lr_after"][0]
    values = [f"{v:.4g}" for v in event["recent_values"]]
    why = "improved" if _raised(event) else "did not improve"
    return (
        f"lr {before:.3g} -> {after:.3g} at step {event['step']} (epoch {event['epoch']}): {monitor} {why}"
        f" for {event['validations']} validations, values {values}"
    )


def log_plan(loggers: Sequence[Logger], tag: str, schedule: Schedule, timeline: Timeline, step: int) -> None:
    """At fit start, on every TensorBoard logger: the layout, the plan's text card and its figure."""
    experiments = tensorboard_experiments(loggers)
    if not experiments:
        return
    rates = timeline.planned.configured  # the lrs the schedule was planned from
    figure = None
    length = timeline.plan.length
    if math.isfinite(length.total_steps) and math.isfinite(length.steps_per_epoch):  # (unbounded: nothing to draw)
        trace = preview_run(schedule, length, lr=rates)  # (the fit's own length: its `max_steps`, its epochs' sizes)
        starts = [length.steps_in(epoch) for epoch in range(1, math.ceil(length.epochs_in(len(trace))))]
        with contextlib.suppress(ModuleNotFoundError):  # matplotlib is optional
            figure = draw_schedule(trace, epoch_starts=starts, title="planned schedule")
            figure.set_dpi(150)  # TensorBoard shows images at their pixel size: readable, not a thumbnail
    tensorboard.write_plan(experiments, tag, describe_plan(timeline), figure, step)


def report_reduction(loggers: Sequence[Logger], tag: str, event: dict[str, Any], count: int, *, log: bool) -> None:
    """A plateau reduction: an info line, and on the loggers the reduction count and the explanation as text."""
    text = reduction_text(event, event.get("monitor", ""))
    rank_zero_info(f"{event.get('schedule', 'ReduceLROnPlateau')}: {text}")
    if not log:
        return
    for logger in loggers:
        logger.log_metrics({f"{tag}-plateau_reductions": float(count)}, step=event["step"])
        add_text = getattr(getattr(logger, "experiment", None), "add_text", None)
        if callable(add_text):  # TensorBoard (and loggers like it) get the explanation as text too
            add_text(f"{tag}-plateau", text, global_step=event["step"])


def _describe_path(timeline: Timeline) -> str:
    reductions = getattr(timeline, "reductions", None)
    if reductions is not None:
        return _describe_plateau(timeline, reductions)
    path, steps, warmup_steps = timeline.position.path, timeline.position.steps, timeline.plan.warmup.steps
    first, peak, last = path["first"], path["peak"], path["last"]
    unit = f"per {timeline.interval}"
    warmup = f", after a {warmup_steps}-step warmup" if warmup_steps else ""
    if math.isclose(path["lowest"], peak, rel_tol=1e-9):
        return f"lr constant at {first:.3g} for {steps} optimizer steps ({unit})"
    if peak > max(first, last) * (1 + 1e-9):
        return (
            f"lr {first:.3g} -> peak {peak:.3g} at step {path['peak_step']} -> {last:.3g} over {steps} optimizer"
            f" steps ({unit}{warmup})"
        )
    length = timeline.plan.length
    if 0 < path["changes"] <= FEW_CHANGES and math.isfinite(length.steps_per_epoch) and not warmup_steps:
        epochs = ", ".join(str(int(length.epochs_in(step))) for step in path["change_steps"])
        count = path["changes"]
        return f"lr {first:.3g} -> {last:.3g} in {count} change{'s' if count > 1 else ''} (from epochs {epochs})"
    return f"lr {first:.3g} -> {last:.3g} over {steps} optimizer steps ({unit}{warmup})"


def _describe_plateau(timeline: Any, reductions: list[dict[str, Any]]) -> str:
    """The lr path with each reduction's cause, e.g. ``lr 0.1 -> 0.01 in 1 plateau reduction (epoch 6: ...)``."""
    monitor = timeline.monitor
    if not reductions:
        values = [value for _, value in timeline.history if math.isfinite(value)]
        best = ""
        if values:
            pick = min if timeline.mode == "min" else max
            best = f" (best {pick(values):.4g}, patience {timeline.patience})"
        count = len(timeline.history)
        last = timeline.position.path["last"]
        return f"lr stayed at {last:.3g}: no plateau reduction in {count} validations of {monitor}{best}"
    first = reductions[0]["lr_before"][0]
    last = reductions[-1]["lr_after"][0]
    checks = "training epochs" if timeline.watches_training else "validations"
    causes = "; ".join(
        f"epoch {event['epoch']}: {monitor} {_how(event)} {_best(event)} for {event.get('validations', '?')} {checks}"
        for event in reductions
    )
    count = len(reductions)
    what = "lr change" if any(_raised(event) for event in reductions) else "plateau reduction"
    return f"lr {first:.3g} -> {last:.3g} in {count} {what}{'s' if count > 1 else ''} ({causes})"


def _raised(event: dict[str, Any]) -> bool:
    """Whether a metric-driven change raised the lr (GreedyLR, after improvements) rather than lowered it."""
    return bool(event["lr_after"][0] > event["lr_before"][0])


def _how(event: dict[str, Any]) -> str:
    """Why the lr changed: the metric stalled (a reduction) or kept improving (GreedyLR's increase)."""
    return "improved to" if _raised(event) else "stalled at"


def _best(event: dict[str, Any]) -> str:
    """The best value a reduction was measured against (older checkpoints: the best of the recent values)."""
    best = event.get("best")
    if best is None or not math.isfinite(best):
        recent = [v for v in event.get("recent_values", []) if math.isfinite(v)]
        return f"{min(recent):.4g}" if recent else "n/a"
    return f"{best:.4g}"


def tensorboard_experiments(loggers: Sequence[Logger]) -> list[Any]:
    """The SummaryWriter of each TensorBoard logger among ``loggers`` (empty without one)."""
    return [logger.experiment for logger in loggers if isinstance(logger, classes("loggers", "TensorBoardLogger"))]
