"""PlannedLrs: the planned values of an optimizer's param groups, kept apart from the optimizer, and the one write.

A schedule's torch scheduler is built on a stand-in of the optimizer (:func:`stand_in`: the same class and
defaults, copies of its param groups without parameters) and steps there: it reads and writes the planned lrs
there, and whatever else it keeps per group (``initial_lr``, 1cycle's bounds and momentum). After each event of
its timeline, :meth:`PlannedLrs.write` sets each real group's lr once: the planned lr times the warmup's factor
and the rewinds' scale. So a warmup, a rewind or a re-plan never leaves a value in the optimizer that the
scheduler would read back. No Lightning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lightning_lrsched import privates
from lightning_lrsched.core.groups import join_new, plan_group

CYCLED_KEYS = ("momentum", "betas")
"""Group keys a schedule that cycles momentum (1cycle, cyclic) sets besides the lr: written with it."""


class PlannedLrs:
    """The planned lrs of an optimizer's param groups, their configured values and scale, and writing them.

    Args:
        optimizer: the optimizer whose lrs are written.
        cycles_momentum: the schedule sets momentum (or beta1) too: it is written with the lr.
        phase: a composite schedule's phase: ``optimizer`` is the composite's stand-in, and the phase's scheduler
            works on it directly.

    Example::

        >>> import torch
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.4)
        >>> planned = PlannedLrs(optimizer)
        >>> planned.stand_in.param_groups[0]["lr"] = 0.2  # a scheduler sets the plan
        >>> planned.write(0.5)  # half of it (a warmup's factor)
        >>> optimizer.param_groups[0]["lr"], planned.stand_in.param_groups[0]["lr"]
        (0.1, 0.2)
    """

    def __init__(self, optimizer: Optimizer, *, cycles_momentum: bool = False, phase: bool = False) -> None:
        self.optimizer = optimizer
        self.phase = phase
        """A composite's phase: its scheduler sets the lrs of the composite's stand-in."""
        self.stand_in = optimizer if phase else stand_in(optimizer)
        """What the torch scheduler steps: its groups hold the planned values."""
        self.cycles_momentum = cycles_momentum
        self.configured = [float(group["lr"]) for group in optimizer.param_groups]
        """The groups' lrs as configured: the plan starts from them, groups that join scale by them."""
        self.scale = 1.0
        """The optimizer steps with ``scale`` times the plan (rewinds lower it)."""

    @property
    def written(self) -> list[float]:
        """The lr of every param group of the optimizer: what it steps with."""
        return [float(group["lr"]) for group in self.optimizer.param_groups]

    def real(self, lrs: Sequence[float]) -> list[float]:
        """Planned ``lrs`` as the optimizer gets them past the warmup: times the scale of rewinds."""
        return [lr * self.scale for lr in lrs]

    def write(self, factor: float) -> None:
        """Set each group's lr to the plan's times ``factor`` and the scale (momentum too, where it cycles)."""
        factor *= self.scale
        cycles = self.cycles_momentum
        for group, planned in zip(self.optimizer.param_groups, self.stand_in.param_groups, strict=False):
            group["lr"] = planned["lr"] * factor
            if cycles:
                for key in CYCLED_KEYS:
                    if key in planned and key in group:
                        group[key] = planned[key]

    def set(self, lrs: Sequence[float | Tensor], factor: float = 1.0) -> None:
        """Set the groups of the stand-in to ``lrs`` times ``factor`` (a phase's warmup, a state from before 0.5)."""
        for group, lr in zip(self.stand_in.param_groups, lrs, strict=False):
            group["lr"] = float(lr) * factor

    def hand_back(self) -> None:
        """Give the optimizer its configured lrs (another component sets them from now: SWA)."""
        for group, lr in zip(self.optimizer.param_groups, self.configured, strict=False):
            group["lr"] = lr

    def join_new(self, schedulers: list[LRScheduler], name: str) -> int:
        """Param groups added to the optimizer since the last call join the plan; returns how many."""
        if len(self.optimizer.param_groups) == len(self.configured):
            return 0
        return join_new(self.optimizer, self.stand_in, self.configured, schedulers, name)

    def state(self) -> dict[str, Any]:
        """The checkpoint entries: the planned values of every group, the configured lrs and the scale."""
        return {
            "plan": [plan_group(group, params=False) for group in self.stand_in.param_groups],
            "configured": list(self.configured),
            "scale": self.scale,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Continue from a checkpoint's entries.

        A checkpoint from before 0.5 has no plan: groups that joined come from the optimizer's own, and the lrs
        from the scheduler (:meth:`set`).
        """
        self.configured = [float(lr) for lr in state.get("configured") or self.configured]
        self.scale = float(state.get("scale", 1.0))
        saved = state.get("plan")
        if saved is not None:
            self.stand_in.param_groups[:] = [plan_group(group) for group in saved]
        elif not self.phase:
            known = len(self.stand_in.param_groups)
            self.stand_in.param_groups.extend(plan_group(group) for group in self.optimizer.param_groups[known:])


def stand_in(optimizer: Optimizer) -> Optimizer:
    """A stand-in of ``optimizer`` for its schedule: the same class and defaults, copies of its param groups.

    It holds no parameters and no state, and is never stepped.

    Example::

        >>> import torch
        >>> optimizer = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> copy = stand_in(optimizer)
        >>> type(copy).__name__, copy.param_groups[0]["lr"], copy.param_groups[0]["params"]
        ('AdamW', 0.1, [])
    """
    plan = Optimizer.__new__(type(optimizer))
    groups = [plan_group(group) for group in optimizer.param_groups]
    plan.__dict__.update(defaults=dict(optimizer.defaults), state={}, param_groups=groups)
    privates.mark_stepped(plan)
    return plan
