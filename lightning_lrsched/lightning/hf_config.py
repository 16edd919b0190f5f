"""schedule_from_hf: the schedule of a transformers ``Trainer`` run, from its ``TrainingArguments`` settings."""

from __future__ import annotations

import json
import warnings
from typing import Any

from lightning_lrsched import _checks
from lightning_lrsched.core.hf_schedules import FACTORIES, HF_METRIC_NAMES
from lightning_lrsched.lightning.callback import LRSchedulerCallback
from lightning_lrsched.lightning.schedules import GreedyLR, ReduceLROnPlateau, TransformersLR

_NO_WARMUP = ("constant", *HF_METRIC_NAMES)
"""Names whose schedule transformers' ``get_scheduler`` builds without the warmup it is given."""


def _from_arguments(training_args: Any, explicit: dict[str, Any]) -> dict[str, Any]:
    """The scheduler settings of a ``TrainingArguments`` (or any object with its attribute names)."""
    given = [key for key, value in explicit.items() if value is not None]
    if given:
        raise ValueError(
            f"Got `training_args` and also {', '.join(f'`{key}`' for key in given)}. Give the settings one way:"
            " set them on the TrainingArguments, or pass them without it."
        )
    kind = getattr(training_args, "lr_scheduler_type", "linear")
    return {
        "lr_scheduler_type": getattr(kind, "value", kind),
        "warmup_steps": getattr(training_args, "warmup_steps", 0),
        "warmup_ratio": getattr(training_args, "warmup_ratio", None),  # (transformers 4; 5 folds it into steps)
        "lr_scheduler_kwargs": getattr(training_args, "lr_scheduler_kwargs", None),
        "metric_for_best_model": getattr(training_args, "metric_for_best_model", None),
        "greater_is_better": getattr(training_args, "greater_is_better", None),
    }


def _warmup(warmup_steps: Any, warmup_ratio: Any) -> int | float | str:
    """The warmup by transformers' rule: ``warmup_steps`` (>= 1: steps; in (0, 1): a share), else ``warmup_ratio``."""
    steps = 0 if warmup_steps is None else warmup_steps
    if isinstance(steps, str):
        return steps  # a duration of this package ("10%", "1ep")
    _checks.non_negative("warmup_steps", steps)
    ratio = 0.0 if warmup_ratio is None else warmup_ratio
    _checks.in_range("warmup_ratio", ratio, 0, 1, closed_low=True, closed_high=False)
    if steps and ratio:
        raise ValueError(
            f"Got `warmup_steps`={steps!r} and `warmup_ratio`={ratio!r}; give one (transformers 4 let"
            " `warmup_steps` win; transformers 5 has only `warmup_steps`, where a float below 1 is a ratio)."
        )
    if steps >= 1:
        return int(steps)
    return float(steps or ratio) or 0


def _metric(metric_for_best_model: Any, greater_is_better: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The monitor and mode of a metric-driven schedule: transformers' ``eval_<name>`` is Lightning's ``val_<name>``."""
    if "monitor" in kwargs:
        return {}
    name = str(metric_for_best_model or "loss").removeprefix("eval_").removeprefix("val_")
    mode = "auto" if greater_is_better is None else ("max" if greater_is_better else "min")
    return {"monitor": f"val_{name}", "mode": kwargs.pop("mode", mode)}


def schedule_from_hf(
    training_args: Any = None,
    *,
    lr_scheduler_type: str | None = None,
    warmup_steps: int | float | str | None = None,
    warmup_ratio: float | None = None,
    lr_scheduler_kwargs: dict[str, Any] | str | None = None,
    metric_for_best_model: str | None = None,
    greater_is_better: bool | None = None,
    **kwargs: Any,
) -> LRSchedulerCallback:
    """The schedule a transformers ``Trainer`` would use with these settings, as a callback for Lightning.

    Either pass a ``TrainingArguments`` object, or its settings by name. The run's length is the Lightning
    Trainer's (``num_training_steps`` is the whole run), exactly as the HF Trainer takes it from its own
    ``max_steps``/``num_train_epochs``; ``learning_rate`` is the optimizer's, set in ``configure_optimizers``.

    Args:
        training_args: a ``transformers.TrainingArguments`` (read: ``lr_scheduler_type``, ``warmup_steps``,
            ``warmup_ratio`` where it exists, ``lr_scheduler_kwargs``, ``metric_for_best_model``,
            ``greater_is_better``).
        lr_scheduler_type: one of transformers' twelve ``SchedulerType`` names (default ``"linear"``).
        warmup_steps: optimizer steps of warmup, or a float in (0, 1) as a share of the run (rounded up), or a
            duration of this package (``"1ep"``).
        warmup_ratio: transformers 4's share of the run for the warmup (give this or ``warmup_steps``).
        lr_scheduler_kwargs: the schedule's own arguments (a dict, or its JSON text as on the command line).
        metric_for_best_model: for ``reduce_lr_on_plateau`` and ``greedy``: transformers' ``eval_<name>`` is
            monitored as ``val_<name>`` (default ``val_loss``); pass ``monitor=`` for another key.
        greater_is_better: the metric's direction (default: from its name).
        **kwargs: the arguments of every callback (``optimizer``, ``log_lr``, ``monitor``, ...).

    Raises:
        ValueError: for an unknown name, a warmup given twice, or settings given twice.

    Example::

        >>> schedule_from_hf(lr_scheduler_type="cosine", warmup_steps=0.1, lr_scheduler_kwargs={"num_cycles": 1})
        ... # doctest: +ELLIPSIS
        <lightning_lrsched.lightning.schedules.TransformersLR object at ...>
    """
    settings: dict[str, Any] = {
        "lr_scheduler_type": lr_scheduler_type,
        "warmup_steps": warmup_steps,
        "warmup_ratio": warmup_ratio,
        "lr_scheduler_kwargs": lr_scheduler_kwargs,
        "metric_for_best_model": metric_for_best_model,
        "greater_is_better": greater_is_better,
    }
    if training_args is not None:
        settings = _from_arguments(training_args, settings)
    kind = settings["lr_scheduler_type"] or "linear"
    kind = str(getattr(kind, "value", kind))  # (a SchedulerType member)
    _checks.one_of("lr_scheduler_type", kind, (*FACTORIES, *HF_METRIC_NAMES))
    specific = settings["lr_scheduler_kwargs"] or {}
    if isinstance(specific, str):
        specific = json.loads(specific)
    if not isinstance(specific, dict):
        raise TypeError(f"Expected argument `lr_scheduler_kwargs` to be a dict or JSON text, but got {specific!r}.")
    specific = dict(specific)
    warmup = _warmup(settings["warmup_steps"], settings["warmup_ratio"])
    if kind in _NO_WARMUP and warmup:
        warnings.warn(
            f"transformers' {kind!r} schedule has no warmup (its `get_scheduler` drops the warmup of"
            f" {warmup!r}); this schedule follows it. Use 'constant_with_warmup', or `warmup=` on"
            " ReduceLROnPlateau/GreedyLR, for one.",
            UserWarning,
            stacklevel=2,
        )
    if kind in HF_METRIC_NAMES:
        metric = _metric(settings["metric_for_best_model"], settings["greater_is_better"], kwargs)
    if kind == "reduce_lr_on_plateau":
        return ReduceLROnPlateau(**metric, **specific, **kwargs)
    if kind == "greedy":
        if "warmup" in specific:  # transformers' GreedyLR name for the wait after an increase
            specific["wait_after_increase"] = specific.pop("warmup")
        if specific.pop("verbose", False):
            raise ValueError("GreedyLR's `verbose=True` has no counterpart: every change is logged as an event.")
        return GreedyLR(**metric, **specific, **kwargs)
    if kind == "constant":
        return TransformersLR(kind, **specific, **kwargs)
    return TransformersLR(kind, num_warmup_steps=warmup, **specific, **kwargs)
