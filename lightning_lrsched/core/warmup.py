"""The warmup prefix: W optimizer steps whose lr climbs linearly to the schedule's first value.

Step s < W uses ``lr0 * (f + (1 - f) * s / W)``, with lr0 the schedule's own first value and f the start factor;
the schedule itself then starts at its own step 0. A change to how warmup works belongs here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lightning_lrsched.core.duration import Duration, TrainingLength

Warn = Callable[[str], None]
"""Where a pure layer sends a warning (the Lightning adapter passes its rank-zero warning)."""


@dataclass(frozen=True)
class Warmup:
    """A resolved warmup: its length in optimizer steps and the fraction of lr0 it starts from.

    Example::

        >>> warmup = Warmup(steps=4, start_factor=0.0)
        >>> [warmup.factor(step) for step in range(5)]
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """

    steps: int
    start_factor: float = 0.0

    @classmethod
    def plan(cls, duration: Duration | None, start_factor: float, length: TrainingLength, warn: Warn) -> Warmup:
        """Resolve ``duration`` against the run: an error when it leaves no schedule, a warning when it is long.

        Raises:
            ValueError: when the warmup takes the whole training.
        """
        if duration is None:
            return cls(0, start_factor)
        steps = duration.resolve("warmup", "step", length, allow_zero=True)
        total = length.total_steps
        if steps == 0 and duration.value > 0:
            warn(
                f"`warmup`={duration.text!r} is less than one optimizer step in this run of {total:g} steps, so"
                " training starts without warmup. Give it in steps, e.g. warmup=1."
            )
        if steps >= total:
            raise ValueError(
                f"`warmup`={duration.text!r} is {steps} optimizer steps, but the whole training is {total:g}"
                " steps, so the schedule would never start. Use a shorter warmup, e.g. warmup='5%'."
            )
        if steps > total / 4:
            warn(
                f"`warmup`={duration.text!r} is {steps} of the training's {total:g} optimizer steps (more than"
                " a quarter): the model trains at a reduced learning rate for much of the run. Warmups of 1-10%"
                " are usual."
            )
        return cls(steps, start_factor)

    def covers(self, step: int) -> bool:
        """Whether the lr before optimizer step ``step`` is set by the warmup (its last value included)."""
        return self.steps > 0 and step <= self.steps

    def factor(self, step: int) -> float:
        """The fraction of lr0 used by optimizer step ``step`` of the warmup."""
        start = self.start_factor
        return start + (1 - start) * min(step, self.steps) / self.steps if self.steps else 1.0
