"""The learning-rate factors of transformers' schedules, as pure functions of the optimizer step.

One function per ``SchedulerType`` that follows a formula (transformers 5.23, ``transformers/optimization.py``,
the ``_get_*_lr_lambda`` functions): each returns the factor that multiplies a param group's initial lr at
``step``. :class:`FormulaLR` evaluates one of them as a torch scheduler; ``hf_schedules.py`` resolves the
lengths. No Lightning, no state beyond the numbers of the plan.

Where transformers' cosine would rise again after ``num_training_steps`` (its cosine is periodic), the factor
holds its value at ``num_training_steps``, as every schedule with an end does in this package.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


def _ramp(step: int, warmup: int) -> float:
    """Linear warmup from 0: ``step / warmup``."""
    return float(step) / float(max(1, warmup))


def _progress(step: float, start: float, total: float) -> float:
    """Share of the decay done, capped at 1 (the end holds)."""
    return min(float(step - start) / float(max(1, total - start)), 1.0)


def _wave(progress: float, cycles: float, floor: float) -> float:
    """Cosine of ``cycles`` waves over progress in [0, 1], from 1 down to ``floor`` (as a share of lr0)."""
    factor = 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress))
    return max(0.0, factor * (1 - floor) + floor)


def linear(step: int, *, warmup: int, total: int) -> float:
    """Warmup, then linear decay to 0 at ``total`` (get_linear_schedule_with_warmup)."""
    if step < warmup:
        return _ramp(step, warmup)
    return max(0.0, float(total - step) / float(max(1, total - warmup)))


def cosine(step: int, *, warmup: int, total: int, cycles: float, floor: float = 0.0) -> float:
    """Warmup, then ``cycles`` cosine waves down to ``floor`` (get_cosine[_with_min_lr]_schedule_with_warmup)."""
    if step < warmup:
        return _ramp(step, warmup)
    return _wave(_progress(step, warmup, total), cycles, floor)


def cosine_with_restarts(step: int, *, warmup: int, total: int, cycles: float) -> float:
    """Warmup, then ``cycles`` half-cosines from 1 to 0, each restarting at 1; 0 after ``total``."""
    if step < warmup:
        return _ramp(step, warmup)
    progress = float(step - warmup) / float(max(1, total - warmup))
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(cycles) * progress) % 1.0))))


def polynomial(step: int, *, warmup: int, total: int, lr_end: float, power: float, lr_init: float) -> float:
    """Warmup, then ``(lr_init - lr_end) * remaining**power + lr_end``, as a factor of ``lr_init``."""
    if step < warmup:
        return _ramp(step, warmup)
    if step > total:
        return lr_end / lr_init
    remaining = 1 - (step - warmup) / (total - warmup)
    return float(((lr_init - lr_end) * remaining**power + lr_end) / lr_init)


def constant(step: int) -> float:
    """1 (get_constant_schedule)."""
    return 1.0


def constant_with_warmup(step: int, *, warmup: int) -> float:
    """Warmup, then 1."""
    return _ramp(step, warmup) if step < warmup else 1.0


def inverse_sqrt(step: int, *, warmup: int, timescale: int) -> float:
    """Warmup, then ``1 / sqrt((step + timescale - warmup) / timescale)``."""
    if step < warmup:
        return _ramp(step, warmup)
    return 1.0 / math.sqrt((step + timescale - warmup) / timescale)


def cosine_warmup_with_min_lr(
    step: int, *, warmup: int, total: int, cycles: float, floor: float, warmup_rate: float | None
) -> float:
    """A warmup one step ahead (or from ``warmup_rate``) and a cosine one step ahead, down to ``floor``."""
    if step < warmup:
        if warmup_rate is None:
            return (step + 1.0) / max(1.0, warmup)
        return warmup_rate + (1.0 - warmup_rate) * step / max(1, warmup - 1)
    return _wave(_progress(step + 1.0, warmup, total), cycles, floor)


def warmup_stable_decay(
    step: int,
    *,
    warmup: int,
    stable: int,
    decay: int,
    warmup_type: str,
    decay_type: str,
    floor: float,
    cycles: float,
) -> float:
    """Warmup from ``floor`` (linear, cosine or 1-sqrt), constant, decay to ``floor``, then ``floor``."""
    if step < warmup:
        progress = float(step) / float(max(1, warmup))
        shape = _SHAPES_UP[warmup_type](progress)
        return max(0.0, shape * (1.0 - floor) + floor)
    if step < warmup + stable:
        return 1.0
    if step < warmup + stable + decay:
        progress = float(step - warmup - stable) / float(max(1, decay))
        if decay_type == "cosine":
            shape = 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress))
        else:
            shape = _SHAPES_DOWN[decay_type](progress)
        return max(0.0, shape * (1.0 - floor) + floor)
    return floor


_SHAPES_UP: dict[str, Callable[[float], float]] = {
    "linear": lambda p: p,
    "cosine": lambda p: 0.5 * (1.0 - math.cos(math.pi * p)),
    "1-sqrt": lambda p: 1.0 - math.sqrt(1.0 - p),
}
_SHAPES_DOWN: dict[str, Callable[[float], float]] = {
    "linear": lambda p: 1.0 - p,
    "1-sqrt": lambda p: 1.0 - math.sqrt(p),
}

FACTORS: dict[str, Callable[..., float]] = {
    "linear": linear,
    "cosine": cosine,
    "cosine_with_restarts": cosine_with_restarts,
    "polynomial": polynomial,
    "constant": constant,
    "constant_with_warmup": constant_with_warmup,
    "inverse_sqrt": inverse_sqrt,
    "cosine_with_min_lr": cosine,
    "cosine_warmup_with_min_lr": cosine_warmup_with_min_lr,
    "warmup_stable_decay": warmup_stable_decay,
}
"""transformers' step-driven ``SchedulerType`` names and their factor functions."""


class FormulaLR(LRScheduler):
    """A torch scheduler whose lr is ``initial lr * FACTORS[kind](step, **params)``.

    Its state is the kind and the plan's numbers (plain values), so a checkpoint loads with
    ``weights_only=True``.

    Example::

        >>> import torch
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> FormulaLR(optimizer, "linear", {"warmup": 2, "total": 4}).get_last_lr()  # step 0 of the warmup
        [0.0]
        >>> [linear(step, warmup=2, total=4) for step in range(5)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def __init__(self, optimizer: Optimizer, kind: str, params: dict[str, Any], last_epoch: int = -1) -> None:
        self.kind, self.params = kind, dict(params)
        self._factor = FACTORS[kind]
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        factor = self._factor(self.last_epoch, **self.params)
        return [float(base) * factor for base in self.base_lrs]

    def state_dict(self) -> dict[str, Any]:
        return {key: value for key, value in super().state_dict().items() if key != "_factor"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._factor = FACTORS[self.kind]
