"""LRSchedulerCallback: the Lightning adapter that holds a schedule and turns a Trainer's hooks into its events.

The callback holds a :class:`~lightning_lrsched.core.schedule.Schedule` (the description, torch only; built from
the callback's arguments by :class:`~lightning_lrsched.lightning.arguments.ScheduleArguments`), picks the
optimizer, checks for conflicts, plans a fresh :class:`~lightning_lrsched.core.timeline.Timeline` at every fit
start, tells it when optimizer steps, epochs and validations happen, and delegates the checkpoint state to it.
Lightning and torch private attributes are used only through ``privates.py``, each with its public fallback.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info
from torch.optim import Optimizer
from typing_extensions import override

from lightning_lrsched.core.duration import TrainingLength
from lightning_lrsched.core.schedule import Schedule, SchedulerFactory
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.lightning import range_test
from lightning_lrsched.lightning.arguments import ScheduleArguments
from lightning_lrsched.lightning.fit_run import FitOptions, FitRun
from lightning_lrsched.lightning.lr_logging import LoggingInterval, LogOptions
from lightning_lrsched.lightning.range_test import LRRangeTest
from lightning_lrsched.lightning.saved_state import SavedState
from lightning_lrsched.lightning.target import OptimizerTarget
from lightning_lrsched.report import reporting

__all__ = ["LRSchedulerCallback", "SchedulerFactory"]


class LRSchedulerCallback(ScheduleArguments, Callback):
    """Schedule the learning rate of one optimizer with any torch scheduler, stepped by the callback itself.

    The callback holds a schedule (``callback.schedule``, a :class:`~lightning_lrsched.core.schedule.Schedule`:
    what the lr is at each position, without Lightning) and says when it advances. Built from the schedule's
    arguments (``StepLR(step_size=2)``), or around a schedule (``LRSchedulerCallback(schedule=...)``). At fit
    start the callback resolves length arguments against the Trainer (``"10%"``, ``"3ep"``, ``"500 steps"``),
    builds the scheduler on one of ``trainer.optimizers`` and from then on steps it:

    * ``interval="step"``: after every optimizer step that really ran (the optimizer's own post-hook: gradient
      accumulation, AMP steps skipped on inf gradients and manual optimization are counted right).
    * ``interval="epoch"``: after each epoch's last batch, before its validation, where Lightning steps its own.

    Every fit starts from a fresh plan, which follows the run as it really is (docs: "Resume and run changes").
    Each group's lr is logged under ``LearningRateMonitor``'s tags and cadence (docs: "Logging and TensorBoard").

    Use the subclasses (``OneCycleLR``, ``CosineAnnealingLR``, ...) for torch's schedulers; use this class
    directly for a scheduler of your own or a factory such as transformers'
    ``get_linear_schedule_with_warmup``.

    Args:
        *args: the schedule's arguments: :class:`~lightning_lrsched.core.schedule.Schedule`'s (``scheduler``,
            ``interval``, ``warmup``, ``warmup_start_factor``, ``lengths``, the scheduler's own), or for a
            subclass those of its ``schedule_type``.
        schedule: a schedule to hold instead of one built from the arguments (of ``schedule_type``).
        optimizer: which optimizer of ``trainer.optimizers`` to schedule: an index, or the optimizer's class
            name (``"AdamW"``) when that is unique.
        log_lr: log the learning rate and show it in the progress bar, as ``LearningRateMonitor`` would.
        log_momentum: log momentum (or beta1) too; None: where the schedule cycles it (1cycle, cyclic).
        log_weight_decay: log each group's weight decay too.
        logging_interval: ``"step"``, ``"epoch"``, or None to log at the schedule's own interval.
        plan: at fit start, write the planned schedule (a figure and a text card of the resolved lengths) to
            TensorBoard. Drawing the figure costs about 0.1 s once per fit.
        name: the logged tag prefix instead of ``lr-<OptimizerClass>``.
        replan_on_resume: a fit that resumes into a longer or shorter run than planned keeps the old plan and
            holds its end, with a warning (False); or re-plans what remains for the new run without a jump (True).
        steps_per_batch: this optimizer's steps per training batch when not one (0.5 for a GAN generator that
            steps every second batch). None: measured over the first epoch in manual optimization.
        find_lr: run an lr range test at fit start (``True``, or an
            :class:`~lightning_lrsched.lightning.range_test.LRRangeTest` to configure it) and make its pick the
            optimizer's lr, the peak the schedule starts from (every param group scaled alike). A resumed fit
            keeps the checkpoint's pick. ``OneCycleLR(max_lr="find")`` turns it on. ``callback.range_result``
            holds the curve and the pick.
        **kwargs: the schedule's arguments, as ``*args``.

    Example::

        >>> from transformers import get_linear_schedule_with_warmup  # doctest: +SKIP
        >>> callback = LRSchedulerCallback(  # doctest: +SKIP
        ...     get_linear_schedule_with_warmup, interval="step",
        ...     num_warmup_steps="10%", num_training_steps="100%",
        ...     lengths=("num_warmup_steps", "num_training_steps"),
        ... )
        >>> import torch
        >>> callback = LRSchedulerCallback(torch.optim.lr_scheduler.StepLR, step_size="2ep", lengths=["step_size"])
    """

    state_key: str = ""  # (Lightning's is a property: here an attribute, set once)
    """Unique per scheduled optimizer, so several callbacks (one per optimizer) can coexist."""
    _fit: FitRun | None
    """The fit under way: its timeline, logging, follower and optimizer hooks (None between fits)."""

    def __init__(
        self,
        *args: Any,
        schedule: Schedule | None = None,
        optimizer: int | str = 0,
        log_lr: bool = True,
        plan: bool = True,
        name: str | None = None,
        log_momentum: bool | None = None,
        log_weight_decay: bool = False,
        logging_interval: LoggingInterval = None,
        replan_on_resume: bool = False,
        steps_per_batch: float | None = None,
        find_lr: bool | LRRangeTest = False,
        **kwargs: Any,
    ) -> None:
        self.schedule = self._hold(schedule, args, kwargs)
        self.options = FitOptions(
            LogOptions(log_lr, log_momentum, log_weight_decay, logging_interval),
            plan,
            replan_on_resume,
            steps_per_batch,
            range_test.requested(find_lr, self.schedule, type(self).__name__),
        )
        """How each fit runs: logging, resume, the optimizer's rate, the lr range test."""
        self.range_result: range_test.RangeResult | None = None
        """The last range test's curve and pick (or the checkpoint's, after a resume)."""
        self.target = OptimizerTarget(optimizer, name, type(self).__name__)
        # Lightning reads `state_key` at every hook call (its profiler names): an attribute, computed once
        self.state_key = self._generate_state_key(optimizer=optimizer, name=name)
        self._saved = SavedState(self.state_key, self.schedule.label, type(self).__name__)
        self._fit = None

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles hold the configuration only, never a run's trainer, optimizer or timeline."""
        return {**self.__dict__, "_fit": None}  # (and the schedule's and the saved state's own copies)

    # ------------------------------------------------------------------ public properties

    @property
    def active_timeline(self) -> Timeline | None:
        """The timeline of the fit under way (None between fits, or when nothing is scheduled)."""
        return self._fit.timeline if self._fit is not None else None

    @property
    def epoch_ended(self) -> bool:
        """Whether Lightning's current epoch has ended for the fit under way (its last batch's end has run here).

        A callback after this one in ``Trainer(callbacks=...)`` that moves the schedule back into an epoch (a
        rewind of :class:`LRDiagnostics`) ends that epoch itself then: no other epoch end comes for it.
        """
        return self._fit is not None and self._fit.follower.epoch_ended

    optimizer_ref = property(lambda self: self.target.ref, doc="The ``optimizer`` argument: an index or a class name.")
    name = property(lambda self: self.target.name, doc="The ``name`` argument: the logged tag prefix, or None.")
    interval = property(
        lambda self: self.schedule.interval, doc="``'step'`` or ``'epoch'``: when the schedule advances."
    )
    label = property(lambda self: self.schedule.label, doc="The schedule's name in summaries and checkpoints.")
    scheduler = property(lambda self: self.schedule.scheduler, doc="The torch scheduler of the current or last fit.")
    resolved_lengths = property(lambda self: self.schedule.resolved_lengths, doc="The lengths resolved at fit start.")
    warmup_length = property(lambda self: self.schedule.warmup_length, doc="The warmup as given (a Duration) or None.")
    schedule_steps = property(lambda self: self.schedule.schedule_steps, doc="Optimizer steps since the warmup ended.")
    range_test = property(lambda self: self.options.range_test, doc="The lr range test run at fit start, or None.")

    def timeline(self, optimizer: Optimizer, length: TrainingLength, **options: Any) -> Timeline:
        """The schedule's timeline on ``optimizer``, to drive by hand (a plain loop, Fabric): ``schedule.timeline``."""
        return self.schedule.timeline(optimizer, length, **options)

    def summary(self) -> dict[str, Any]:
        """What the schedule did in the current or last fit, in numbers and in words.

        The learning rates are those of the first param group, as used by the optimizer steps (``first``,
        ``peak`` with its step, ``lowest``, ``last``); ``text`` says the same in a sentence. Resumed fits
        include the steps before the checkpoint.

        Example::

            >>> from lightning_lrsched import StepLR
            >>> schedule = StepLR(1)
            >>> schedule.summary()["text"]
            'StepLR: no optimizer step yet'
        """
        info = reporting.summary(self.label, self.interval, self.schedule.last_timeline)
        if self.range_result is not None:  # (what the lr range test picked, and why)
            info["lr_range"] = {key: value for key, value in self.range_result.state().items() if key != "curve"}
            info["text"] += f"; {self.range_result.text()}"
        return info

    # ------------------------------------------------------------------ fit lifecycle

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        resume = (*self._saved.take(), self.schedule.last_timeline)  # (a checkpoint's state, or the last fit's)
        self._release()
        self.schedule.last_timeline = None
        targets = [c.target for c in trainer.callbacks if isinstance(c, LRSchedulerCallback)]  # type: ignore[attr-defined]
        optimizer, tag = self.target.resolve(trainer, targets)
        self._fit, found = self.options.start(
            self.schedule, type(self).__name__, trainer, pl_module, optimizer, resume, tag
        )
        self.range_result = found or self.range_result

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._fit is not None:
            self._fit.train_start(trainer)

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._fit is not None:
            self._fit.fit_end(trainer, self.label, self.summary()["text"])  # (with the range test's pick)
            if self.range_result is not None:
                rank_zero_info(f"{self.label}: {self.range_result.text()}")
        self._release()

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._release()
        self._saved.forget()

    @override
    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._release()
        self._saved.forget()

    def _release(self) -> None:
        if self._fit is not None:
            self._fit.release()
        self._fit = None

    # ------------------------------------------------------------------ events: the fit under way handles them

    @override
    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if (fit := self._fit) is not None:  # (its parts directly: no call between, at every batch)
            if fit.follower.first_batch_due:  # (a fit's or an epoch's first batch: what the run is now)
                fit.follower.batch_start(trainer)
            fit.log.batch_start(fit.timeline)  # (the lrs of this batch's step, when Lightning logs it)

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if (fit := self._fit) is not None:  # (the epoch ends after its last batch: Lightning's own end check)
            progress = trainer.fit_loop.epoch_loop.batch_progress
            if progress.is_last_batch or progress.current.ready == trainer.num_training_batches:
                fit.follower.epoch_end(trainer)
            if fit.log.show_progress:
                fit.log.show(pl_module)

    @override
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._fit is not None:
            self._fit.validation_start(trainer)

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._fit is not None:
            self._fit.feed(trainer, training=False)

    @override
    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._fit is not None:
            self._fit.train_epoch_start(trainer)

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._fit is not None:
            self._fit.feed(trainer, training=True)

    # ------------------------------------------------------------------ checkpoint state

    @override
    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self._saved.checkpoint_loaded(checkpoint)

    @override
    def state_dict(self) -> dict[str, Any]:
        return self._saved.state_dict(self.schedule.last_timeline, self.range_result)

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._saved.load(state_dict, self.active_timeline, replan=self.options.replan_on_resume)


OPTIONS = LRSchedulerCallback.option_names
"""The callback's own arguments (the optimizer, logging, resume): every other argument is the schedule's."""
