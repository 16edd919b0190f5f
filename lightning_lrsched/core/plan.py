"""Plan: what one timeline plans for, apart from where the run is.

A :class:`~lightning_lrsched.core.timeline.Timeline` is a plan and a position. The plan is the run's length as the
Trainer estimated it, the schedule's lengths resolved against it, the warmup, where the plan ends (in optimizer
steps and in epochs) and its history of re-plans. A re-plan or a resume changes the plan; optimizer steps and
epochs move the position. The plan's part of a checkpoint is written and read here.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from lightning_lrsched.core.duration import Interval, TrainingLength
from lightning_lrsched.core.position import Position
from lightning_lrsched.core.warmup import Warmup

BELOW_ONE = math.nextafter(1.0, 0.0)
"""The largest fraction of an epoch: the epoch is not over until it ends."""


@dataclasses.dataclass
class Plan:
    """The run a timeline plans for: its length, the resolved lengths, the warmup and where the plan ends.

    Example::

        >>> from lightning_lrsched.core import TrainingLength
        >>> from lightning_lrsched.core.warmup import Warmup
        >>> plan = Plan.for_run(TrainingLength(total_steps=10, steps_per_epoch=4), Warmup(2), {"T_max": 8})
        >>> plan.steps, plan.epochs, plan.warmup_epochs
        (10, 3, 0.5)
    """

    length: TrainingLength
    """The run's length (optimizer steps, steps per epoch) the plan follows now."""
    warmup: Warmup
    """The warmup prefix, resolved in optimizer steps."""
    resolved: dict[str, Any]
    """The schedule's lengths resolved against the run (``{"T_max": 8}``), counted from the end of the warmup."""
    steps: float
    """The optimizer step where the plan ends (``inf`` for an unbounded run)."""
    epochs: float
    """The epoch where the plan ends (``inf`` when the steps or the epochs' size are unknown)."""
    fit_steps: float
    """The Trainer's estimate of the run this fit plans for (a resume compares it with its own)."""
    warmup_epochs: float
    """The warmup's length in epochs (a fraction), where an epoch schedule's own count starts: planned from the
    run's epoch size, then the fraction of the epochs as they ran where it ended (after a rewind or a resize)."""
    origin: int = 0
    """The optimizer step where the current scheduler started: 0, or the last re-plan's."""
    replans: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """Each re-plan: its step, the planned steps before and after, and why."""
    steps_per_batch: float = 1.0
    """The optimizer steps per training batch the plan counts on (not 1 for an optimizer at its own rate)."""
    epoch_sizes: dict[int, float] = dataclasses.field(default_factory=dict)
    """Optimizer steps of the epochs whose size is not ``length``'s, by epoch (one resumed into another size)."""

    @classmethod
    def for_run(cls, length: TrainingLength, warmup: Warmup, resolved: dict[str, Any]) -> Plan:
        """The plan of a fresh fit of ``length``."""
        warmup_epochs = length.epochs_in(warmup.steps) if warmup.steps else 0.0
        steps = length.total_steps
        return cls(length, warmup, resolved, steps, epochs_of(length), steps, warmup_epochs)

    def set_length(self, length: TrainingLength, position: Position) -> None:
        """The run is now ``length`` long; the epochs done up to ``position`` keep their sizes."""
        self.length, self.steps, self.epochs = length, length.total_steps, epochs_of(length)
        if math.isfinite(self.epochs):
            done, size = position.epoch_steps, length.epoch_size(position.epochs)
            left = max(length.total_steps - position.steps - (size - done if done else 0), 0)
            after = position.epochs + (1 if done else 0)  # (the first epoch after the current one, if it took a step)
            self.epochs = after + math.ceil(length.epochs_in(left, start=after))

    def schedule_steps(self, position: Position) -> int:
        """Optimizer steps the current scheduler has taken at ``position`` (since the warmup, or the last re-plan)."""
        return max(position.steps - max(self.warmup.steps, self.origin), 0)

    def epoch_position(self, position: Position) -> float:
        """Epochs since the warmup ended at ``position`` (0 before), this epoch's fraction from its real steps."""
        if position.steps <= self.warmup.steps:
            return 0.0
        return max(self._epochs_at(position) - self.warmup_epochs, 0.0)

    def end_warmup(self, position: Position) -> None:
        """The warmup ends at ``position``: the schedule's epochs count from there, as the epochs really ran.

        That is the planned fraction, unless the epochs ran at other sizes (a rewind into the warmup ended an epoch
        early): ``CosineAnnealingWarmRestarts`` per step then starts its cycle at the warmup's end all the same.
        """
        self.warmup_epochs = self._epochs_at(position, most=1.0)  # (one that ends with its epoch: that epoch whole)

    def _epochs_at(self, position: Position, most: float = BELOW_ONE) -> float:
        """The epochs done at ``position``, the current one's fraction counted over its real size.

        The fraction stays below 1 (an epoch that runs longer than its size holds its end): the next epoch starts
        where the run's does, never inside the current one. With ``most=1.0`` an epoch that ends here counts whole.
        """
        per_epoch = self.epoch_size(position)
        fraction = min(position.epoch_steps / per_epoch, most) if math.isfinite(per_epoch) else 0.0
        return position.epochs + fraction

    def epoch_size(self, position: Position) -> float:
        """The optimizer steps the current epoch at ``position`` counts (its own size, or the run's epochs')."""
        return self.epoch_sizes.get(position.epochs, self.length.epoch_size(position.epochs))

    def end_epoch_with_run(self, position: Position, left: Sequence[float]) -> None:
        """The current epoch ends where the run's does, ``left[0]`` optimizer steps after ``position``.

        After a rewind (into an earlier epoch, or to earlier steps of this one) it has another length than planned:
        its fractions count over its real length, so that ``CosineAnnealingWarmRestarts`` per step restarts where
        the run's epoch ends, once. The next epochs have the sizes in ``left[1:]`` (shorter by the batches a rewind
        skips in them, or the run's at its accumulation where the count is behind the run's), those after them their
        planned size.
        """
        self.epoch_sizes = {epoch: size for epoch, size in self.epoch_sizes.items() if epoch <= position.epochs}
        for epoch, steps in enumerate(left[1:], start=position.epochs + 1):
            if 0 < steps != self.length.epoch_size(epoch):
                self.epoch_sizes[epoch] = steps
        size = position.epoch_steps + (left[0] if left else math.inf)
        if 0 < size < math.inf and size != self.epoch_size(position):
            self.epoch_sizes[position.epochs] = size

    def epochs_passed(self, position: Position) -> bool:
        """Whether the optimizer step just taken (at ``position``) lies past the planned epochs."""
        return position.epochs >= self.epochs and position.epoch_steps > 0

    def behind(self, position: Position, interval: Interval) -> bool:
        """Whether all of the plan lies behind ``position`` (its planned steps, or epochs, are done)."""
        return position.steps >= self.steps if interval == "step" else position.epochs >= self.epochs

    def state(self) -> dict[str, Any]:
        """The plan's part of a timeline's checkpoint state (``-1`` for an end that is ``inf``)."""
        return {
            "warmup_steps": self.warmup.steps,
            "total_steps": _finite(self.steps),
            "fit_steps": _finite(self.fit_steps),
            "resolved": copy.deepcopy(self.resolved),
            "origin": self.origin,
            "replans": copy.deepcopy(self.replans),
            "warmup_epochs": self.warmup_epochs,
            "planned_epochs": _finite(self.epochs),
            "steps_per_batch": self.steps_per_batch,
            "steps_per_epoch": _finite(self.length.steps_per_epoch),
            "resized": [list(change) for change in self.length.resized],
            "epoch_sizes": dict(self.epoch_sizes),
        }

    def load(self, state: Mapping[str, Any], start_factor: float) -> None:
        """Continue the plan of a checkpoint's ``state`` (written by :meth:`state`, or by an earlier version)."""
        self.resolved = copy.deepcopy(dict(state["resolved"]))
        self.warmup = Warmup(int(state.get("warmup_steps", self.warmup.steps)), start_factor)
        planned = state.get("total_steps")  # absent before 0.2: the plan is then this run's
        if isinstance(planned, (int, float)) and planned >= 0:
            self.steps = planned
        epochs = state.get("planned_epochs")
        self.epochs = epochs if isinstance(epochs, (int, float)) and epochs >= 0 else epochs_of(self.length)
        self.origin = int(state.get("origin", 0))
        self.replans = copy.deepcopy(list(state.get("replans") or []))
        self.warmup_epochs = float(state.get("warmup_epochs", self.warmup_epochs))
        if self.warmup_epochs == BELOW_ONE:  # (a warmup of one whole epoch, as versions of 2026-12-07 wrote it)
            self.warmup_epochs = 1.0
        self.steps_per_batch = float(state.get("steps_per_batch", 1.0))
        self.epoch_sizes = {int(epoch): float(size) for epoch, size in (state.get("epoch_sizes") or {}).items()}


def epochs_of(length: TrainingLength) -> float:
    """The run's epochs, or inf when its steps or its epoch length are unknown."""
    total, per_epoch = length.total_steps, length.steps_per_epoch
    if not (math.isfinite(total) and math.isfinite(per_epoch)) or per_epoch <= 0:
        return math.inf
    return math.ceil(length.epochs_in(total))


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -1


def saved_sizes(state: Mapping[str, Any]) -> TrainingLength | None:
    """The epochs' sizes of the run a checkpoint's timeline ``state`` was written in; None where it has none."""
    per_epoch = state.get("steps_per_epoch")  # (absent in older checkpoints; -1 for data without a length)
    if not isinstance(per_epoch, (int, float)) or per_epoch < 0:
        return None
    resized = tuple((int(epoch), float(size)) for epoch, size in state.get("resized") or ())
    return TrainingLength(math.inf, per_epoch, resized=resized)
