"""One thin schedule per torch scheduler: same name and arguments, minus ``optimizer`` and ``last_epoch``.

Length arguments also take durations (``"10%"``, ``"3ep"``, ``"500 steps"``); lengths that mean "the whole
training" may be omitted. Every schedule also takes the keyword arguments of
:class:`~lightning_lrsched.core.schedule.Schedule`: ``interval``, ``warmup`` and ``warmup_start_factor``. The
callbacks of the same names (``lightning_lrsched.StepLR``, ...) hold one of these and step it in a Trainer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Literal

from torch.optim import Optimizer
from torch.optim import lr_scheduler as torch_schedulers
from torch.optim.lr_scheduler import LRScheduler
from typing_extensions import override

from lightning_lrsched import _checks
from lightning_lrsched.core import hf_formulas
from lightning_lrsched.core.duration import DurationLike, Interval, TrainingLength
from lightning_lrsched.core.schedule import Schedule, against_run, left_after_warmup
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.core.warmup import Warn

LrLambda = Callable[[int], float]
FloatOrList = float | list[float]


def _step_unless_epoch_count(value: Any) -> Interval:
    """Whole-training schedules: per step when the length is omitted or a duration string, else per epoch."""
    return "epoch" if isinstance(value, int) and not isinstance(value, bool) else "step"


def _left(resolved: dict[str, Any], key: str, position: int) -> int | None:
    """What is left of the length ``key`` of a new plan at ``position``; None when its end is already behind."""
    left = int(resolved[key]) - position
    return left if left > 0 else None


def _check_momentum(cycle_momentum: Any, base_momentum: Any, max_momentum: Any) -> None:
    _checks.boolean("cycle_momentum", cycle_momentum)
    _checks.fractions("base_momentum", base_momentum)
    _checks.fractions("max_momentum", max_momentum)
    _checks.not_above("base_momentum", base_momentum, "max_momentum", max_momentum)


class LambdaLR(Schedule):
    """Multiply the initial learning rate by ``lr_lambda(n)`` after n intervals (epoch by default).

    Example::

        >>> schedule = LambdaLR(lr_lambda=lambda epoch: 0.9**epoch)
    """

    open_arguments = False

    def __init__(self, lr_lambda: LrLambda | list[LrLambda], **kwargs: Any) -> None:
        _checks.callable_or_list("lr_lambda", lr_lambda)
        super().__init__(torch_schedulers.LambdaLR, lr_lambda=lr_lambda, lengths=(), **kwargs)


class MultiplicativeLR(Schedule):
    """Multiply the current learning rate by ``lr_lambda(n)`` at every interval (epoch by default).

    Example::

        >>> schedule = MultiplicativeLR(lr_lambda=lambda epoch: 0.95)
    """

    open_arguments = False

    def __init__(self, lr_lambda: LrLambda | list[LrLambda], **kwargs: Any) -> None:
        _checks.callable_or_list("lr_lambda", lr_lambda)
        super().__init__(torch_schedulers.MultiplicativeLR, lr_lambda=lr_lambda, lengths=(), **kwargs)


class StepLR(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` intervals (epoch by default).

    Example::

        >>> schedule = StepLR(step_size="2ep", gamma=0.5)
    """

    open_arguments = False

    def __init__(self, step_size: DurationLike, gamma: float = 0.1, **kwargs: Any) -> None:
        _checks.positive("gamma", gamma, "Use e.g. gamma=0.1 to divide the learning rate by 10 at each step.")
        super().__init__(torch_schedulers.StepLR, step_size=step_size, gamma=gamma, lengths=("step_size",), **kwargs)


class MultiStepLR(Schedule):
    """Multiply the learning rate by ``gamma`` at each milestone (epochs by default, or durations).

    Example::

        >>> schedule = MultiStepLR(milestones=["50%", "75%"], gamma=0.1)
    """

    open_arguments = False

    ends = True

    def __init__(self, milestones: Sequence[DurationLike], gamma: float = 0.1, **kwargs: Any) -> None:
        if isinstance(milestones, (str, int)) or not isinstance(milestones, Sequence) or not milestones:
            raise ValueError(
                f"Expected argument `milestones` to be a non-empty list of lengths, but got {milestones!r}."
                " Example: `milestones=[30, 80]` or `milestones=['50%', '75%']`."
            )
        _checks.positive("gamma", gamma, "Use e.g. gamma=0.1 to divide the learning rate by 10 at each milestone.")
        super().__init__(
            torch_schedulers.MultiStepLR, milestones=list(milestones), gamma=gamma, lengths=("milestones",), **kwargs
        )

    @override
    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        resolved = super().resolve_lengths(length, warmup_steps, warn)
        points = resolved["milestones"]
        if any(b <= a for a, b in itertools.pairwise(points)):
            raise ValueError(
                f"Expected argument `milestones` to be increasing, but {self._kwargs['milestones']!r} resolves to"
                f" {points} {self.interval}s in this run. Sort them, and make each one later than the previous."
            )
        return resolved

    @override
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None:
        assert isinstance(scheduler, torch_schedulers.MultiStepLR)
        # the decays already applied count towards the new plan's: no milestone is applied twice or skipped
        applied = sum(count for point, count in scheduler.milestones.items() if point <= scheduler.last_epoch)
        due = sum(1 for point in resolved["milestones"] if point <= position)
        ahead = [point - position for point in resolved["milestones"] if point > position]
        return {"milestones": [1] * (due - applied) + ahead[max(applied - due, 0) :]}


class ConstantLR(Schedule):
    """Multiply the learning rate by ``factor`` for ``total_iters`` intervals, then restore it.

    Example::

        >>> schedule = ConstantLR(factor=0.5, total_iters="1ep")
    """

    open_arguments = False

    ends = True

    def __init__(self, factor: float = 1.0 / 3, total_iters: DurationLike = 5, **kwargs: Any) -> None:
        _checks.in_range("factor", factor, 0, 1, closed_low=True, closed_high=True)
        super().__init__(
            torch_schedulers.ConstantLR, factor=factor, total_iters=total_iters, lengths=("total_iters",), **kwargs
        )


class LinearLR(Schedule):
    """Scale the learning rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters``.

    Example::

        >>> schedule = LinearLR(start_factor=1.0, end_factor=0.0, total_iters="100%", interval="step")
    """

    open_arguments = False

    ends = True

    def __init__(
        self, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: DurationLike = 5, **kwargs: Any
    ) -> None:
        _checks.in_range("start_factor", start_factor, 0, 1, closed_low=False, closed_high=True)
        _checks.in_range("end_factor", end_factor, 0, 1, closed_low=True, closed_high=True)
        super().__init__(
            torch_schedulers.LinearLR,
            start_factor=start_factor,
            end_factor=end_factor,
            total_iters=total_iters,
            lengths=("total_iters",),
            **kwargs,
        )

    @override
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None:
        assert isinstance(scheduler, torch_schedulers.LinearLR)
        left = _left(resolved, "total_iters", position)
        end = float(scheduler.base_lrs[0]) * scheduler.end_factor
        if left is None or lr <= 0 or end > lr:  # a rising ramp cannot start from the current lr in torch's form
            return None
        return {"total_iters": left, "start_factor": 1.0, "end_factor": end / lr}


class ExponentialLR(Schedule):
    """Multiply the learning rate by ``gamma`` at every interval (epoch by default).

    Example::

        >>> schedule = ExponentialLR(gamma=0.9)
    """

    open_arguments = False

    def __init__(self, gamma: float, **kwargs: Any) -> None:
        _checks.positive("gamma", gamma, "Use e.g. gamma=0.9 to lose 10% of the learning rate per epoch.")
        super().__init__(torch_schedulers.ExponentialLR, gamma=gamma, lengths=(), **kwargs)


class PolynomialLR(Schedule):
    """Decay the learning rate polynomially to 0 over ``total_iters`` (the whole training when omitted).

    Example::

        >>> schedule = PolynomialLR(power=2.0)  # over every optimizer step of the run
    """

    open_arguments = False

    _whole_training = ("total_iters",)
    ends = True

    def __init__(self, total_iters: DurationLike | None = None, power: float = 1.0, **kwargs: Any) -> None:
        _checks.non_negative("power", power)
        super().__init__(
            torch_schedulers.PolynomialLR, total_iters=total_iters, power=power, lengths=("total_iters",), **kwargs
        )

    @override
    def _default_interval(self, kwargs: dict[str, Any]) -> Interval:
        return _step_unless_epoch_count(kwargs["total_iters"])

    @override
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None:
        left = _left(resolved, "total_iters", position)
        return None if left is None else {"total_iters": left}


class CosineAnnealingLR(Schedule):
    """Anneal the learning rate along a half cosine to ``eta_min`` over ``T_max`` (the whole run if omitted).

    With ``T_max`` omitted or given as a duration string the schedule steps per optimizer step; with an int
    ``T_max`` it counts epochs, as in torch.

    Example::

        >>> schedule = CosineAnnealingLR(eta_min=1e-6)  # one half cosine over the whole run
    """

    open_arguments = False

    _whole_training = ("T_max",)
    ends = True

    def __init__(self, T_max: DurationLike | None = None, eta_min: float = 0.0, **kwargs: Any) -> None:  # noqa: N803
        _checks.non_negative("eta_min", eta_min)
        super().__init__(torch_schedulers.CosineAnnealingLR, T_max=T_max, eta_min=eta_min, lengths=("T_max",), **kwargs)

    @override
    def _default_interval(self, kwargs: dict[str, Any]) -> Interval:
        return _step_unless_epoch_count(kwargs["T_max"])

    @override
    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        """The lengths; a given ``T_max`` that ends before the training warns: torch's cosine climbs back after it."""
        resolved = super().resolve_lengths(length, warmup_steps, warn)
        unit, anneal = self._length_unit(), resolved["T_max"]
        left = left_after_warmup(length, warmup_steps, unit)
        if self._durations["T_max"] is None or left is None:
            return resolved
        if anneal + 1 < left:  # (its last interval uses the floor, eta_min; the next one would rise)
            warn(
                f"{against_run('T_max', self._kwargs['T_max'], anneal, unit, left, warmup_steps)}: past `T_max`"
                f" torch's cosine climbs back towards the initial lr for the last {left - 1 - anneal} {unit}s (its"
                " formula repeats every 2 x `T_max`). Omit `T_max` to anneal over the whole run, or use"
                " `CosineAnnealingWarmRestarts` for restarts on purpose."
            )
        return resolved

    @override
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None:
        left = _left(resolved, "T_max", position)
        return None if left is None else {"T_max": left}


class CosineAnnealingWarmRestarts(Schedule):
    """Cosine annealing restarted every ``T_0`` epochs, each cycle ``T_mult`` times longer than the last.

    ``T_0`` always counts whole epochs (a duration string resolves to the nearest whole epoch). With the default
    ``interval="epoch"`` the rate changes once per epoch; with ``interval="step"`` it changes after every
    optimizer step, by the fractional epoch ``steps / steps_per_epoch``, as torch's documentation shows.

    Example::

        >>> schedule = CosineAnnealingWarmRestarts(T_0=2, T_mult=2, interval="step")
    """

    open_arguments = False

    def __init__(self, T_0: DurationLike, T_mult: int = 1, eta_min: float = 0.0, **kwargs: Any) -> None:  # noqa: N803
        _checks.integer("T_mult", T_mult, 1, "Use T_mult=1 for cycles of equal length.")
        _checks.non_negative("eta_min", eta_min)
        super().__init__(
            torch_schedulers.CosineAnnealingWarmRestarts,
            T_0=T_0,
            T_mult=T_mult,
            eta_min=eta_min,
            lengths=("T_0",),
            **kwargs,
        )
        self.steps_to_position = self.interval == "step"  # (torch's fractional epochs: see `step_scheduler`)

    @override
    def _length_unit(self) -> Interval:
        return "epoch"

    @override
    def step_scheduler(self, scheduler: LRScheduler, timeline: Timeline) -> None:
        if self.interval == "epoch":
            scheduler.step()
        else:
            plan, position = timeline.plan, timeline.position
            plan.length.per_epoch(name="interval", value="step")  # an error for data without a length
            # completed epochs plus the fraction of this one, from its own number of steps (epochs may change size)
            scheduler.step(plan.epoch_position(position))  # type: ignore[arg-type]  # this scheduler takes fractional epochs
            if position.epoch_steps >= (size := plan.epoch_size(position)) + 1:
                timeline.warn.once(
                    "epoch-overrun",
                    f"{timeline.name}: epoch {position.epochs} has taken {position.epoch_steps} optimizer steps, past"
                    f" the {size:g} it counts, with no epoch end. Per step, its cycles restart only where an epoch"
                    " starts: the lr holds at the cycle's end until the next one does. Without a Trainer, call"
                    " `timeline.epoch_end()` after each epoch's last step.",
                )


class CyclicLR(Schedule):
    """Cycle the learning rate between ``base_lr`` and ``max_lr`` (per optimizer step by default).

    With ``cycle_momentum=True`` (the default) momentum, or Adam's beta1, cycles inversely and is logged too.

    Example::

        >>> schedule = CyclicLR(base_lr=1e-4, max_lr=1e-2, step_size_up="1ep", cycle_momentum=False)
    """

    open_arguments = False

    _step_by_default = True

    def __init__(
        self,
        base_lr: FloatOrList,
        max_lr: FloatOrList,
        step_size_up: DurationLike = 2000,
        step_size_down: DurationLike | None = None,
        mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: Literal["cycle", "iterations"] = "cycle",
        cycle_momentum: bool = True,
        base_momentum: FloatOrList = 0.8,
        max_momentum: FloatOrList = 0.9,
        **kwargs: Any,
    ) -> None:
        _checks.positive("base_lr", base_lr)
        _checks.positive("max_lr", max_lr)
        _checks.not_above("base_lr", base_lr, "max_lr", max_lr)
        _checks.one_of("mode", mode, ("triangular", "triangular2", "exp_range"))
        _checks.one_of("scale_mode", scale_mode, ("cycle", "iterations"))
        _checks.positive("gamma", gamma)
        _check_momentum(cycle_momentum, base_momentum, max_momentum)
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"Expected argument `scale_fn` to be a function or None, but got {scale_fn!r}.")
        super().__init__(
            torch_schedulers.CyclicLR,
            base_lr=base_lr,
            max_lr=max_lr,
            step_size_up=step_size_up,
            step_size_down=step_size_down,
            mode=mode,
            gamma=gamma,
            scale_fn=scale_fn,
            scale_mode=scale_mode,
            cycle_momentum=cycle_momentum,
            base_momentum=base_momentum,
            max_momentum=max_momentum,
            lengths=("step_size_up",) if step_size_down is None else ("step_size_up", "step_size_down"),
            **kwargs,
        )
        self.cycles_momentum = cycle_momentum


class OneCycleLR(Schedule):
    """The 1cycle policy: warm up to ``max_lr``, then anneal far below the start (per optimizer step).

    ``total_steps`` defaults to every optimizer step of the run; torch's ``epochs`` + ``steps_per_epoch`` form
    also works, with ``steps_per_epoch`` taken from the Trainer when omitted. Momentum (or beta1) cycles
    inversely and is logged when ``cycle_momentum=True``. ``max_lr="find"`` takes the optimizer's lrs as the
    peaks: the schedule callback's lr range test sets them (``find_lr``).

    Example::

        >>> schedule = OneCycleLR(max_lr=3e-4)
    """

    open_arguments = False

    _step_by_default = True

    _whole_training = ("total_steps",)
    ends = True

    def __init__(
        self,
        max_lr: FloatOrList | Literal["find"],
        total_steps: DurationLike | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        cycle_momentum: bool = True,
        base_momentum: FloatOrList = 0.85,
        max_momentum: FloatOrList = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        **kwargs: Any,
    ) -> None:
        if max_lr != "find":
            _checks.positive("max_lr", max_lr)
        _checks.in_range("pct_start", pct_start, 0, 1, closed_low=False, closed_high=False)
        _checks.one_of("anneal_strategy", anneal_strategy, ("cos", "linear"))
        _check_momentum(cycle_momentum, base_momentum, max_momentum)
        _checks.boolean("three_phase", three_phase)
        _checks.positive("div_factor", div_factor)
        _checks.positive("final_div_factor", final_div_factor)
        for key, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
            if value is not None:
                _checks.integer(key, value, 1)
        if total_steps is not None and epochs is not None:
            raise ValueError(
                f"Got both `total_steps`={total_steps!r} and `epochs`={epochs!r}. Give one of them, or neither"
                " to cover the whole training."
            )
        if steps_per_epoch is not None and epochs is None:
            raise ValueError(
                f"Argument `steps_per_epoch`={steps_per_epoch!r} needs `epochs` too. Give `epochs`, or drop both"
                " to cover the whole training."
            )
        super().__init__(
            torch_schedulers.OneCycleLR,
            max_lr=max_lr,
            total_steps=total_steps,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            cycle_momentum=cycle_momentum,
            base_momentum=base_momentum,
            max_momentum=max_momentum,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
            lengths=("total_steps",) if epochs is None else (),
            **kwargs,
        )
        self.cycles_momentum = cycle_momentum

    @override
    def build_scheduler(self, optimizer: Optimizer, resolved: dict[str, Any]) -> LRScheduler:
        if self._kwargs["max_lr"] == "find":  # the optimizer's lrs, which the callback's lr range test sets
            resolved = {**resolved, "max_lr": [float(group["lr"]) for group in optimizer.param_groups]}
        return super().build_scheduler(optimizer, resolved)

    @override
    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        resolved = super().resolve_lengths(length, warmup_steps, warn)
        if self._kwargs["epochs"] is not None and self._kwargs["steps_per_epoch"] is None:
            per_epoch = 1 if self.interval == "epoch" else length.per_epoch(name="epochs", value="")
            resolved["steps_per_epoch"] = int(per_epoch)
        return resolved

    @override
    def step_scheduler(self, scheduler: LRScheduler, timeline: Timeline) -> None:
        assert isinstance(scheduler, torch_schedulers.OneCycleLR)
        # torch's formula runs past the cycle's end (the rate rises again) if stepped `total_steps` times, and
        # raises after that. The last value is held instead: the end of the cycle is its lowest rate.
        if scheduler.last_epoch + 1 < scheduler.total_steps:
            scheduler.step()
            return
        done = timeline.plan.schedule_steps(timeline.position) if self.interval == "step" else timeline.position.epochs
        if done > scheduler.total_steps:
            timeline.warn.once(
                "onecycle-end",
                f"OneCycleLR reached its end after {scheduler.total_steps} {self.interval}s but training goes on;"
                " the learning rate stays at its final value. Leave `total_steps`/`epochs` unset to cover the"
                " whole run.",
            )


class _InverseSqrtSchedule(torch_schedulers.LRScheduler):
    """lr = base * sqrt(timescale / (step + timescale)): transformers' formula without its own warmup."""

    def __init__(self, optimizer: Optimizer, timescale: int, last_epoch: int = -1) -> None:
        self.timescale = timescale
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        factor = hf_formulas.inverse_sqrt(self.last_epoch, warmup=0, timescale=self.timescale)
        return [float(base) * factor for base in self.base_lrs]


class InverseSqrtLR(Schedule):
    """Inverse square-root decay, the Transformer paper's schedule: ``lr0 * sqrt(timescale / (step + timescale))``.

    Usually combined with ``warmup``; ``timescale`` defaults to the warmup length (10,000 steps without one),
    which gives transformers' ``get_inverse_sqrt_schedule``.

    Example::

        >>> schedule = InverseSqrtLR(warmup="5%")
    """

    open_arguments = False

    _step_by_default = True
    _free_lengths = ("timescale",)

    def __init__(self, timescale: DurationLike | None = None, **kwargs: Any) -> None:
        super().__init__(
            _InverseSqrtSchedule, timescale=timescale, lengths=("timescale",) if timescale is not None else (), **kwargs
        )

    @override
    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        resolved = super().resolve_lengths(length, warmup_steps, warn)
        if self._kwargs["timescale"] is None:
            resolved["timescale"] = warmup_steps or 10_000
        return resolved


DecayType = Literal["linear", "cosine", "1-sqrt"]


class _WarmupStableDecaySchedule(torch_schedulers.LRScheduler):
    """Constant for ``total_steps - decay`` steps, then down to ``min_lr_ratio`` over ``decay`` steps."""

    def __init__(
        self,
        optimizer: Optimizer,
        decay: int,
        total_steps: int,
        decay_type: DecayType,
        min_lr_ratio: float,
        last_epoch: int = -1,
    ) -> None:
        self.decay, self.stable = decay, total_steps - decay
        self.decay_type, self.min_lr_ratio = decay_type, min_lr_ratio
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        factor = hf_formulas.warmup_stable_decay(
            self.last_epoch,
            warmup=0,
            stable=self.stable,
            decay=self.decay,
            warmup_type="linear",
            decay_type=self.decay_type,
            floor=self.min_lr_ratio,
            cycles=0.5,
        )
        return [float(base) * factor for base in self.base_lrs]


class WarmupStableDecayLR(Schedule):
    """Warmup, a long constant phase, then a decay over the last ``decay`` of the run (the "WSD" schedule).

    The decay is ``"linear"``, ``"cosine"`` (half cosine) or ``"1-sqrt"``, down to ``min_lr_ratio`` times the
    initial rate. With ``warmup`` and ``warmup_start_factor=min_lr_ratio`` this is transformers'
    ``get_wsd_schedule``.

    Example::

        >>> schedule = WarmupStableDecayLR(warmup="5%", decay="20%", decay_type="1-sqrt")
    """

    open_arguments = False

    _step_by_default = True

    _whole_training = ("total_steps",)
    ends = True

    def __init__(
        self,
        decay: DurationLike = "10%",
        decay_type: DecayType = "cosine",
        min_lr_ratio: float = 0.0,
        total_steps: DurationLike | None = None,
        **kwargs: Any,
    ) -> None:
        _checks.one_of("decay_type", decay_type, ("linear", "cosine", "1-sqrt"))
        _checks.in_range("min_lr_ratio", min_lr_ratio, 0, 1, closed_low=True, closed_high=True)
        super().__init__(
            _WarmupStableDecaySchedule,
            decay=decay,
            total_steps=total_steps,
            decay_type=decay_type,
            min_lr_ratio=min_lr_ratio,
            lengths=("decay", "total_steps"),
            **kwargs,
        )

    @override
    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        resolved = super().resolve_lengths(length, warmup_steps, warn)
        if resolved["decay"] > resolved["total_steps"]:
            raise ValueError(
                f"`decay`={self._kwargs['decay']!r} is {resolved['decay']} {self.interval}s, longer than the"
                f" {resolved['total_steps']} left after the warmup. Use a shorter decay, e.g. decay='10%'."
            )
        return resolved

    @override
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None:
        assert isinstance(scheduler, _WarmupStableDecaySchedule)
        left = _left(resolved, "total_steps", position)
        if left is None or lr <= 0:
            return None
        decaying = scheduler.last_epoch >= scheduler.stable  # a decay under way goes on to the new end
        floor = float(scheduler.base_lrs[0]) * scheduler.min_lr_ratio
        return {
            "total_steps": left,
            "decay": left if decaying else min(int(resolved["decay"]), left),
            "min_lr_ratio": min(floor / lr, 1.0),
        }
