"""ReduceLROnPlateau: stepped once per completed validation run, with that run's fresh value of the metric."""

from __future__ import annotations

import copy
import difflib
import math
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch.optim import lr_scheduler as torch_schedulers
from typing_extensions import override

from lightning_lrsched import _checks
from lightning_lrsched.callback import LRSchedulerCallback
from lightning_lrsched.duration import Interval

_MIN_WORDS = ("loss", "error", "err", "mse", "mae", "rmse", "perplexity", "ppl", "nll", "wer", "cer")
_MAX_WORDS = ("acc", "accuracy", "f1", "precision", "recall", "auroc", "auc", "iou", "dice", "map", "bleu", "r2")


def infer_mode(monitor: str) -> Literal["min", "max"] | None:
    """The direction of improvement read from a metric name, or None when the name does not tell.

    Example::

        >>> infer_mode("val_loss"), infer_mode("val/f1_macro"), infer_mode("score")
        ('min', 'max', None)
    """
    words = [w for w in monitor.lower().replace("/", "_").replace("-", "_").replace(".", "_").split("_") if w]
    if any(w in _MIN_WORDS for w in words):
        return "min"
    if any(w in _MAX_WORDS for w in words):
        return "max"
    return None


class ReduceLROnPlateau(LRSchedulerCallback):
    """Reduce the learning rate when a validation metric stops improving, wired to the metric by itself.

    The schedule steps exactly once per completed validation run, mid-epoch runs (``val_check_interval < 1``)
    included, with the value that run logged: never during the sanity check, and never on a stale value from an
    earlier run (Lightning's own plateau wiring steps at every epoch end, on whatever value was logged last). A
    metric whose name starts with ``train`` is read at the end of each training epoch instead. Under DDP the
    value is averaged over ranks first, so every rank takes the same decision. Each reduction is logged as an
    event with the values that caused it.

    Args:
        monitor: the logged metric to watch; ``<monitor>_epoch`` is accepted when ``monitor`` itself is absent.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the name: loss/error/mse/mae/perplexity -> min;
            acc/f1/precision/recall/auroc/iou/dice/map -> max).
        factor: the lr is multiplied by this, in (0, 1).
        patience: validations without improvement before a reduction.
        threshold: the minimal change that counts as an improvement.
        threshold_mode: ``"rel"`` or ``"abs"``, as in torch.
        cooldown: validations to wait after a reduction before counting again.
        min_lr: a lower bound on the lr (one float, or one per param group).
        eps: reductions smaller than this are skipped, as in torch.
        strict: a monitor key that the first validation did not log is an error (True) or one warning (False).
        **kwargs: ``warmup``, ``warmup_start_factor``, ``optimizer``, ``log_lr`` and ``name`` as on every
            callback; validations inside the warmup are not counted.

    Example::

        >>> callback = ReduceLROnPlateau(monitor="val_acc", patience=3)  # mode "max" from the name
        >>> callback.mode
        'max'
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: Literal["min", "max", "auto"] = "auto",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"Expected argument `monitor` to be a logged metric name, but got {monitor!r}.")
        _checks.one_of("mode", mode, ("min", "max", "auto"))
        resolved = infer_mode(monitor) if mode == "auto" else mode
        if resolved is None:
            raise ValueError(
                f"Cannot tell from the name whether `monitor`={monitor!r} should go down or up. Pass `mode='min'`"
                " (losses, errors) or `mode='max'` (accuracy, F1, ...)."
            )
        _checks.in_range("factor", factor, 0, 1, closed_low=False, closed_high=False)
        _checks.integer("patience", patience, 0)
        _checks.integer("cooldown", cooldown, 0)
        _checks.non_negative("threshold", threshold)
        _checks.one_of("threshold_mode", threshold_mode, ("rel", "abs"))
        _checks.non_negative("min_lr", min_lr)
        _checks.non_negative("eps", eps)
        _checks.boolean("strict", strict)
        if kwargs.get("interval") is not None:
            raise ValueError(
                f"`ReduceLROnPlateau` steps once per validation run, so `interval`={kwargs['interval']!r} does not"
                " apply. Control how often validation runs with the Trainer's `val_check_interval` and"
                " `check_val_every_n_epoch`."
            )
        super().__init__(
            torch_schedulers.ReduceLROnPlateau,
            mode=resolved,
            factor=factor,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            cooldown=cooldown,
            min_lr=min_lr,
            eps=eps,
            interval=kwargs.pop("interval", None) or "epoch",
            lengths=(),
            **kwargs,
        )
        self.monitor = monitor
        self.mode: Literal["min", "max"] = resolved
        self._strict = strict
        self._key: str | None = None
        self._snapshot: Any = None
        self._warned: set[str] = set()
        self.history: list[tuple[int, float]] = []
        """(global step, value) of every validation the schedule counted."""
        self.reductions: list[dict[str, Any]] = []
        """One entry per reduction: step, epoch, old and new lrs, and the values since the best one."""

    @override
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.update(history=[], reductions=[], _snapshot=None, _warned=set())
        return state

    @property
    def _watches_training(self) -> bool:
        return self.monitor.lower().startswith("train")

    @override
    def _default_interval(self, kwargs: dict[str, Any]) -> Interval:
        return "epoch"

    @override
    def _step_scheduler(self) -> None:
        """Plateau schedules step on validation results only (see ``_on_result``)."""

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)
        if self._watches_training:
            self._warn_once(
                "train",
                f"ReduceLROnPlateau monitors {self.monitor!r}, a training metric: it is read at each training epoch"
                " end. A validation metric such as 'val_loss' is the usual choice, since training loss keeps"
                " falling while the model overfits.",
            )

    @override
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._watches_training:
            self._snapshot = self._current(trainer)

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._watches_training and self._active(trainer):
            self._on_result(trainer)

    @override
    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._watches_training:
            self._snapshot = self._current(trainer)

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._watches_training and self._active(trainer):
            self._on_result(trainer)

    @override
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self._scheduler is not None:
            state["plateau"] = {
                "history": [list(item) for item in self.history],
                "reductions": copy.deepcopy(self.reductions),
            }
        return state

    @override
    def _apply_state(self, state: dict[str, Any]) -> None:
        super()._apply_state(state)
        plateau = state.get("plateau", {})
        self.history = [(int(step), float(value)) for step, value in plateau.get("history", [])]
        self.reductions = copy.deepcopy(plateau.get("reductions", []))

    # ------------------------------------------------------------------ helpers

    def _active(self, trainer: pl.Trainer) -> bool:
        return self._scheduler is not None and not trainer.sanity_checking and self._trainer is trainer

    def _current(self, trainer: pl.Trainer) -> Any:
        metrics = trainer.callback_metrics
        return metrics.get(self.monitor, metrics.get(f"{self.monitor}_epoch"))

    def _on_result(self, trainer: pl.Trainer) -> None:
        value = self._fresh_value(trainer)
        if value is None or self._steps < self._warmup_steps:
            return
        scheduler = self._scheduler
        assert isinstance(scheduler, torch_schedulers.ReduceLROnPlateau)
        fed = value
        if not math.isfinite(value):
            self._warn_once(
                "nonfinite",
                f"ReduceLROnPlateau got {self.monitor}={value} at step {trainer.global_step}; a NaN/inf value counts"
                " as no improvement. Check the model for divergence (an lr that is too high is a common cause).",
            )
            fed = float(scheduler.mode_worse)
        before = list(scheduler.get_last_lr())
        scheduler.step(fed)
        self.history.append((trainer.global_step, value))
        after = list(scheduler.get_last_lr())
        if after != before:
            self._record_reduction(trainer, before, after, scheduler.patience)

    def _fresh_value(self, trainer: pl.Trainer) -> float | None:
        current = self._current(trainer)
        if current is None:
            self._report_missing(trainer)
            return None
        if current is self._snapshot:
            return None  # not logged by this run: never step on a stale value
        value = torch.as_tensor(current, dtype=torch.float64).detach().cpu()
        if trainer.world_size > 1:
            value = trainer.strategy.reduce(value.to(trainer.strategy.root_device), reduce_op="mean").cpu()
        return float(value)

    def _report_missing(self, trainer: pl.Trainer) -> None:
        logged = sorted(trainer.callback_metrics)
        close = difflib.get_close_matches(self.monitor, logged, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        message = (
            f"ReduceLROnPlateau(monitor={self.monitor!r}) found no such metric after "
            f"{'the training epoch' if self._watches_training else 'validation'}; the logged metrics are "
            f"{logged}.{hint} Log it with `self.log({self.monitor!r}, value)` in your LightningModule, or set"
            " `monitor` to one of those."
        )
        if self._strict:
            raise RuntimeError(message + " (Pass `strict=False` to continue without plateau steps.)")
        self._warn_once("missing", message)

    def _record_reduction(self, trainer: pl.Trainer, before: list[Any], after: list[Any], patience: int) -> None:
        recent = [value for _, value in self.history[-(patience + 1) :]]
        event = {
            "step": trainer.global_step,
            "epoch": trainer.current_epoch,
            "lr_before": [float(lr) for lr in before],
            "lr_after": [float(lr) for lr in after],
            "recent_values": recent,
            "best": float(self._scheduler.best) if self._scheduler is not None else None,  # type: ignore[attr-defined]
            "validations": patience + 1,
        }
        self.reductions.append(event)
        text = (
            f"lr {before[0]:.3g} -> {after[0]:.3g} at step {trainer.global_step} (epoch {trainer.current_epoch}):"
            f" {self.monitor} did not improve for {patience + 1} validations, values {[f'{v:.4g}' for v in recent]}"
        )
        rank_zero_info(f"ReduceLROnPlateau: {text}")
        if not self._log_lr:
            return
        tag = f"{self._tags[0]}-plateau" if self._tags else "lr-plateau"
        for logger in trainer.loggers:
            logger.log_metrics({f"{tag}_reductions": float(len(self.reductions))}, step=trainer.global_step)
            add_text = getattr(getattr(logger, "experiment", None), "add_text", None)
            if callable(add_text):  # TensorBoard (and loggers like it) get the explanation as text too
                add_text(tag, text, global_step=trainer.global_step)

    @override
    def _describe_path(self, path: dict[str, Any]) -> str:
        """The lr path with each reduction's cause, e.g. ``lr 0.1 -> 0.01 in 1 plateau reduction (epoch 6: ...)``."""
        reductions = self.reductions
        if not reductions:
            best = self._best_text()
            count = len(self.history)
            return (
                f"lr stayed at {path['last']:.3g}: no plateau reduction in {count} validations of {self.monitor}{best}"
            )
        first = reductions[0]["lr_before"][0]
        last = reductions[-1]["lr_after"][0]
        checks = "training epochs" if self._watches_training else "validations"
        causes = "; ".join(
            f"epoch {event['epoch']}: {self.monitor} stalled at {_value(event)} for {event.get('validations', '?')}"
            f" {checks}"
            for event in reductions
        )
        count = len(reductions)
        return f"lr {first:.3g} -> {last:.3g} in {count} plateau reduction{'s' if count > 1 else ''} ({causes})"

    def _best_text(self) -> str:
        values = [value for _, value in self.history if math.isfinite(value)]
        if not values:
            return ""
        best = min(values) if self.mode == "min" else max(values)
        return f" (best {best:.4g}, patience {self._kwargs.get('patience')})"

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            rank_zero_warn(message)


def _value(event: dict[str, Any]) -> str:
    """The best value a reduction was measured against (older checkpoints: the best of the recent values)."""
    best = event.get("best")
    if best is None or not math.isfinite(best):
        recent = [v for v in event.get("recent_values", []) if math.isfinite(v)]
        return f"{min(recent):.4g}" if recent else "n/a"
    return f"{best:.4g}"
