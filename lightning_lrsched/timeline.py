"""Timeline: one schedule's plan for one run, and the one clock it follows.

A Timeline is built from a schedule (the torch scheduler factory and its lengths), the resolved length of the run
and the warmup. It counts optimizer steps and epochs, takes events (``optimizer_step``, ``epoch_end``,
``validation``), sets the learning rates on the optimizer, keeps the lr path, holds a schedule's final value once
the run goes past its plan, and owns the checkpoint state. It knows nothing of Lightning: the callback says when
events happen, :func:`~lightning_lrsched.preview.preview` drives it on a plain optimizer.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lightning_lrsched import groups as groups_module
from lightning_lrsched.duration import TrainingLength
from lightning_lrsched.scaling import PlanScale
from lightning_lrsched.warmup import Warmup, Warn

if TYPE_CHECKING:
    from lightning_lrsched.schedule import Schedule

STATE_VERSION = 1
REPLAN_TOLERANCE = 0.1
"""An optimizer that takes more than this share fewer or more steps per epoch than planned gets a new plan."""
SHORT_RUN = 0.95
"""A fit that takes fewer than this share of its planned optimizer steps did not finish its schedule."""
FEW_CHANGES = 8
"""The lr path keeps the steps of this many first changes; summaries describe such schedules change by change."""


class Timeline:
    """The plan and the clock of one schedule in one run.

    Args:
        schedule: the schedule (any callback of this package is one).
        optimizer: the optimizer whose learning rates it sets.
        length: the run's length in optimizer steps and epochs.
        warn: where warnings go (the callback passes Lightning's rank-zero warning).
        attach: whether the schedules of a composite's phases keep their timelines for inspection.

    Example::

        >>> import torch
        >>> from lightning_lrsched import CosineAnnealingLR, TrainingLength
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> timeline = CosineAnnealingLR(warmup=2).timeline(optimizer, TrainingLength(8, 4))
        >>> lrs = []
        >>> for _ in range(8):
        ...     lrs.append(round(optimizer.param_groups[0]["lr"], 3))
        ...     optimizer.step()
        ...     timeline.optimizer_step()
        >>> lrs
        [0.0, 0.5, 1.0, 0.933, 0.75, 0.5, 0.25, 0.067]
    """

    def __init__(
        self, schedule: Schedule, optimizer: Optimizer, length: TrainingLength, *, warn: Warn, attach: bool = False
    ) -> None:
        self.schedule = schedule
        self.attach = attach
        self.name = schedule.label
        self.optimizer = optimizer
        self.length = length
        self.interval = schedule.interval
        self.warn = warn
        self.warned: set[str] = set()
        self.warmup = Warmup.plan(schedule._warmup, schedule._warmup_start_factor, length, warn)
        self.resolved: dict[str, Any] = schedule._resolve_lengths(length, self.warmup.steps, warn)
        self.planned_steps = length.total_steps
        self.fit_steps = length.total_steps  # the Trainer's estimate of the run this fit plans for
        self.planned_epochs = _epochs(length)
        self.steps = self.epochs = self.epoch_start_steps = 0
        self.origin = 0  # the optimizer step where the current scheduler started: 0, or the last re-plan's
        self.replans: list[dict[str, Any]] = []  # each re-plan: its step, planned steps before and after, why
        self.steps_per_batch = 1.0  # optimizer steps per training batch (not 1 for optimizers at their own rate)
        self.handed_over: dict[str, Any] | None = None  # who sets the lr instead (e.g. SWA) and from which step
        self.path: dict[str, Any] = {}
        self.scaling = PlanScale()  # the optimizer steps with scaling.factor x the plan (rewinds lower it)
        self.undone = 0  # optimizer steps that rewinds took back
        self.configured: list[float] = self.lrs  # the groups' lrs as configured: groups that join scale by them
        self.warmup_epochs = self.warmup.steps / length.steps_per_epoch if self.warmup.steps else 0.0
        self.scheduler: LRScheduler = self._build()
        self._sync_warmup_lr()

    @property
    def warmup_steps(self) -> int:
        """Optimizer steps of the warmup prefix."""
        return self.warmup.steps

    @property
    def schedule_steps(self) -> int:
        """Optimizer steps the current scheduler has taken (since the warmup ended, or the last re-plan)."""
        return max(self.steps - max(self.warmup.steps, self.origin), 0)

    @property
    def epoch_position(self) -> float:
        """Epochs since the warmup ended, with the current epoch's fraction from its real number of steps."""
        per_epoch = self.length.steps_per_epoch
        fraction = (self.steps - self.epoch_start_steps) / per_epoch if math.isfinite(per_epoch) else 0.0
        return max(self.epochs + fraction - self.warmup_epochs, 0.0)

    @property
    def lrs(self) -> list[float]:
        """The current learning rate of every param group."""
        return [float(group["lr"]) for group in self.optimizer.param_groups]

    # ------------------------------------------------------------------ events

    def optimizer_step(self) -> None:
        """One optimizer step has run (with the current lrs): count it and set the lrs of the next one."""
        track(self.path, float(self.optimizer.param_groups[0]["lr"]), self.steps)
        if self.handed_over is not None:
            self.steps += 1
            return
        with self.scaling.plan_view(self.optimizer):
            self._step()
        if self._past_plan() and self._ends():
            self.warn_once("plan-end", past_plan_text(self))

    def epoch_end(self) -> None:
        """A training epoch has ended (after its last batch, before its end-of-epoch validation)."""
        with self.scaling.plan_view(self.optimizer, active=self.handed_over is None):
            self._epoch_end()

    def validation(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        """Monitored values have arrived (a validation run, or a training epoch for training metrics).

        Returns:
            The lr reductions this caused (plateau schedules), each as a dict for reporting.
        """
        with self.scaling.plan_view(self.optimizer, active=self.handed_over is None):
            events = self._validation(values, step=step, epoch=epoch)
        for event in events if self.scaling.factor != 1.0 else ():  # the lrs the optimizer really has
            for key in ("lr_before", "lr_after"):
                event[key] = [lr * self.scaling.factor for lr in event[key]]
        return events

    def _epoch_end(self) -> None:
        self.epochs += 1
        # an epoch counts for the schedule when at least one of its steps came after the warmup (and before a
        # hand-over)
        counts = self.steps > max(self.warmup.steps, self.epoch_start_steps) and self.handed_over is None
        if self.interval == "epoch" and counts:
            self._advance()
        self.epoch_start_steps = self.steps

    def _validation(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        return []

    def monitors(self) -> dict[str, bool]:
        """The metrics this timeline listens to now, each with whether a missing value is an error."""
        return {}

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint state: the clock, the resolved plan, the lrs, the path and the scheduler's own state."""
        return {
            "version": STATE_VERSION,
            "type": type(self.schedule).__name__,
            "label": self.name,
            "interval": self.interval,
            "steps": self.steps,
            "epochs": self.epochs,
            "epoch_start_steps": self.epoch_start_steps,
            "warmup_steps": self.warmup.steps,
            "total_steps": self.planned_steps if math.isfinite(self.planned_steps) else -1,
            "fit_steps": self.fit_steps if math.isfinite(self.fit_steps) else -1,
            "resolved": copy.deepcopy(self.resolved),
            "lrs": self.lrs,
            "path": copy.deepcopy(self.path),
            "scheduler": self._scheduler_state(),
            "arguments": arguments(self.schedule),
            "origin": self.origin,
            "replans": copy.deepcopy(self.replans),
            "handed_over": self.handed_over,
            "steps_per_batch": self.steps_per_batch,
            "configured": list(self.configured),
            "warmup_epochs": self.warmup_epochs,
            "planned_epochs": self.planned_epochs if math.isfinite(self.planned_epochs) else -1,
            **self.scaling.state(),
            "undone": self.undone,
        }

    def load_state_dict(self, state: Mapping[str, Any], *, replan: bool = False) -> None:
        """Continue from a checkpoint's state: its plan, its clock and its lrs.

        Args:
            state: a state written by :meth:`state_dict`.
            replan: when this run is longer or shorter than the checkpoint's plan, re-plan what remains of the
                schedule for this run (:meth:`replan`) instead of keeping the checkpoint's plan.

        Raises:
            ValueError: when the checkpoint stepped per another interval.
        """
        if state["interval"] != self.interval:
            raise ValueError(
                f"The checkpoint's `{self.name}` stepped per {state['interval']}, but this callback steps per"
                f" {self.interval}. Resume with `interval={state['interval']!r}`."
            )
        this_run, this_resolved = self.length, self.resolved
        warn_changed_arguments(self, state)
        self._load(state)
        same_run = state.get("fit_steps", this_run.total_steps) == this_run.total_steps
        if self.replans and same_run:  # the checkpoint's plan already followed its run; epoch checks continue it
            self.length = dataclasses.replace(this_run, total_steps=self.planned_steps)
            return
        if self.resolved == this_resolved and not self.replans:  # fixed lengths: this run's end is the plan's end
            self.planned_steps, self.planned_epochs = this_run.total_steps, _epochs(this_run)
            return
        if replan:
            self.replan(this_run, "resumed into a run of another length (`replan_on_resume=True`)")
            return
        self.warn(resume_length_text(self, this_run, state["resolved"], this_resolved))

    def rewind(self, state: Mapping[str, Any], length: TrainingLength, factor: float) -> None:
        """Go back to an earlier state of this fit (plan, clock, lrs), with the whole plan scaled by ``factor``.

        Args:
            state: a :meth:`state_dict` of this timeline, taken earlier in this fit.
            length: the run's length when that state was taken.
            factor: the lrs from here are ``factor`` times those the timeline would have set (it multiplies
                the scale of earlier rewinds).
        """
        scale, undone = self.scaling.factor * factor, self.undone + self.steps - int(state["steps"])
        handed_over = self.handed_over  # (someone else, SWA, sets the lr now: that stays so)
        self._load(state)
        self.length, self.undone = length, undone
        if handed_over is not None:
            self.handed_over = handed_over
        else:
            self.scaling.rescale(self.optimizer, scale)

    def _load(self, state: Mapping[str, Any]) -> None:
        """Every field of a state written by :meth:`state_dict`."""
        self.resolved = copy.deepcopy(dict(state["resolved"]))
        self.steps = int(state["steps"])
        self.epochs = int(state["epochs"])
        self.epoch_start_steps = int(state.get("epoch_start_steps", self.steps))
        saved = state.get("arguments") or {}
        start = float(saved.get("warmup_start_factor", self.warmup.start_factor))
        self.warmup = Warmup(int(state.get("warmup_steps", self.warmup.steps)), start)
        planned = state.get("total_steps")  # absent before 0.2: the plan is then this run's
        if isinstance(planned, (int, float)) and planned >= 0:
            self.planned_steps = planned
        epochs = state.get("planned_epochs")
        self.planned_epochs = epochs if isinstance(epochs, (int, float)) and epochs >= 0 else _epochs(self.length)
        self.origin = int(state.get("origin", 0))
        self.replans = copy.deepcopy(list(state.get("replans") or []))
        self.handed_over = state.get("handed_over")
        self.steps_per_batch = float(state.get("steps_per_batch", 1.0))
        self.configured = [float(lr) for lr in state.get("configured") or self.configured]
        self.warmup_epochs = float(state.get("warmup_epochs", self.warmup_epochs))
        self.path = copy.deepcopy(dict(state.get("path") or {}))
        self._load_scheduler_state(state["scheduler"])
        self.restore_lrs([float(lr) for lr in state.get("lrs") or self.scheduler.get_last_lr()])
        self.scaling = PlanScale.from_state(state)
        self.undone = int(state.get("undone", 0))

    def restore_lrs(self, lrs: Sequence[float]) -> None:
        """Set the lrs this timeline gave its param groups (after something else overwrote them)."""
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=False):
            group["lr"] = lr

    # ------------------------------------------------------------------ the run changes

    def replan(self, length: TrainingLength, why: str, *, epochs_kept: bool = False) -> str:
        """Plan what remains of the schedule for a run of ``length``, continuing from the current lrs.

        Whole-run lengths and percentages are resolved again and the rest of the schedule is rebuilt from the
        current lr by the schedule's ``_rebase`` (README, "When the run changes"); fixed lengths and the warmup
        stay. A schedule that cannot be rebuilt without a jump keeps its plan, with one warning.

        Args:
            length: the run's new length.
            why: the reason, for the warnings and the summary.
            epochs_kept: only the epochs' size or an optimizer's rate changed: schedules counting epochs stay.

        Returns:
            ``"rebuilt"`` (the lrs to come changed), ``"fixed"`` (only the run's end moved) or ``"kept"``.
        """
        with self.scaling.plan_view(self.optimizer, active=self.handed_over is None):
            return replan_remaining(self, length, why, epochs_kept=epochs_kept)

    def join_new_groups(self) -> int:
        """Param groups added to the optimizer since the last call join the schedule; returns how many."""
        with self.scaling.plan_view(self.optimizer, active=self.handed_over is None):
            return groups_module.join_new(self)

    def hand_over(self, to: str) -> None:
        """Stop setting the lr from now on: ``to`` sets it (the clock and the lr path go on)."""
        self.handed_over = {"to": to, "step": self.steps, "epoch": self.epochs}

    # ------------------------------------------------------------------ reporting helpers

    def shortfall(self) -> tuple[int, int, int] | None:
        """(steps taken, steps planned, steps undone by rewinds) when this fit fell noticeably short of its plan."""
        planned = self.planned_steps
        if not self.schedule._scaled_to_run() or not math.isfinite(planned) or self.steps >= SHORT_RUN * planned:
            return None
        return self.steps, int(planned), self.undone

    def warn_once(self, key: str, message: str) -> None:
        """Warn with ``message`` the first time ``key`` comes up in this run."""
        if key not in self.warned:
            self.warned.add(key)
            self.warn(message)

    # ------------------------------------------------------------------ for subclasses (plateau, composites)

    def _build(self) -> LRScheduler:
        return self.schedule._build_scheduler(self.optimizer, self.resolved)

    def _ends(self) -> bool:
        return self.schedule._ends

    def _past_plan(self) -> bool:
        """Whether the optimizer step just taken lies beyond the plan (in the schedule's interval)."""
        if self.interval == "step":
            return self.steps > self.planned_steps
        return self.epochs >= self.planned_epochs and self.steps > self.epoch_start_steps

    def _schedulers(self) -> list[LRScheduler]:
        """The torch schedulers this timeline drives (a composite's children included)."""
        return [self.scheduler]

    def _step(self) -> None:
        """Count one optimizer step: the warmup sets the lr, or a per-step schedule advances."""
        self.steps += 1
        if self.warmup.covers(self.steps):
            self._sync_warmup_lr()
        elif self.interval == "step":
            self._advance()

    def _advance(self) -> None:
        past = self.steps > self.planned_steps if self.interval == "step" else self.epochs > self.planned_epochs
        if past and self._ends():
            return  # past the plan: hold the final value (warned in `optimizer_step`)
        self.schedule._step_scheduler(self.scheduler, self)

    def _sync_warmup_lr(self) -> None:
        """During the warmup, set each group's lr to the warmup fraction of the schedule's first value."""
        if not self.warmup.covers(self.steps):
            return
        factor = self.warmup.factor(self.steps)
        for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr(), strict=False):
            group["lr"] = lr * factor

    def _scheduler_state(self) -> dict[str, Any]:
        return copy.deepcopy(self.scheduler.state_dict())

    def _load_scheduler_state(self, state: Mapping[str, Any]) -> None:
        self.scheduler.load_state_dict(copy.deepcopy(dict(state)))


def replan_remaining(timeline: Timeline, length: TrainingLength, why: str, *, epochs_kept: bool) -> str:
    """The body of :meth:`Timeline.replan` (inside its plan view)."""
    before = (timeline.length, timeline.planned_steps, timeline.planned_epochs)
    set_length(timeline, length)
    if timeline.handed_over is not None or (epochs_kept and timeline.interval == "epoch"):
        return "fixed"  # (the lr is someone else's, or the schedule counts epochs, which keep their places)
    if not timeline.schedule._scaled_to_run():
        return "fixed"  # fixed lengths keep their places
    try:
        new = timeline.schedule._resolve_lengths(length, timeline.warmup.steps, _quiet)
    except ValueError:
        new = None
    if new == timeline.resolved:
        return "fixed"
    if new is not None and timeline.steps < timeline.warmup.steps and timeline.origin == 0:  # not started yet
        timeline.restore_lrs(
            [float(lr) for lr in timeline.scheduler.get_last_lr()]
        )  # built from its own first lrs, not the warmup's
        timeline.resolved, timeline.scheduler = new, timeline.schedule._build_scheduler(timeline.optimizer, new)
        timeline._sync_warmup_lr()
    elif new is None or not rebase(timeline, new):
        timeline.length, timeline.planned_steps, timeline.planned_epochs = before
        timeline.warn_once("no-replan", cannot_replan_text(timeline, why))
        return "kept"
    timeline.replans.append({"step": timeline.steps, "from": before[1], "to": length.total_steps, "why": why})
    return "rebuilt"


def set_length(timeline: Timeline, length: TrainingLength) -> None:
    """The run is now ``length`` long; the epochs done keep their sizes, the rest have the new one."""
    timeline.length = length
    timeline.planned_steps, timeline.planned_epochs = length.total_steps, _epochs(length)
    if math.isfinite(timeline.planned_epochs):
        per_epoch, done = length.steps_per_epoch, timeline.steps - timeline.epoch_start_steps
        left = max(length.total_steps - timeline.steps - (per_epoch - done if done else 0), 0)
        timeline.planned_epochs = timeline.epochs + (1 if done else 0) + math.ceil(left / per_epoch)


def rebase(timeline: Timeline, resolved: dict[str, Any]) -> bool:
    """Rebuild a timeline's scheduler for what remains of the new plan ``resolved``, from the current lrs."""
    # where the run is, in the schedule's unit, counted as its lengths are: from the end of the warmup
    if timeline.interval == "step":
        position = timeline.steps - timeline.warmup.steps
    else:
        position = timeline.epochs - int(timeline.warmup_epochs)
    lr = float(timeline.optimizer.param_groups[0]["lr"])
    kwargs = timeline.schedule._rebase(timeline.scheduler, resolved, position, lr)
    if kwargs is None:
        return False
    groups = timeline.optimizer.param_groups
    initial = [group.get("initial_lr") for group in groups]
    for group in groups:  # the rebuilt scheduler starts from the current lrs
        group["initial_lr"] = group["lr"]
    try:
        timeline.scheduler = timeline.schedule._build_scheduler(timeline.optimizer, {**resolved, **kwargs})
    finally:
        for group, initial_lr in zip(groups, initial, strict=True):
            if initial_lr is None:
                group.pop("initial_lr", None)
            else:
                group["initial_lr"] = initial_lr
    timeline.resolved, timeline.origin = resolved, timeline.steps
    return True


def _epochs(length: TrainingLength) -> float:
    """The run's epochs, or inf when its steps or its epoch length are unknown."""
    total, per_epoch = length.total_steps, length.steps_per_epoch
    if not (math.isfinite(total) and math.isfinite(per_epoch)) or per_epoch <= 0:
        return math.inf
    return math.ceil(total / per_epoch)


def arguments(schedule: Schedule) -> dict[str, Any]:
    """A schedule's plain arguments (numbers, strings, flags; not lengths), to tell a changed one on resume."""
    plain = {
        key: value
        for key, value in schedule._kwargs.items()
        if key not in schedule._lengths and (value is None or isinstance(value, (bool, int, float, str)))
    }
    plain["warmup"] = schedule._warmup.text if schedule._warmup is not None else None
    plain["warmup_start_factor"] = schedule._warmup_start_factor
    return plain


def warn_changed_arguments(timeline: Timeline, state: Mapping[str, Any]) -> None:
    """One warning naming each argument that differs from the checkpoint's: the checkpoint's applies."""
    saved = state.get("arguments")  # absent before 0.2: only the warmup length can be compared then
    now = arguments(timeline.schedule)
    saved = saved if isinstance(saved, Mapping) else {}
    changed = {key: (saved[key], now[key]) for key in now if key in saved and saved[key] != now[key]}
    old_warmup = state.get("warmup_steps")  # (the resolved length: compared when the argument was not saved)
    if "warmup" not in saved and isinstance(old_warmup, int) and old_warmup != timeline.warmup.steps:
        changed["warmup"] = (f"{old_warmup} steps", f"{timeline.warmup.steps} steps")
    if not changed:
        return
    listed = "; ".join(f"`{key}` was {old!r} and is now {new!r}" for key, (old, new) in changed.items())
    timeline.warn(
        f"`{timeline.name}` resumes with arguments that differ from the checkpoint's: {listed}. The checkpoint's"
        " apply, so the schedule continues exactly as it was planned. To use the new ones, start a fit without"
        " `ckpt_path` (load the weights with `YourModule.load_from_checkpoint(path)`)."
    )


def resume_length_text(timeline: Timeline, run: TrainingLength, saved: Any, resolved: Any) -> str:
    """The warning of a resume into a run of another length, whose schedule keeps the checkpoint's plan."""
    end = (
        f" past optimizer step {timeline.planned_steps:g} the learning rate holds at its final value."
        if timeline._ends()
        else " it goes on with the checkpoint's lengths."
    )
    return (
        f"`{timeline.name}` resumes into a run of {run.total_steps:g} optimizer steps, but the plan it resumes"
        f" (from a checkpoint, or this Trainer's earlier fit) was for {timeline.planned_steps:g} (lengths {saved};"
        f" this run would give {resolved}). It keeps that plan:{end} To re-plan what remains of the schedule"
        f" over this run instead, continuing from the current learning rate, pass `replan_on_resume=True` to"
        f" `{timeline.name}`."
    )


def catch_up(timeline: Timeline, steps: int, epochs: int) -> None:
    """Advance a fresh timeline to ``steps`` optimizer steps and ``epochs`` epochs, as if it had run them.

    Epochs are taken as ``length.steps_per_epoch`` steps each (the last one possibly partial).
    """
    per_epoch = timeline.length.steps_per_epoch
    done_epochs = 0
    with warnings.catch_warnings():  # no optimizer step runs here, which torch's scheduler would point out
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
        for _ in range(steps):
            timeline.optimizer_step()
            ends_epoch = timeline.steps - timeline.epoch_start_steps >= per_epoch
            if math.isfinite(per_epoch) and done_epochs < epochs and ends_epoch:
                timeline.epoch_end()
                done_epochs += 1
    for _ in range(done_epochs, epochs):
        timeline.epoch_end()


def past_plan_text(timeline: Timeline) -> str:
    """The warning of a schedule that has run past the end of its plan and holds its final value."""
    if timeline.interval == "step":
        plan = f"{timeline.planned_steps:g} optimizer steps and this is step {timeline.steps}"
    else:
        plan = f"{timeline.planned_epochs:g} epochs and this is epoch {timeline.epochs + 1}"
    return (
        f"{timeline.name} has run past the end of its plan: it was planned for {plan}. The learning rate holds at"
        f" its final value {timeline.lrs[0]:.3g} from here instead of extending the schedule's formula. A run"
        " outgrows its plan when it resumes into a longer run (pass `replan_on_resume=True` to stretch the"
        " schedule over it instead), when `steps_per_batch` is declared lower than the optimizer's real rate,"
        " or when a schedule that cannot be re-planned meets longer epochs."
    )


def cannot_replan_text(timeline: Timeline, why: str) -> str:
    """The warning of a schedule that keeps its plan because it cannot re-plan what remains."""
    end = " and holds its final value past it" if timeline._ends() else ""
    return (
        f"`{timeline.name}` cannot re-plan what remains of its schedule without a jump in the learning rate"
        f" ({why}); it keeps its plan of {timeline.planned_steps:g} optimizer steps{end}. Give its lengths as"
        " fixed durations (e.g. '3ep', 500) to make them independent of the run's length."
    )


def _quiet(message: str) -> None:
    """Warnings of a re-plan's length resolution are not repeated (the plan's own were given at fit start)."""


def track(path: dict[str, Any], lr: float, step: int) -> None:
    """Add the lr of optimizer step ``step`` to ``path``: first, peak (and its step), lowest, last, changes."""
    if not path:
        path.update(first=lr, peak=lr, peak_step=step, lowest=lr, last=lr, changes=0, change_steps=[])
        return
    if lr > path["peak"]:
        path["peak"], path["peak_step"] = lr, step
    path["lowest"] = min(path["lowest"], lr)
    if lr != path["last"]:
        path["changes"] += 1
        if len(path["change_steps"]) < FEW_CHANGES:
            path["change_steps"].append(step)
    path["last"] = lr
