"""Timeline: one schedule in one run, a plan and a position, and the events that move them.

A Timeline is built from a schedule (the torch scheduler factory and its lengths) and the run's length. It is a
:class:`~lightning_lrsched.core.plan.Plan` (the run, the resolved lengths, the warmup, where the plan ends) and a
:class:`~lightning_lrsched.core.position.Position` (optimizer steps and epochs taken, the lr path), moved by
events (``optimizer_step``, ``epoch_end``, ``validation``); it holds a schedule's final value once the run goes
past its plan, and each part writes its own share of the checkpoint state. It knows nothing of Lightning: the
callback says when events happen, :func:`~lightning_lrsched.report.preview.preview` drives it on a plain
optimizer.

The torch scheduler computes the plan on a stand-in of the optimizer
(:class:`~lightning_lrsched.core.planned_lrs.PlannedLrs`), never on the optimizer itself. After each event the
timeline writes each group's lr once: the plan's, times the warmup's factor at this position, times the scale of
rewinds. The warmup, the end hold, a re-plan, a resume, a rewind, a joining group and a hand-over to SWA change
the position or the plan; none of them leaves a value in the optimizer that a later event must undo.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lightning_lrsched.core.duration import Duration, Interval, TrainingLength
from lightning_lrsched.core.plan import Plan, epochs_of
from lightning_lrsched.core.planned_lrs import PlannedLrs
from lightning_lrsched.core.position import Position
from lightning_lrsched.core.run_warnings import RunWarnings
from lightning_lrsched.core.warmup import Warmup, Warn

STATE_VERSION = 1
REPLAN_TOLERANCE = 0.1
"""An optimizer that takes more than this share fewer or more steps per epoch than planned gets a new plan."""


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
    steps_to_position: bool
    steps_by_torch: bool

    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]: ...
    def build_scheduler(self, optimizer: Optimizer, resolved: dict[str, Any]) -> LRScheduler: ...
    def step_scheduler(self, scheduler: LRScheduler, timeline: Timeline) -> None: ...
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None: ...
    def plan_so_far(
        self, scheduler: LRScheduler, resolved: dict[str, Any], length: TrainingLength
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

    restores_plan: ClassVar[bool] = False
    """Whether loading the scheduler's state sets the plan's lrs itself (a composite's phases do)."""

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
        self.interval = schedule.interval
        self.warn = RunWarnings(warn)
        warmup = Warmup.plan(schedule.warmup_length, schedule.warmup_start_factor, length, warn)
        self.plan = Plan.for_run(length, warmup, schedule.resolve_lengths(length, warmup.steps, warn))
        self.position = Position()
        self.scheduler: LRScheduler = self.start_scheduler()
        self.write_lrs()

    # ------------------------------------------------------------------ events

    def optimizer_step(self, *_hook_args: Any) -> None:
        """One optimizer step has run (with the current lrs): count it and set the lrs of the next one.

        A torch step hook's arguments are ignored: ``optimizer.register_step_post_hook(timeline.optimizer_step)``.
        """
        self.position.record(float(self.optimizer.param_groups[0]["lr"]))
        if self.position.handed_over is not None:
            self.position.steps += 1
            return
        self.count_step()
        self.write_lrs()
        plan, position, ends = self.plan, self.position, self.schedule.ends  # (past a plan's end: said once)
        if ends and (position.steps > plan.steps if self.interval == "step" else plan.epochs_passed(position)):
            self.warn.once("plan-end", past_plan_text(self))

    def epoch_end(self) -> None:
        """A training epoch has ended (after its last batch, before its end-of-epoch validation)."""
        self.count_epoch()
        self.write_lrs()

    def validation(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        """Monitored values have arrived (a validation run, or a training epoch for training metrics).

        Returns:
            The lr reductions this caused (plateau schedules), for reporting, with the lrs the optimizer really has.
        """
        events = self.take_values(values, step=step, epoch=epoch) if self.position.handed_over is None else []
        self.write_lrs()
        for event in events:
            for key in ("lr_before", "lr_after"):
                event[key] = self.planned.real(event[key])
        return events

    def count_epoch(self) -> None:
        """Count one training epoch (the part of ``epoch_end`` that a composite passes on to its phases)."""
        position = self.position
        # an epoch schedule counts an epoch with a step after the warmup; warm restarts per step take each epoch start
        running = position.steps > self.plan.warmup.steps and position.handed_over is None
        took_one = position.end_epoch()
        if running and (took_one if self.interval == "epoch" else self.schedule.steps_to_position):
            self._advance()

    def take_values(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        """Monitored values for a plateau schedule (the part of ``validation`` a composite passes on); none here."""
        return []

    def monitors(self) -> dict[str, bool]:
        """The metrics this timeline listens to now, each with whether a missing value is an error."""
        return {}

    def write_lrs(self) -> None:
        """Set each group's lr, once: the plan's, times the warmup's factor here, times the rewinds' scale."""
        if self.position.handed_over is not None:
            return
        warmup, steps = self.plan.warmup, self.position.steps
        warming = steps <= warmup.steps  # (with no warmup, its factor is 1 at step 0)
        factor = warmup.factor(steps) if warming else 1.0
        if not self.planned.phase:
            self.planned.write(factor)
        elif warming and warmup.steps:  # a composite's phase: its scheduler sets the lrs, its warmup scales them
            self.planned.set(self.scheduler.get_last_lr(), factor)

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint state: the clock, the resolved plan, the lrs, the path and the scheduler's own state."""
        return {
            "version": STATE_VERSION,
            "type": type(self.schedule).__name__,
            "label": self.name,
            "interval": self.interval,
            **self.position.state(),
            **self.plan.state(),
            "lrs": self.planned.written,
            "scheduler": self._scheduler_state(),
            "arguments": self.schedule.plain_arguments(),
            **self.planned.state(),
        }

    def load_state_dict(self, state: Mapping[str, Any], *, replan: bool = False) -> None:
        """Continue from a checkpoint's state: its plan, its position and its lrs (see :class:`Resume`).

        Args:
            state: a state written by :meth:`state_dict`.
            replan: when this run is longer or shorter than the checkpoint's plan, re-plan what remains of the
                schedule for this run (:meth:`replan`) instead of keeping the checkpoint's plan.

        Raises:
            ValueError: when the checkpoint stepped per another interval.
        """
        Resume(self, state).run(replan=replan)

    def rewind(self, state: Mapping[str, Any], length: TrainingLength, factor: float, left: Sequence[float]) -> None:
        """Go back to an earlier state of this fit (plan, clock), with the whole plan scaled by ``factor``.

        Args:
            state: a :meth:`state_dict` of this timeline, taken earlier in this fit.
            length: the run's length when that state was taken.
            factor: the lrs from here are ``factor`` times the timeline's (it multiplies earlier rewinds' scale).
            left: the steps left in the run's epoch (the restored one ends there), then in each next one a skip cuts.
        """
        position = self.position
        scale, undone = self.planned.scale * factor, position.undone + position.steps - int(state["steps"])
        handed_over = position.handed_over  # (someone else, SWA, sets the lr now: that stays so)
        rate = self.plan.steps_per_batch  # (the optimizer's, measured maybe after that state: it stays)
        self.restore(state)
        self.plan.length, self.plan.steps_per_batch, position.undone, self.planned.scale = length, rate, undone, scale
        position.handed_over = handed_over if handed_over is not None else position.handed_over
        self.end_epoch_with_run(left)

    def restore(self, state: Mapping[str, Any]) -> None:
        """Set every field from a state written by :meth:`state_dict` (no check, no re-plan: see :class:`Resume`)."""
        self.position.load(state)
        saved = state.get("arguments") or {}
        self.plan.load(state, float(saved.get("warmup_start_factor", self.plan.warmup.start_factor)))
        self.planned.load(state)
        self._load_scheduler_state(state["scheduler"])
        if "plan" not in state and not self.restores_plan:  # (before 0.5: the scheduler's last lrs)
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
        if joined := self.planned.join_new(self.schedulers(), self.name):
            self.write_lrs()
        return joined

    def hand_over(self, to: str) -> None:
        """Stop setting the lr from now on: ``to`` sets it, from the configured lrs (the clock and path go on)."""
        self.position.hand_over(to)
        self.planned.hand_back()

    # ------------------------------------------------------------------ for subclasses (plateau, composites)

    def start_scheduler(self) -> LRScheduler:
        """A scheduler for the plan, at its start (a composite starts its first phases' timelines)."""
        return self.schedule.build_scheduler(self.planned.stand_in, self.plan.resolved)

    def schedulers(self) -> list[LRScheduler]:
        """The torch schedulers this timeline drives (a composite's children included)."""
        return [self.scheduler]

    def end_epoch_with_run(self, left: Sequence[float]) -> None:
        """The epoch ends with the run's, ``left[0]`` steps on (a rewind, a resume): a schedule of fractions follows."""
        self.plan.end_epoch_with_run(self.position, left)
        if self.schedule.steps_to_position:  # (the lr of the position in its epoch as it now runs)
            self.schedule.step_scheduler(self.scheduler, self)
        self.write_lrs()

    def count_step(self) -> None:
        """Count one optimizer step: the warmup ends, or a per-step schedule advances (or holds past its end)."""
        self.position.steps += 1
        steps, plan = self.position.steps, self.plan
        if steps == plan.warmup.steps:
            plan.end_warmup(self.position)
        elif self.interval == "step" and steps > plan.warmup.steps and (steps <= plan.steps or not self.schedule.ends):
            if self.schedule.steps_by_torch:
                self.scheduler.step()
            else:
                self.schedule.step_scheduler(self.scheduler, self)

    def _advance(self) -> None:
        """Step an epoch's end: one epoch on, or to its fraction (held past the plan, as ``count_step`` holds)."""
        if self.position.epochs <= self.plan.epochs or not self.schedule.ends:
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
        >>> Replan(timeline, TrainingLength(8, 2), "a longer run").run(), timeline.plan.resolved
        ('rebuilt', {'T_max': 8})
    """

    def __init__(self, timeline: Timeline, length: TrainingLength, why: str) -> None:
        self.timeline, self.length, self.why = timeline, length, why

    def run(self, *, epochs_kept: bool = False) -> str:
        """Re-plan; returns ``"rebuilt"`` (the lrs to come changed), ``"fixed"`` (only the end moved) or ``"kept"``."""
        timeline, length = self.timeline, self.length
        plan = timeline.plan
        before = (plan.length, plan.steps, plan.epochs)
        plan.set_length(length, timeline.position)
        if timeline.position.handed_over is not None or (epochs_kept and timeline.interval == "epoch"):
            return "fixed"  # (the lr is someone else's, or the schedule counts epochs, which keep their places)
        if not timeline.schedule.scaled_to_run():
            return "fixed"  # fixed lengths keep their places
        try:
            new = timeline.schedule.resolve_lengths(length, plan.warmup.steps, _quiet)
        except ValueError:
            new = None
        if new == plan.resolved:
            return "fixed"
        if new is not None and plan.origin == 0 and (so_far := self._plan_so_far(new)) is not None:
            if so_far == plan.resolved:
                return "fixed"  # (only the share of a warmup already run moved: it keeps its length)
            self._restart(so_far)
        elif new is None or not self._rebuild(new):
            plan.length, plan.steps, plan.epochs = before
            timeline.warn.once("no-replan", cannot_replan_text(timeline, self.why))
            return "kept"
        plan.replans.append(
            {"step": timeline.position.steps, "from": before[1], "to": length.total_steps, "why": self.why}
        )
        return "rebuilt"

    def _plan_so_far(self, resolved: dict[str, Any]) -> dict[str, Any] | None:
        """The new plan ``resolved`` where it gives the lrs the run had so far, else None.

        So it is inside the warmup, where the schedule has not started, and inside a formula's own warmup: transformers'
        ``num_warmup_steps`` keeps its running length, timm's ``warmup_t`` where its values so far are unchanged.
        """
        timeline = self.timeline
        if timeline.position.steps < timeline.plan.warmup.steps:
            return resolved
        return timeline.schedule.plan_so_far(timeline.scheduler, resolved, self.length)

    def _restart(self, resolved: dict[str, Any]) -> None:
        """The new plan gave the lrs so far: it starts afresh, from the configured lrs, and goes to where the run is.

        The run then goes on as a fresh run of the new length, exactly.
        """
        timeline = self.timeline
        planned = timeline.planned
        planned.set(planned.configured)
        for group in planned.stand_in.param_groups:
            group.pop("initial_lr", None)
        timeline.plan.resolved = resolved
        timeline.scheduler = timeline.start_scheduler()
        for _ in range(self._position()):  # (none inside the warmup: the schedule starts after it)
            timeline.schedule.step_scheduler(timeline.scheduler, timeline)

    def _position(self) -> int:
        """Where the run is, in the schedule's unit, counted as its lengths are: from the end of the warmup."""
        timeline, plan = self.timeline, self.timeline.plan
        if timeline.interval == "step":
            return timeline.position.steps - plan.warmup.steps
        return timeline.position.epochs - int(plan.warmup_epochs)

    def _rebuild(self, resolved: dict[str, Any]) -> bool:
        """Rebuild the scheduler for what remains of the new plan ``resolved``, from the current planned lrs."""
        timeline, plan = self.timeline, self.timeline.plan
        position = self._position()
        groups = timeline.planned.stand_in.param_groups
        lr = float(groups[0]["lr"])
        kwargs = timeline.schedule.rebase(timeline.scheduler, resolved, position, lr)
        if kwargs is None:
            return False
        for group in groups:  # the rebuilt scheduler starts from the current lrs
            group["initial_lr"] = group["lr"]
        timeline.scheduler = timeline.schedule.build_scheduler(timeline.planned.stand_in, {**resolved, **kwargs})
        plan.resolved, plan.origin = resolved, timeline.position.steps
        return True


class Resume:
    """A timeline continuing from a checkpoint's state (see :meth:`Timeline.load_state_dict`).

    The checkpoint's plan stays for the run it followed, and when its lengths are fixed. In a run of another
    length it is kept with a warning that says how to re-plan, or what remains is re-planned (``replan``).
    Arguments that differ from the checkpoint's are named in one warning: the checkpoint's apply.

    Example::

        >>> import torch
        >>> from lightning_lrsched.core import CosineAnnealingLR, TrainingLength
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> saved = CosineAnnealingLR().timeline(optimizer, TrainingLength(4, 2)).state_dict()
        >>> timeline = CosineAnnealingLR().timeline(optimizer, TrainingLength(8, 2))
        >>> Resume(timeline, saved).run(replan=True)
        >>> timeline.plan.resolved
        {'T_max': 8}
    """

    def __init__(self, timeline: Timeline, state: Mapping[str, Any]) -> None:
        self.timeline, self.state = timeline, state

    def run(self, *, replan: bool) -> None:
        """Load the state, then keep its plan, re-plan what remains (``replan``), or keep it and warn.

        Raises:
            ValueError: when the checkpoint stepped per another interval.
        """
        timeline, state = self.timeline, self.state
        if state["interval"] != timeline.interval:
            raise ValueError(
                f"The checkpoint's `{timeline.name}` stepped per {state['interval']}, but this callback steps per"
                f" {timeline.interval}. Resume with `interval={state['interval']!r}`."
            )
        length, resolved = timeline.plan.length, timeline.plan.resolved  # (this run's own)
        self._warn_changed_arguments()
        timeline.restore(state)
        plan = timeline.plan
        saved_fit = state.get("fit_steps")  # absent before 0.5: the same run
        same_run = saved_fit is None or (saved_fit if saved_fit >= 0 else math.inf) == length.total_steps
        if plan.replans and same_run:  # the checkpoint's plan already followed its run; epoch checks go on
            plan.length = dataclasses.replace(length, total_steps=plan.steps)
        elif not plan.replans and (plan.resolved == resolved or (saved_fit is not None and same_run)):
            # fixed lengths, or a plan made for this very run (arguments that changed are said above): the run's
            # end is the plan's
            plan.steps, plan.epochs = length.total_steps, epochs_of(length)
        elif timeline.schedule.ends and plan.behind(timeline.position, timeline.interval):
            timeline.warn.once("plan-end", ended_text(timeline, length))  # (re-planning has nothing left to stretch)
        elif replan:
            timeline.replan(length, "resumed into a run of another length (`replan_on_resume=True`)")
        else:
            timeline.warn(self._length_text(length, resolved))
        timeline.write_lrs()

    def _warn_changed_arguments(self) -> None:
        """One warning naming each argument that differs from the checkpoint's: the checkpoint's applies."""
        timeline, state = self.timeline, self.state
        saved = state.get("arguments")  # absent before 0.2: only the warmup length can be compared then
        now = timeline.schedule.plain_arguments()
        saved = saved if isinstance(saved, Mapping) else {}
        changed = {key: (saved[key], now[key]) for key in now if key in saved and saved[key] != now[key]}
        old_warmup = state.get("warmup_steps")  # (the resolved length: compared when the argument was not saved)
        if "warmup" not in saved and isinstance(old_warmup, int) and old_warmup != timeline.plan.warmup.steps:
            changed["warmup"] = (f"{old_warmup} steps", f"{timeline.plan.warmup.steps} steps")
        if not changed:
            return
        listed = "; ".join(f"`{key}` was {old!r} and is now {new!r}" for key, (old, new) in changed.items())
        timeline.warn(
            f"`{timeline.name}` resumes with arguments that differ from the checkpoint's: {listed}. The"
            " checkpoint's apply, so the schedule continues exactly as it was planned. To use the new ones, start"
            " a fit without `ckpt_path` (load the weights with `YourModule.load_from_checkpoint(path)`)."
        )

    def _length_text(self, run: TrainingLength, resolved: Any) -> str:
        """The warning of a resume into a run of another length, whose schedule keeps the checkpoint's plan."""
        timeline = self.timeline
        end = (
            f" past optimizer step {timeline.plan.steps:g} the learning rate holds at its final value."
            if timeline.schedule.ends
            else " it goes on with the checkpoint's lengths."
        )
        return (
            f"`{timeline.name}` resumes into a run of {run.total_steps:g} optimizer steps, but the plan it resumes"
            f" (from a checkpoint, or this Trainer's earlier fit) was for {timeline.plan.steps:g} (lengths"
            f" {self.state['resolved']}; this run would give {resolved}). It keeps that plan:{end} To re-plan what"
            f" remains of the schedule over this run instead, continuing from the current learning rate, pass"
            f" `replan_on_resume=True` to `{timeline.name}`."
        )


def catch_up(timeline: Timeline, steps: int, epochs: int) -> None:
    """Advance a fresh timeline to ``steps`` optimizer steps and ``epochs`` epochs, as if it had run them.

    Epochs are taken at the plan's sizes (the last one possibly partial).
    """
    plan, position = timeline.plan, timeline.position
    done_epochs = 0
    with warnings.catch_warnings():  # no optimizer step runs here, which torch's scheduler would point out
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
        for _ in range(steps):
            timeline.optimizer_step()
            size = plan.epoch_size(position)
            if math.isfinite(size) and done_epochs < epochs and position.epoch_steps >= size:
                timeline.epoch_end()
                done_epochs += 1
    for _ in range(done_epochs, epochs):
        timeline.epoch_end()


def ended_text(timeline: Timeline, run: TrainingLength) -> str:
    """The warning of a resume into a longer run from the end of the plan: the final lr holds, re-planned or not."""
    plan, planned = timeline.plan, timeline.planned
    done = f"{plan.steps:g} optimizer steps" if timeline.interval == "step" else f"{plan.epochs:g} epochs"
    final = planned.real([planned.stand_in.param_groups[0]["lr"]])[0]  # (what the optimizer gets from here)
    return (
        f"`{timeline.name}` resumes (from a checkpoint, or this Trainer's earlier fit) at the end of its plan of"
        f" {done} into a run of {run.total_steps:g} optimizer steps: nothing of the schedule is left to"
        f" stretch over the new run, so the learning rate holds at its final value"
        f" {final:.3g}, re-planned (`replan_on_resume=True`) or not. To schedule the new steps afresh, fit"
        " a new Trainer without `ckpt_path` (the model keeps its weights; from a checkpoint, load them with"
        " `YourModule.load_from_checkpoint(path)`)."
    )


def past_plan_text(timeline: Timeline) -> str:
    """The warning of a schedule that has run past the end of its plan and holds its final value."""
    if timeline.interval == "step":
        undone = timeline.position.undone  # (the plan counts the schedule's steps: rewinds took those back)
        run = f" (the run's step {timeline.position.steps + undone}: rewinds took {undone} back)" if undone else ""
        plan = f"{timeline.plan.steps:g} optimizer steps and this is step {timeline.position.steps}{run}"
    else:
        plan = f"{timeline.plan.epochs:g} epochs and this is epoch {timeline.position.epochs + 1}"
    return (
        f"{timeline.name} has run past the end of its plan: it was planned for {plan}. The learning rate holds at"
        f" its final value {timeline.planned.written[0]:.3g} from here instead of extending the schedule's formula."
        " A run outgrows its plan when it resumes into a longer run (pass `replan_on_resume=True` to stretch the"
        " schedule over it instead), when `steps_per_batch` is declared lower than the optimizer's real rate,"
        " or when a schedule that cannot be re-planned meets longer epochs."
    )


def cannot_replan_text(timeline: Timeline, why: str) -> str:
    """The warning of a schedule that keeps its plan because it cannot re-plan what remains."""
    end = " and holds its final value past it" if timeline.schedule.ends else ""
    return (
        f"`{timeline.name}` cannot re-plan what remains of its schedule without a jump in the learning rate"
        f" ({why}); it keeps its plan of {timeline.plan.steps:g} optimizer steps{end}. Give its lengths as"
        " fixed durations (e.g. '3ep', 500) to make them independent of the run's length."
    )


def _quiet(message: str) -> None:
    """Warnings of a re-plan's length resolution are not repeated (the plan's own were given at fit start)."""
