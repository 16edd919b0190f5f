"""Position: where a run is on its timeline, and the path its learning rate took to get there.

A :class:`~lightning_lrsched.core.timeline.Timeline` is a plan and a position. The position counts the optimizer
steps and epochs taken, the steps that rewinds took back, and keeps a short record of the lr path (first, peak,
lowest, last, the steps of the first changes) for summaries. Its part of a checkpoint is written and read here.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

FEW_CHANGES = 8
"""The lr path keeps the steps of this many first changes; summaries describe such schedules change by change."""


@dataclasses.dataclass
class Position:
    """Optimizer steps and epochs taken in a run, and the lr path they followed.

    Example::

        >>> position = Position()
        >>> for lr in (0.1, 0.1, 0.05):
        ...     position.record(lr)
        ...     position.steps += 1
        >>> position.steps, position.path["peak"], position.path["change_steps"]
        (3, 0.1, [2])
    """

    steps: int = 0
    """Optimizer steps taken (those that rewinds took back are not counted)."""
    epochs: int = 0
    """Training epochs ended."""
    epoch_start_steps: int = 0
    """The optimizer steps taken when the current epoch started."""
    undone: int = 0
    """Optimizer steps that rewinds took back."""
    path: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The lr of the first param group: ``first``, ``peak`` (and ``peak_step``), ``lowest``, ``last``, ``changes``
    and the ``change_steps`` of the first :data:`FEW_CHANGES` changes."""
    handed_over: dict[str, Any] | None = None
    """Who sets the lr instead of the schedule (SWA), and from which step and epoch; None while it sets it."""

    @property
    def epoch_steps(self) -> int:
        """Optimizer steps taken in the current epoch."""
        return self.steps - self.epoch_start_steps

    @property
    def taken(self) -> int:
        """Optimizer steps taken in all, those that rewinds took back included (it only grows during a fit)."""
        return self.steps + self.undone

    def record(self, lr: float) -> None:
        """Add ``lr``, the learning rate optimizer step ``steps`` used, to the path."""
        path = self.path
        if not path:
            path.update(first=lr, peak=lr, peak_step=self.steps, lowest=lr, last=lr, changes=0, change_steps=[])
            return
        if lr > path["peak"]:
            path["peak"], path["peak_step"] = lr, self.steps
        path["lowest"] = min(path["lowest"], lr)
        if lr != path["last"]:
            path["changes"] += 1
            if len(path["change_steps"]) < FEW_CHANGES:
                path["change_steps"].append(self.steps)
        path["last"] = lr

    def end_epoch(self) -> bool:
        """The current epoch ends, the next one starts here; returns whether the one that ended took a step."""
        took_one = self.epoch_steps > 0
        self.epochs += 1
        self.epoch_start_steps = self.steps
        return took_one

    def hand_over(self, to: str) -> None:
        """From here ``to`` sets the lr (SWA): recorded with the step and epoch where it took over."""
        self.handed_over = {"to": to, "step": self.steps, "epoch": self.epochs}

    def state(self) -> dict[str, Any]:
        """The position's part of a timeline's checkpoint state."""
        return {
            "steps": self.steps,
            "epochs": self.epochs,
            "epoch_start_steps": self.epoch_start_steps,
            "path": copy.deepcopy(self.path),
            "undone": self.undone,
            "handed_over": copy.deepcopy(self.handed_over),
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Go to the position of a checkpoint's ``state`` (written by :meth:`state`, or by an earlier version)."""
        self.steps = int(state["steps"])
        self.epochs = int(state["epochs"])
        self.epoch_start_steps = int(state.get("epoch_start_steps", self.steps))
        self.path = copy.deepcopy(dict(state.get("path") or {}))
        self.undone = int(state.get("undone", 0))
        self.handed_over = copy.deepcopy(state.get("handed_over"))
