"""Timeline: one schedule's plan for one run, and the one clock it follows.

A Timeline is built from a schedule (the torch scheduler factory and its lengths), the resolved length of the run
and the warmup. It counts optimizer steps and epochs, takes events (``optimizer_step``, ``epoch_end``,
``validation``), sets the learning rates on the optimizer, keeps the lr path, holds a schedule's final value once
the run goes past its plan, and owns the checkpoint state. It knows nothing of Lightning: the callback says when
events happen, :func:`~lightning_lrsched.preview.preview` drives it on a plain optimizer.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lightning_lrsched.duration import TrainingLength
from lightning_lrsched.warmup import Warmup, Warn

if TYPE_CHECKING:
    from lightning_lrsched.schedule import Schedule

STATE_VERSION = 1
SHORT_RUN = 0.95
"""A fit that takes fewer than this share of its planned optimizer steps did not finish its schedule."""
FEW_CHANGES = 8
"""The lr path keeps the steps of this many first changes; summaries describe such schedules change by change."""


class Timeline:
    """The plan and the clock of one schedule in one run.

    Args:
        schedule: the schedule (any callback of this package is one).
        optimizer: the optimizer whose learning rates it sets.
        length: the run's length in optimizer steps and epochs.
        warn: where warnings go (the callback passes Lightning's rank-zero warning).
        attach: whether the schedules of a composite's phases keep their timelines for inspection.

    Example::

        >>> import torch
        >>> from lightning_lrsched import CosineAnnealingLR, TrainingLength
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> timeline = CosineAnnealingLR(warmup=2).timeline(optimizer, TrainingLength(8, 4))
        >>> lrs = []
        >>> for _ in range(8):
        ...     lrs.append(round(optimizer.param_groups[0]["lr"], 3))
        ...     optimizer.step()
        ...     timeline.optimizer_step()
        >>> lrs
        [0.0, 0.5, 1.0, 0.933, 0.75, 0.5, 0.25, 0.067]
    """

    def __init__(
        self, schedule: Schedule, optimizer: Optimizer, length: TrainingLength, *, warn: Warn, attach: bool = False
    ) -> None:
        self.schedule = schedule
        self.attach = attach
        self.name = type(schedule).__name__
        self.optimizer = optimizer
        self.length = length
        self.interval = schedule.interval
        self.warn = warn
        self.warned: set[str] = set()
        self.warmup = Warmup.plan(schedule._warmup, schedule._warmup_start_factor, length, warn)
        self.resolved: dict[str, Any] = schedule._resolve_lengths(length, self.warmup.steps, warn)
        self.planned_steps = length.total_steps
        self.steps = self.epochs = self.epoch_start_steps = 0
        self.path: dict[str, Any] = {}
        self.scheduler: LRScheduler = self._build()
        self._sync_warmup_lr()

    @property
    def warmup_steps(self) -> int:
        """Optimizer steps of the warmup prefix."""
        return self.warmup.steps

    @property
    def schedule_steps(self) -> int:
        """Optimizer steps taken since the warmup ended: the step count of the wrapped schedule itself."""
        return max(self.steps - self.warmup.steps, 0)

    @property
    def lrs(self) -> list[float]:
        """The current learning rate of every param group."""
        return [float(group["lr"]) for group in self.optimizer.param_groups]

    # ------------------------------------------------------------------ events

    def optimizer_step(self) -> None:
        """One optimizer step has run (with the current lrs): count it and set the lrs of the next one."""
        track(self.path, float(self.optimizer.param_groups[0]["lr"]), self.steps)
        self._step()
        if self.steps > self.planned_steps and self._ends():
            self.warn_once(
                "plan-end",
                f"{self.name} has run past the end of its plan: it was planned for {self.planned_steps:g} optimizer"
                f" steps and this is step {self.steps}. The learning rate holds at its final value"
                f" {self.optimizer.param_groups[0]['lr']:.3g} from here instead of extending the schedule's"
                " formula. A run outgrows its plan when it is resumed with a larger `max_epochs`/`max_steps`,"
                " when its epochs grow, or when an optimizer steps more than once per batch; to schedule the"
                " whole run, start a fit without `ckpt_path` or give the lengths explicitly.",
            )

    def epoch_end(self) -> None:
        """A training epoch has ended (after its last batch, before its end-of-epoch validation)."""
        self.epochs += 1
        # an epoch counts for the schedule when at least one of its steps came after the warmup
        if self.interval == "epoch" and self.steps > max(self.warmup.steps, self.epoch_start_steps):
            self._advance()
        self.epoch_start_steps = self.steps

    def validation(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        """Monitored values have arrived (a validation run, or a training epoch for training metrics).

        Returns:
            The lr reductions this caused (plateau schedules), each as a dict for reporting.
        """
        return []

    def monitors(self) -> dict[str, bool]:
        """The metrics this timeline listens to now, each with whether a missing value is an error."""
        return {}

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint state: the clock, the resolved plan, the lrs, the path and the scheduler's own state."""
        return {
            "version": STATE_VERSION,
            "type": self.name,
            "interval": self.interval,
            "steps": self.steps,
            "epochs": self.epochs,
            "epoch_start_steps": self.epoch_start_steps,
            "warmup_steps": self.warmup.steps,
            "total_steps": self.planned_steps if math.isfinite(self.planned_steps) else -1,
            "resolved": copy.deepcopy(self.resolved),
            "lrs": self.lrs,
            "path": copy.deepcopy(self.path),
            "scheduler": self._scheduler_state(),
            "arguments": self._arguments(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a checkpoint's state: its plan, its clock and its lrs.

        Raises:
            ValueError: when the checkpoint stepped per another interval.
        """
        if state["interval"] != self.interval:
            raise ValueError(
                f"The checkpoint's `{self.name}` stepped per {state['interval']}, but this callback steps per"
                f" {self.interval}. Resume with `interval={state['interval']!r}`."
            )
        if state["resolved"] != self.resolved:
            self.warn(
                f"`{self.name}` resumes with the lengths of the checkpoint {state['resolved']}, not those this"
                f" Trainer implies {self.resolved}: the schedule continues exactly as it was planned. Start a new"
                " fit (without `ckpt_path`) to plan a new schedule."
            )
        self._warn_changed_arguments(state)
        self.resolved = copy.deepcopy(dict(state["resolved"]))
        self.steps = int(state["steps"])
        self.epochs = int(state["epochs"])
        self.epoch_start_steps = int(state.get("epoch_start_steps", self.steps))
        saved = state.get("arguments") or {}
        start = float(saved.get("warmup_start_factor", self.warmup.start_factor))
        self.warmup = Warmup(int(state.get("warmup_steps", self.warmup.steps)), start)
        planned = state.get("total_steps")  # absent before 0.2: the plan is then this run's
        if isinstance(planned, (int, float)) and planned >= 0:
            self.planned_steps = planned
        self.path = copy.deepcopy(dict(state.get("path") or {}))
        self._load_scheduler_state(state["scheduler"])
        lrs = state.get("lrs") or self.scheduler.get_last_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr

    def _arguments(self) -> dict[str, Any]:
        """The schedule's plain arguments (numbers, strings, flags; not lengths), to tell a changed one on resume."""
        schedule = self.schedule
        plain = {
            key: value
            for key, value in schedule._kwargs.items()
            if key not in schedule._lengths and (value is None or isinstance(value, (bool, int, float, str)))
        }
        plain["warmup"] = schedule._warmup.text if schedule._warmup is not None else None
        plain["warmup_start_factor"] = schedule._warmup_start_factor
        return plain

    def _warn_changed_arguments(self, state: Mapping[str, Any]) -> None:
        """One warning naming each argument that differs from the checkpoint's: the checkpoint's applies."""
        saved = state.get("arguments")  # absent before 0.2: only the warmup length can be compared then
        now = self._arguments()
        saved = saved if isinstance(saved, Mapping) else {}
        changed = {key: (saved[key], now[key]) for key in now if key in saved and saved[key] != now[key]}
        old_warmup = state.get("warmup_steps")
        if isinstance(old_warmup, int) and old_warmup != self.warmup.steps and "warmup" not in changed:
            changed["warmup"] = (f"{old_warmup} steps", f"{self.warmup.steps} steps")
        if not changed:
            return
        listed = "; ".join(f"`{key}` was {old!r} and is now {new!r}" for key, (old, new) in changed.items())
        self.warn(
            f"`{self.name}` resumes with arguments that differ from the checkpoint's: {listed}. The checkpoint's"
            " apply, so the schedule continues exactly as it was planned. To use the new ones, start a fit without"
            " `ckpt_path` (load the weights with `YourModule.load_from_checkpoint(path)`)."
        )

    # ------------------------------------------------------------------ reporting helpers

    def shortfall(self) -> tuple[int, int] | None:
        """(steps taken, steps planned) when this fit took noticeably fewer optimizer steps than planned."""
        planned = self.planned_steps
        if not self.schedule._scaled_to_run() or not math.isfinite(planned) or self.steps >= SHORT_RUN * planned:
            return None
        return self.steps, int(planned)

    def warn_once(self, key: str, message: str) -> None:
        """Warn with ``message`` the first time ``key`` comes up in this run."""
        if key not in self.warned:
            self.warned.add(key)
            self.warn(message)

    # ------------------------------------------------------------------ for subclasses (plateau, composites)

    def _build(self) -> LRScheduler:
        return self.schedule._build_scheduler(self.optimizer, self.resolved)

    def _ends(self) -> bool:
        return self.schedule._ends

    def _step(self) -> None:
        """Count one optimizer step: the warmup sets the lr, or a per-step schedule advances."""
        self.steps += 1
        if self.warmup.covers(self.steps):
            self._sync_warmup_lr()
        elif self.interval == "step":
            self._advance()

    def _advance(self) -> None:
        if self.steps > self.planned_steps and self._ends():
            return  # past the plan: hold the final value (warned in `optimizer_step`)
        self.schedule._step_scheduler(self.scheduler, self)

    def _sync_warmup_lr(self) -> None:
        """During the warmup, set each group's lr to the warmup fraction of the schedule's first value."""
        if not self.warmup.covers(self.steps):
            return
        factor = self.warmup.factor(self.steps)
        for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr(), strict=True):
            group["lr"] = lr * factor

    def _scheduler_state(self) -> dict[str, Any]:
        return copy.deepcopy(self.scheduler.state_dict())

    def _load_scheduler_state(self, state: Mapping[str, Any]) -> None:
        self.scheduler.load_state_dict(copy.deepcopy(dict(state)))


def track(path: dict[str, Any], lr: float, step: int) -> None:
    """Add the lr of optimizer step ``step`` to ``path``: first, peak (and its step), lowest, last, changes."""
    if not path:
        path.update(first=lr, peak=lr, peak_step=step, lowest=lr, last=lr, changes=0, change_steps=[])
        return
    if lr > path["peak"]:
        path["peak"], path["peak_step"] = lr, step
    path["lowest"] = min(path["lowest"], lr)
    if lr != path["last"]:
        path["changes"] += 1
        if len(path["change_steps"]) < FEW_CHANGES:
            path["change_steps"].append(step)
    path["last"] = lr
