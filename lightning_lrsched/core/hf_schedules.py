"""TransformersLR: transformers' schedules by their ``SchedulerType`` name, with transformers' own arguments.

The factors are those of transformers' ``get_scheduler`` (``hf_formulas.py``), step for step; every argument
that counts steps there also takes a duration here (``"10%"``, ``"1ep"``, ``"500 steps"``), and
``num_training_steps`` defaults to the whole run. ``reduce_lr_on_plateau`` and ``greedy`` are driven by a
validation metric instead: :class:`~lightning_lrsched.ReduceLROnPlateau` and :class:`~lightning_lrsched.GreedyLR`.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from typing_extensions import override

from lightning_lrsched import _checks
from lightning_lrsched.core.duration import DurationLike, TrainingLength
from lightning_lrsched.core.hf_formulas import FACTORS, FormulaLR
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.core.warmup import Warn

HF_METRIC_NAMES = ("reduce_lr_on_plateau", "greedy")
"""transformers' ``SchedulerType`` names driven by a metric (the other ten follow a formula of the step)."""


def _min_lr_rate(optimizer: Optimizer, min_lr: float | None, min_lr_rate: float | None) -> float:
    """The cosine's floor as a share of the optimizer's lr (``min_lr`` is absolute, as ``optimizer.defaults['lr']``)."""
    return float(min_lr) / float(optimizer.defaults["lr"]) if min_lr is not None else float(min_lr_rate or 0.0)


# One factory per name, with transformers' signature (minus `last_epoch`): it is what the arguments are checked
# against, and what builds the torch scheduler once the lengths are resolved.


def _linear(optimizer: Optimizer, num_warmup_steps: int = 0, num_training_steps: int = 0) -> LRScheduler:
    return FormulaLR(optimizer, "linear", {"warmup": num_warmup_steps, "total": num_training_steps})


def _cosine(
    optimizer: Optimizer, num_warmup_steps: int = 0, num_training_steps: int = 0, num_cycles: float = 0.5
) -> LRScheduler:
    params = {"warmup": num_warmup_steps, "total": num_training_steps, "cycles": num_cycles}
    return FormulaLR(optimizer, "cosine", params)


def _cosine_with_restarts(
    optimizer: Optimizer, num_warmup_steps: int = 0, num_training_steps: int = 0, num_cycles: float = 1
) -> LRScheduler:
    params = {"warmup": num_warmup_steps, "total": num_training_steps, "cycles": num_cycles}
    return FormulaLR(optimizer, "cosine_with_restarts", params)


def _polynomial(
    optimizer: Optimizer,
    num_warmup_steps: int = 0,
    num_training_steps: int = 0,
    lr_end: float = 1e-7,
    power: float = 1.0,
) -> LRScheduler:
    lr_init = float(optimizer.defaults["lr"])
    if not lr_init > lr_end:
        raise ValueError(
            f"`lr_end`={lr_end} must be below the optimizer's lr ({lr_init}), as transformers requires. Give a"
            " smaller `lr_end`."
        )
    params = {"warmup": num_warmup_steps, "total": num_training_steps, "lr_end": lr_end, "power": power}
    return FormulaLR(optimizer, "polynomial", {**params, "lr_init": lr_init})


def _constant(optimizer: Optimizer) -> LRScheduler:
    return FormulaLR(optimizer, "constant", {})


def _constant_with_warmup(optimizer: Optimizer, num_warmup_steps: int = 0) -> LRScheduler:
    return FormulaLR(optimizer, "constant_with_warmup", {"warmup": num_warmup_steps})


def _inverse_sqrt(optimizer: Optimizer, num_warmup_steps: int = 0, timescale: int | None = None) -> LRScheduler:
    params = {"warmup": num_warmup_steps, "timescale": timescale or num_warmup_steps or 10_000}
    return FormulaLR(optimizer, "inverse_sqrt", params)


def _cosine_with_min_lr(
    optimizer: Optimizer,
    num_warmup_steps: int = 0,
    num_training_steps: int = 0,
    num_cycles: float = 0.5,
    min_lr: float | None = None,
    min_lr_rate: float | None = None,
) -> LRScheduler:
    params = {"warmup": num_warmup_steps, "total": num_training_steps, "cycles": num_cycles}
    return FormulaLR(optimizer, "cosine_with_min_lr", {**params, "floor": _min_lr_rate(optimizer, min_lr, min_lr_rate)})


def _cosine_warmup_with_min_lr(
    optimizer: Optimizer,
    num_warmup_steps: int = 0,
    num_training_steps: int = 0,
    num_cycles: float = 0.5,
    min_lr: float | None = None,
    min_lr_rate: float | None = None,
    warmup_lr_rate: float | None = None,
) -> LRScheduler:
    params = {"warmup": num_warmup_steps, "total": num_training_steps, "cycles": num_cycles}
    floor = _min_lr_rate(optimizer, min_lr, min_lr_rate)
    return FormulaLR(optimizer, "cosine_warmup_with_min_lr", {**params, "floor": floor, "warmup_rate": warmup_lr_rate})


def _warmup_stable_decay(
    optimizer: Optimizer,
    num_warmup_steps: int = 0,
    num_decay_steps: int = 0,
    num_training_steps: int | None = None,
    num_stable_steps: int | None = None,
    warmup_type: str = "linear",
    decay_type: str = "cosine",
    min_lr_ratio: float = 0.0,
    num_cycles: float = 0.5,
) -> LRScheduler:
    if num_stable_steps is None:
        num_stable_steps = max(int(num_training_steps or 0) - num_warmup_steps - num_decay_steps, 0)
    params = {"warmup": num_warmup_steps, "stable": num_stable_steps, "decay": num_decay_steps}
    shapes = {"warmup_type": warmup_type, "decay_type": decay_type, "floor": min_lr_ratio, "cycles": num_cycles}
    return FormulaLR(optimizer, "warmup_stable_decay", {**params, **shapes})


FACTORIES = {
    "linear": _linear,
    "cosine": _cosine,
    "cosine_with_restarts": _cosine_with_restarts,
    "polynomial": _polynomial,
    "constant": _constant,
    "constant_with_warmup": _constant_with_warmup,
    "inverse_sqrt": _inverse_sqrt,
    "cosine_with_min_lr": _cosine_with_min_lr,
    "cosine_warmup_with_min_lr": _cosine_warmup_with_min_lr,
    "warmup_stable_decay": _warmup_stable_decay,
}
assert set(FACTORIES) == set(FACTORS)

_PARAMETER_OF = {"num_warmup_steps": "warmup", "num_training_steps": "total", "timescale": "timescale",
                 "num_stable_steps": "stable", "num_decay_steps": "decay"}  # fmt: skip
"""Each step count (a length argument) and its name in the formula's parameters (:class:`FormulaLR`)."""
_STEP_COUNTS = tuple(_PARAMETER_OF)
_NO_END = ("constant", "constant_with_warmup", "inverse_sqrt")
_TORCH_KIN = {
    "linear": "PolynomialLR",
    "cosine": "CosineAnnealingLR",
    "cosine_with_restarts": "CosineAnnealingWarmRestarts",
    "polynomial": "PolynomialLR",
    "constant": "ConstantLR",
    "inverse_sqrt": "InverseSqrtLR",
    "warmup_stable_decay": "WarmupStableDecayLR",
}
"""The schedule of this package with torch-style arguments closest to each name, for the error on a torch argument."""


def _check_specific(lr_scheduler_type: str, kwargs: dict[str, Any]) -> None:
    """The checks transformers makes, at construction, each naming the argument."""
    for key in ("num_cycles", "power"):
        if key in kwargs:
            _checks.positive(key, kwargs[key])
    for key in ("lr_end", "min_lr"):
        if kwargs.get(key) is not None:
            _checks.non_negative(key, kwargs[key])
    for key in ("min_lr_rate", "warmup_lr_rate", "min_lr_ratio"):
        if kwargs.get(key) is not None:
            _checks.in_range(key, kwargs[key], 0, 1, closed_low=True, closed_high=True)
    for key in ("warmup_type", "decay_type"):
        if key in kwargs:
            _checks.one_of(key, kwargs[key], ("linear", "cosine", "1-sqrt"))
    if lr_scheduler_type.endswith("with_min_lr"):
        given = [key for key in ("min_lr", "min_lr_rate") if kwargs.get(key) is not None]
        if len(given) != 1:
            raise ValueError(
                f"`{lr_scheduler_type}` takes exactly one of `min_lr` (absolute) and `min_lr_rate` (a share of the"
                f" optimizer's lr), as in transformers, but got {'both' if given else 'neither'}."
                " E.g. `min_lr_rate=0.1`."
            )
    if lr_scheduler_type == "warmup_stable_decay":
        if kwargs.get("num_decay_steps") is None:
            raise TypeError(
                "`warmup_stable_decay` needs `num_decay_steps`, as in transformers: the length of the final decay,"
                " e.g. `num_decay_steps='20%'`."
            )
        if kwargs.get("num_stable_steps") is not None and kwargs.get("num_training_steps") is not None:
            raise ValueError(
                "Give one of `num_training_steps` and `num_stable_steps` to `warmup_stable_decay` (transformers"
                " uses `num_stable_steps` when both are given). Leave `num_training_steps` out for the whole run."
            )


class TransformersLR(Schedule):
    """One of transformers' schedules, by its ``lr_scheduler_type`` name and with its arguments, step for step.

    The names: ``"linear"``, ``"cosine"`` (``num_cycles``), ``"cosine_with_restarts"`` (``num_cycles``, restarts
    at any step, not on epoch boundaries), ``"polynomial"`` (``lr_end``, ``power``), ``"constant"``,
    ``"constant_with_warmup"``, ``"inverse_sqrt"`` (``timescale``), ``"cosine_with_min_lr"`` and
    ``"cosine_warmup_with_min_lr"`` (``num_cycles``, ``min_lr`` or ``min_lr_rate``, ``warmup_lr_rate``), and
    ``"warmup_stable_decay"`` (``num_decay_steps``, ``num_stable_steps``, ``warmup_type``, ``decay_type``,
    ``min_lr_ratio``, ``num_cycles``). Absolute values (``lr_end``, ``min_lr``) are relative to the optimizer's
    ``lr`` as in transformers; each param group follows the same factor of its own initial lr. ``"inverse_sqrt"``
    after the package's ``warmup=`` prefix decays on the prefix's length when ``timescale`` is not given, as
    transformers' decays on its own warmup's.

    Args:
        lr_scheduler_type: the ``SchedulerType`` name.
        num_warmup_steps: the warmup inside the formula: an int of optimizer steps, a duration, or a float in
            (0, 1) as a share of ``num_training_steps`` rounded up (``TrainingArguments.warmup_steps``' rule).
        num_training_steps: the length of the schedule; omitted, the whole run.
        **kwargs: the schedule's own arguments (checked against transformers' signature for that name), and the
            arguments of every schedule (``interval``, ``warmup``, ``warmup_start_factor``). The package's ``warmup=``
            is a separate prefix before the formula; give one of the two.

    Example::

        >>> schedule = TransformersLR("cosine_with_restarts", num_warmup_steps="5%", num_cycles=3)
        >>> schedule.interval
        'step'
    """

    _step_by_default = True
    _whole_training = ("num_training_steps",)
    _vocabulary = "hf"
    _free_lengths = ("timescale",)

    def __init__(
        self,
        lr_scheduler_type: str = "linear",
        num_warmup_steps: DurationLike | float = 0,
        num_training_steps: DurationLike | None = None,
        **kwargs: Any,
    ) -> None:
        if lr_scheduler_type in HF_METRIC_NAMES:
            raise ValueError(
                f"`lr_scheduler_type`={lr_scheduler_type!r} follows a validation metric, not the step: use"
                f" `schedule_from_name({lr_scheduler_type!r}, monitor=...)`, or `ReduceLROnPlateau`/`GreedyLR`."
            )
        _checks.one_of("lr_scheduler_type", lr_scheduler_type, FACTORIES)
        factory = FACTORIES[lr_scheduler_type]
        taken = inspect.signature(factory).parameters
        self._warmup_ratio: float | None = None
        if isinstance(num_warmup_steps, float) and 0 < num_warmup_steps < 1:
            self._warmup_ratio, num_warmup_steps = num_warmup_steps, 0
        if num_warmup_steps != 0 and kwargs.get("warmup") is not None:
            raise ValueError(
                f"Got both `num_warmup_steps`={num_warmup_steps!r} (transformers' warmup, inside the formula) and"
                f" `warmup`={kwargs['warmup']!r} (this package's prefix). Give one: `num_warmup_steps` for"
                " transformers' exact curve."
            )
        if "num_warmup_steps" not in taken and (num_warmup_steps != 0 or self._warmup_ratio):
            raise ValueError(
                f"transformers' {lr_scheduler_type!r} has no warmup (its `get_scheduler` ignores `num_warmup_steps`"
                f" for it), but got `num_warmup_steps`={num_warmup_steps!r}. Use 'constant_with_warmup'."
            )
        given = {"num_warmup_steps": num_warmup_steps, "num_training_steps": num_training_steps}
        specific: dict[str, Any] = {key: value for key, value in given.items() if key in taken}
        specific.update({key: kwargs.pop(key) for key in list(kwargs) if key in taken})
        lengths = [key for key in _STEP_COUNTS if specific.get(key) not in (0, None)]
        if "num_training_steps" in taken and "num_training_steps" not in lengths and "num_stable_steps" not in lengths:
            lengths.append("num_training_steps")  # omitted: the whole run
        self.lr_scheduler_type = lr_scheduler_type
        self.ends = lr_scheduler_type not in _NO_END
        try:
            super().__init__(factory, lengths=lengths, **specific, **kwargs)
        except _checks.UnknownArgumentError as error:
            if lr_scheduler_type not in _TORCH_KIN:
                raise
            raise error.also(
                advice=f" The name {lr_scheduler_type!r} takes transformers' arguments; for torch's arguments use"
                f" `{_TORCH_KIN[lr_scheduler_type]}`."
            ) from None
        _check_specific(lr_scheduler_type, {**kwargs, **specific})  # (after the names: a typo is named as such)

    @override
    def _kind(self) -> str | None:
        return self.lr_scheduler_type

    @override
    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        resolved = super().resolve_lengths(length, warmup_steps, warn)
        if self._warmup_ratio is not None:
            total = resolved.get("num_training_steps") or length.remaining(self.interval, warmup_steps)
            resolved["num_warmup_steps"] = math.ceil(total * self._warmup_ratio)
        total, warmup = resolved.get("num_training_steps"), int(resolved.get("num_warmup_steps", 0))
        if self.lr_scheduler_type == "inverse_sqrt" and warmup_steps and not warmup and "timescale" not in resolved:
            resolved["timescale"] = warmup_steps  # transformers' default timescale is the warmup: here the prefix
        if total is not None and self.lr_scheduler_type != "warmup_stable_decay" and warmup >= total:
            raise ValueError(
                f"`num_warmup_steps` is {warmup} {self.interval}s, not shorter than `num_training_steps` ({total}):"
                " nothing is left to decay. Give a shorter warmup, e.g. num_warmup_steps='10%'."
            )
        return resolved

    @override
    def plan_so_far(
        self, scheduler: LRScheduler, resolved: dict[str, Any], length: TrainingLength
    ) -> dict[str, Any] | None:
        """The new plan with the warmup's running length: inside the warmup, or past it where nothing else moved.

        Inside the warmup the lrs so far depend on its length only. A share (``0.1``, ``'10%'``) of a longer run would
        be longer; it keeps its length as ``warmup`` does. Past it, with a fixed ``num_training_steps``, only that
        share moved: the plan stays.
        """
        assert isinstance(scheduler, FormulaLR)
        warmup = int(scheduler.params.get("warmup", 0))
        kept = {**resolved, "num_warmup_steps": warmup}
        if scheduler.last_epoch < warmup:
            return kept
        counts = dict(scheduler.params)
        if scheduler.kind == "warmup_stable_decay":  # (its total is its phases')
            counts["total"] = counts["warmup"] + counts["stable"] + counts["decay"]
        unchanged = all(counts.get(_PARAMETER_OF.get(key, "")) == value for key, value in kept.items())
        return kept if unchanged else None

    @override
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None:
        assert isinstance(scheduler, FormulaLR)
        params, kind = scheduler.params, scheduler.kind
        left = int(resolved.get("num_training_steps") or 0) - position
        if left <= 0 or lr <= 0 or scheduler.last_epoch < params.get("warmup", 0):
            return None  # (inside the formula's own warmup, or past the end)
        base = float(scheduler.base_lrs[0])
        if kind == "linear":
            return {"num_warmup_steps": 0, "num_training_steps": left}
        if kind in ("cosine", "cosine_with_min_lr") and params["cycles"] == 0.5:
            rate = {"min_lr": None, "min_lr_rate": min(base * params.get("floor", 0.0) / lr, 1.0)}
            return {"num_warmup_steps": 0, "num_training_steps": left, **(rate if "floor" in params else {})}
        if kind == "polynomial" and (end := base * params["lr_end"] / lr) < params["lr_init"]:
            return {"num_warmup_steps": 0, "num_training_steps": left, "lr_end": end}
        if kind == "warmup_stable_decay" and self._kwargs.get("num_stable_steps") is None:
            floor = min(base * params["floor"] / lr, 1.0)
            decaying = scheduler.last_epoch >= params["warmup"] + params["stable"]
            decay = left if decaying else min(int(resolved["num_decay_steps"]), left)
            return {"num_warmup_steps": 0, "num_training_steps": left, "num_decay_steps": decay, "min_lr_ratio": floor}
        return None
