"""The lr range test's curve and the rules that pick a peak learning rate from it (torch and math only).

A range test trains for a few steps with a learning rate that grows geometrically from very small to very large
and records the loss at each. :class:`RangeCurve` holds what it recorded; :func:`pick` chooses an lr from it by
one of the :data:`RULES`. The Lightning side (running the test on the real model, restoring everything after it)
is :class:`~lightning_lrsched.lightning.range_test.LRRangeTest`.

The rules, all on the loss smoothed without lag (a centred running median, then a centred mean):

* ``"steepest"``: where the loss falls fastest per decade of lr (what Lightning's ``suggestion()`` picks, there
  on an exponentially smoothed loss).
* ``"valley"``: fastai's rule as it describes it: the longest stretch over which the loss keeps falling, and a
  point half-way through it; on the loss smoothed as fastai smooths it (an exponential moving average, 0.98).
* ``"min_tenth"``: a tenth of the lr where the smoothed loss is lowest.
* ``"edge"`` (the default): a third of the *edge*, the first lr at which the smoothed loss comes within 5 % (of
  its total fall) of its minimum: the highest lr at which a step still lowers the loss. The minimum of a noisy
  curve lies anywhere along a flat bottom, the edge does not. A schedule holds its peak for a long stretch, so
  the pick stays half a decade below the edge (measured in ``benchmarks/lr_finder.py``: the best peak of a
  cosine or linear schedule lay 1.1 to 10 times below the edge on four tasks, and a third was within 1.3 % of
  the best accuracy on each, where a tenth lost up to 5 %). A 1cycle schedule spends little time at its peak and
  starts 25 times below it: its ``max_lr`` is the edge itself (:attr:`Pick.high`), as the 1cycle paper sets it.

Every pick lies at or below the lowest point of the smoothed loss, so never in the region where it diverges.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from typing import Literal

Rule = Literal["edge", "steepest", "valley", "min_tenth"]
RULES: tuple[Rule, ...] = ("edge", "steepest", "valley", "min_tenth")
"""The rules :func:`pick` knows."""
MIN_POINTS = 10
"""A curve with fewer usable points (before the loss diverged) cannot be read: the pick is None."""
EDGE = 0.05
"""The edge is where the smoothed loss comes within this share of its total fall of its minimum."""
MIN_FALL = 0.02
"""The smoothed loss must fall by at least this share of its start for the curve to show a usable range."""


@dataclasses.dataclass
class RangeCurve:
    """What a range test recorded: the lr of each step, the loss it gave, and why the test stopped.

    Args:
        lrs: the lr of the first param group at each step (growing geometrically).
        losses: the training loss of each step (averaged over devices).
        stopped: ``"end"`` (all steps ran), ``"diverged"`` (the smoothed loss grew past the limit) or
            ``"nan"`` (a loss was NaN or infinite: that step is not in ``losses``).

    Example::

        >>> curve = RangeCurve([1e-3, 1e-2, 1e-1], [1.0, 0.5, 4.0], "diverged")
        >>> curve.points
        3
    """

    lrs: list[float]
    losses: list[float]
    stopped: Literal["end", "diverged", "nan"] = "end"

    @property
    def points(self) -> int:
        """How many steps the curve has."""
        return len(self.losses)

    def smoothed(self) -> list[float]:
        """The losses smoothed without lag: a centred running median of 5, then a centred mean of 5."""
        medians = _centred(self.losses, 5, statistics.median)
        return _centred(medians, 5, statistics.fmean)

    def averaged(self, beta: float = 0.98) -> list[float]:
        """The losses smoothed by an exponential moving average with bias correction (fastai's, Lightning's)."""
        average, out = 0.0, []
        for step, loss in enumerate(self.losses, start=1):
            average = beta * average + (1 - beta) * loss
            out.append(average / (1 - beta**step))
        return out

    def state(self) -> dict[str, object]:
        """A plain form for checkpoints."""
        return {"lrs": list(self.lrs), "losses": list(self.losses), "stopped": self.stopped}


@dataclasses.dataclass(frozen=True)
class Pick:
    """The lr a rule picked from a curve, the step it sits at, why (in words), and the highest usable lr.

    ``high`` is the edge for the ``"edge"`` rule (1cycle's ``max_lr``), otherwise ``lr``.

    Example::

        >>> Pick(0.01, 40, "edge", "a third of 0.03", high=0.03).high
        0.03
    """

    lr: float
    index: int
    rule: str
    why: str
    high: float = 0.0

    def __post_init__(self) -> None:
        if not self.high:
            object.__setattr__(self, "high", self.lr)


def pick(curve: RangeCurve, rule: Rule = "edge") -> Pick | None:
    """The lr ``rule`` picks from ``curve``; None when the curve shows no range where the loss falls.

    Example::

        >>> lrs = geometric(1e-4, 1.0, 40)
        >>> losses = [2.0 - min(lr, 0.05) * 20 + max(lr - 0.2, 0) * 50 for lr in lrs]  # falls, then blows up
        >>> found = pick(RangeCurve(lrs, losses))
        >>> round(found.lr, 4), found.why
        (0.0248, 'a third of 0.0744, where the smoothed loss stops falling')
    """
    if rule not in RULES:
        raise ValueError(f"Expected argument `rule` to be one of {list(RULES)}, but got {rule!r}.")
    if curve.points < MIN_POINTS:
        return None
    loss = curve.smoothed()
    lowest = min(range(len(loss)), key=loss.__getitem__)
    fall = loss[0] - loss[lowest]
    if not math.isfinite(fall) or fall < MIN_FALL * abs(loss[0]) or lowest == 0:
        return None
    if rule == "min_tenth":
        return _below(curve, lowest, 10, rule, "a tenth of {lr:.3g}, the lowest smoothed loss")
    if rule == "edge":
        edge = next(i for i, value in enumerate(loss) if value - loss[lowest] <= EDGE * fall)
        found = _below(curve, edge, 3, rule, "a third of {lr:.3g}, where the smoothed loss stops falling")
        return dataclasses.replace(found, high=curve.lrs[edge])
    if rule == "steepest":
        index = _steepest(curve.lrs, loss, lowest)
        return Pick(curve.lrs[index], index, rule, "the steepest fall of the smoothed loss per decade of lr")
    start, end = _longest_fall(curve.averaged())
    index = start + (end - start) // 2
    return Pick(curve.lrs[index], index, rule, "half-way through the longest stretch of falling loss")


def _below(curve: RangeCurve, index: int, divide: float, rule: str, why: str) -> Pick:
    """The lr at ``index`` divided by ``divide``, at the step whose lr is closest to it."""
    lr = curve.lrs[index] / divide
    closest = min(range(curve.points), key=lambda i: abs(math.log(curve.lrs[i] / lr)))
    return Pick(lr, closest, rule, why.format(lr=curve.lrs[index]))


def _steepest(lrs: Sequence[float], loss: Sequence[float], lowest: int) -> int:
    """The step before the minimum where the loss falls fastest per unit of log lr."""
    slopes = [
        (loss[i + 1] - loss[i - 1]) / (math.log(lrs[i + 1]) - math.log(lrs[i - 1])) for i in range(1, max(lowest, 2))
    ]
    return 1 + min(range(len(slopes)), key=slopes.__getitem__) if slopes else 0


def _longest_fall(loss: Sequence[float]) -> tuple[int, int]:
    """The first and last index of the longest strictly falling subsequence of ``loss`` (by dynamic programming)."""
    length = [1] * len(loss)
    start = list(range(len(loss)))
    for i in range(1, len(loss)):
        for j in range(i):
            if loss[i] < loss[j] and length[j] + 1 > length[i]:
                length[i], start[i] = length[j] + 1, start[j]
    end = max(range(len(loss)), key=length.__getitem__)
    return start[end], end


def _centred(values: Sequence[float], width: int, reduce: object) -> list[float]:
    """``reduce`` over a centred window of ``width`` (shorter at the ends)."""
    half = width // 2
    return [reduce(values[max(i - half, 0) : i + half + 1]) for i in range(len(values))]  # type: ignore[operator]


def geometric(start: float, end: float, steps: int) -> list[float]:
    """``steps`` lrs from ``start`` to ``end``, each the same factor above the last.

    Example::

        >>> [round(lr, 6) for lr in geometric(1e-3, 1e-1, 3)]
        [0.001, 0.01, 0.1]
    """
    ratio = (end / start) ** (1 / (steps - 1))
    return [start * ratio**k for k in range(steps)]
