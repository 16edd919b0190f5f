"""One fit of a schedule callback: how it starts (:class:`FitOptions`) and what it holds until it ends (`FitRun`).

The callback (:class:`~lightning_lrsched.lightning.callback.LRSchedulerCallback`) is the configuration and the
Lightning surface: the schedule, the optimizer it targets, the checkpoint state between fits. ``FitOptions`` are
its options for every fit (logging, resume, the optimizer's rate, the lr range test) and start one; a ``FitRun``
is what one fit holds, and dies with it: the timeline it drives, the lr logging, the follower of the run's
changes, the monitored-metric feed and the optimizer's step hooks. The callback's hooks hand their events to it
(the per-batch hooks to its parts: ``follower`` and ``log``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch.optim import Optimizer

from lightning_lrsched import _checks
from lightning_lrsched.core.duration import TrainingLength
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.lightning import range_test, run_changes
from lightning_lrsched.lightning.lr_logging import LogOptions, LrLog
from lightning_lrsched.lightning.monitoring import MonitorFeed
from lightning_lrsched.lightning.range_test import LRRangeTest, RangeResult
from lightning_lrsched.lightning.run_changes import RunFollower
from lightning_lrsched.report import reporting


class FitRun:
    """The timeline of one fit and what follows it, fed by a schedule callback's hooks.

    The optimizer's own step hooks (``register_step_pre_hook``/``post_hook``) count every optimizer step that
    really runs; :meth:`release` removes them when the fit ends or fails.

    Args:
        timeline: the fit's plan and clock.
        log: the lr logging of the fit.
        follower: what follows the run's changes (epoch sizes, resumes, skipped steps).
        optimizer: the scheduled optimizer, whose steps are counted.

    Example::

        >>> from lightning_lrsched import StepLR
        >>> callback = StepLR(step_size=1)
        >>> callback.active_timeline is None  # a FitRun exists from fit start to fit end only
        True
    """

    def __init__(self, timeline: Timeline, log: LrLog, follower: RunFollower, optimizer: Optimizer) -> None:
        self.timeline, self.log, self.follower = timeline, log, follower
        self.monitor_feed = MonitorFeed()
        self.hooks = [
            optimizer.register_step_pre_hook(self.before_optimizer_step),
            optimizer.register_step_post_hook(timeline.optimizer_step),  # (counts it, sets the next step's lrs)
        ]

    def release(self) -> None:
        """The fit is over (or failed): the optimizer's hooks go."""
        for handle in self.hooks:
            handle.remove()
        self.hooks = []

    def before_optimizer_step(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        """A param group that joined since the last step joins the schedule before the step uses its lr."""
        if len(optimizer.param_groups) != len(self.log.tags):
            self.log.join_new_groups(self.timeline)

    def train_start(self, trainer: pl.Trainer) -> None:
        """Groups added before training joins; the follower reads where the restored loops are."""
        self.log.join_new_groups(self.timeline)
        self.follower.train_start(trainer)

    def train_epoch_start(self, trainer: pl.Trainer) -> None:
        """A training epoch starts: training metrics are watched, its size is due at its first batch, lrs logged."""
        self.monitor_feed.start(trainer, self.timeline, training=True)
        self.follower.epoch_start(trainer)
        self.log.epoch_start(self.timeline)

    def validation_start(self, trainer: pl.Trainer) -> None:
        """A validation starts: the monitored metrics it will log are watched."""
        self.monitor_feed.start(trainer, self.timeline, training=False)
        self.follower.validation_start()

    def feed(self, trainer: pl.Trainer, *, training: bool) -> None:
        """Send the monitored values a validation (or training epoch) logged to the timeline; update the layout."""
        if trainer.sanity_checking:
            return
        self.log.refresh()
        for event in self.monitor_feed.feed(trainer, self.timeline, training=training):
            self.log.report_reduction(event)

    def fit_end(self, trainer: pl.Trainer, label: str, summary: str) -> None:
        """The fit ended: a run that stopped short warns, the ``summary`` sentence and the results are logged."""
        log = self.log
        reporting.report_fit_end(trainer, label, self.timeline, log.tags[0], summary, log=log.enabled)
        log.write_results()


@dataclasses.dataclass
class FitOptions:
    """A schedule callback's options for each fit, checked when it is made, and the start of a fit.

    Args:
        log: what is logged, and how often.
        plan: write the planned schedule to TensorBoard at fit start.
        replan_on_resume: re-plan what remains when a resumed run is longer or shorter than the checkpoint's.
        steps_per_batch: the optimizer's steps per training batch (None: 1, measured in manual optimization).
        range_test: the lr range test to run at fit start, or None.

    Example::

        >>> FitOptions(LogOptions(), steps_per_batch=0.5).plan
        True
    """

    log: LogOptions
    plan: bool = True
    replan_on_resume: bool = False
    steps_per_batch: float | None = None
    range_test: LRRangeTest | None = None

    def __post_init__(self) -> None:
        _checks.boolean("plan", self.plan)
        _checks.boolean("replan_on_resume", self.replan_on_resume)
        if self.steps_per_batch is not None:
            advice = "Use e.g. 0.5 for an optimizer stepping every 2nd batch."
            _checks.positive("steps_per_batch", self.steps_per_batch, advice)

    def start(
        self,
        schedule: Schedule,
        owner: str,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        optimizer: Optimizer,
        resume: tuple[dict[str, Any] | None, bool, Timeline | None],
        tag: str,
    ) -> tuple[FitRun | None, RangeResult | None]:
        """Start a fit of ``schedule`` on ``optimizer``: the lr range test, the plan, the follower and the log.

        Args:
            schedule: what is scheduled.
            owner: the callback's class name, for messages.
            trainer: the fitting Trainer.
            pl_module: its module.
            optimizer: the scheduled optimizer.
            resume: a checkpoint's state (or None), whether to catch up, the last fit's timeline (or None).
            tag: the logged tag prefix.

        Returns:
            The fit (None: nothing to schedule) and the range test's result (None: no test ran now).
        """
        length = run_changes.fit_length(trainer, self.steps_per_batch)
        found = None
        if self.range_test is not None:
            cycle = range_test.finds_max_lr(schedule)
            found = range_test.at_fit_start(
                self.range_test, trainer, pl_module, optimizer, length, resume, tag, cycle=cycle
            )
        timeline = plan_fit(schedule, owner, trainer, optimizer, length)
        if timeline is None:
            return None, found
        steps, replan = self.steps_per_batch, self.replan_on_resume
        follower = RunFollower.begin(trainer, pl_module, timeline, resume, steps_per_batch=steps, replan=replan)
        log = LrLog(trainer, optimizer, tag, schedule, self.log)
        log.fit_start(pl_module, timeline, plan=self.plan)
        return FitRun(timeline, log, follower, optimizer), found


def plan_fit(
    schedule: Schedule, name: str, trainer: pl.Trainer, optimizer: Optimizer, length: TrainingLength
) -> Timeline | None:
    """A fit's plan of ``schedule`` (callback ``name``); None: nothing to schedule, or a smoke run too short."""
    if length.total_steps == 0:
        rank_zero_info(f"{name}: this run takes no optimizer step (`limit_train_batches=0`?): nothing to schedule.")
        return None
    if not getattr(trainer, "fast_dev_run", False):  # set by the Trainer at init, not declared
        return schedule.timeline(optimizer, length, warn=rank_zero_warn, attach=True)
    notes: list[str] = []
    try:
        timeline = schedule.timeline(optimizer, length, warn=notes.append, attach=True)
    except ValueError as error:
        rank_zero_warn(
            f"`fast_dev_run`: {name} cannot be planned for a smoke run of {length.total_steps:g} optimizer"
            f" step(s) ({error}). The smoke run keeps the optimizer's learning rate; a real run plans the"
            " schedule as usual."
        )
        return None
    if notes:
        rank_zero_warn(
            f"`fast_dev_run`: {name} is planned for a smoke run of {length.total_steps:g} step(s): {notes[0]}"
        )
    timeline.warn.sink = rank_zero_warn
    return timeline
