"""Rewind after a divergence: go back to a good state, lower the whole schedule, optionally skip data, go on.

:class:`Rewind` is the configuration (``LRDiagnostics(on_divergence=Rewind(...))``); :class:`Rewinder` does the
work during a fit for :class:`~lightning_lrsched.LRDiagnostics`: it keeps the good state (in memory, or it finds
the newest healthy checkpoint on disk), restores model, optimizers, schedules and the divergence detector's window,
scales every schedule of this package through its timeline (``Timeline.rewind``), skips batches, and keeps the
record of every rewind for the reports and the checkpoint.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

import lightning_lrsched.diagnostics.findings as findings
from lightning_lrsched import _checks, privates
from lightning_lrsched.diagnostics.findings import Finding, Window, fmt
from lightning_lrsched.lightning.callback import LRSchedulerCallback
from lightning_lrsched.lightning.run_changes import epochs_left
from lightning_lrsched.namespaces import classes

Keep = Literal["memory", "checkpoint"]


@dataclass(frozen=True)
class Rewind:
    """What :class:`~lightning_lrsched.LRDiagnostics` does on a divergence: rewind, lower the lr, go on.

    On a divergence (a NaN/inf loss, a loss 100x its first value, a spike far outside the recent spread) the
    model, the optimizers and every schedule callback of this package go back to the last good state; the whole
    remaining plan of each schedule (warmup, peak, decay, floor) then runs at ``factor`` times its values, the
    next ``skip_batches`` batches are skipped, and training goes on. Lightning's global step keeps counting, so
    the logged curves show the rewind where it happened.

    Args:
        factor: each rewind multiplies the learning rates of the rest of the run by this, in (0, 1).
        every: the good state: ``keep="memory"`` copies model, optimizer and schedule state to CPU memory every
            ``every`` optimizer steps and trusts a copy once ``every`` more steps passed without a divergence,
            so a rewind goes back between ``every`` and ``2 * every`` steps (a copy is also taken when training
            starts). ``keep="checkpoint"`` rewinds to the newest checkpoint of a ``ModelCheckpoint`` written at
            least ``every`` steps before the divergence while the loss was healthy.
        skip_batches: after a rewind, this many training batches are skipped (no forward pass, no optimizer
            step; the schedules do not advance), to step over data around the spike.
        max_rewinds: after this many rewinds in one fit, the next divergence stops training, as
            ``on_divergence="stop"`` does.
        keep: ``"memory"``: up to two copies of the model's state and the optimizers' state in CPU memory
            (with Adam, about 3x the model's size each); ``"checkpoint"``: nothing extra in memory.

    Example::

        >>> from lightning_lrsched import LRDiagnostics, OneCycleLR, Rewind
        >>> diagnostics = LRDiagnostics(on_divergence=Rewind(factor=0.3, every=100, skip_batches=20))
        >>> callbacks = [OneCycleLR(max_lr=3e-3), diagnostics]  # L.Trainer(callbacks=callbacks, ...)
        >>> diagnostics.rewinds  # after fit: one dict per rewind (step, state step, lrs before and after, ...)
        []
    """

    factor: float = 0.5
    every: int = 50
    skip_batches: int = 0
    max_rewinds: int = 3
    keep: Keep = "memory"

    def __post_init__(self) -> None:
        _checks.in_range("factor", self.factor, 0, 1, closed_low=False, closed_high=False)
        _checks.integer("every", self.every, 1)
        _checks.integer("skip_batches", self.skip_batches, 0)
        _checks.integer("max_rewinds", self.max_rewinds, 1)
        if self.keep not in ("memory", "checkpoint"):
            raise ValueError(
                f"Expected argument `keep` of `Rewind` to be 'memory' or 'checkpoint', but got {self.keep!r}."
            )


@dataclass
class _State:
    """A good state of the fit: where it was, and what to restore."""

    step: int
    model: dict[str, Any]
    optimizers: list[dict[str, Any]]
    schedules: dict[str, tuple[dict[str, Any], Any]]  # state key -> (timeline state, run length)
    window: Window | None


class Rewinder:
    """Keeps the good state during a fit and rewinds to it (used by ``LRDiagnostics``)."""

    def __init__(self, config: Rewind, key: str) -> None:
        self.config = config
        self.key = key  # LRDiagnostics' state key: where a checkpoint says whether it was written healthy
        self.rewinds: list[dict[str, Any]] = []
        self.good: _State | None = None
        self.pending: _State | None = None
        self.skip_left = 0
        self._restore_training: Callable[[], None] | None = None
        self.seen: dict[str, int] = {}  # checkpoint path -> the global step it was first seen at (keep="checkpoint")

    # ------------------------------------------------------------------ the fit

    def check_fit(self, trainer: pl.Trainer) -> None:
        """A clear error at fit start for what a rewind cannot do."""
        configs = trainer.lr_scheduler_configs
        if configs:
            kinds = ", ".join(type(config.scheduler).__name__ for config in configs)
            raise ValueError(
                f"`LRDiagnostics(on_divergence='rewind')` lowers the learning rate through the schedule callbacks"
                f" of lightning_lrsched, but `configure_optimizers` returns its own scheduler ({kinds}), which would"
                " overwrite the lowered rates. Schedule with a callback of this package instead (e.g."
                " `OneCycleLR(...)` in `callbacks`), or use `on_divergence='stop'`."
            )
        if self.config.keep == "checkpoint" and not _checkpoint_callbacks(trainer):
            raise ValueError(
                "`Rewind(keep='checkpoint')` rewinds to the newest healthy checkpoint of a `ModelCheckpoint`, but"
                " this Trainer has none. Add `ModelCheckpoint(every_n_train_steps=...)` to `callbacks`, or use"
                " `Rewind(keep='memory')`."
            )

    def start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, window: Window) -> None:
        """Training starts: its first state is good (memory)."""
        self.good = self.pending = None
        self.seen = {}
        if self.config.keep == "memory":
            self.good = _take(trainer, pl_module, window)
        elif trainer.ckpt_path:  # a resumed fit: the checkpoint it resumed from is the first candidate
            self.seen[str(trainer.ckpt_path)] = trainer.global_step
        if self.skip_left:  # resumed from a checkpoint written while skipping: skip the rest
            self._patch(trainer, pl_module)

    def note_checkpoints(self, trainer: pl.Trainer) -> None:
        """Remember where the fit's ModelCheckpoints have saved, and at which step (they save after this hook)."""
        for callback in _checkpoint_callbacks(trainer):
            for path in (callback.best_model_path, callback.last_model_path, *callback.best_k_models):
                if path and path not in self.seen:
                    self.seen[path] = trainer.global_step

    def healthy_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, window: Window) -> None:
        """A training batch ended without a divergence: at the cadence, trust the last copy and take a new one."""
        step = trainer.global_step
        if self.config.keep != "memory" or step % self.config.every or (self.pending and self.pending.step == step):
            return
        if self.pending is not None:
            self.good = self.pending
        self.pending = _take(trainer, pl_module, window)

    def answer(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        what: str,
        loss: Any,
        lr: float | None,
        *,
        window: Window,
        spike_factor: float,
    ) -> tuple[Finding, Window]:
        """Answer a divergence: rewind to the good state, or stop when none is left (the bound, or none kept yet).

        Args:
            trainer: the fitting Trainer.
            pl_module: its module.
            what: what diverged, in words.
            loss: the step's training loss.
            lr: the step's lr (None: unknown).
            window: the divergence detector's window now.
            spike_factor: ``LRDiagnostics``' spike threshold, for the finding that stops the fit.

        Returns:
            The finding to report (the rewind, or the divergence that stops the fit) and the divergence detector's
            window to continue with.
        """
        done = self.rewind(trainer, pl_module, what, loss, lr)
        if done is not None:
            event, kept = done
            details = {key: value for key, value in event.items() if key != "message"}
            return Finding("rewind", event["message"], details), kept if kept is not None else Window(window.size)
        trainer.should_stop = True
        bound = self.config.max_rewinds
        why = (
            f"after {len(self.rewinds)} rewinds (`max_rewinds={bound}`)"
            if len(self.rewinds) >= bound
            else "no good state to rewind to: none kept yet, or param groups joined since"
        )
        stop = findings.divergence(window, trainer.global_step, loss, lr, spike_factor, why)
        return stop or Finding("divergence", f"Divergence at step {trainer.global_step}: {what}."), window

    def rewind(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, what: str, loss: float, lr: float | None
    ) -> tuple[dict[str, Any], Window | None] | None:
        """Go back to the good state with lower learning rates; None when the bound is reached or none is kept.

        Returns:
            The report of the rewind and the divergence detector's window to continue with.
        """
        if len(self.rewinds) >= self.config.max_rewinds:
            return None
        step = trainer.global_step
        latest = step - self.config.every
        if self.config.keep == "memory":
            state = self.good
        else:
            self.note_checkpoints(trainer)
            state = _newest_checkpoint(trainer, latest, self.key, self.seen)
        if state is None or not _fits(trainer, state):
            return None
        for optimizer in trainer.optimizers:
            optimizer.zero_grad(set_to_none=True)  # no gradient of the diverged batch survives (accumulation)
        swa = _restore(trainer, pl_module, state, self.config.factor, self.config.skip_batches)
        self.pending = None
        event: dict[str, Any] = {
            "number": len(self.rewinds) + 1,
            "step": step,
            "epoch": trainer.current_epoch,
            "to_step": state.step,
            "steps_undone": step - state.step,
            "loss": loss,
            "lr_before": lr,
            "lr_after": float(trainer.optimizers[0].param_groups[0]["lr"]) if trainer.optimizers else None,
            "factor": self.config.factor,
            "scale": self.scale * self.config.factor,
            "skipped_batches": self.config.skip_batches,
        }
        event["message"] = _message(event, what, self.config.max_rewinds, scheduled=bool(state.schedules)) + (
            f" {', '.join(swa)} now set by StochasticWeightAveraging: not lowered." if swa else ""
        )
        self.rewinds.append(event)
        if self.config.skip_batches:
            self.skip_left = self.config.skip_batches
            self._patch(trainer, pl_module)
        return event, copy.deepcopy(state.window)

    # ------------------------------------------------------------------ skipping batches

    def skipped_one(self) -> None:
        """A skipped batch ended; after the last one, training steps again."""
        self.skip_left -= 1
        if self.skip_left <= 0:
            self.unpatch()

    def _patch(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The next training steps learn nothing (no public hook skips one batch: see ``privates``)."""
        if self._restore_training is None:
            self._restore_training = privates.skip_training_steps(trainer, pl_module)

    def unpatch(self) -> None:
        """Back to training (also at the end of a fit that stopped while skipping)."""
        if self._restore_training is None:
            return
        self._restore_training()
        self._restore_training = None
        self.skip_left = 0

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The rewinds so far and the batches left to skip (the good state is not saved)."""
        return {"rewinds": copy.deepcopy(self.rewinds), "skip_left": self.skip_left}

    @property
    def scale(self) -> float:
        """What the rewinds so far multiplied every learning rate by (each rewind records it)."""
        return float(self.rewinds[-1]["scale"]) if self.rewinds else 1.0

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the record and the bound of a checkpoint's fit."""
        self.rewinds = copy.deepcopy(list(state.get("rewinds") or []))
        self.skip_left = int(state.get("skip_left", 0))


def _message(event: dict[str, Any], what: str, bound: int, *, scheduled: bool) -> str:
    batches = event["skipped_batches"]
    if batches == 1:
        skipped = " The next batch is skipped."
    else:
        skipped = f" The next {batches} batches are skipped." if batches else ""
    undone = f"{event['steps_undone']} optimizer step{'s' if event['steps_undone'] != 1 else ''} undone"
    factor = f"{event['factor']:g}x"
    lowered = f"the rest of the schedule runs at {factor} its plan" if scheduled else f"the lrs are lowered to {factor}"
    return (
        f"Rewind {event['number']} of at most {bound} at step {event['step']}: {what}, at lr"
        f" {fmt(event['lr_before'])}. Back to the state of step {event['to_step']} ({undone});"
        f" {lowered} ({event['scale']:.3g}x in all), so the lr goes on from {fmt(event['lr_after'])}.{skipped}"
    )


def _take(trainer: pl.Trainer, pl_module: pl.LightningModule, window: Window) -> _State:
    """A copy of the fit's state in CPU memory."""
    schedules = {}
    for callback in _schedule_callbacks(trainer):
        timeline = callback.active_timeline
        if timeline is not None:
            schedules[callback.state_key] = (timeline.state_dict(), timeline.plan.length)
    return _State(
        step=trainer.global_step,
        model=_cpu_copy(pl_module.state_dict()),
        optimizers=[_cpu_copy(optimizer.state_dict()) for optimizer in trainer.optimizers],
        schedules=schedules,
        window=copy.deepcopy(window),
    )


def _restore(
    trainer: pl.Trainer, pl_module: pl.LightningModule, state: _State, factor: float, skipped: int
) -> list[str]:
    """Load ``state`` and lower the lrs; returns the schedules whose lr someone else sets (SWA).

    The restored epoch of each schedule ends with the run's: after this batch and the ``skipped`` ones, Lightning's
    epoch has ``left[0]`` optimizer steps. In manual optimization (a batch at a time) that is the batches left, for an
    optimizer that steps once a batch; one at another rate (a GAN's generator) takes them at that rate, as its plan
    counts its steps (an estimate: a fraction it overshoots holds at the epoch's end). Skipped batches past
    the epoch's end shorten the next epochs. At the epoch's last batch, a schedule called before this
    callback has already had its epoch end: the restored epoch ends here.
    """
    left = epochs_left(trainer, after=1 + skipped)
    pl_module.load_state_dict(state.model)
    handed_over = []
    scheduled = set()
    for optimizer, saved in zip(trainer.optimizers, state.optimizers, strict=True):
        # torch keeps the loaded state's tensors where they already sit on the right device: load a copy, so
        # that the optimizer's in-place updates never reach the good state (a later rewind may need it again)
        optimizer.load_state_dict(_cpu_copy(saved))
    for callback in _schedule_callbacks(trainer):
        timeline = callback.active_timeline
        if timeline is None or callback.state_key not in state.schedules:
            continue
        saved_timeline, length = state.schedules[callback.state_key]
        now = timeline.plan.length
        rate = timeline.plan.steps_per_batch  # (its steps left at its rate, as its plan counts them)
        timeline.rewind(saved_timeline, length if length is not None else now, factor, [n * rate for n in left])
        if length is not None and length != now:  # the run changed length since that state: what remains follows
            timeline.replan(now, "a rewind went back to before the run changed length", epochs_kept=True)
        if callback.epoch_ended:  # (its end of Lightning's epoch ran before this rewind: the restored epoch ends now)
            timeline.epoch_end()
        scheduled.add(id(timeline.optimizer))
        if timeline.position.handed_over is not None:
            handed_over.append(f"The lrs of `{timeline.name}` are")
    for optimizer in trainer.optimizers:  # an optimizer without a schedule of this package: its lrs directly
        if id(optimizer) not in scheduled:
            for group in optimizer.param_groups:
                group["lr"] = float(group["lr"]) * factor
    return handed_over


def _fits(trainer: pl.Trainer, state: _State) -> bool:
    """Whether the optimizers still have the state's param groups (none joined since, e.g. by unfreezing)."""
    groups = [len(saved.get("param_groups", ())) for saved in state.optimizers]
    return groups == [len(optimizer.param_groups) for optimizer in trainer.optimizers]


def _newest_checkpoint(trainer: pl.Trainer, latest: int, key: str, seen: dict[str, int]) -> _State | None:
    """The newest checkpoint seen in this fit, written at or before step ``latest`` while the loss was healthy."""
    for path, step in sorted(seen.items(), key=lambda item: -item[1]):
        if step > latest:
            continue
        try:
            checkpoint = trainer.strategy.load_checkpoint(path)
        except (OSError, RuntimeError):
            continue  # removed by `save_top_k` since, or unreadable: not a candidate
        states = checkpoint.get("callbacks") or {}
        if not (states.get(key) or {}).get("healthy"):
            continue
        schedules = {
            c.state_key: (states[c.state_key], None) for c in _schedule_callbacks(trainer) if states.get(c.state_key)
        }
        window = Window.from_state(states[key]["window"]) if "window" in states[key] else None
        optimizers = list(checkpoint.get("optimizer_states") or [])
        return _State(int(checkpoint.get("global_step", step)), checkpoint["state_dict"], optimizers, schedules, window)
    return None


def _schedule_callbacks(trainer: pl.Trainer) -> list[LRSchedulerCallback]:
    return [c for c in trainer.callbacks if isinstance(c, LRSchedulerCallback)]  # type: ignore[attr-defined]


def _checkpoint_callbacks(trainer: pl.Trainer) -> list[ModelCheckpoint]:
    return [c for c in trainer.checkpoint_callbacks if isinstance(c, classes("callbacks", "ModelCheckpoint"))]


def _cpu_copy(value: Any) -> Any:
    """A deep copy with every tensor cloned to CPU memory (a state dict's tensors are the live ones)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _cpu_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(item) for item in value)
    return copy.deepcopy(value)
