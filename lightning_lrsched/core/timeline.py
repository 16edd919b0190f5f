"""Timeline: one schedule's plan for one run, and the one clock it follows.

A Timeline is built from a schedule (the torch scheduler factory and its lengths), the resolved length of the run
and the warmup. It counts optimizer steps and epochs, takes events (``optimizer_step``, ``epoch_end``,
``validation``), keeps the lr path, holds a schedule's final value once the run goes past its plan, and owns the
checkpoint state. It knows nothing of Lightning: the callback says when events happen,
:func:`~lightning_lrsched.report.preview.preview` drives it on a plain optimizer.

The torch scheduler computes the plan on a stand-in of the optimizer
(:class:`~lightning_lrsched.core.planned_lrs.PlannedLrs`), never on the optimizer itself. After each event the
timeline writes each group's lr once: the plan's, times the warmup's factor at this position, times the scale of
rewinds. The warmup, the end
hold, a re-plan, a rewind, a joining group and a hand-over to SWA change the position or the plan; none of them
leaves a value in the optimizer that a later event must undo.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections.abc import Mapping
from typing import Any, Protocol

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lightning_lrsched.core.duration import Duration, Interval, TrainingLength
from lightning_lrsched.core.planned_lrs import PlannedLrs
from lightning_lrsched.core.warmup import Warmup, Warn

STATE_VERSION = 1
REPLAN_TOLERANCE = 0.1
"""An optimizer that takes more than this share fewer or more steps per epoch than planned gets a new plan."""
SHORT_RUN = 0.95
"""A fit that takes fewer than this share of its planned optimizer steps did not finish its schedule."""
FEW_CHANGES = 8
"""The lr path keeps the steps of this many first changes; summaries describe such schedules change by change."""


class ScheduleHooks(Protocol):
    """What a timeline needs of its schedule: every schedule of this package (``schedule.Schedule``) has it."""

    @property
    def label(self) -> str: ...
    @property
    def interval(self) -> Interval: ...

    warmup_length: Duration | None
    warmup_start_factor: float
    cycles_momentum: bool
    ends: bool

    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]: ...
    def build_scheduler(self, optimizer: Optimizer, resolved: dict[str, Any]) -> LRScheduler: ...
    def step_scheduler(self, scheduler: LRScheduler, timeline: Timeline) -> None: ...
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None: ...
    def scaled_to_run(self) -> bool: ...
    def plain_arguments(self) -> dict[str, Any]: ...


class Timeline:
    """The plan and the clock of one schedule in one run.

    Args:
        schedule: the schedule (what every callback of this package holds).
        optimizer: the optimizer whose learning rates it sets.
        length: the run's length in optimizer steps and epochs.
        warn: where warnings go (the callback passes Lightning's rank-zero warning).
        attach: whether the schedules of a composite's phases keep their timelines for inspection.
        phase: a phase of a composite schedule: its scheduler works on ``optimizer`` (the composite's plan)
            directly, and the composite writes the real lrs.

    Example::

        >>> import torch
        >>> from lightning_lrsched.core import CosineAnnealingLR, TrainingLength
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
        self,
        schedule: ScheduleHooks,
        optimizer: Optimizer,
        length: TrainingLength,
        *,
        warn: Warn,
        attach: bool = False,
        phase: bool = False,
    ) -> None:
        self.schedule = schedule
        self.attach = attach
        self.name = schedule.label
        self.optimizer = optimizer
        self.planned = PlannedLrs(optimizer, cycles_momentum=schedule.cycles_momentum, phase=phase)
        self.length = length
        self.interval = schedule.interval
        self.warn = warn
        self.warned: set[str] = set()
        self.warmup = Warmup.plan(schedule.warmup_length, schedule.warmup_start_factor, length, warn)
        self.resolved: dict[str, Any] = schedule.resolve_lengths(length, self.warmup.steps, warn)
        self.planned_steps = length.total_steps
        self.fit_steps = length.total_steps  # the Trainer's estimate of the run this fit plans for
        self.planned_epochs = _epochs(length)
        self.steps = self.epochs = self.epoch_start_steps = 0
        self.origin = 0  # the optimizer step where the current scheduler started: 0, or the last re-plan's
        self.replans: list[dict[str, Any]] = []  # each re-plan: its step, planned steps before and after, why
        self.steps_per_batch = 1.0  # optimizer steps per training batch (not 1 for optimizers at their own rate)
        self.handed_over: dict[str, Any] | None = None  # who sets the lr instead (e.g. SWA) and from which step
        self.path: dict[str, Any] = {}
        self.undone = 0  # optimizer steps that rewinds took back
        self.warmup_epochs = self.warmup.steps / length.steps_per_epoch if self.warmup.steps else 0.0
        self.scheduler: LRScheduler = self._build()
        self.write_lrs()

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

    def optimizer_step(self, *_hook_args: Any) -> None:
        """One optimizer step has run (with the current lrs): count it and set the lrs of the next one.

        A torch step hook's arguments are ignored: ``optimizer.register_step_post_hook(timeline.optimizer_step)``.
        """
        track(self.path, float(self.optimizer.param_groups[0]["lr"]), self.steps)
        if self.handed_over is not None:
            self.steps += 1
            return
        self.count_step()
        self.write_lrs()
        past_plan = self.steps > self.planned_steps if self.interval == "step" else self._past_planned_epochs()
        if past_plan and self.holds_end():
            self.warn_once("plan-end", past_plan_text(self))

    def epoch_end(self) -> None:
        """A training epoch has ended (after its last batch, before its end-of-epoch validation)."""
        self.count_epoch()
        self.write_lrs()

    def validation(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        """Monitored values have arrived (a validation run, or a training epoch for training metrics).

        Returns:
            The lr reductions this caused (plateau schedules), each as a dict for reporting, with the lrs the
            optimizer really has.
        """
        events = self.take_values(values, step=step, epoch=epoch) if self.handed_over is None else []
        self.write_lrs()
        for event in events if self.planned.scale != 1.0 else ():
            for key in ("lr_before", "lr_after"):
                event[key] = [lr * self.planned.scale for lr in event[key]]
        return events

    def count_epoch(self) -> None:
        """Count one training epoch (the part of ``epoch_end`` that a composite passes on to its phases)."""
        self.epochs += 1
        # an epoch counts for the schedule when at least one of its steps came after the warmup (and before a
        # hand-over)
        counts = self.steps > max(self.warmup.steps, self.epoch_start_steps) and self.handed_over is None
        if self.interval == "epoch" and counts:
            self._advance()
        self.epoch_start_steps = self.steps

    def take_values(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        """Monitored values for a plateau schedule (the part of ``validation`` a composite passes on); none here."""
        return []

    def monitors(self) -> dict[str, bool]:
        """The metrics this timeline listens to now, each with whether a missing value is an error."""
        return {}

    def write_lrs(self) -> None:
        """Set each group's lr, once: the plan's, times the warmup's factor here, times the rewinds' scale."""
        if self.handed_over is not None:
            return
        warming = self.steps <= self.warmup.steps  # (with no warmup, its factor is 1 at step 0)
        factor = self.warmup.factor(self.steps) if warming else 1.0
        if not self.planned.phase:
            self.planned.write(factor)
        elif warming and self.warmup.steps:  # a composite's phase: its scheduler sets the lrs, its warmup scales them
            self.planned.set(self.scheduler.get_last_lr(), factor)

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
            "arguments": self.schedule.plain_arguments(),
            "origin": self.origin,
            "replans": copy.deepcopy(self.replans),
            "handed_over": self.handed_over,
            "steps_per_batch": self.steps_per_batch,
            "warmup_epochs": self.warmup_epochs,
            "planned_epochs": self.planned_epochs if math.isfinite(self.planned_epochs) else -1,
            **self.planned.state(),
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
        Replan(self, this_run, "resumed into a run of another length (`replan_on_resume=True`)").resumed(
            state, this_resolved, replan=replan
        )
        self.write_lrs()

    def rewind(self, state: Mapping[str, Any], length: TrainingLength, factor: float) -> None:
        """Go back to an earlier state of this fit (plan, clock), with the whole plan scaled by ``factor``.

        Args:
            state: a :meth:`state_dict` of this timeline, taken earlier in this fit.
            length: the run's length when that state was taken.
            factor: the lrs from here are ``factor`` times those the timeline would have set (it multiplies
                the scale of earlier rewinds).
        """
        scale, undone = self.planned.scale * factor, self.undone + self.steps - int(state["steps"])
        handed_over = self.handed_over  # (someone else, SWA, sets the lr now: that stays so)
        self._load(state)
        self.length, self.undone, self.planned.scale = length, undone, scale
        self.handed_over = handed_over if handed_over is not None else self.handed_over
        self.write_lrs()

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
        self.warmup_epochs = float(state.get("warmup_epochs", self.warmup_epochs))
        self.path = copy.deepcopy(dict(state.get("path") or {}))
        self.planned.load(state)
        self._load_scheduler_state(state["scheduler"])
        self.undone = int(state.get("undone", 0))
        if "plan" not in state and not self._restores_plan():  # (before 0.5: the scheduler's last lrs)
            self.planned.set(self.scheduler.get_last_lr())

    # ------------------------------------------------------------------ the run changes

    def replan(self, length: TrainingLength, why: str, *, epochs_kept: bool = False) -> str:
        """Plan what remains of the schedule for a run of ``length``, continuing from the current planned lrs.

        Whole-run lengths and percentages are resolved again and the rest of the schedule is rebuilt from the
        current lr by the schedule's ``rebase`` (docs: "Resume and run changes"); fixed lengths and the warmup
        stay. A schedule that cannot be rebuilt without a jump keeps its plan, with one warning.

        Args:
            length: the run's new length.
            why: the reason, for the warnings and the summary.
            epochs_kept: only the epochs' size or an optimizer's rate changed: schedules counting epochs stay.

        Returns:
            ``"rebuilt"`` (the lrs to come changed), ``"fixed"`` (only the run's end moved) or ``"kept"``.
        """
        outcome = Replan(self, length, why).run(epochs_kept=epochs_kept)
        self.write_lrs()
        return outcome

    def join_new_groups(self) -> int:
        """Param groups added to the optimizer since the last call join the schedule; returns how many.

        Raises:
            ValueError: when param groups were removed.
        """
        joined = self.planned.join_new(self.schedulers(), self.name)
        if joined:
            self.write_lrs()
        return joined

    def hand_over(self, to: str) -> None:
        """Stop setting the lr from now on: ``to`` sets it, from the configured lrs (the clock and path go on)."""
        self.handed_over = {"to": to, "step": self.steps, "epoch": self.epochs}
        self.planned.hand_back()

    # ------------------------------------------------------------------ reporting helpers

    def shortfall(self) -> tuple[int, int, int] | None:
        """(steps taken, steps planned, steps undone by rewinds) when this fit fell noticeably short of its plan."""
        planned = self.planned_steps
        if not self.schedule.scaled_to_run() or not math.isfinite(planned) or self.steps >= SHORT_RUN * planned:
            return None
        return self.steps, int(planned), self.undone

    def warn_once(self, key: str, message: str) -> None:
        """Warn with ``message`` the first time ``key`` comes up in this run."""
        if key not in self.warned:
            self.warned.add(key)
            self.warn(message)

    # ------------------------------------------------------------------ for subclasses (plateau, composites)

    def _build(self) -> LRScheduler:
        return self.schedule.build_scheduler(self.planned.stand_in, self.resolved)

    def holds_end(self) -> bool:
        """Whether the schedule holds its final value past its plan (it has an end: a decay, a last milestone)."""
        return self.schedule.ends

    def _restores_plan(self) -> bool:
        """Whether loading the scheduler's state sets the plan's lrs itself (a composite's phases do)."""
        return False

    def _past_planned_epochs(self) -> bool:
        """Whether the optimizer step just taken lies beyond the planned epochs (an epoch schedule's plan)."""
        return self.epochs >= self.planned_epochs and self.steps > self.epoch_start_steps

    def schedulers(self) -> list[LRScheduler]:
        """The torch schedulers this timeline drives (a composite's children included)."""
        return [self.scheduler]

    def count_step(self) -> None:
        """Count one optimizer step: past the warmup, a per-step schedule advances, or holds past its plan's end."""
        self.steps += 1
        started = self.interval == "step" and self.steps > self.warmup.steps
        if started and (self.steps <= self.planned_steps or not self.holds_end()):
            self.schedule.step_scheduler(self.scheduler, self)

    def _advance(self) -> None:
        """Advance an epoch schedule by one epoch (held past the plan, as ``count_step`` holds a step schedule)."""
        if self.epochs <= self.planned_epochs or not self.holds_end():
            self.schedule.step_scheduler(self.scheduler, self)

    def _scheduler_state(self) -> dict[str, Any]:
        return copy.deepcopy(self.scheduler.state_dict())

    def _load_scheduler_state(self, state: Mapping[str, Any]) -> None:
        self.scheduler.load_state_dict(copy.deepcopy(dict(state)))


class Replan:
    """One re-plan of what remains of a timeline's schedule, for a run of ``length`` (see :meth:`Timeline.replan`).

    Example::

        >>> import torch
        >>> from lightning_lrsched.core import CosineAnnealingLR, TrainingLength
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> timeline = CosineAnnealingLR().timeline(optimizer, TrainingLength(4, 2))
        >>> Replan(timeline, TrainingLength(8, 2), "a longer run").run(), timeline.resolved
        ('rebuilt', {'T_max': 8})
    """

    def __init__(self, timeline: Timeline, length: TrainingLength, why: str) -> None:
        self.timeline, self.length, self.why = timeline, length, why

    def run(self, *, epochs_kept: bool = False) -> str:
        """Re-plan; returns ``"rebuilt"`` (the lrs to come changed), ``"fixed"`` (only the end moved) or ``"kept"``."""
        timeline, length = self.timeline, self.length
        before = (timeline.length, timeline.planned_steps, timeline.planned_epochs)
        self._set_length()
        if timeline.handed_over is not None or (epochs_kept and timeline.interval == "epoch"):
            return "fixed"  # (the lr is someone else's, or the schedule counts epochs, which keep their places)
        if not timeline.schedule.scaled_to_run():
            return "fixed"  # fixed lengths keep their places
        try:
            new = timeline.schedule.resolve_lengths(length, timeline.warmup.steps, _quiet)
        except ValueError:
            new = None
        if new == timeline.resolved:
            return "fixed"
        if new is not None and timeline.steps < timeline.warmup.steps and timeline.origin == 0:  # not started yet
            self._restart(new)
        elif new is None or not self._rebuild(new):
            timeline.length, timeline.planned_steps, timeline.planned_epochs = before
            timeline.warn_once("no-replan", cannot_replan_text(timeline, self.why))
            return "kept"
        timeline.replans.append({"step": timeline.steps, "from": before[1], "to": length.total_steps, "why": self.why})
        return "rebuilt"

    def resumed(self, state: Mapping[str, Any], resolved: dict[str, Any], *, replan: bool) -> None:
        """After a resume: keep the checkpoint's plan, re-plan what remains (``replan``), or keep it and warn.

        The timeline has loaded ``state`` in a run of ``length``, whose own lengths would be ``resolved``. The
        checkpoint's plan stays for the run it followed, and when its lengths are fixed.
        """
        timeline, length = self.timeline, self.length
        saved_fit = state.get("fit_steps")  # absent before 0.5: the same run
        same_run = saved_fit is None or (saved_fit if saved_fit >= 0 else math.inf) == length.total_steps
        if timeline.replans and same_run:  # the checkpoint's plan already followed its run; epoch checks go on
            timeline.length = dataclasses.replace(length, total_steps=timeline.planned_steps)
        elif timeline.resolved == resolved and not timeline.replans:  # fixed lengths: the run's end is the plan's
            timeline.planned_steps, timeline.planned_epochs = length.total_steps, _epochs(length)
        elif replan:
            self.run()
        else:
            timeline.warn(resume_length_text(timeline, length, state["resolved"], resolved))

    def _set_length(self) -> None:
        """The run is now ``length`` long; the epochs done keep their sizes, the rest have the new one."""
        timeline, length = self.timeline, self.length
        timeline.length = length
        timeline.planned_steps, timeline.planned_epochs = length.total_steps, _epochs(length)
        if math.isfinite(timeline.planned_epochs):
            per_epoch, done = length.steps_per_epoch, timeline.steps - timeline.epoch_start_steps
            left = max(length.total_steps - timeline.steps - (per_epoch - done if done else 0), 0)
            timeline.planned_epochs = timeline.epochs + (1 if done else 0) + math.ceil(left / per_epoch)

    def _restart(self, resolved: dict[str, Any]) -> None:
        """Inside the warmup the schedule has not started: it is planned afresh, from the configured lrs."""
        timeline = self.timeline
        planned = timeline.planned
        planned.set(planned.configured)
        for group in planned.stand_in.param_groups:
            group.pop("initial_lr", None)
        timeline.resolved, timeline.scheduler = resolved, timeline.schedule.build_scheduler(planned.stand_in, resolved)

    def _rebuild(self, resolved: dict[str, Any]) -> bool:
        """Rebuild the scheduler for what remains of the new plan ``resolved``, from the current planned lrs."""
        timeline = self.timeline
        # where the run is, in the schedule's unit, counted as its lengths are: from the end of the warmup
        if timeline.interval == "step":
            position = timeline.steps - timeline.warmup.steps
        else:
            position = timeline.epochs - int(timeline.warmup_epochs)
        groups = timeline.planned.stand_in.param_groups
        lr = float(groups[0]["lr"])
        kwargs = timeline.schedule.rebase(timeline.scheduler, resolved, position, lr)
        if kwargs is None:
            return False
        for group in groups:  # the rebuilt scheduler starts from the current lrs
            group["initial_lr"] = group["lr"]
        timeline.scheduler = timeline.schedule.build_scheduler(timeline.planned.stand_in, {**resolved, **kwargs})
        timeline.resolved, timeline.origin = resolved, timeline.steps
        return True


def _epochs(length: TrainingLength) -> float:
    """The run's epochs, or inf when its steps or its epoch length are unknown."""
    total, per_epoch = length.total_steps, length.steps_per_epoch
    if not (math.isfinite(total) and math.isfinite(per_epoch)) or per_epoch <= 0:
        return math.inf
    return math.ceil(total / per_epoch)


def warn_changed_arguments(timeline: Timeline, state: Mapping[str, Any]) -> None:
    """One warning naming each argument that differs from the checkpoint's: the checkpoint's applies."""
    saved = state.get("arguments")  # absent before 0.2: only the warmup length can be compared then
    now = timeline.schedule.plain_arguments()
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
        if timeline.holds_end()
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
    end = " and holds its final value past it" if timeline.holds_end() else ""
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
