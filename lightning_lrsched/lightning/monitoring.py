"""Monitored metrics for plateau schedules, read from a Trainer: the fresh-value rule and DDP agreement.

A value counts once, for the validation run (or training epoch) that logged it: a snapshot of
``trainer.callback_metrics`` is taken when the run starts, and a value that is the same object at its end was not
logged by it. Under DDP the value is averaged over ranks, so every rank takes the same decision.
"""

from __future__ import annotations

import difflib
from typing import Any

import lightning.pytorch as pl
import torch

from lightning_lrsched.core.plateau import per_dataloader
from lightning_lrsched.core.timeline import Timeline


class MonitorFeed:
    """Reads the values a timeline listens to (``Timeline.monitors()``) when a validation or training epoch ends.

    Example::

        >>> feed = MonitorFeed()
        >>> feed.snapshots
        {}
    """

    def __init__(self) -> None:
        self.snapshots: dict[str, Any] = {}
        self.from_training: set[str] = set()
        """Monitors found to be logged during training (not named ``train...``): read at training epoch ends."""
        self.from_validation: set[str] = set()
        """Monitors some validation run of this fit has logged."""

    def start(self, trainer: pl.Trainer, timeline: Timeline, *, training: bool) -> None:
        """A validation run (or a training epoch, for training metrics) starts: remember what is logged now."""
        for monitor in self._listening(timeline, training):
            self.snapshots[monitor] = current(trainer, monitor)

    def fresh_values(self, trainer: pl.Trainer, timeline: Timeline, *, training: bool) -> dict[str, float]:
        """The values this run logged for the monitors listening now (rank-averaged under DDP).

        Raises:
            RuntimeError: a strict monitor that was not logged at all, naming the closest logged key.
        """
        values: dict[str, float] = {}
        for monitor, strict in self._listening(timeline, training).items():
            value = current(trainer, monitor)
            if value is None:
                _missing(trainer, timeline, monitor, strict, training)
            elif value is not self.snapshots.get(monitor):  # never a stale value from an earlier run
                values[monitor] = _agreed(trainer, value)
                if not training:
                    self.from_validation.add(monitor)
            elif not training and monitor not in self.from_validation:  # there before validation, and not by it
                self._read_in_training(timeline, monitor)
        return values

    def _read_in_training(self, timeline: Timeline, monitor: str) -> None:
        """``monitor`` is logged during training only: from now on it is read at each training epoch end."""
        self.from_training.add(monitor)
        self.snapshots.pop(monitor, None)  # (this epoch's training logged it: its end reads a fresh value)
        timeline.warn.once(
            f"training-{monitor}",
            f"ReduceLROnPlateau(monitor={monitor!r}): `{monitor}` is logged during training, not by validation, so"
            " no validation run can step the schedule with it. It is read at the end of each training epoch"
            " instead, as a metric named 'train_...' is. To follow validation, log a validation metric (e.g."
            " `self.log('val_loss', loss)` in `validation_step`) and monitor that.",
        )

    def _listening(self, timeline: Timeline, training: bool) -> dict[str, bool]:
        return {
            m: strict
            for m, strict in timeline.monitors().items()
            if (m.lower().startswith("train") or m in self.from_training) == training
        }

    def feed(self, trainer: pl.Trainer, timeline: Timeline, *, training: bool) -> list[dict[str, Any]]:
        """Give the timeline the fresh values of this run; returns the lr reductions they caused."""
        values = self.fresh_values(trainer, timeline, training=training)
        if not values:
            return []
        return timeline.validation(values, step=trainer.global_step, epoch=trainer.current_epoch)


def current(trainer: pl.Trainer, monitor: str) -> Any:
    """The logged value of ``monitor`` (or ``<monitor>_epoch``), None when absent."""
    metrics = trainer.callback_metrics
    return metrics.get(monitor, metrics.get(f"{monitor}_epoch"))


def _agreed(trainer: pl.Trainer, value: Any) -> float:
    tensor = torch.as_tensor(value, dtype=torch.float64).detach().cpu()
    if trainer.world_size > 1:  # every rank takes the same decision
        tensor = trainer.strategy.reduce(tensor.to(trainer.strategy.root_device), reduce_op="mean").cpu()
    return float(tensor)


def _missing(trainer: pl.Trainer, timeline: Timeline, monitor: str, strict: bool, training: bool) -> None:
    logged = sorted(trainer.callback_metrics)
    per_loader = per_dataloader(monitor, logged)
    close = difflib.get_close_matches(monitor, logged, n=1)
    if per_loader:  # (several validation dataloaders: Lightning adds each one's index to the key)
        hint = f" With several dataloaders, Lightning logs it once for each: set `monitor` to one of {per_loader}."
    else:
        hint = f"{f' Did you mean {close[0]!r}?' if close else ''} Log it with `self.log({monitor!r}, value)` in"
        hint += " your LightningModule, or set `monitor` to one of those."
    message = (
        f"ReduceLROnPlateau(monitor={monitor!r}) found no such metric after"
        f" {'the training epoch' if training else 'validation'}; the logged metrics are {logged}.{hint}"
    )
    if strict:
        raise RuntimeError(message + " (Pass `strict=False` to continue without plateau steps.)")
    timeline.warn.once(f"missing-{monitor}", message)
