"""SequentialLR and ChainedScheduler over this package's callbacks (a plateau phase included)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from typing_extensions import override

from lightning_lrsched.callback import LRSchedulerCallback
from lightning_lrsched.duration import DurationLike, TrainingLength


def _no_factory(optimizer: Optimizer) -> LRScheduler:  # pragma: no cover - composites build their children
    raise NotImplementedError


def _check_children(owner: str, schedulers: Any) -> list[LRSchedulerCallback]:
    if isinstance(schedulers, (LRSchedulerCallback, str)) or not isinstance(schedulers, Sequence) or not schedulers:
        raise ValueError(
            f"Expected argument `schedulers` of `{owner}` to be a non-empty list of lightning_lrsched callbacks,"
            f" but got {schedulers!r}. Example: `schedulers=[LinearLR(0.1, 1.0, '1ep'), CosineAnnealingLR()]`."
        )
    for i, child in enumerate(schedulers):
        if not isinstance(child, LRSchedulerCallback):
            raise TypeError(
                f"Expected `schedulers[{i}]` of `{owner}` to be a lightning_lrsched callback such as `StepLR(...)`,"
                f" but got {child!r}. Wrap other schedulers with `LRSchedulerCallback(YourScheduler, ...)`."
            )
        if child._optimizer_ref != 0 or child._name is not None:
            raise ValueError(
                f"`schedulers[{i}]` of `{owner}` sets `optimizer` or `name`; set them on the `{owner}` itself, which"
                " decides the optimizer and the logged tags for all of its schedules."
            )
    if len({id(child) for child in schedulers}) != len(schedulers):
        raise ValueError(f"`schedulers` of `{owner}` lists the same callback object twice; create one per phase.")
    return list(schedulers)


class _Composite(LRSchedulerCallback):
    """Shared plumbing: forward Lightning's hooks to the children that are running."""

    def __init__(self, schedulers: Sequence[LRSchedulerCallback], **kwargs: Any) -> None:
        self._children = _check_children(type(self).__name__, schedulers)
        super().__init__(_no_factory, **kwargs)
        self._cycles_momentum = any(child._cycles_momentum for child in self._children)

    def _running(self) -> list[LRSchedulerCallback]:
        raise NotImplementedError

    _step_by_default = True  # the composite counts optimizer steps; each child keeps its own interval

    @override
    def _after_optimizer_step(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        super()._after_optimizer_step(optimizer, args, kwargs)
        if self._steps > self._warmup_steps:
            for child in self._running():
                child._after_optimizer_step(optimizer, args, kwargs)

    @override
    def _step_scheduler(self) -> None:
        """Children step themselves, on the events forwarded to them."""

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        for child in self._running():
            child.on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    @override
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for child in self._running():
            child.on_validation_start(trainer, pl_module)

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._steps >= self._warmup_steps:
            for child in self._running():
                child.on_validation_end(trainer, pl_module)

    @override
    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for child in self._running():
            child.on_train_epoch_start(trainer, pl_module)

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._steps >= self._warmup_steps:
            for child in self._running():
                child.on_train_epoch_end(trainer, pl_module)

    @override
    def _release(self) -> None:
        super()._release()
        for child in self._children:
            child._release()

    def _start_child(self, child: LRSchedulerCallback, length: TrainingLength, state: dict[str, Any] | None) -> None:
        assert self._trainer is not None
        assert self._optimizer is not None
        child._scheduler = None  # a fresh start: saved state, if any, is applied by `_start`
        child._pending_state = None
        if state:
            child.load_state_dict(state)
        child._start(self._trainer, self._optimizer, length)


class SequentialLR(_Composite):
    """Run schedules one after the other, switching at ``milestones`` (durations; ints count optimizer steps).

    Each schedule starts at its own step 0 from the optimizer's initial learning rates, as with torch's
    ``SequentialLR``; its lengths (``"10%"``, omitted whole-training lengths) are relative to its own phase. Unlike
    torch's, a ``ReduceLROnPlateau`` phase is allowed.

    Example::

        >>> from lightning_lrsched import CosineAnnealingLR, LinearLR, ReduceLROnPlateau
        >>> callback = SequentialLR(
        ...     [LinearLR(0.01, 1.0, total_iters="100%", interval="step"), CosineAnnealingLR(), ReduceLROnPlateau()],
        ...     milestones=["5%", "80%"],
        ... )
    """

    def __init__(
        self, schedulers: Sequence[LRSchedulerCallback], milestones: Sequence[DurationLike], **kwargs: Any
    ) -> None:
        if isinstance(milestones, (str, int)) or not isinstance(milestones, Sequence):
            raise ValueError(f"Expected argument `milestones` to be a list of lengths, but got {milestones!r}.")
        count = len(_check_children("SequentialLR", schedulers))
        if len(milestones) != count - 1:
            raise ValueError(
                f"`SequentialLR` needs one `milestones` entry fewer than `schedulers`: got {count} schedules and"
                f" milestones {list(milestones)!r}. Give {max(count - 1, 0)} milestone(s), each where the next"
                " schedule starts."
            )
        super().__init__(
            schedulers, milestones=list(milestones), lengths=("milestones",) if milestones else (), **kwargs
        )
        self._phase = 0

    @override
    def _running(self) -> list[LRSchedulerCallback]:
        return [self._children[self._phase]] if self._scheduler is not None else []

    @override
    def _resolve_lengths(self, length: TrainingLength) -> dict[str, Any]:
        resolved = super()._resolve_lengths(length)
        points = [self._warmup_steps, *resolved.get("milestones", [])]
        if any(b <= a for a, b in itertools.pairwise(points)) or points[-1] >= length.total("step", name="milestones"):
            raise ValueError(
                f"Expected `milestones` {self._kwargs['milestones']!r} to resolve to increasing optimizer steps after"
                f" the warmup and before the end of training ({length.total_steps:g} steps), but got {points[1:]}."
            )
        return resolved

    def _phase_length(self, phase: int) -> TrainingLength:
        assert self._length is not None
        bounds = [self._warmup_steps, *self._resolved.get("milestones", []), self._length.total_steps]
        return TrainingLength(bounds[phase + 1] - bounds[phase], self._length.steps_per_epoch)

    @override
    def _build_scheduler(self, optimizer: Optimizer) -> LRScheduler:
        return self._enter_phase(0, None)

    def _enter_phase(self, phase: int, state: dict[str, Any] | None) -> LRScheduler:
        assert self._optimizer is not None
        self._phase = phase
        for group in self._optimizer.param_groups:  # each phase starts from the initial rates, as in torch
            group["lr"] = group.get("initial_lr", group["lr"])
        child = self._children[phase]
        self._start_child(child, self._phase_length(phase), state)
        assert child._scheduler is not None
        self._scheduler = child._scheduler
        return child._scheduler

    @override
    def _after_optimizer_step(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        milestones = self._resolved.get("milestones", [])
        if self._phase < len(milestones) and self._steps + 1 >= milestones[self._phase]:
            self._steps += 1
            self._children[self._phase]._release()
            self._enter_phase(self._phase + 1, None)
            return
        super()._after_optimizer_step(optimizer, args, kwargs)

    @override
    def _scheduler_state(self) -> dict[str, Any]:
        return {"phase": self._phase, "child": self._children[self._phase].state_dict()}

    @override
    def _load_scheduler_state(self, state: dict[str, Any]) -> None:
        self._children[self._phase]._release()
        self._enter_phase(int(state["phase"]), copy.deepcopy(state["child"]))


class ChainedScheduler(_Composite):
    """Run several schedules at once on one optimizer; their factors multiply, as with torch's ChainedScheduler.

    Each schedule keeps its own interval, so a per-step cycle can ride on a per-epoch decay. The schedules must
    be of the chainable kind (they scale the current rate: ``ConstantLR``, ``LinearLR``, ``ExponentialLR``,
    ``StepLR``, ``MultiStepLR``, ``MultiplicativeLR``, ``ReduceLROnPlateau``, ...).

    Example::

        >>> from lightning_lrsched import ConstantLR, ExponentialLR
        >>> callback = ChainedScheduler([ConstantLR(0.1, total_iters=2), ExponentialLR(0.9)])
    """

    def __init__(self, schedulers: Sequence[LRSchedulerCallback], **kwargs: Any) -> None:
        super().__init__(schedulers, lengths=(), **kwargs)

    @override
    def _running(self) -> list[LRSchedulerCallback]:
        return self._children if self._scheduler is not None else []

    @override
    def _build_scheduler(self, optimizer: Optimizer) -> LRScheduler:
        return self._start_all(None)

    def _start_all(self, states: list[dict[str, Any]] | None) -> LRScheduler:
        assert self._length is not None
        remaining = TrainingLength(self._length.total_steps - self._warmup_steps, self._length.steps_per_epoch)
        for i, child in enumerate(self._children):
            self._start_child(child, remaining, states[i] if states else None)
        last = self._children[-1]._scheduler
        assert last is not None
        self._scheduler = last
        return last

    @override
    def _scheduler_state(self) -> dict[str, Any]:
        return {"children": [child.state_dict() for child in self._children]}

    @override
    def _load_scheduler_state(self, state: dict[str, Any]) -> None:
        for child in self._children:
            child._release()
        self._start_all(copy.deepcopy(state["children"]))
