"""Durations: parse lengths such as ``"10%"``, ``"3ep"`` or ``"500 steps"`` and resolve them against a Trainer.

A duration is parsed once, at construction, so that a typo fails before any training starts. It is resolved at
fit start, when the Trainer knows how many optimizer steps the run will take.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import lightning.pytorch as pl

Interval = Literal["step", "epoch"]
DurationLike = int | str
"""What a length parameter accepts: an int in the callback's interval unit, or a string with a unit."""

Unit = Literal["interval", "step", "epoch", "percent"]

_PATTERN = re.compile(
    r"^\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>%|ep|eps|epoch|epochs|s|step|steps)?\s*$",
    re.IGNORECASE,
)
_UNITS: dict[str, Unit] = {
    "%": "percent",
    "ep": "epoch",
    "eps": "epoch",
    "epoch": "epoch",
    "epochs": "epoch",
    "s": "step",
    "step": "step",
    "steps": "step",
}
_SYNTAX = "an int, or a string such as '10%', '3ep', '3 epochs' or '500 steps'"


@dataclass(frozen=True)
class Duration:
    """A parsed length: a number and the unit it was given in.

    Example::

        >>> Duration.parse("warmup", "10%")
        Duration(value=10.0, unit='percent', text='10%')
    """

    value: float
    unit: Unit
    text: str

    @classmethod
    def parse(cls, name: str, value: object, *, allow_zero: bool = False) -> Duration:
        """Parse the length given for parameter ``name``.

        Args:
            name: the parameter name, used in error messages.
            value: an int (interval units) or a string with a unit.
            allow_zero: whether a zero length is meaningful for this parameter.

        Raises:
            TypeError: if ``value`` is neither an int nor a string.
            ValueError: if the string has no known unit, or the length is negative, zero or over 100%.
        """
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError(
                f"Expected argument `{name}` to be {_SYNTAX}, but got {value!r} of type {type(value).__name__}."
                + (
                    " For a fraction of the training write a percentage, e.g. '10%'."
                    if isinstance(value, float)
                    else ""
                )
            )
        if isinstance(value, int):
            parsed = cls(float(value), "interval", str(value))
        else:
            match = _PATTERN.match(value)
            if match is None:
                raise ValueError(
                    f"Expected argument `{name}` to be {_SYNTAX}, but got {value!r}."
                    " Known units: '%', 'ep'/'epoch'/'epochs', 'step'/'steps'."
                )
            unit = match.group("unit")
            parsed = cls(float(match.group("number")), _UNITS[unit.lower()] if unit else "interval", value)
        if parsed.unit == "interval" and parsed.value != int(parsed.value):
            raise ValueError(
                f"Expected argument `{name}` to be a whole number of intervals, but got {value!r}."
                " Give a unit for fractional lengths, e.g. '1.5ep'."
            )
        if parsed.value < 0 or (parsed.value == 0 and not allow_zero):
            kind = "non-negative" if allow_zero else "positive"
            raise ValueError(f"Expected argument `{name}` to be a {kind} length, but got {value!r}.")
        if parsed.unit == "percent" and parsed.value > 100:
            raise ValueError(f"Expected argument `{name}` to be at most '100%' of the training, but got {value!r}.")
        return parsed

    def resolve(self, name: str, interval: Interval, length: TrainingLength, *, allow_zero: bool = False) -> int:
        """Return this length as a whole number of ``interval`` units.

        Args:
            name: the parameter name, used in error messages.
            interval: the unit the schedule steps in.
            length: the training's length, read from the Trainer.
            allow_zero: return 0 for a length that rounds to 0 instead of raising.

        Raises:
            ValueError: if the length needs a bound the Trainer does not have, or rounds to zero although it
                was not zero.
        """
        if self.unit == "interval":
            return int(self.value)
        if self.unit == "percent":
            total = length.total(interval, name=name, value=self.text)
            units = self.value / 100 * total
        elif self.unit == interval:
            units = self.value
        else:
            length.per_epoch(name=name, value=self.text)  # (an error for data without a length)
            # counted from the run's start, over each epoch's own size
            units = length.steps_in(self.value) if self.unit == "epoch" else length.epochs_in(self.value)
        resolved = math.floor(units + 0.5)
        if resolved == 0 and self.value > 0 and not allow_zero:
            raise ValueError(
                f"Argument `{name}`={self.text!r} is {units:.3g} {interval}s in this run, which rounds to 0."
                f" Give a longer length, or use `interval='step'` for lengths shorter than an epoch."
            )
        return resolved


@dataclass(frozen=True)
class TrainingLength:
    """How long a run is, in optimizer steps and epochs, as the Trainer estimates it at fit start.

    Example::

        >>> TrainingLength(total_steps=100, steps_per_epoch=10).total("epoch")
        10
    """

    total_steps: float
    """Optimizer steps of the whole run (``trainer.estimated_stepping_batches``); ``inf`` when unbounded."""
    steps_per_epoch: float
    """Optimizer steps per epoch: ceil(training batches / accumulate_grad_batches); ``inf`` for iterable data."""

    unbounded: str = "this Trainer runs without end (`max_epochs=-1` and `max_steps=-1`)"
    """Why ``total_steps`` is ``inf``, for error messages."""
    resized: tuple[tuple[int, float], ...] = ()
    """Where the epochs change size: ``(epoch, optimizer steps per epoch from it)`` pairs in epoch order (a
    ``GradientAccumulationScheduler``'s accumulation); the epochs before the first take ``steps_per_epoch``."""

    @classmethod
    def from_trainer(cls, trainer: pl.Trainer) -> TrainingLength:
        """Read the real length of a run from a Trainer that is fitting.

        Lightning estimates a run bounded by ``max_steps`` alone without loading the data; the data is set up
        here then (as Lightning itself does for epoch-bounded runs), so that epoch lengths are known. An
        iterable dataset without ``max_steps``, or a run bounded only by ``max_time``, has no length in steps.
        """
        if trainer.limit_train_batches == 0:  # Lightning skips training and never loads the data
            return cls(total_steps=0, steps_per_epoch=0)
        estimate = float(trainer.estimated_stepping_batches)
        if trainer.train_dataloader is None:  # as Lightning's own estimate does for epoch-bounded runs (idempotent)
            trainer.fit_loop.setup_data()
        batches = float(trainer.num_training_batches)
        per_epoch = math.ceil(batches / trainer.accumulate_grad_batches) if math.isfinite(batches) else math.inf
        if estimate >= 0 and math.isfinite(estimate):
            return cls(total_steps=estimate, steps_per_epoch=per_epoch)
        if trainer.max_epochs == -1 or trainer.max_epochs is None:
            why = "this Trainer runs without end (no `max_steps`, and `max_epochs=-1` or only `max_time`)"
        else:
            why = (
                "the training dataloader has no length (an iterable dataset) and the Trainer has no `max_steps`,"
                f" so the {trainer.max_epochs} epochs have an unknown number of optimizer steps"
            )
        return cls(total_steps=math.inf, steps_per_epoch=per_epoch, unbounded=why)

    def total(self, interval: Interval, *, name: str = "", value: str = "") -> int:
        """The whole run in ``interval`` units.

        Raises:
            ValueError: if the run is unbounded, naming the parameter that needed a bound.
        """
        if not math.isfinite(self.total_steps):
            what = f"`{name}`={value!r}" if value else f"an omitted `{name}`"
            raise ValueError(
                f"{what} needs the length of the training, but {self.unbounded}. Set `max_steps` on the Trainer,"
                f" or give `{name}` as a fixed length such as '3ep' or 500."
            )
        if interval == "step":
            return int(self.total_steps)
        self.per_epoch(name=name, value=value or "the whole training")  # (an error for data without a length)
        return math.ceil(self.epochs_in(self.total_steps))

    def remaining(self, interval: Interval, warmup_steps: int, *, name: str = "") -> int:
        """What is left of the run after a warmup of ``warmup_steps`` optimizer steps, in ``interval`` units.

        In epochs, an epoch counts when at least one of its steps comes after the warmup.
        """
        total = self.total(interval, name=name)
        if not warmup_steps:
            return total
        if interval == "step":
            return total - warmup_steps
        self.per_epoch(name="warmup", value=f"{warmup_steps} steps")  # (an error for data without a length)
        return total - math.floor(self.epochs_in(warmup_steps))

    def per_epoch(self, *, name: str = "", value: str = "") -> float:
        """Optimizer steps per epoch.

        Raises:
            ValueError: if the training data has no length, so an epoch has no known size.
        """
        if not math.isfinite(self.steps_per_epoch):
            raise ValueError(
                f"`{name}`={value!r} converts between epochs and steps, but the training dataloader has no"
                " length (an iterable dataset), so an epoch has no known size. Give the length in the"
                " schedule's own unit, e.g. '500 steps' with `interval='step'`."
            )
        return self.steps_per_epoch

    def epoch_size(self, epoch: int) -> float:
        """Optimizer steps of epoch ``epoch`` (counted from 0)."""
        size = self.steps_per_epoch
        for first, steps in self.resized:
            if epoch < first:
                break
            size = steps
        return size

    def steps_in(self, epochs: float, *, start: int = 0) -> float:
        """Optimizer steps of ``epochs`` epochs from epoch ``start``'s start (a fraction counts that share of the last).

        Example::

            >>> TrainingLength(25, 10, resized=((1, 5.0),)).steps_in(2.5)  # (10 steps, then epochs of 5)
            17.5
        """
        steps, done, size = 0.0, start, self.epoch_size(start)
        for first, next_size in self.resized:
            if first <= done:
                continue
            if start + epochs <= first:
                break
            steps, done, size = steps + (first - done) * size, first, next_size
        return steps + (start + epochs - done) * size

    def epochs_in(self, steps: float, *, start: int = 0) -> float:
        """The epochs (a fraction of the last one too) that ``steps`` optimizer steps take from epoch ``start``'s start.

        Example::

            >>> TrainingLength(25, 10, resized=((1, 5.0),)).epochs_in(25)  # (10 steps, then epochs of 5)
            4.0
        """
        done, size = start, self.epoch_size(start)
        for first, next_size in self.resized:
            if first <= done:
                continue
            if steps <= (span := (first - done) * size):
                break
            steps, done, size = steps - span, first, next_size
        return done - start + steps / size
