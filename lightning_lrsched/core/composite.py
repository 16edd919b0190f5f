"""SequentialLR and ChainedScheduler over this package's schedules (a plateau phase included)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from typing_extensions import override

from lightning_lrsched.core.duration import DurationLike, TrainingLength
from lightning_lrsched.core.plateau import PlateauTimeline, ReduceLROnPlateau
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.core.warmup import Warn


def _no_factory(optimizer: Optimizer) -> LRScheduler:  # pragma: no cover - composites build their children
    raise NotImplementedError


def _check_children(owner: str, schedulers: Any) -> list[Schedule]:
    """The phases as schedules (a callback of this package stands for the schedule it holds)."""
    if isinstance(schedulers, str) or not isinstance(schedulers, Sequence) or not schedulers:
        raise ValueError(
            f"Expected argument `schedulers` of `{owner}` to be a non-empty list of lightning_lrsched schedules,"
            f" but got {schedulers!r}. Example: `schedulers=[LinearLR(0.1, 1.0, '1ep'), CosineAnnealingLR()]`."
        )
    children: list[Schedule] = []
    for i, given in enumerate(schedulers):
        child = getattr(given, "schedule", given)
        children.append(child)
        if not isinstance(child, Schedule):
            raise TypeError(
                f"Expected `schedulers[{i}]` of `{owner}` to be a lightning_lrsched schedule such as `StepLR(...)`,"
                f" but got {schedulers[i]!r}. Wrap other schedulers with `LRSchedulerCallback(YourScheduler, ...)`"
                " (or `core.Schedule`)."
            )
    if len({id(child) for child in children}) != len(children):
        raise ValueError(f"`schedulers` of `{owner}` lists the same schedule object twice; create one per phase.")
    return children


class _CompositeTimeline(Timeline):
    """A timeline of child timelines: it counts the steps and the warmup, its running children follow.

    The children get the composite's events after its warmup; their lengths are those of their own phase.
    """

    schedule: _Composite
    restores_plan = True

    def __init__(self, schedule: Schedule, optimizer: Optimizer, length: TrainingLength, **options: Any) -> None:
        self.children: list[Timeline] = []
        self.resuming: bool | None = None
        """While a checkpoint loads: whether the children resuming re-plan (None: a rewind restores them as saved)."""
        super().__init__(schedule, optimizer, length, **options)

    def _start(self, child: Schedule, length: TrainingLength, state: Mapping[str, Any] | None) -> Timeline:
        timeline = child.timeline(
            self.planned.stand_in, length, warn=lambda m: self.warn(m), attach=self.attach, phase=True
        )
        if state and self.resuming is not None:
            timeline.load_state_dict(state, replan=self.resuming)
        elif state:
            timeline.restore(state)
        return timeline

    @override
    def load_state_dict(self, state: Mapping[str, Any], *, replan: bool = False) -> None:
        """Continue from a checkpoint's state: each running child resumes as a lone schedule does.

        With ``replan`` a child is re-planned for its phase in this run, without it keeps its plan and says so; then
        the composite's own plan (its milestones) resumes the same way.
        """
        self.resuming = replan
        try:
            super().load_state_dict(state, replan=replan)
        finally:
            self.resuming = None

    @override
    def replan(self, length: TrainingLength, why: str, *, epochs_kept: bool = False) -> str:
        """Re-plan the composite's own lengths (its milestones), then each running child for its phase's length.

        A child's whole-run lengths follow its phase as a lone schedule's follow the run: a cosine phase stretches
        from its current lr to the new end; a child that cannot be re-planned keeps its plan and says so.
        """
        planned_steps = self.plan.steps
        outcome = super().replan(length, why, epochs_kept=epochs_kept)
        if outcome != "fixed" or self.position.handed_over is not None:
            return outcome  # (re-planned afresh inside the warmup, or kept with a warning, or someone else's lr)
        return self._replan_children(length, why, planned_steps, epochs_kept=epochs_kept)

    def _replan_children(
        self, length: TrainingLength, why: str, planned_steps: float, *, epochs_kept: bool, ahead: bool = False
    ) -> str:
        """The composite's plan is for ``length`` now: each running child is re-planned for its phase's length.

        ``ahead``: the phases not yet begun changed (moved milestones): the lrs to come changed whatever the running
        children's outcomes.
        """
        outcomes = {
            child.replan(self._child_length(index), why, epochs_kept=epochs_kept)
            for index, child in enumerate(self.children)
        }
        self.write_lrs()
        if "rebuilt" not in outcomes and not ahead:
            return "kept" if "kept" in outcomes else "fixed"
        record = {"step": self.position.steps, "from": planned_steps, "to": length.total_steps, "why": why}
        self.plan.replans.append(record)
        return "rebuilt"

    def _child_length(self, index: int) -> TrainingLength:
        """The length of the running child ``index``'s phase in the composite's plan."""
        raise NotImplementedError

    @override
    def count_step(self) -> None:
        self.position.steps += 1  # (the composite's own scheduler is its children's: they advance themselves)
        if self.position.steps > self.plan.warmup.steps:
            for child in self.children:
                child.count_step()
                child.write_lrs()

    @override
    def _advance(self) -> None:
        """The children advance themselves, on the events passed on to them."""

    @override
    def count_epoch(self) -> None:
        for child in self.children:
            child.count_epoch()
        super().count_epoch()

    @override
    def take_values(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        if self.position.steps < self.plan.warmup.steps:
            return []
        return [event for child in self.children for event in child.take_values(values, step=step, epoch=epoch)]

    @override
    def monitors(self) -> dict[str, bool]:
        return {monitor: strict for child in self.children for monitor, strict in child.monitors().items()}

    @override
    def schedulers(self) -> list[LRScheduler]:
        return [scheduler for child in self.children for scheduler in child.schedulers()]

    @override
    def rewind(self, state: Mapping[str, Any], length: TrainingLength, factor: float, left: Sequence[float]) -> None:
        """Go back to ``state`` as any timeline does; a plateau phase keeps the reductions it made since then.

        They answered validations that happened (as a lone plateau schedule keeps them): the restored lrs are
        multiplied by their factors, so the lr goes on below the last cut, never from a level before it.
        """
        answered = self.answered_since(state)
        super().rewind(state, length, factor, left)
        self.keep_answered(answered)
        self.write_lrs()

    @override
    def end_epoch_with_run(self, left: Sequence[float]) -> None:
        """Each running phase's epoch ends with the run's too (a composite phase's phases as well)."""
        for child in self.children:
            child.end_epoch_with_run(left)
        super().end_epoch_with_run(left)

    def answered_since(self, state: Mapping[str, Any]) -> list[tuple[int, Any]]:
        """What the running children that answer validations did since ``state``, by the child's index."""
        answered: list[tuple[int, Any]] = []
        for index, (child, then) in enumerate(
            zip(self.children, self._saved_children(state["scheduler"]), strict=True)
        ):
            if then is not None and isinstance(child, (PlateauTimeline, _CompositeTimeline)):
                answered.append((index, child.answered_since(then)))
        return answered

    def keep_answered(self, answered: list[tuple[int, Any]]) -> None:
        """After a rewind: the children restored from the earlier state keep what :meth:`answered_since` gave."""
        for index, kept in answered:
            child = self.children[index]
            assert isinstance(child, (PlateauTimeline, _CompositeTimeline))
            child.keep_answered(kept)

    def _saved_children(self, saved: Mapping[str, Any]) -> list[Mapping[str, Any] | None]:
        """The state of each running child in the composite's scheduler state ``saved`` (None: it was not running)."""
        raise NotImplementedError


class _SequentialTimeline(_CompositeTimeline):
    """One child at a time; each phase starts at its own step 0 from the optimizer's initial rates."""

    phase = 0

    @override
    def start_scheduler(self) -> LRScheduler:
        return self._enter_phase(0, None)

    @override
    def _child_length(self, index: int) -> TrainingLength:
        return self._phase_length(self.phase)

    @override
    def replan(self, length: TrainingLength, why: str, *, epochs_kept: bool = False) -> str:
        """Move the milestones still ahead that are shares of the run with it, then re-plan the running phase.

        The phases already begun keep their starts; a running phase whose new end is already behind ends where it
        was planned. Where that cannot give increasing milestones with the running phase's end still ahead (a last
        phase past the run's new end), the plan is kept, with a warning (see :meth:`Timeline.replan`).
        """
        moved = self._moved_milestones(length)
        if moved is None:
            return super().replan(length, why, epochs_kept=epochs_kept)
        planned_steps, milestones = self.plan.steps, self.plan.resolved.get("milestones", [])
        # the phases ahead change when a milestone moves or the run's end does (the last phase's length)
        ahead = moved != milestones or (self.phase < len(moved) and length.total_steps != planned_steps)
        self.plan.set_length(length, self.position)
        self.plan.resolved = {**self.plan.resolved, "milestones": moved}
        return self._replan_children(length, why, planned_steps, epochs_kept=epochs_kept, ahead=ahead)

    def _moved_milestones(self, length: TrainingLength) -> list[int] | None:
        """The milestones for a run of ``length``: those begun as they are, those ahead resolved again (or None)."""
        plan, position = self.plan, self.position
        if position.steps < plan.warmup.steps or position.handed_over is not None:
            return None  # (inside the warmup the whole plan starts afresh; SWA's lr is not the plan's)
        try:
            new = self.schedule.resolve_lengths(length, plan.warmup.steps, lambda message: None)
        except ValueError:
            return None
        planned = plan.resolved.get("milestones", [])
        milestones = [*planned[: self.phase], *new.get("milestones", [])[self.phase :]]
        if self.phase < len(milestones) and milestones[self.phase] <= position.steps:
            milestones[self.phase] = planned[self.phase]  # (its share is behind: the running phase ends as planned)
        points = [plan.warmup.steps, *milestones, length.total_steps]
        if any(b <= a for a, b in itertools.pairwise(points)) or points[self.phase + 1] <= position.steps:
            return None  # (phases out of order, or the running one should have ended)
        return milestones

    def _phase_length(self, phase: int) -> TrainingLength:
        bounds = [self.plan.warmup.steps, *self.plan.resolved.get("milestones", []), self.plan.length.total_steps]
        return dataclasses.replace(self.plan.length, total_steps=bounds[phase + 1] - bounds[phase])

    def _enter_phase(self, phase: int, state: Mapping[str, Any] | None) -> LRScheduler:
        self.phase = phase
        # each phase starts from the initial rates, as in torch: the configured ones (a re-planned phase's scheduler
        # starts from its current lrs, and a plateau phase sets no `initial_lr`)
        for group, configured in zip(self.planned.stand_in.param_groups, self.planned.configured, strict=False):
            group["lr"] = group["initial_lr"] = configured
        child = self._start(self.schedule.parts[phase], self._phase_length(phase), state)
        self.children = [child]
        self.scheduler = child.scheduler
        return child.scheduler

    @override
    def count_step(self) -> None:
        milestones = self.plan.resolved.get("milestones", [])
        if self.phase < len(milestones) and self.position.steps + 1 >= milestones[self.phase]:
            self.position.steps += 1
            self._enter_phase(self.phase + 1, None)
            return
        super().count_step()

    @override
    def _scheduler_state(self) -> dict[str, Any]:
        return {"phase": self.phase, "child": self.children[0].state_dict()}

    @override
    def _saved_children(self, saved: Mapping[str, Any]) -> list[Mapping[str, Any] | None]:
        """The running phase's state in ``saved`` if it was running then; else a plateau phase crossed is said."""
        then = int(saved["phase"])
        if then == self.phase:
            return [saved["child"]]
        crossed = self.schedule.parts[then : self.phase + 1]
        if any(isinstance(part, ReduceLROnPlateau) for part in crossed):
            self.warn.once(
                "rewind-phases",
                f"{self.name}: a rewind goes back from phase {self.phase + 1} to phase {then + 1}"
                f" ({', '.join(type(part).__name__ for part in crossed)}): a ReduceLROnPlateau phase among them"
                " goes on from that state, without the reductions it made since (they are kept within one phase"
                " only), so the lr can come back above a cut. A smaller `Rewind(every=...)` goes back less far.",
            )
        return [None]

    @override
    def _load_scheduler_state(self, state: Mapping[str, Any]) -> None:
        self._enter_phase(int(state["phase"]), state["child"])


class _ChainedTimeline(_CompositeTimeline):
    """All children at once, each over the training after the warmup; their factors multiply."""

    @override
    def start_scheduler(self) -> LRScheduler:
        return self._start_all(None)

    def _start_all(self, states: Sequence[Mapping[str, Any]] | None) -> LRScheduler:
        self.children = [
            self._start(child, self._child_length(i), states[i] if states else None)
            for i, child in enumerate(self.schedule.parts)
        ]
        self.scheduler = self.children[-1].scheduler
        return self.scheduler

    @override
    def _child_length(self, index: int) -> TrainingLength:
        """Every child runs over the training after the warmup."""
        return dataclasses.replace(self.plan.length, total_steps=self.plan.length.total_steps - self.plan.warmup.steps)

    @override
    def _scheduler_state(self) -> dict[str, Any]:
        return {"children": [child.state_dict() for child in self.children]}

    @override
    def _saved_children(self, saved: Mapping[str, Any]) -> list[Mapping[str, Any] | None]:
        return list(saved["children"])

    @override
    def _load_scheduler_state(self, state: Mapping[str, Any]) -> None:
        self._start_all(state["children"])


class _Composite(Schedule):
    """Shared configuration: the child schedules, and the composite counting optimizer steps."""

    open_arguments = False

    _step_by_default = True  # the composite counts optimizer steps; each child keeps its own interval
    _checks_signature = False  # its arguments are its own, checked in its `__init__`

    def __init__(self, schedulers: Sequence[Schedule], **kwargs: Any) -> None:
        self.parts = _check_children(type(self).__name__, schedulers)
        super().__init__(_no_factory, **kwargs)
        self.cycles_momentum = any(child.cycles_momentum for child in self.parts)

    @override
    def scaled_to_run(self) -> bool:
        return super().scaled_to_run() or any(child.scaled_to_run() for child in self.parts)


class SequentialLR(_Composite):
    """Run schedules one after the other, switching at ``milestones`` (durations; ints count optimizer steps).

    Each schedule starts at its own step 0 from the optimizer's initial learning rates, as with torch's
    ``SequentialLR``; its lengths (``"10%"``, omitted whole-training lengths) are relative to its own phase. Unlike
    torch's, a ``ReduceLROnPlateau`` phase is allowed.

    Example::

        >>> from lightning_lrsched import CosineAnnealingLR, LinearLR, ReduceLROnPlateau
        >>> schedule = SequentialLR(
        ...     [LinearLR(0.01, 1.0, total_iters="100%", interval="step"), CosineAnnealingLR(), ReduceLROnPlateau()],
        ...     milestones=["5%", "80%"],
        ... )
    """

    _timeline_class = _SequentialTimeline

    def __init__(self, schedulers: Sequence[Schedule], milestones: Sequence[DurationLike], **kwargs: Any) -> None:
        if isinstance(milestones, (str, int)) or not isinstance(milestones, Sequence):
            raise ValueError(f"Expected argument `milestones` to be a list of lengths, but got {milestones!r}.")
        count = len(_check_children("SequentialLR", schedulers))
        if len(milestones) != count - 1:
            raise ValueError(
                f"`SequentialLR` needs one `milestones` entry fewer than `schedulers`: got {count} schedules and"
                f" milestones {list(milestones)!r}. Give {max(count - 1, 0)} milestone(s), each where the next"
                " schedule starts."
            )
        super().__init__(
            schedulers, milestones=list(milestones), lengths=("milestones",) if milestones else (), **kwargs
        )
        self.ends = self.parts[-1].ends  # (the last phase's end is the composite's)

    @override
    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        resolved = super().resolve_lengths(length, warmup_steps, warn)
        points = [warmup_steps, *resolved.get("milestones", [])]
        if any(b <= a for a, b in itertools.pairwise(points)) or points[-1] >= length.total("step", name="milestones"):
            raise ValueError(
                f"Expected `milestones` {self._kwargs['milestones']!r} to resolve to increasing optimizer steps after"
                f" the warmup and before the end of training ({length.total_steps:g} steps), but got {points[1:]}."
            )
        return resolved


class ChainedScheduler(_Composite):
    """Run several schedules at once on one optimizer; their factors multiply, as with torch's ChainedScheduler.

    Each schedule keeps its own interval, so a per-step cycle can ride on a per-epoch decay. The schedules must
    be of the chainable kind (they scale the current rate: ``ConstantLR``, ``LinearLR``, ``ExponentialLR``,
    ``StepLR``, ``MultiStepLR``, ``MultiplicativeLR``, ``ReduceLROnPlateau``, ...).

    Example::

        >>> from lightning_lrsched import ConstantLR, ExponentialLR
        >>> schedule = ChainedScheduler([ConstantLR(0.1, total_iters=2), ExponentialLR(0.9)])
    """

    _timeline_class = _ChainedTimeline

    def __init__(self, schedulers: Sequence[Schedule], **kwargs: Any) -> None:
        super().__init__(schedulers, lengths=(), **kwargs)
        self.ends = all(child.ends for child in self.parts)  # (it ends when each factor has)
