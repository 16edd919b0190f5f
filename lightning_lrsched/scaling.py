"""PlanScale: run a whole schedule at a fraction of its planned learning rates.

A rewind after a divergence (``LRDiagnostics(on_divergence="rewind")``) lowers everything that remains of a
schedule by a factor: the warmup, the peak, the decay and its floor. The schedulers themselves keep computing the
plan; the optimizer's groups hold ``factor x plan`` between the timeline's events, and get their planned values
back during each event, so that schedulers which read the current lr (torch's chainable forms) continue the plan
exactly. Nothing here knows Lightning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch.optim import Optimizer


@dataclass
class PlanScale:
    """The factor between the learning rates an optimizer steps with and those its schedule plans.

    Args:
        factor: the optimizer steps with ``factor`` times the planned lrs (1: the plan itself).
        plan: the planned lr of each param group while ``factor`` is not 1.

    Example::

        >>> import torch
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.4)
        >>> scale = PlanScale()
        >>> scale.rescale(optimizer, 0.5)
        >>> optimizer.param_groups[0]["lr"]
        0.2
        >>> with scale.plan_view(optimizer):  # a schedule's event sees and sets the planned lr
        ...     optimizer.param_groups[0]["lr"] = optimizer.param_groups[0]["lr"] / 2
        >>> optimizer.param_groups[0]["lr"], scale.plan
        (0.1, [0.2])
    """

    factor: float = 1.0
    plan: list[float] = field(default_factory=list)

    @contextlib.contextmanager
    def plan_view(self, optimizer: Optimizer, *, active: bool = True) -> Iterator[None]:
        """Inside, the groups hold their planned lrs; on leaving, the new plan is read and scaled again."""
        if self.factor == 1.0 or not active:
            yield
            return
        groups = optimizer.param_groups
        for group, lr in zip(groups, self.plan, strict=False):  # (a group that joined since holds its own lr)
            group["lr"] = lr
        try:
            yield
        finally:
            self._apply(optimizer)

    def rescale(self, optimizer: Optimizer, factor: float) -> None:
        """From now on the optimizer steps with ``factor`` times the plan (the current lrs are the plan at 1)."""
        if self.factor == 1.0:
            self.plan = [float(group["lr"]) for group in optimizer.param_groups]
        self.factor = float(factor)
        for group, lr in zip(optimizer.param_groups, self.plan, strict=False):
            group["lr"] = lr * self.factor

    def _apply(self, optimizer: Optimizer) -> None:
        self.plan = [float(group["lr"]) for group in optimizer.param_groups]
        for group, lr in zip(optimizer.param_groups, self.plan, strict=True):
            group["lr"] = lr * self.factor

    def state(self) -> dict[str, Any]:
        """The checkpoint entries (``scale`` and the planned lrs)."""
        return {"scale": self.factor, "plan_lrs": list(self.plan)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PlanScale:
        """The scale a checkpoint's state holds (none before 0.4: the plan itself)."""
        return cls(float(state.get("scale", 1.0)), [float(lr) for lr in state.get("plan_lrs") or []])
