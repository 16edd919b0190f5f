"""How one schedule callback shows its learning rates: the tags, the loggers and the progress bar.

Exactly as Lightning's ``LearningRateMonitor`` does for a scheduler returned from ``configure_optimizers``: the same
tags (``lr-AdamW``, ``lr-AdamW/pg1``, a group's ``name``, ``-1`` for a second scheduled optimizer of a type,
``-momentum``, ``-weight_decay``), at the same moments (a step schedule at the start of each training batch
whose step metrics Lightning logs, i.e. every ``log_every_n_steps`` batches; an epoch schedule at each epoch
start) and the same x value (the batches that stepped, which is where the module's own step metrics go). The
values also go into ``trainer.callback_metrics``, so ``EarlyStopping``/``ModelCheckpoint`` can monitor them. A
TensorBoard logger gets all of a step's values as one event. The Lightning private attributes read here are
commented with their public fallbacks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import Logger
from torch.optim import Optimizer

from lightning_lrsched import _checks, privates
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.report import reporting, tensorboard

LoggingInterval = Literal["step", "epoch"] | None


@dataclass(frozen=True)
class LogOptions:
    """What a schedule callback logs besides the lr, and when; checked at construction.

    Example::

        >>> LogOptions(momentum=True).logging_interval is None
        True
    """

    enabled: bool = True
    """Log the lrs to the loggers and show them in the progress bar."""
    momentum: bool | None = None
    """Each group's momentum (or beta1): True, False, or None for schedules that cycle it (1cycle, cyclic)."""
    weight_decay: bool = False
    logging_interval: LoggingInterval = None

    def __post_init__(self) -> None:
        _checks.boolean("log_lr", self.enabled)
        if self.momentum is not None:
            _checks.boolean("log_momentum", self.momentum)
        _checks.boolean("log_weight_decay", self.weight_decay)
        if self.logging_interval is not None:
            _checks.one_of("logging_interval", self.logging_interval, ("step", "epoch"))


class LrLog:
    """One fit's lr logging for one optimizer.

    Args:
        trainer: the fitting Trainer.
        optimizer: the scheduled optimizer.
        prefix: its tag prefix (``lr-AdamW``, ``lr-AdamW-1``, or the callback's ``name``): see :func:`prefixes`.
        schedule: the schedule: its interval decides when the lr is logged (unless ``logging_interval`` says),
            and a schedule that cycles momentum has it logged (unless ``log_momentum=False``).
        options: what is logged and when, as ``LearningRateMonitor``'s arguments.

    Example::

        >>> import lightning.pytorch as pl, torch
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> trainer = pl.Trainer(logger=False, enable_progress_bar=False)  # doctest: +ELLIPSIS
        ...
        >>> from lightning_lrsched import CosineAnnealingLR
        >>> LrLog(trainer, optimizer, "lr-SGD", CosineAnnealingLR().schedule, LogOptions()).tags
        ['lr-SGD']
    """

    def __init__(
        self,
        trainer: pl.Trainer,
        optimizer: Optimizer,
        prefix: str,
        schedule: Schedule,
        options: LogOptions,
    ) -> None:
        self.trainer, self.optimizer, self.prefix, self.schedule = trainer, optimizer, prefix, schedule
        self.momentum = schedule.cycles_momentum if options.momentum is None else options.momentum
        self.weight_decay = options.weight_decay
        self.enabled = enabled = options.enabled
        when = options.logging_interval or schedule.interval
        self.per_step, self.per_epoch = enabled and when == "step", enabled and when == "epoch"
        self.warmup_per_step = self.per_epoch and options.logging_interval is None
        """An epoch cadence the schedule chose (not one asked for) also logs each step of the warmup."""
        self._epoch_logged_at = -1
        self.tags = group_tags(prefix, optimizer)
        self.sinks: list[tuple[Logger, Any]] = sinks(trainer) if enabled else []
        """Each logger with the TensorBoard file writer that takes all lrs of a step as one event, or None."""
        self.show_progress = enabled and trainer.progress_bar_callback is not None
        self._layout: frozenset[str] = frozenset()
        held = (getattr(c, "schedule", None) for c in trainer.callbacks)  # type: ignore[attr-defined]
        self.first = next((s for s in held if isinstance(s, Schedule)), None) is schedule
        """The Trainer's first schedule callback writes the HParams (one definition and one set of results a run)."""
        self.reductions = 0
        """The plateau reductions reported so far (a resumed fit starts from the checkpoint's)."""
        self.results: dict[str, float] = {}
        """The run's results so far: best ``val_acc`` and ``val_f1``, the last ``val_loss`` (as HParams metrics)."""

    def fit_start(self, pl_module: pl.LightningModule, timeline: Timeline, *, plan: bool) -> None:
        """The dashboard layout, the HParams definition (by the first schedule) and the planned schedule (``plan``)."""
        trainer = self.trainer
        self.reductions = len(getattr(timeline, "reductions", ()))  # (a resumed plateau schedule's so far)
        self.update_layout()
        if self.enabled and trainer.is_global_zero and self.first:
            reporting.declare_hparams(trainer, pl_module, self.schedule, timeline)
        if plan and trainer.is_global_zero:
            reporting.log_plan(trainer.loggers, f"{self.tags[0]}-plan", self.schedule, timeline, trainer.global_step)

    def join_new_groups(self, timeline: Timeline) -> None:
        """Param groups added since the last look join ``timeline`` and get their tags.

        ``lr-SGD`` becomes ``lr-SGD/pg1`` then, as ``LearningRateMonitor`` renames it.
        """
        if len(self.optimizer.param_groups) != len(self.tags) and timeline.join_new_groups():
            self.tags = group_tags(self.prefix, self.optimizer)

    def batch_start(self, timeline: Timeline) -> None:
        """At a training batch's start: log the lrs its step uses, if Lightning logs this batch's step metrics.

        A step whose lr comes from the warmup (which changes every step) is logged by an epoch-interval schedule
        that logs once an epoch too (unless ``logging_interval="epoch"`` was asked for), so that the curve shows
        the warmup instead of a line drawn across it.
        """
        if len(self.optimizer.param_groups) != len(self.tags):
            self.join_new_groups(timeline)
        warmup_step = self.warmup_per_step and timeline.plan.warmup.covers(timeline.position.steps)
        if not (self.per_step or warmup_step) or (step := privates.logged_step(self.trainer)) is None:
            return
        if self.per_step or step != self._epoch_logged_at:  # (a warmup's step: the epoch's first is logged already)
            logged = [(self.optimizer, self.tags)]
            log_lrs(self.trainer, logged, self.sinks, step, momentum=self.momentum, weight_decay=self.weight_decay)

    def epoch_start(self, timeline: Timeline) -> None:
        """At a training epoch's start: log the lrs (epoch logging, as ``LearningRateMonitor``: at any cadence).

        A param group that a fine-tuning callback added at this epoch's start joins first and is logged with the
        others, as ``LearningRateMonitor`` logs it.
        """
        self.join_new_groups(timeline)
        if self.per_epoch:
            self._epoch_logged_at = step = privates.batches_that_stepped(self.trainer)
            logged = [(self.optimizer, self.tags)]
            log_lrs(self.trainer, logged, self.sinks, step, momentum=self.momentum, weight_decay=self.weight_decay)

    def show(self, pl_module: pl.LightningModule) -> None:
        """Put the first group's lr in the progress bar, readably (``3.0e-04``, not ``0.000``)."""
        if not self.show_progress:
            return
        lr = float(self.optimizer.param_groups[0]["lr"])
        shown = privates.progress_bar_metrics(self.trainer)
        if shown is not None:
            shown[self.tags[0]] = f"{lr:.1e}"
        else:
            pl_module.log(self.tags[0], lr, prog_bar=True, logger=False)

    def report_reduction(self, event: dict[str, Any]) -> None:
        """A plateau reduction: an info line, and (when logging) the reduction count and its explanation."""
        self.reductions += 1
        reporting.report_reduction(self.trainer.loggers, self.tags[0], event, self.reductions, log=self.enabled)

    def refresh(self) -> None:
        """After a validation or an epoch: the results so far, and the charts of what the run logs by now."""
        reporting.track_results(self.results, self.trainer.callback_metrics)
        self.update_layout()

    def write_results(self) -> None:
        """At fit end: the results as the HParams tab's metrics (``hp_metric`` = the best accuracy, if any)."""
        results = reporting.final_results(self.results)
        if results and self.sinks and self.first:
            for logger, _ in self.sinks:
                logger.log_metrics(results, step=self.trainer.global_step)

    def update_layout(self) -> None:
        """Give TensorBoard's custom scalars the charts of what this run logs by now (none that stay empty)."""
        if not self.sinks:
            return
        logged = set(self.trainer.callback_metrics) | set(self.tags)
        logged |= {f"{tag}-momentum" for tag in self.tags if self.momentum}
        logged |= {f"{tag}-weight_decay" for tag in self.tags if self.weight_decay}
        if logged != self._layout:
            self._layout = frozenset(logged)
            tensorboard.write_layout(reporting.tensorboard_experiments(self.trainer.loggers), sorted(logged))


def sinks(trainer: pl.Trainer) -> list[tuple[Logger, Any]]:
    """Each logger of ``trainer`` with the TensorBoard file writer that takes a step's values as one event, or None."""
    return [(logger, privates.tensorboard_file_writer(logger)) for logger in trainer.loggers]


def log_lrs(
    trainer: pl.Trainer,
    logged: Sequence[tuple[Optimizer, Sequence[str]]],
    to: Sequence[tuple[Logger, Any]],
    step: int,
    *,
    momentum: bool = False,
    weight_decay: bool = False,
) -> None:
    """Log each group's lr of each optimizer of ``logged`` under its tag, at ``step``, to the loggers of ``to``.

    With ``-momentum`` (momentum or beta1) and ``-weight_decay`` if asked. The lr is the one the next step uses: a
    schedule-free optimizer's includes its own warmup (:func:`effective_lr`). ``to`` is what :func:`sinks` returns. As
    ``LearningRateMonitor``, the values go into ``callback_metrics`` too, so EarlyStopping/ModelCheckpoint can monitor
    them (one tensor made and split: five times cheaper than a tensor per value with 200 param groups).
    """
    metrics: dict[str, float] = {}
    for optimizer, tags in logged:
        use_betas = "betas" in optimizer.defaults
        for tag, group in zip(tags, optimizer.param_groups, strict=False):
            metrics[tag] = effective_lr(group) if "train_mode" in group else float(group["lr"])  # (schedule-free's)
            if momentum:
                metrics[f"{tag}-momentum"] = float(group["betas"][0] if use_betas else group.get("momentum", 0.0))
            if weight_decay:
                metrics[f"{tag}-weight_decay"] = float(group["weight_decay"])
    stacked = torch.tensor(list(metrics.values()), device=trainer.strategy.root_device)
    trainer.callback_metrics.update(zip(metrics, stacked.unbind(), strict=True))
    for logger, writer in to:
        if writer is None:
            logger.log_metrics(metrics, step=step)
        else:
            tensorboard.write_scalars(writer, metrics, step)


def prefixes(scheduled: Sequence[tuple[Optimizer, str | None]]) -> list[str]:
    """The tag prefix of each scheduled optimizer, in order, named as ``LearningRateMonitor`` names them.

    ``scheduled`` lists each scheduled optimizer with the name its schedule gives it (None: ``lr-<Class>``).
    Optimizers of one class get ``-1``, ``-2``, ... from the second unnamed one on, counted in this order.

    Example::

        >>> import torch
        >>> weights = [torch.zeros(1, requires_grad=True)]
        >>> first, second = torch.optim.Adam(weights), torch.optim.Adam(weights)
        >>> prefixes([(first, None), (second, None)])
        ['lr-Adam', 'lr-Adam-1']
    """
    counts: defaultdict[type, int] = defaultdict(int)
    names = []
    for optimizer, name in scheduled:
        kind = type(optimizer)
        if name is None:
            counts[kind] += 1
        prefix = name if name is not None else f"lr-{kind.__name__}"
        count = counts.get(kind, 0)
        names.append(f"{prefix}-{count - 1}" if count > 1 else prefix)
    return names


def group_tags(prefix: str, optimizer: Optimizer) -> list[str]:
    """One tag per param group: the prefix alone, ``/pgN``, or ``/<name>`` for a named group.

    Raises:
        ValueError: when two param groups have the same ``name``.
    """
    groups = optimizer.param_groups
    names = [group.get("name") for group in groups]
    named = [n for n in names if n is not None]
    if len(named) != len(set(named)):
        raise ValueError(
            f"The param groups of {type(optimizer).__name__} have duplicate `name` values {names}; the"
            " learning-rate tags would collide. Give each group a unique name."
        )
    if len(groups) == 1:
        return [f"{prefix}/{names[0]}" if names[0] else prefix]
    return [f"{prefix}/{n if n else f'pg{i + 1}'}" for i, n in enumerate(names)]


def effective_lr(group: Mapping[str, Any]) -> float:
    """The lr the group's next step uses: schedule-free AdamW/RAdam/SGD scale ``lr`` by their own warmup.

    Their step ``k`` (0-based) uses ``lr * min(1, (k + 1) / warmup_steps)``; other optimizers use ``lr``.

    Example::

        >>> effective_lr({"lr": 0.1, "k": 4, "warmup_steps": 10, "train_mode": True})
        0.05
    """
    lr = float(group["lr"])
    warmup = group.get("warmup_steps") or 0 if "train_mode" in group else 0
    return lr * min(1.0, (int(group.get("k", 0)) + 1) / warmup) if warmup else lr
