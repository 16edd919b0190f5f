"""TimmLR and schedule_from_timm: timm's scheduler vocabulary (cosine, tanh, poly, step, multistep, plateau).

timm counts time in epochs (``t_in_epochs=True``) or in optimizer updates (``sched_on_updates``); here that is
``interval="epoch"`` (the default) or ``interval="step"``, and every time argument also takes a duration
(``"10%"``, ``"2ep"``, ``"500 steps"``). The values follow ``timm_formulas.py``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal

from torch.optim.lr_scheduler import LRScheduler
from typing_extensions import override

from lightning_lrsched import _checks
from lightning_lrsched.core.duration import Duration, DurationLike, Interval, TrainingLength
from lightning_lrsched.core.plateau import ReduceLROnPlateau
from lightning_lrsched.core.schedule import Schedule, past_the_end
from lightning_lrsched.core.timm_formulas import CYCLIC, STEPPED, TimmFormulaLR
from lightning_lrsched.core.timm_formulas import value as lr_at
from lightning_lrsched.core.warmup import Warn

_ONLY: dict[str, tuple[str, ...]] = {
    "t_initial": CYCLIC,
    "cycle_mul": CYCLIC,
    "cycle_decay": CYCLIC,
    "cycle_limit": CYCLIC,
    "cooldown_t": CYCLIC,
    "lr_min": CYCLIC,
    "k_decay": ("cosine", "poly"),
    "power": ("poly",),
    "lb": ("tanh",),
    "ub": ("tanh",),
    "decay_t": STEPPED,
    "decay_rate": STEPPED,
}
"""The arguments that only some of timm's schedulers take."""
_DEFAULTS: dict[str, Any] = {
    "lr_min": 0.0,
    "cooldown_t": 0,
    "cycle_mul": 1.0,
    "cycle_decay": 1.0,
    "cycle_limit": 1,
    "k_decay": 1.0,
    "power": 0.5,
    "lb": -7.0,
    "ub": 3.0,
    "decay_rate": 1.0,
}
"""timm's class defaults (``warmup_prefix`` is False for the cyclic ones, True for step and multistep)."""


_PARAMETERS = ("t_initial", "lr_min", "warmup_t", "warmup_lr_init", "warmup_prefix", "cycle_mul", "cycle_decay",
               "cycle_limit", "k_decay", "cooldown_t", "decay_t", "decay_rate", "power", "lb", "ub", "noise_range_t",
               "noise_type", "noise_pct", "noise_std", "noise_seed")  # fmt: skip
"""TimmLR's own arguments besides ``sched`` (timm's names)."""


def _factory(optimizer: Any, **cfg: Any) -> TimmFormulaLR:
    return TimmFormulaLR(optimizer, cfg)


def _check_unknown(kwargs: dict[str, Any]) -> None:
    """A keyword that is neither timm's nor one every schedule takes is a misspelling: named, with the closest."""
    shared = set(inspect.signature(Schedule.__init__).parameters) - {"self", "scheduler", "lengths", "scheduler_kwargs"}
    unknown = [key for key in kwargs if key not in shared]
    if unknown:
        raise _checks.UnknownArgumentError("TimmLR", unknown[0], kwargs[unknown[0]], {*shared, *_PARAMETERS, "sched"})


def _check_values(sched: str, given: dict[str, Any]) -> None:
    """Each argument's own range, naming it; arguments the chosen scheduler does not take are errors."""
    for key, value in given.items():
        if value is not None and key in _ONLY and sched not in _ONLY[key]:
            raise ValueError(
                f"`{key}`={value!r} does not apply to timm's {sched!r} scheduler (it is an argument of"
                f" {', '.join(repr(s) for s in _ONLY[key])}). Remove it, or pick one of those."
            )
    for key in ("lr_min", "warmup_lr_init"):
        if given[key] is not None:
            _checks.non_negative(key, given[key])
    for key in ("cycle_mul", "cycle_decay", "k_decay", "power", "decay_rate", "noise_pct", "noise_std"):
        if given.get(key) is not None:
            _checks.positive(key, given[key])
    if given["cycle_limit"] is not None:
        _checks.integer("cycle_limit", given["cycle_limit"], 1)
    if given["warmup_prefix"] is not None:
        _checks.boolean("warmup_prefix", given["warmup_prefix"])
    for key in ("lb", "ub"):
        if given[key] is not None:
            _checks.in_range(key, given[key], -math.inf, math.inf, closed_low=False, closed_high=False)
    if given["lb"] is not None or given["ub"] is not None:
        lb = _DEFAULTS["lb"] if given["lb"] is None else given["lb"]
        ub = _DEFAULTS["ub"] if given["ub"] is None else given["ub"]
        if not lb < ub:
            raise ValueError(f"Expected `lb`={lb!r} to be below `ub`={ub!r}, as timm's tanh requires.")
    _checks.one_of("noise_type", given["noise_type"], ("normal", "uniform"))
    _checks.integer("noise_seed", given["noise_seed"], 0)
    if sched in STEPPED and given["decay_t"] is None:
        what = "milestones, e.g. decay_t=['30ep', '60ep']" if sched == "multistep" else "period, e.g. decay_t='30ep'"
        raise TypeError(f"timm's {sched!r} scheduler needs `decay_t`: its {what}.")
    if given["noise_std"] != 1.0:
        warnings.warn(
            f"`noise_std`={given['noise_std']!r} has no effect: timm's noise is a standard normal draw cut at"
            " `noise_pct`, whatever `noise_std` says, and this follows timm. Use `noise_pct` to change it.",
            UserWarning,
            stacklevel=3,
        )


class TimmLR(Schedule):
    """One of timm's schedulers (``cosine``, ``tanh``, ``poly``, ``step``, ``multistep``) with timm's arguments.

    Per epoch by default (timm's ``t_in_epochs=True``); ``interval="step"`` is timm's stepping on updates.
    Every time argument (``t_initial``, ``warmup_t``, ``cooldown_t``, ``decay_t``, ``noise_range_t``) takes an int
    in that unit or a duration. An argument left at None takes timm's class default for the chosen scheduler.

    Args:
        sched: ``"cosine"``, ``"tanh"``, ``"poly"``, ``"step"`` or ``"multistep"``.
        t_initial: the first cycle's length; omitted, the cycles (and ``cooldown_t``) fill the run.
        lr_min: the floor of the cycles, and the lr after the last cycle.
        warmup_t: the warmup's length, from ``warmup_lr_init`` up (timm's warmup, one value per epoch per epoch).
        warmup_lr_init: the lr the warmup starts from (the same for every param group, as in timm).
        warmup_prefix: the schedule starts after the warmup (True) or the warmup replaces its start (False).
        cycle_mul: each cycle is this much longer than the one before.
        cycle_decay: each cycle's peak is this share of the one before.
        cycle_limit: the number of cycles; ``lr_min`` after them.
        k_decay: timm's k-decay exponent (cosine, poly).
        cooldown_t: time at ``lr_min`` after the cycles (only shortens an omitted ``t_initial``).
        decay_t: step: the period; multistep: the milestones.
        decay_rate: step, multistep: the factor at each decay.
        power: poly: the exponent.
        lb: tanh: the lower bound of its range.
        ub: tanh: the upper bound of its range.
        noise_range_t: when noise is added: from this time on, or a ``[start, end)`` pair.
        noise_type: ``"normal"`` or ``"uniform"``.
        noise_pct: the noise's limit, as a share of the lr.
        noise_std: kept for timm's configs; timm does not use it (a warning says so when it is not 1).
        noise_seed: the noise's seed (timm adds the time to it).
        **kwargs: the arguments of every schedule (``interval``, ``warmup``, ``warmup_start_factor``).

    Example::

        >>> schedule = TimmLR("cosine", warmup_t=2, warmup_lr_init=1e-6, lr_min=1e-5)
        >>> schedule.interval
        'epoch'
    """

    _free_lengths = ("cooldown_t",)
    _vocabulary = "timm"

    def __init__(
        self,
        sched: str = "cosine",
        t_initial: DurationLike | None = None,
        lr_min: float | None = None,
        warmup_t: DurationLike = 0,
        warmup_lr_init: float = 0.0,
        warmup_prefix: bool | None = None,
        cycle_mul: float | None = None,
        cycle_decay: float | None = None,
        cycle_limit: int | None = None,
        k_decay: float | None = None,
        cooldown_t: DurationLike | None = None,
        decay_t: DurationLike | Sequence[DurationLike] | None = None,
        decay_rate: float | None = None,
        power: float | None = None,
        lb: float | None = None,
        ub: float | None = None,
        noise_range_t: DurationLike | Sequence[DurationLike] | None = None,
        noise_type: str = "normal",
        noise_pct: float = 0.67,
        noise_std: float = 1.0,
        noise_seed: int = 42,
        **kwargs: Any,
    ) -> None:
        _checks.one_of("sched", sched, (*CYCLIC, *STEPPED))
        given = {key: value for key, value in locals().items() if key in _PARAMETERS}
        _check_unknown(kwargs)
        _check_values(sched, given)
        if kwargs.get("warmup") is not None and warmup_t:
            raise ValueError("Give one of `warmup_t` (timm's warmup) and `warmup` (this package's prefix).")
        cfg = {
            key: (_DEFAULTS[key] if value is None and key in _DEFAULTS else value)
            for key, value in given.items()
            if key not in _ONLY or sched in _ONLY[key]
        }
        cfg["warmup_prefix"] = (sched in STEPPED) if warmup_prefix is None else warmup_prefix
        self.sched = sched
        lengths = ["t_initial"] if sched in CYCLIC else []
        lengths += [key for key in ("warmup_t", "cooldown_t") if cfg.get(key) not in (0, None)]
        if sched in STEPPED:
            lengths.append("decay_t")
        cfg.pop("noise_range_t")
        super().__init__(_factory, sched=sched, lengths=lengths, **cfg, **kwargs)
        self._noise_durations = self._parse_noise(noise_range_t)
        self.noise_share: float | list[float] | None = None

    @override
    def _kind(self) -> str | None:
        return self.sched

    @override
    def plan_so_far(
        self, scheduler: LRScheduler, resolved: dict[str, Any], length: TrainingLength
    ) -> dict[str, Any] | None:
        """The new plan if timm's values so far are the same, else with its warmup's running length, or None.

        A ``warmup_t`` given as a share of a longer run would be longer: it keeps its running length, as ``warmup``
        does, and with ``warmup_prefix`` a ``t_initial`` that fills the run is filled again after it. Inside the
        warmup that gives the values so far (timm's warmup does not depend on the cycle's length, except tanh's
        without a prefix; a moved noise window may). Past it, only where nothing else moved (a fixed cycle).
        """
        if not isinstance(scheduler, TimmFormulaLR):
            return None
        old, base = scheduler.cfg, float(scheduler.base_lrs[0])
        kept = {**resolved, "warmup_t": old["warmup_t"]}
        if self._durations["t_initial"] is None and old["warmup_prefix"]:
            try:  # (timm's warmup_t excludes the package's: no package warmup here)
                kept["t_initial"] = self._fill_the_run(length, 0, kept)
            except ValueError:
                return None
            kept["noise_range_t"] = self._noise_window(kept, length)
        if scheduler.last_epoch >= old["warmup_t"]:
            return kept if {**old, **kept} == old else None
        for plan in (resolved, kept):
            new = {**old, **plan}
            if all(lr_at(t, base, new) == lr_at(t, base, old) for t in range(scheduler.last_epoch + 1)):
                return plan
        return None

    @override
    def rebase(
        self, scheduler: LRScheduler, resolved: dict[str, Any], position: int, lr: float
    ) -> dict[str, Any] | None:
        """Past timm's warmup, one cosine or poly cycle goes on from the current lr down to ``lr_min`` at the new end.

        tanh's curve does not start at its peak (a jump), and further cycles and noise are placed in timm's time
        from the start: those keep their plan.
        """
        assert isinstance(scheduler, TimmFormulaLR)
        cfg = scheduler.cfg
        if self.sched not in ("cosine", "poly") or cfg["cycle_limit"] != 1 or cfg["noise_range_t"] is not None:
            return None
        if scheduler.last_epoch < cfg["warmup_t"] or lr <= cfg["lr_min"]:
            return None  # (inside timm's warmup, or the cycle is over)
        prefix = int(resolved.get("warmup_t", 0)) if cfg["warmup_prefix"] else 0
        left = int(resolved["t_initial"]) + prefix - position
        return {"t_initial": left, "warmup_t": 0, "cycle_mul": 1.0} if left > 0 else None

    @staticmethod
    def _parse_noise(window: Any) -> list[Duration] | Duration | None:
        if window is None:
            return None
        if isinstance(window, (list, tuple)):
            if len(window) != 2:
                raise ValueError(
                    f"Expected argument `noise_range_t` to be a time or a [start, end) pair, but got {window!r}."
                )
            return [Duration.parse(f"noise_range_t[{i}]", item, allow_zero=True) for i, item in enumerate(window)]
        return Duration.parse("noise_range_t", window, allow_zero=True)

    @override
    def _default_interval(self, kwargs: dict[str, Any]) -> Interval:
        return "epoch"  # timm's t_in_epochs=True

    @override
    def _parse_length(self, key: str, value: Any) -> Duration | list[Duration] | None:
        if key == "t_initial" and value is None:
            return None
        if key in ("warmup_t", "cooldown_t"):
            return Duration.parse(key, value, allow_zero=True)
        return super()._parse_length(key, value)

    @override
    def resolve_lengths(self, length: TrainingLength, warmup_steps: int, warn: Warn) -> dict[str, Any]:
        unit = self.interval
        resolved: dict[str, Any] = {}
        for key in self._lengths:
            duration = self._durations[key]
            if isinstance(duration, list):
                resolved[key] = [d.resolve(f"{key}[{i}]", unit, length) for i, d in enumerate(duration)]
            elif duration is not None:
                resolved[key] = duration.resolve(key, unit, length, allow_zero=key != "t_initial")
        if "t_initial" in self._lengths and resolved.get("t_initial") is None:
            resolved["t_initial"] = self._fill_the_run(length, warmup_steps, resolved)
        resolved["noise_range_t"] = self._noise_window(resolved, length)
        checked = {k: v for k, v in resolved.items() if k != "noise_range_t"}
        unit = self._length_unit()
        for message in past_the_end(checked, self._kwargs, length, warmup_steps, unit, self._free_lengths):
            warn(message)
        return resolved

    def _noise_window(self, resolved: dict[str, Any], length: TrainingLength) -> Any:
        """When noise is added, in the schedule's unit: timm's share of ``t_initial``, or the durations given."""
        unit, noise = self.interval, self._noise_durations
        if self.noise_share is not None:  # (schedule_from_timm: timm's `noise`, a share of t_initial)
            share, t_initial = self.noise_share, resolved.get("t_initial", 0)
            window = [n * t_initial for n in share] if isinstance(share, list) else share * t_initial
            return window[0] if isinstance(window, list) and len(window) == 1 else window
        if isinstance(noise, list):
            return [d.resolve(f"noise_range_t[{i}]", unit, length, allow_zero=True) for i, d in enumerate(noise)]
        return None if noise is None else noise.resolve("noise_range_t", unit, length, allow_zero=True)

    def _fill_the_run(self, length: TrainingLength, warmup_steps: int, resolved: dict[str, Any]) -> int:
        """The first cycle's length such that the cycles, the prefix warmup and the cooldown fill the run."""
        left = length.remaining(self.interval, warmup_steps, name="t_initial") - int(resolved.get("cooldown_t", 0))
        if self._kwargs["warmup_prefix"]:
            left -= int(resolved.get("warmup_t", 0))
        mul, cycles = self._kwargs["cycle_mul"], self._kwargs["cycle_limit"]
        share = float(cycles if mul == 1 else (mul**cycles - 1) / (mul - 1))
        if left <= 0:
            raise ValueError(
                f"timm's {self.sched!r} has no time left for its cycles after the warmup and `cooldown_t` in this run"
                f" of {length.total(self.interval)} {self.interval}s. Shorten them, or give `t_initial`."
            )
        return max(1, math.floor(left / share + 0.5))


def _epochs(value: float | None, on_updates: bool) -> DurationLike | None:
    """An epoch count of timm's factory as a time of the callback (a duration in epochs when stepping on updates)."""
    if value is None:
        return None
    _checks.non_negative("epochs", value)
    return f"{value}ep" if on_updates else int(value)


def schedule_from_timm(
    sched: str = "cosine",
    *,
    num_epochs: int | None = None,
    decay_epochs: float = 90,
    decay_milestones: Sequence[int] = (90, 180, 270),
    cooldown_epochs: int = 0,
    patience_epochs: int = 10,
    decay_rate: float = 0.1,
    min_lr: float = 0.0,
    warmup_lr: float = 1e-5,
    warmup_epochs: int = 0,
    warmup_prefix: bool = False,
    noise: float | Sequence[float] | None = None,
    noise_pct: float = 0.67,
    noise_std: float = 1.0,
    noise_seed: int = 42,
    cycle_mul: float = 1.0,
    cycle_decay: float = 0.1,
    cycle_limit: int = 1,
    k_decay: float = 1.0,
    plateau_mode: Literal["min", "max"] = "max",
    step_on_epochs: bool = True,
    **kwargs: Any,
) -> Schedule:
    """The schedule timm's ``create_scheduler_v2`` builds from these arguments (its names and defaults).

    ``num_epochs`` is timm's ``t_initial`` in epochs; omitted, the cycles fill the Lightning run. The run's
    length and the updates per epoch come from the Trainer (timm's ``updates_per_epoch``). As in timm, ``poly``
    takes ``decay_rate`` as its power and ``noise`` is a share of ``t_initial``. ``plateau`` is
    :class:`ReduceLROnPlateau` (``decay_rate`` -> ``factor``, ``patience_epochs`` -> ``patience``,
    ``plateau_mode`` -> ``mode``), its warmup this package's per-step warmup over ``warmup_epochs`` (timm's
    rises once per epoch; a warning says so).

    Args:
        sched: ``"cosine"``, ``"tanh"``, ``"poly"``, ``"step"``, ``"multistep"`` or ``"plateau"``.
        num_epochs: ``t_initial``, in epochs.
        decay_epochs: ``step``: the period, in epochs.
        decay_milestones: ``multistep``: the milestones, in epochs.
        cooldown_epochs: epochs at ``min_lr`` after the cycles.
        patience_epochs: ``plateau``: the patience.
        decay_rate: the decay factor (``poly``: the power).
        min_lr: the floor.
        warmup_lr: the warmup's first lr.
        warmup_epochs: the warmup's length, in epochs.
        warmup_prefix: the schedule starts after the warmup.
        noise: when noise is added, as a share of ``t_initial`` (a start, or a [start, end) pair).
        noise_pct: the noise's limit.
        noise_std: not used by timm (kept for configs).
        noise_seed: the noise's seed.
        cycle_mul: the growth of each cycle's length.
        cycle_decay: the decay of each cycle's peak.
        cycle_limit: the number of cycles.
        k_decay: the k-decay exponent.
        plateau_mode: ``plateau``: ``"min"`` or ``"max"``.
        step_on_epochs: False steps on every optimizer update (timm's ``sched_on_updates``).
        **kwargs: the arguments of every schedule; ``monitor=`` for ``plateau`` (default ``"val_loss"``).

    Example::

        >>> schedule_from_timm("cosine", warmup_epochs=2, warmup_lr=1e-6, min_lr=1e-5).interval
        'epoch'
    """
    on_updates = not step_on_epochs
    if sched == "plateau":
        if warmup_epochs:
            warnings.warn(
                f"timm's plateau warmup raises the lr once per epoch; here it rises at every optimizer step over the"
                f" same {warmup_epochs} epochs (from 0, not `warmup_lr`={warmup_lr}).",
                UserWarning,
                stacklevel=2,
            )
        warmup: dict[str, Any] = {"warmup": f"{warmup_epochs}ep"} if warmup_epochs else {}
        return ReduceLROnPlateau(
            **{"monitor": "val_loss", **kwargs}, mode=plateau_mode, factor=decay_rate, patience=patience_epochs,
            min_lr=min_lr, **warmup,
        )  # fmt: skip
    _checks.one_of("sched", sched, (*CYCLIC, *STEPPED, "plateau"))
    shared: dict[str, Any] = {
        "warmup_t": _epochs(warmup_epochs, on_updates) or 0,
        "warmup_lr_init": warmup_lr,
        "warmup_prefix": warmup_prefix,
        "noise_pct": noise_pct,
        "noise_std": noise_std,
        "noise_seed": noise_seed,
        "interval": "step" if on_updates else "epoch",
    }
    if sched in STEPPED:
        decay: Any = (
            [_epochs(m, on_updates) for m in decay_milestones]
            if sched == "multistep"
            else _epochs(decay_epochs, on_updates)
        )
        callback = TimmLR(sched, decay_t=decay, decay_rate=decay_rate, **shared, **kwargs)
    else:
        own: dict[str, Any] = {"poly": {"power": decay_rate, "k_decay": k_decay}, "cosine": {"k_decay": k_decay}}.get(
            sched, {}
        )
        callback = TimmLR(
            sched, t_initial=_epochs(num_epochs, on_updates), lr_min=min_lr, cycle_mul=cycle_mul,
            cycle_decay=cycle_decay, cycle_limit=cycle_limit, cooldown_t=_epochs(cooldown_epochs, on_updates) or 0,
            **own, **shared, **kwargs,
        )  # fmt: skip
    if noise is not None:
        callback.noise_share = [float(n) for n in noise] if isinstance(noise, Sequence) else float(noise)
    return callback
