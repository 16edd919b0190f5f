"""Schedule: what a schedule is, independent of Lightning: which torch scheduler, which lengths, which interval.

A schedule resolves its lengths against a :class:`~lightning_lrsched.core.duration.TrainingLength`, builds the torch
scheduler and advances it; :class:`~lightning_lrsched.core.timeline.Timeline` decides when. The per-type subclasses
(``schedules.py``) override the pure hooks here and nothing else.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lightning_lrsched import _checks
from lightning_lrsched.core.duration import Duration, DurationLike, Interval, TrainingLength
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.core.warmup import Warn

SchedulerFactory = Callable[..., LRScheduler]
"""A scheduler class or function, called as ``factory(optimizer, **kwargs)``."""


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


class Schedule:
    """A learning-rate schedule's configuration and its pure hooks (no Lightning, no clock).

    Args:
        scheduler: a scheduler class or function, called as ``scheduler(optimizer, **scheduler_kwargs)``.
        interval: ``"step"`` or ``"epoch"``; None picks the type's default (``"step"`` for transformers'
            schedules and the per-step types such as 1cycle, ``"epoch"`` otherwise).
        warmup: a linear warmup prefix of this many optimizer steps (a duration such as ``"10%"`` or ``"1ep"``;
            an int counts optimizer steps whatever the interval). Step s of the warmup uses
            ``lr0 * (f + (1 - f) * s / warmup)``, with lr0 the schedule's own first value and f
            ``warmup_start_factor``; the schedule then starts at its own step 0, and lengths that cover the whole
            training cover what is left after the warmup.
        warmup_start_factor: the fraction of lr0 the warmup starts from, in [0, 1).
        lengths: names of ``scheduler_kwargs`` that are durations, resolved to ints in the interval unit.
        **scheduler_kwargs: passed to ``scheduler``.

    Example::

        >>> import torch
        >>> schedule = Schedule(torch.optim.lr_scheduler.StepLR, step_size="2ep", lengths=["step_size"])
        >>> schedule.interval
        'epoch'
    """

    _whole_training: ClassVar[tuple[str, ...]] = ()
    """Length arguments that default to the whole training when omitted (None)."""
    _free_lengths: ClassVar[tuple[str, ...]] = ()
    """Length arguments that may exceed the training (a time constant, not a point the schedule reaches)."""
    _step_by_default: ClassVar[bool] = False
    """Schedules that step per optimizer step unless ``interval`` says otherwise (cyclic, 1cycle, ...)."""
    ends: bool = False
    """Whether the schedule has a planned end (a decay to a floor, a last milestone), held past the planned run."""
    steps_to_position: bool = False
    """Whether :meth:`step_scheduler` sets the lr of the timeline's position, rather than one interval on."""
    _timeline_class: ClassVar[type[Timeline]] = Timeline
    _vocabulary: ClassVar[str] = ""
    """The short name of the vocabulary whose schedules a class takes by name (``"hf"``, ``"timm"``)."""
    open_arguments: ClassVar[bool] = True
    """Whether ``**kwargs`` may hold the scheduler's own arguments (this class, transformers' and timm's
    vocabularies); for the other types they are only ``interval``, ``warmup`` and ``warmup_start_factor``."""
    _checks_signature: ClassVar[bool] = True
    """Scheduler arguments are checked against the scheduler's signature at construction (composites: their own)."""

    def __init__(
        self,
        scheduler: SchedulerFactory,
        *,
        interval: Interval | None = None,
        warmup: DurationLike | None = None,
        warmup_start_factor: float = 0.0,
        lengths: Sequence[str] = (),
        **scheduler_kwargs: Any,
    ) -> None:
        if not callable(scheduler):
            raise TypeError(
                f"Expected argument `scheduler` to be a scheduler class or a function `f(optimizer, ...)`,"
                f" but got {scheduler!r}."
            )
        if interval is not None:
            _checks.one_of("interval", interval, ("step", "epoch"))
        _checks.in_range("warmup_start_factor", warmup_start_factor, 0, 1, closed_low=True, closed_high=False)
        _checks.names("lengths", lengths, example="['step_size']")
        missing = [length for length in lengths if length not in scheduler_kwargs]
        if missing:
            raise ValueError(
                f"Argument `lengths` names {missing}, which are not among the scheduler arguments"
                f" {sorted(scheduler_kwargs)}. Pass them as keyword arguments, e.g. `{missing[0]}='10%'`."
            )
        if self._checks_signature:
            _check_names(self, scheduler, scheduler_kwargs)
        self._factory = scheduler
        self._kwargs = dict(scheduler_kwargs)
        self._interval: Interval = interval or self._default_interval(self._kwargs)
        self._lengths = tuple(lengths)
        self.cycles_momentum = False
        self.steps_by_torch = type(self).step_scheduler is Schedule.step_scheduler
        """One interval on is the torch scheduler's own ``step()``: a timeline calls it directly, at every step."""
        self._durations = {key: self._parse_length(key, scheduler_kwargs[key]) for key in self._lengths}
        self.warmup_length = None if warmup is None else Duration.parse("warmup", warmup, allow_zero=True)
        self.warmup_start_factor = float(warmup_start_factor)
        self.last_timeline: Timeline | None = None
        """The timeline of the current or last fit, kept by ``timeline(..., attach=True)`` for inspection."""

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles hold the configuration only, never a run's timeline (nor its optimizer)."""
        return {**self.__dict__, "last_timeline": None}

    @property
    def label(self) -> str:
        """The schedule's name in summaries, plans and checkpoints: the class (``TransformersLR[cosine]``)."""
        return f"{type(self).__name__}[{kind}]" if (kind := self._kind()) else type(self).__name__

    @property
    def short_label(self) -> str:
        """The name where room is short (an HParams cell): the class, or ``hf:cosine``, ``timm:tanh``."""
        return f"{self._vocabulary}:{kind}" if (kind := self._kind()) else type(self).__name__

    def _kind(self) -> str | None:
        """Which schedule of a vocabulary's several this is (``"cosine"``); None for one-schedule classes."""
        return None

    @property
    def interval(self) -> Interval:
        """``"step"`` or ``"epoch"``: when the scheduler advances."""
        return self._interval

    def timeline(
        self,
        optimizer: Optimizer,
        length: TrainingLength,
        *,
        warn: Warn = _warn,
        attach: bool = False,
        phase: bool = False,
    ) -> Timeline:
        """A fresh plan of this schedule on ``optimizer`` for a run of ``length``, at step 0.

        Args:
            optimizer: the optimizer whose learning rates the timeline sets.
            length: the run's length.
            warn: where warnings go.
            attach: keep the timeline (and those of a composite's phases) on this object for inspection, as a
                fit does; a preview does not.
            phase: the timeline of a composite's phase, on the composite's plan (see :class:`Timeline`).

        Raises:
            ValueError: when a length does not fit the run (named, with the fix).
        """
        timeline = self._timeline_class(self, optimizer, length, warn=warn, attach=attach, phase=phase)
        if attach:
            self.last_timeline = timeline
        return timeline

    @property
    def scheduler(self) -> Any:
        """The torch scheduler of the current or last fit (None before the first)."""
        return self.last_timeline.scheduler if self.last_timeline is not None else None

    @property
    def resolved_lengths(self) -> dict[str, Any]:
        """The length arguments as ints in interval units, resolved at fit start."""
        return dict(self.last_timeline.plan.resolved) if self.last_timeline is not None else {}

    @property
    def schedule_steps(self) -> int:
        """Optimizer steps taken since the warmup ended: the step count of the wrapped schedule itself."""
        timeline = self.last_timeline
        return timeline.plan.schedule_steps(timeline.position) if timeline is not None else 0

    def scaled_to_run(self) -> bool:
        """Whether the plan depends on the run's length: an omitted whole-run length, or a percentage."""
        given = [self.warmup_length, *self._durations.values()]
        flat = [d for item in given if item is not None for d in (item if isinstance(item, list) else [item])]
        return None in self._durations.values() or any(duration.unit == "percent" for duration in flat)

    def plain_arguments(self) -> dict[str, Any]:
        """The plain arguments (numbers, strings, flags; not lengths), to tell a changed one on resume.

        Example::

            >>> import torch
            >>> Schedule(torch.optim.lr_scheduler.StepLR, step_size=2, gamma=0.5, warmup="5%").plain_arguments()
            {'step_size': 2, 'gamma': 0.5, 'warmup': '5%', 'warmup_start_factor': 0.0}
        """
        plain = {
            key: value
            for key, value in self._kwargs.items()
            if key not in self._lengths and (value is None or isinstance(value, (bool, int, float, str)))
        }
        plain["warmup"] = self.warmup_length.text if self.warmup_length is not None else None
        plain["warmup_start_factor"] = self.warmup_start_factor
        return plain

    # ------------------------------------------------------------------ pure hooks for subclasses

    def _default_interval(self, kwargs: dict[str, Any]) -> Interval:
        """The interval used when ``interval`` is not given."""
        module = getattr(self._factory, "__module__", "") or ""
        return "step" if self._step_by_default or module.split(".")[0] == "transformers" else "epoch"

    def _length_unit(self) -> Interval:
        """The unit lengths resolve to (the interval, unless a schedule counts in epochs regardless)."""
        return self._interval

    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        """The length arguments as ints in the length unit, for a run of ``length`` after the warmup."""
        unit = self._length_unit()
        resolved: dict[str, Any] = {}
        for key, duration in self._durations.items():
            if duration is None:
                resolved[key] = length.remaining(unit, warmup_steps, name=key)
            elif isinstance(duration, list):
                resolved[key] = [d.resolve(f"{key}[{i}]", unit, length) for i, d in enumerate(duration)]
            else:
                resolved[key] = duration.resolve(key, unit, length)
        for message in past_the_end(resolved, self._kwargs, length, warmup_steps, unit, self._free_lengths):
            warn(message)
        return resolved

    def build_scheduler(self, optimizer: Optimizer, resolved: dict[str, Any]) -> LRScheduler:
        """Build the torch scheduler with the resolved lengths."""
        kwargs = {**self._kwargs, **resolved}
        try:
            return self._factory(optimizer, **kwargs)
        except (ValueError, TypeError, KeyError) as error:
            raise type(error)(
                f"{type(self).__name__} could not build its scheduler on {type(optimizer).__name__} with"
                f" arguments {kwargs}: {error}"
            ) from error

    def step_scheduler(self, scheduler: LRScheduler, timeline: Timeline) -> None:
        """Advance the scheduler by one interval."""
        scheduler.step()

    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None:
        """Arguments that rebuild what remains of a re-planned schedule, starting from the current lr.

        Args:
            scheduler: the running scheduler.
            resolved: the lengths of the new plan, counted from the end of the warmup.
            position: where the run is now, in the same unit and from the same origin.
            lr: the first param group's current lr; the rebuilt scheduler starts from it.

        Returns:
            Arguments overriding the new plan's, or None: no re-plan without a jump (it keeps its plan, and warns).
        """
        return None

    def plan_so_far(
        self, scheduler: LRScheduler, resolved: dict[str, Any], length: TrainingLength
    ) -> dict[str, Any] | None:
        """The plan ``resolved`` for a run of ``length`` if it gives the lrs so far (its warmup may keep its length).

        That plan goes on from its start, as a fresh run, not rebuilt from the current lr (:meth:`rebase`). No torch
        schedule has one (None): the lr of each of its steps depends on the whole length.
        """
        return None

    # ------------------------------------------------------------------ helpers

    def _parse_length(self, key: str, value: Any) -> Duration | list[Duration] | None:
        if value is None and key in self._whole_training:
            return None
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"Expected argument `{key}` to be a non-empty list of lengths, but got {value!r}.")
            return [Duration.parse(f"{key}[{i}]", item) for i, item in enumerate(value)]
        return Duration.parse(key, value)


def past_the_end(
    resolved: dict[str, Any], given: dict[str, Any], length: TrainingLength, warmup_steps: int, unit: Interval,
    free: tuple[str, ...] = (),
) -> list[str]:  # fmt: skip
    """One warning per length (of ``resolved``, as ``given``) that the training never reaches: that part would not run.

    Lengths named in ``free`` are time constants, not points the schedule reaches.
    """
    left = left_after_warmup(length, warmup_steps, unit)
    if left is None:
        return []
    found = []
    for key, value in resolved.items():
        longest = max(value) if isinstance(value, list) else value
        if key in free or not isinstance(longest, int) or longest <= left:
            continue
        found.append(
            f"{against_run(key, given[key], longest, unit, left, warmup_steps)}: it ends before the schedule gets"
            f" there. Give `{key}` as a share of the run, e.g. '50%', or train longer."
        )
    return found


def left_after_warmup(length: TrainingLength, warmup_steps: int, unit: Interval) -> int | None:
    """The run's length after the warmup in ``unit``s (see ``TrainingLength.remaining``); None when not known."""
    if not math.isfinite(length.total_steps) or (unit == "epoch" and not math.isfinite(length.steps_per_epoch)):
        return None
    return length.remaining(unit, warmup_steps)


def against_run(key: str, given: Any, value: int, unit: Interval, left: int, warmup_steps: int) -> str:
    """How a length argument compares with the run: the start of a warning about a length that does not fit it."""
    warmup = " after the warmup" if warmup_steps else ""
    return f"`{key}`={given!r} resolves to {value} {unit}s, but this training has {left} {unit}s{warmup}"


def _check_names(schedule: Schedule, factory: SchedulerFactory, kwargs: dict[str, Any]) -> None:
    """Every scheduler argument is one the scheduler takes: a misspelling is an error at construction.

    Raises:
        UnknownArgumentError: naming the unknown argument and the closest valid name (of the scheduler or the schedule).
    """
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check against
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    taken = set(parameters) - {"optimizer", "last_epoch"}
    unknown = [key for key in kwargs if key not in taken]
    if not unknown:
        return
    own = {
        name for cls in type(schedule).__mro__ if "__init__" in vars(cls) for name in inspect.signature(cls).parameters
    }
    valid = taken | (own - {"self", "kwargs", "scheduler_kwargs", "scheduler"})
    raise _checks.UnknownArgumentError(type(schedule).__name__, unknown[0], kwargs[unknown[0]], valid)
