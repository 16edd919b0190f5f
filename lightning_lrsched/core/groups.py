"""Param groups that join a running schedule (a backbone unfrozen mid-training, ``optimizer.add_param_group``).

A torch scheduler keeps some values per param group: in lists on the scheduler (``base_lrs``, CyclicLR's
``max_lrs``, LambdaLR's ``lr_lambdas``, ReduceLROnPlateau's ``min_lrs``) and in the group itself (``initial_lr``,
OneCycleLR's ``max_lr``/``min_lr``, momentum bounds). A new group gets the first group's values, learning rates
scaled by the new group's lr over the first group's configured lr, so it follows the same multiplier
(``Timeline.join_new_groups``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

LR_LISTS = ("base_lrs", "max_lrs", "min_lrs", "_last_lr")
"""Scheduler lists of learning rates: the new group's entry is the first group's, scaled."""
OTHER_LISTS = ("lr_lambdas", "base_momentums", "max_momentums")
"""Scheduler lists of other per-group values: the new group's entry is the first group's."""
LR_KEYS = ("initial_lr", "max_lr", "min_lr", "swa_lr")
"""Group keys that hold learning rates (scaled for a new group); ``lr`` itself is set by the timeline."""
OTHER_KEYS = ("base_momentum", "max_momentum")
"""Group keys of schedule bounds that are not learning rates (copied)."""


def join(scheduler: Any, first: dict[str, Any], new: dict[str, Any], scale: float) -> None:
    """Extend ``scheduler``'s per-group values by one entry for the param group ``new``.

    Example::

        >>> import torch
        >>> weights = torch.zeros(1, requires_grad=True)
        >>> optimizer = torch.optim.SGD([weights], lr=1.0)
        >>> scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
        >>> optimizer.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1})
        >>> join(scheduler, optimizer.param_groups[0], optimizer.param_groups[1], 0.1)
        >>> scheduler.base_lrs
        [1.0, 0.1]
    """
    for name in LR_LISTS + OTHER_LISTS:
        values = getattr(scheduler, name, None)
        if isinstance(values, list) and values:
            values.append(values[0] * scale if name in LR_LISTS else values[0])
    for key in LR_KEYS:
        if key in first and key not in new:
            new[key] = first[key] * scale
    for key in OTHER_KEYS:
        if key in first and key not in new:
            new[key] = first[key]


def join_new(
    optimizer: Optimizer, plan: Optimizer, configured: list[float], schedulers: list[LRScheduler], name: str
) -> int:
    """The param groups ``optimizer`` gained since ``plan`` (its stand-in) was made join the plan.

    A new group joins with its own lr as its configured lr (appended to ``configured``) and the multiplier the
    first group's plan has now; values each scheduler keeps per group are the first group's, scaled by the new
    group's lr over the first group's configured lr.

    Returns:
        How many groups joined.

    Raises:
        ValueError: when param groups were removed (``name``, the schedule's, is in the message).
    """
    groups, known = optimizer.param_groups, len(configured)
    if len(groups) < known:
        raise ValueError(
            f"`{name}` scheduled {known} param groups of {type(optimizer).__name__}, which now has {len(groups)}."
            " Param groups may be added during training, not removed."
        )
    first = plan.param_groups[0]
    for group in groups[known:]:
        scale = float(group["lr"]) / configured[0] if configured[0] else 1.0
        configured.append(float(group["lr"]))
        planned = plan_group(group)
        plan.param_groups.append(planned)
        for scheduler in schedulers:
            join(scheduler, first, planned, scale)
        planned["lr"] = float(first["lr"]) * scale
    return len(groups) - known


def plan_group(group: Mapping[str, Any], *, params: bool = True) -> dict[str, Any]:
    """A param group's values without its parameters.

    With ``params``, a group of a plan's stand-in optimizer (an empty parameter list, as a group needs); without,
    its checkpoint state.
    """
    values = {key: copy.copy(value) for key, value in group.items() if key != "params"}
    return values | {"params": []} if params else values
