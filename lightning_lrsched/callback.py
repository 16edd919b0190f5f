"""LRSchedulerCallback: build a torch scheduler at fit start and step it at the right moments."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.hooks import RemovableHandle
from typing_extensions import override

from lightning_lrsched import _checks, tensorboard
from lightning_lrsched.duration import Duration, DurationLike, Interval, TrainingLength

SchedulerFactory = Callable[..., LRScheduler]
"""A scheduler class or function, called as ``factory(optimizer, **kwargs)``."""

_STATE_VERSION = 1
_FEW_CHANGES = 8
"""Schedules with at most this many lr changes are described change by change."""


class LRSchedulerCallback(Callback):
    """Schedule the learning rate of one optimizer with any torch scheduler, stepped by the callback itself.

    At fit start the callback resolves length arguments against the Trainer (``"10%"``, ``"3ep"``,
    ``"500 steps"``), builds the scheduler on one of ``trainer.optimizers`` and from then on steps it:

    * ``interval="step"``: once after every optimizer step that really ran. Gradient accumulation, an AMP step
      skipped because of inf gradients, and manual optimization are all counted correctly, because the
      callback listens to the optimizer itself (``Optimizer.register_step_post_hook``).
    * ``interval="epoch"``: once per training epoch, after its last batch and before the end-of-epoch
      validation, which is where Lightning steps its own epoch schedulers. A checkpoint written at validation
      end therefore holds the stepped state.

    The learning rate of every param group is logged before each optimizer step, at the cadence of
    ``trainer.log_every_n_steps``, under the tags Lightning's ``LearningRateMonitor`` uses (``lr-AdamW``,
    ``lr-AdamW/pg1``, or a group's ``name``); the current value is shown in the progress bar.

    Use the subclasses (``OneCycleLR``, ``CosineAnnealingLR``, ...) for torch's schedulers; use this class
    directly for a scheduler of your own or a factory such as transformers'
    ``get_linear_schedule_with_warmup``.

    Args:
        scheduler: a scheduler class or function, called as ``scheduler(optimizer, **scheduler_kwargs)``.
        interval: ``"step"`` or ``"epoch"``; by default ``"step"`` for transformers' schedules and ``"epoch"``
            otherwise (the subclasses choose per type).
        warmup: a linear warmup prefix of this many optimizer steps (a duration such as ``"10%"`` or
            ``"1ep"``; an int counts optimizer steps whatever the interval). Step s of the warmup uses
            ``lr0 * (f + (1 - f) * s / warmup)``, with lr0 the schedule's own first value and f
            ``warmup_start_factor``; the schedule then starts at its own step 0, and lengths that cover the whole
            training cover what is left after the warmup.
        warmup_start_factor: the fraction of lr0 the warmup starts from, in [0, 1).
        optimizer: which optimizer of ``trainer.optimizers`` to schedule: an index, or the optimizer's class
            name (``"AdamW"``) when that is unique.
        log_lr: log the learning rate (and momentum where the schedule cycles it) and show it in the progress
            bar.
        plan: at fit start, write the planned schedule (a figure and a text card of the resolved lengths) to
            TensorBoard. Drawing the figure costs about 0.1 s once per fit.
        name: the logged tag prefix instead of ``lr-<OptimizerClass>``.
        lengths: names of ``scheduler_kwargs`` that are durations, resolved at fit start to ints in the
            interval unit.
        **scheduler_kwargs: passed to ``scheduler``.

    Example::

        >>> from transformers import get_linear_schedule_with_warmup  # doctest: +SKIP
        >>> callback = LRSchedulerCallback(  # doctest: +SKIP
        ...     get_linear_schedule_with_warmup, interval="step",
        ...     num_warmup_steps="10%", num_training_steps="100%",
        ...     lengths=("num_warmup_steps", "num_training_steps"),
        ... )
        >>> import torch
        >>> callback = LRSchedulerCallback(torch.optim.lr_scheduler.StepLR, step_size="2ep", lengths=["step_size"])
    """

    _whole_training: ClassVar[tuple[str, ...]] = ()
    """Length arguments that default to the whole training when omitted (None)."""
    _free_lengths: ClassVar[tuple[str, ...]] = ()
    """Length arguments that may exceed the training (a time constant, not a point the schedule reaches)."""
    _step_by_default: ClassVar[bool] = False
    """Schedules that step per optimizer step unless ``interval`` says otherwise (cyclic, 1cycle, ...)."""

    def __init__(
        self,
        scheduler: SchedulerFactory,
        *,
        interval: Interval | None = None,
        warmup: DurationLike | None = None,
        warmup_start_factor: float = 0.0,
        optimizer: int | str = 0,
        log_lr: bool = True,
        plan: bool = True,
        name: str | None = None,
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
        if (
            isinstance(optimizer, bool)
            or not isinstance(optimizer, (int, str))
            or (isinstance(optimizer, int) and optimizer < 0)
        ):
            raise ValueError(
                f"Expected argument `optimizer` to be an index >= 0 into `trainer.optimizers` or an optimizer"
                f" class name such as 'AdamW', but got {optimizer!r}."
            )
        _checks.boolean("log_lr", log_lr)
        _checks.boolean("plan", plan)
        _checks.in_range("warmup_start_factor", warmup_start_factor, 0, 1, closed_low=True, closed_high=False)
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"Expected argument `name` to be a non-empty string or None, but got {name!r}.")
        _checks.names("lengths", lengths, example="['step_size']")
        missing = [length for length in lengths if length not in scheduler_kwargs]
        if missing:
            raise ValueError(
                f"Argument `lengths` names {missing}, which are not among the scheduler arguments"
                f" {sorted(scheduler_kwargs)}. Pass them as keyword arguments, e.g. `{missing[0]}='10%'`."
            )
        self._factory = scheduler
        self._interval: Interval = interval or self._default_interval(scheduler_kwargs)
        self._optimizer_ref = optimizer
        self._log_lr = log_lr
        self._plan = plan
        self._name = name
        self._lengths = tuple(lengths)
        self._kwargs = dict(scheduler_kwargs)
        self._cycles_momentum = False
        self._durations = {key: self._parse_length(key, scheduler_kwargs[key]) for key in self._lengths}
        self._warmup = None if warmup is None else Duration.parse("warmup", warmup, allow_zero=True)
        self._warmup_start_factor = float(warmup_start_factor)
        self._warmup_steps = 0

        self._scheduler: LRScheduler | None = None
        self._optimizer: Optimizer | None = None
        self._trainer: pl.Trainer | None = None
        self._length: TrainingLength | None = None
        self._resolved: dict[str, Any] = {}
        self._handles: list[RemovableHandle] = []
        self._tags: list[str] = []
        self._show_progress = False
        self._steps = 0
        self._epochs = 0
        self._epoch_start_steps = 0
        self._pending_state: dict[str, Any] | None = None
        self._path: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles hold the configuration only, never a run's trainer, optimizer or scheduler."""
        state = self.__dict__.copy()
        for key in ("_scheduler", "_optimizer", "_trainer", "_length"):
            state[key] = None
        state.update(_handles=[], _tags=[], _resolved={}, _show_progress=False, _warmup_steps=0)
        state.update(_steps=0, _epochs=0, _epoch_start_steps=0, _path={})
        return state

    # ------------------------------------------------------------------ public properties

    @property
    def interval(self) -> Interval:
        """``"step"`` or ``"epoch"``: when the scheduler advances."""
        return self._interval

    @property
    def scheduler(self) -> LRScheduler | None:
        """The torch scheduler built at fit start (None before)."""
        return self._scheduler

    @property
    def resolved_lengths(self) -> dict[str, Any]:
        """The length arguments as ints in interval units, resolved at fit start."""
        return dict(self._resolved)

    @property
    def state_key(self) -> str:
        """Unique per scheduled optimizer, so several callbacks (one per optimizer) can coexist."""
        return self._generate_state_key(optimizer=self._optimizer_ref, name=self._name)

    # ------------------------------------------------------------------ hooks

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        optimizer = self._select_optimizer(trainer)
        self._optimizer = optimizer
        self._check_conflicts(trainer)
        self._start(trainer, optimizer, TrainingLength.from_trainer(trainer))
        self._tags = self._lr_tags(trainer, optimizer)
        self._show_progress = self._log_lr and trainer.progress_bar_callback is not None
        if self._plan and trainer.is_global_zero:
            tensorboard.log_plan(trainer, self)
        self._handles = [
            self._optimizer.register_step_pre_hook(self._before_optimizer_step),
            self._optimizer.register_step_post_hook(self._after_optimizer_step),
        ]

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if _epoch_finished(trainer):
            self._epochs += 1
            # an epoch counts for the schedule when at least one of its steps came after the warmup
            if self._interval == "epoch" and self._steps > max(self._warmup_steps, self._epoch_start_steps):
                self._step_scheduler()
            self._epoch_start_steps = self._steps
        if self._show_progress and self._optimizer is not None:
            self._show_in_progress_bar(trainer, pl_module, self._optimizer.param_groups[0]["lr"])

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._log_lr and self._path and trainer.is_global_zero:
            for experiment in tensorboard.tensorboard_experiments(trainer):
                experiment.add_text(f"{self._tags[0]}-summary", self.summary()["text"], global_step=trainer.global_step)
        self._release()

    def summary(self) -> dict[str, Any]:
        """What the schedule did in this fit, in numbers and in words.

        The learning rates are those of the first param group, as used by the optimizer steps (``first``,
        ``peak`` with its step, ``lowest``, ``last``); ``text`` says the same in a sentence. Resumed fits
        include the steps before the checkpoint.

        Example::

            >>> from lightning_lrsched import StepLR
            >>> schedule = StepLR(1)
            >>> schedule.summary()["text"]
            'StepLR: no optimizer step yet'
        """
        name = type(self).__name__
        path = dict(self._path)
        info: dict[str, Any] = {
            "schedule": name,
            "interval": self._interval,
            "optimizer": type(self._optimizer).__name__ if self._optimizer is not None else None,
            "steps": self._steps,
            "warmup_steps": self._warmup_steps,
            "lengths": dict(self._resolved),
            **path,
        }
        info["text"] = f"{name}: {self._describe_path(path)}" if path else f"{name}: no optimizer step yet"
        return info

    def _describe_path(self, path: dict[str, Any]) -> str:
        """The lr path in words: start, peak, end, warmup."""
        first, peak, last, steps = path["first"], path["peak"], path["last"], self._steps
        unit = f"per {self._interval}"
        warmup = f", after a {self._warmup_steps}-step warmup" if self._warmup_steps else ""
        if math.isclose(path["lowest"], peak, rel_tol=1e-9):
            return f"lr constant at {first:.3g} for {steps} optimizer steps ({unit})"
        if peak > max(first, last) * (1 + 1e-9):
            return (
                f"lr {first:.3g} -> peak {peak:.3g} at step {path['peak_step']} -> {last:.3g} over {steps} optimizer"
                f" steps ({unit}{warmup})"
            )
        per_epoch = self._length.steps_per_epoch if self._length is not None else math.inf
        if 0 < path["changes"] <= _FEW_CHANGES and math.isfinite(per_epoch) and not self._warmup_steps:
            epochs = ", ".join(str(int(step // per_epoch)) for step in path["change_steps"])
            count = path["changes"]
            return f"lr {first:.3g} -> {last:.3g} in {count} change{'s' if count > 1 else ''} (from epochs {epochs})"
        return f"lr {first:.3g} -> {last:.3g} over {steps} optimizer steps ({unit}{warmup})"

    def _track_path(self, lr: float, step: int) -> None:
        path = self._path
        if not path:
            path.update(first=lr, peak=lr, peak_step=step, lowest=lr, last=lr, changes=0, change_steps=[])
            return
        if lr > path["peak"]:
            path["peak"], path["peak_step"] = lr, step
        path["lowest"] = min(path["lowest"], lr)
        if lr != path["last"]:
            path["changes"] += 1
            if len(path["change_steps"]) < _FEW_CHANGES:
                path["change_steps"].append(step)
        path["last"] = lr

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._release()

    @override
    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._release()

    @override
    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        states = checkpoint.get("callbacks") or {}
        found = [key for key, state in states.items() if _looks_like_ours(state)]
        if found and self.state_key not in states:
            raise ValueError(
                f"The checkpoint holds learning-rate schedule state under {found}, but none for this"
                f" `{type(self).__name__}` (state key {self.state_key!r}). Resume with the same schedule"
                " callback and the same `optimizer`/`name` arguments, or, to start a new schedule from those"
                " weights, load them with `YourModule.load_from_checkpoint(path)` instead of `ckpt_path`."
            )

    @override
    def state_dict(self) -> dict[str, Any]:
        if self._scheduler is None:
            return copy.deepcopy(self._pending_state) if self._pending_state else {}
        return {
            "version": _STATE_VERSION,
            "type": type(self).__name__,
            "interval": self._interval,
            "steps": self._steps,
            "epochs": self._epochs,
            "epoch_start_steps": self._epoch_start_steps,
            "warmup_steps": self._warmup_steps,
            "resolved": copy.deepcopy(self._resolved),
            "lrs": [float(group["lr"]) for group in self._optimizer.param_groups] if self._optimizer else [],
            "path": copy.deepcopy(self._path),
            "scheduler": self._scheduler_state(),
        }

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not state_dict:
            return
        self._validate_state(state_dict)
        if self._scheduler is None:
            self._pending_state = copy.deepcopy(state_dict)
        else:
            self._apply_state(state_dict)

    def _start(self, trainer: pl.Trainer, optimizer: Optimizer, length: TrainingLength) -> None:
        """Resolve the lengths against ``length``, build the scheduler on ``optimizer`` and restore saved state.

        Composite schedules call this to start a child over its own phase of the training.
        """
        self._trainer = trainer
        self._optimizer = optimizer
        self._length = length
        self._warmup_steps = self._resolve_warmup(length)
        self._resolved = self._resolve_lengths(length)
        self._scheduler = self._build_scheduler(optimizer)
        self._steps = self._epochs = self._epoch_start_steps = 0
        self._path = {}
        if self._pending_state is not None:
            self._apply_state(self._pending_state)
            self._pending_state = None
        else:
            self._sync_warmup_lr()

    # ------------------------------------------------------------------ optimizer hooks

    def _before_optimizer_step(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        trainer = self._trainer
        self._track_path(float(optimizer.param_groups[0]["lr"]), self._steps)
        if self._log_lr and trainer is not None and trainer.loggers and self._should_log(trainer):
            tensorboard.log_scalars(trainer.loggers, self._lr_metrics(optimizer), trainer.global_step)

    def _after_optimizer_step(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        self._steps += 1
        if self._steps <= self._warmup_steps:
            self._sync_warmup_lr()
        elif self._interval == "step":
            self._step_scheduler()

    # ------------------------------------------------------------------ extension points

    def _default_interval(self, kwargs: dict[str, Any]) -> Interval:
        """The interval used when ``interval`` is not given."""
        module = getattr(self._factory, "__module__", "") or ""
        return "step" if self._step_by_default or module.split(".")[0] == "transformers" else "epoch"

    def _length_unit(self) -> Interval:
        """The unit lengths resolve to (the interval, unless a schedule counts in epochs regardless)."""
        return self._interval

    def _build_scheduler(self, optimizer: Optimizer) -> LRScheduler:
        """Build the torch scheduler with the resolved lengths."""
        kwargs = {**self._kwargs, **self._resolved}
        try:
            return self._factory(optimizer, **kwargs)
        except (ValueError, TypeError, KeyError) as error:
            raise type(error)(
                f"{type(self).__name__} could not build its scheduler on {type(optimizer).__name__} with"
                f" arguments {kwargs}: {error}"
            ) from error

    def _step_scheduler(self) -> None:
        """Advance the scheduler by one interval."""
        assert self._scheduler is not None
        self._scheduler.step()

    # ------------------------------------------------------------------ helpers

    def _parse_length(self, key: str, value: Any) -> Duration | list[Duration] | None:
        if value is None and key in self._whole_training:
            return None
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"Expected argument `{key}` to be a non-empty list of lengths, but got {value!r}.")
            return [Duration.parse(f"{key}[{i}]", item) for i, item in enumerate(value)]
        return Duration.parse(key, value)

    @property
    def schedule_steps(self) -> int:
        """Optimizer steps taken since the warmup ended: the step count of the wrapped schedule itself."""
        return max(self._steps - self._warmup_steps, 0)

    def _resolve_warmup(self, length: TrainingLength) -> int:
        if self._warmup is None:
            return 0
        steps = self._warmup.resolve("warmup", "step", length, allow_zero=True)
        if steps == 0 and self._warmup.value > 0:
            rank_zero_warn(
                f"`warmup`={self._warmup.text!r} is less than one optimizer step in this run of"
                f" {length.total_steps:g} steps, so training starts without warmup. Give it in steps, e.g. warmup=1."
            )
        total = length.total_steps
        if steps >= total:
            raise ValueError(
                f"`warmup`={self._warmup.text!r} is {steps} optimizer steps, but the whole training is {total:g}"
                " steps, so the schedule would never start. Use a shorter warmup, e.g. warmup='5%'."
            )
        if steps > total / 4:
            rank_zero_warn(
                f"`warmup`={self._warmup.text!r} is {steps} of the training's {total:g} optimizer steps (more than"
                " a quarter): the model trains at a reduced learning rate for much of the run. Warmups of 1-10%"
                " are usual."
            )
        return steps

    def _sync_warmup_lr(self) -> None:
        """During the warmup, set each group's lr to the warmup fraction of the schedule's first value."""
        if self._steps > self._warmup_steps or self._warmup_steps == 0:
            return
        assert self._scheduler is not None
        assert self._optimizer is not None
        start = self._warmup_start_factor
        factor = start + (1 - start) * self._steps / self._warmup_steps
        for group, lr in zip(self._optimizer.param_groups, self._scheduler.get_last_lr(), strict=True):
            group["lr"] = lr * factor

    def _resolve_lengths(self, length: TrainingLength) -> dict[str, Any]:
        unit = self._length_unit()
        resolved: dict[str, Any] = {}
        for key, duration in self._durations.items():
            if duration is None:
                resolved[key] = length.remaining(unit, self._warmup_steps, name=key)
            elif isinstance(duration, list):
                resolved[key] = [d.resolve(f"{key}[{i}]", unit, length) for i, d in enumerate(duration)]
            else:
                resolved[key] = duration.resolve(key, unit, length)
        self._warn_past_the_end(resolved, length, unit)
        return resolved

    def _warn_past_the_end(self, resolved: dict[str, Any], length: TrainingLength, unit: Interval) -> None:
        """One warning per length that the training never reaches: that part of the schedule would not run."""
        if not math.isfinite(length.total_steps) or (unit == "epoch" and not math.isfinite(length.steps_per_epoch)):
            return
        left = length.remaining(unit, self._warmup_steps)
        for key, value in resolved.items():
            longest = max(value) if isinstance(value, list) else value
            if key in self._free_lengths or not isinstance(longest, int) or longest <= left:
                continue
            given = self._kwargs[key]
            rank_zero_warn(
                f"`{key}`={given!r} resolves to {longest} {unit}s, but this training has {left} {unit}s"
                f"{' after the warmup' if self._warmup_steps else ''}: it ends before the schedule gets there."
                f" Give `{key}` as a share of the run, e.g. '50%', or train longer."
            )

    def _select_optimizer(self, trainer: pl.Trainer) -> Optimizer:
        optimizers = trainer.optimizers
        listed = ", ".join(f"{i}: {type(opt).__name__}" for i, opt in enumerate(optimizers)) or "none"
        ref = self._optimizer_ref
        if isinstance(ref, int):
            if ref >= len(optimizers):
                raise ValueError(
                    f"`{type(self).__name__}(optimizer={ref})` is out of range: `configure_optimizers` returned"
                    f" {len(optimizers)} optimizer(s) ({listed}). Use an index below {len(optimizers)}."
                    if optimizers
                    else f"`{type(self).__name__}` has no optimizer to schedule: `configure_optimizers` returned"
                    " none. Return an optimizer from `LightningModule.configure_optimizers`."
                )
            return optimizers[ref]
        matches = [opt for opt in optimizers if type(opt).__name__ == ref]
        if len(matches) != 1:
            problem = "matches no optimizer" if not matches else f"matches {len(matches)} optimizers"
            raise ValueError(
                f"`{type(self).__name__}(optimizer={ref!r})` {problem} of `trainer.optimizers` ({listed})."
                " Use the optimizer's index instead."
            )
        return matches[0]

    def _check_conflicts(self, trainer: pl.Trainer) -> None:
        optimizer = self._optimizer
        for config in trainer.lr_scheduler_configs:
            if config.scheduler.optimizer is optimizer:
                raise ValueError(
                    f"`configure_optimizers` returns its own scheduler ({type(config.scheduler).__name__}) for"
                    f" {type(optimizer).__name__}, which `{type(self).__name__}` also schedules. Return only the"
                    " optimizer from `configure_optimizers` and let the callback schedule it, or drop the"
                    " callback. To combine two schedules use `lightning_lrsched.SequentialLR` or"
                    " `ChainedScheduler`."
                )
        for other in trainer.callbacks:  # type: ignore[attr-defined]
            if other is self or not isinstance(other, LRSchedulerCallback):
                continue
            if other._select_optimizer(trainer) is optimizer:
                raise ValueError(
                    f"Two schedule callbacks, `{type(self).__name__}` and `{type(other).__name__}`, schedule the"
                    f" same optimizer ({type(optimizer).__name__}). Keep one, or compose them into one callback"
                    " with `lightning_lrsched.SequentialLR` (one after the other) or `ChainedScheduler`"
                    " (both at once)."
                )

    def _lr_tags(self, trainer: pl.Trainer, optimizer: Optimizer) -> list[str]:
        """Tags as Lightning's LearningRateMonitor names them."""
        prefix = self._name
        if prefix is None:
            same_type = [opt for opt in trainer.optimizers if type(opt) is type(optimizer)]
            position = next(i for i, opt in enumerate(same_type) if opt is optimizer)
            prefix = f"lr-{type(optimizer).__name__}" + (f"-{position}" if position else "")
        groups = optimizer.param_groups
        names = [group.get("name") for group in groups]
        named = [n for n in names if n is not None]
        if len(named) != len(set(named)):
            raise ValueError(
                f"The param groups of {type(optimizer).__name__} have duplicate `name` values {names}; the"
                " learning-rate tags would collide. Give each group a unique name."
            )
        if len(groups) == 1:
            return [f"{prefix}/{names[0]}" if names[0] else prefix]
        return [f"{prefix}/{n if n else f'pg{i + 1}'}" for i, n in enumerate(names)]

    def _lr_metrics(self, optimizer: Optimizer) -> dict[str, float]:
        metrics: dict[str, float] = {}
        use_betas = "betas" in optimizer.defaults
        for tag, group in zip(self._tags, optimizer.param_groups, strict=False):
            metrics[tag] = float(group["lr"])
            if self._cycles_momentum:
                metrics[f"{tag}-momentum"] = float(group["betas"][0] if use_betas else group.get("momentum", 0.0))
        return metrics

    def _show_in_progress_bar(self, trainer: pl.Trainer, pl_module: pl.LightningModule, lr: float) -> None:
        # `LightningModule.log` costs more per call than the whole schedule step; the progress bar only reads this
        # dict, so the value is written there directly (with `log` as the fallback should the dict move).
        shown = getattr(trainer._logger_connector, "_progress_bar_metrics", None)
        if isinstance(shown, dict):
            shown[self._tags[0]] = lr
        else:
            pl_module.log(self._tags[0], lr, prog_bar=True, logger=False)

    def _should_log(self, trainer: pl.Trainer) -> bool:
        every = int(getattr(trainer, "log_every_n_steps", 1)) or 1
        return trainer.global_step % every == 0

    def _validate_state(self, state: dict[str, Any]) -> None:
        kind = state.get("type")
        if kind != type(self).__name__:
            raise ValueError(
                f"The checkpoint's schedule state under {self.state_key!r} was written by `{kind}`, but this"
                f" callback is `{type(self).__name__}`. Resume with the same schedule type, or start a new"
                " schedule from the weights with `YourModule.load_from_checkpoint(path)` instead of `ckpt_path`."
            )
        required = {"scheduler": dict, "steps": int, "epochs": int, "interval": str, "resolved": dict}
        broken = [key for key, kind_ in required.items() if not isinstance(state.get(key), kind_)]
        if broken:
            raise ValueError(
                f"The checkpoint's schedule state for `{type(self).__name__}` is corrupted: keys {broken} are"
                f" missing or of the wrong type (found keys {sorted(state)}). Resume from another checkpoint."
            )

    def _apply_state(self, state: dict[str, Any]) -> None:
        assert self._scheduler is not None
        assert self._optimizer is not None
        if state["interval"] != self._interval:
            raise ValueError(
                f"The checkpoint's `{type(self).__name__}` stepped per {state['interval']}, but this callback"
                f" steps per {self._interval}. Resume with `interval={state['interval']!r}`."
            )
        if state["resolved"] != self._resolved:
            rank_zero_warn(
                f"`{type(self).__name__}` resumes with the lengths of the checkpoint {state['resolved']}, not"
                f" those this Trainer implies {self._resolved}: the schedule continues exactly as it was planned."
                " Start a new fit (without `ckpt_path`) to plan a new schedule."
            )
        self._resolved = copy.deepcopy(state["resolved"])
        self._steps = state["steps"]
        self._epochs = state["epochs"]
        self._epoch_start_steps = state.get("epoch_start_steps", self._steps)
        self._warmup_steps = state.get("warmup_steps", self._warmup_steps)
        self._path = copy.deepcopy(state.get("path") or {})
        self._load_scheduler_state(state["scheduler"])
        assert self._scheduler is not None
        lrs = state.get("lrs") or self._scheduler.get_last_lr()
        for group, lr in zip(self._optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr

    def _scheduler_state(self) -> dict[str, Any]:
        assert self._scheduler is not None
        return copy.deepcopy(self._scheduler.state_dict())

    def _load_scheduler_state(self, state: dict[str, Any]) -> None:
        assert self._scheduler is not None
        self._scheduler.load_state_dict(copy.deepcopy(state))

    def _release(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._trainer = None


def _epoch_finished(trainer: pl.Trainer) -> bool:
    """True on the last training batch of an epoch, when Lightning steps its epoch schedulers."""
    epoch_loop = trainer.fit_loop.epoch_loop
    return bool(epoch_loop._num_ready_batches_reached())


def _looks_like_ours(state: Any) -> bool:
    return isinstance(state, dict) and "scheduler" in state and "resolved" in state and "type" in state
