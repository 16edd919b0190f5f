"""LRDiagnostics: read the loss and metric curves for signs that the learning-rate strategy is wrong, and say so."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn
from typing_extensions import override

from lightning_lrsched import _checks, tensorboard
from lightning_lrsched.callback import LRSchedulerCallback
from lightning_lrsched.plateau import ReduceLROnPlateau

_LABEL_KEYS = ("labels", "label", "targets", "target", "y")
_SPIKE_STEPS = 3
"""A spike is the mean of this many steps, so that a single hard batch is not one."""
_BLOW_UP = 100.0
"""A loss this many times its first value has diverged, however early in training."""


class LRDiagnostics(Callback):
    """Diagnose the learning-rate strategy from the training and validation curves, and summarize the fit.

    Works beside any schedule callback of this package, beside a scheduler returned from
    ``configure_optimizers``, or with none. It watches:

    * **divergence**: a NaN/inf training loss; a loss 100 times its first value (however early); or a spike
      above a robust running baseline (the mean of 3 steps above ``spike_factor`` times the median of the last
      ``window`` losses, far outside their spread, and above the first loss). Reported with the lr at that
      moment and whether the lr had just increased (warmup, OneCycle, cyclic). ``stop_on_divergence`` stops
      the training there.
    * **oscillation**: over a window of ``window`` steps, a loss whose relative spread (std / mean) exceeds
      ``oscillation_cv`` while it makes no progress.
    * **stall**: after ``3 * window`` steps, and not while the lr rises, the loss has not moved by more than
      ``stall_tolerance`` (relative) from where it started: the lr is too low to learn.
    * **overfitting**: the validation loss rose ``overfit_patience`` validations in a row while the training
      loss fell, with the best checkpoint; lowering the lr does not fix this.
    * **metric choice**: a plateau schedule watching a training metric; accuracy monitored (by a plateau
      schedule, ModelCheckpoint or EarlyStopping) on strongly imbalanced validation labels, where it barely
      beats predicting the majority class or disagrees with F1/recall.

    Each finding is reported once: a rank-zero warning, a TensorBoard text entry ``diagnostics/<kind>`` at its
    step, and the fit-end summary. The summary (the lr path of every schedule callback in words and numbers, the
    best validation result and checkpoint, and the findings) is printed at fit end, kept as :attr:`summary`,
    and written as JSON to ``<log_dir>/lr_summary.json``. Under DDP the report is rank zero's, from its own
    losses; with ``stop_on_divergence`` a divergence on any rank stops every rank at the same step.

    Args:
        window: training steps per window for the running baseline, oscillation and stall checks.
        spike_factor: a loss above this multiple of the window's median (and far outside its spread) is a
            spike.
        oscillation_cv: the std / mean of the window's losses above which a loss that does not improve
            oscillates.
        stall_tolerance: relative change of the loss below which it has not moved.
        overfit_patience: validations in a row with a rising validation loss (and a falling training loss) that
            count as overfitting.
        imbalance_ratio: majority / minority class count of the validation labels from which accuracy is a
            doubtful metric.
        loss_key: the logged validation loss.
        stop_on_divergence: stop training at a NaN/inf loss or a spike.
        summary_file: the JSON summary's file name in the log directory; None writes none.
        verbose: print the summary at fit end.

    Example::

        >>> import lightning as L
        >>> from lightning_lrsched import LRDiagnostics, OneCycleLR
        >>> diagnostics = LRDiagnostics()
        >>> trainer = L.Trainer(max_epochs=3, callbacks=[OneCycleLR(max_lr=3e-4), diagnostics], logger=False)
        >>> diagnostics.findings  # after trainer.fit(...): each finding as a dict; diagnostics.summary at fit end
        []
    """

    def __init__(
        self,
        *,
        window: int = 50,
        spike_factor: float = 4.0,
        oscillation_cv: float = 0.5,
        stall_tolerance: float = 0.02,
        overfit_patience: int = 3,
        imbalance_ratio: float = 4.0,
        loss_key: str = "val_loss",
        stop_on_divergence: bool = False,
        summary_file: str | None = "lr_summary.json",
        verbose: bool = True,
    ) -> None:
        _checks.integer("window", window, 4)
        _checks.in_range("spike_factor", spike_factor, 1, math.inf, closed_low=False, closed_high=False)
        _checks.positive("oscillation_cv", oscillation_cv)
        _checks.in_range("stall_tolerance", stall_tolerance, 0, 1, closed_low=False, closed_high=False)
        _checks.integer("overfit_patience", overfit_patience, 1)
        _checks.in_range("imbalance_ratio", imbalance_ratio, 1, math.inf, closed_low=False, closed_high=False)
        if not isinstance(loss_key, str) or not loss_key:
            raise ValueError(f"Expected argument `loss_key` to be a logged metric name, but got {loss_key!r}.")
        _checks.boolean("stop_on_divergence", stop_on_divergence)
        if summary_file is not None and (not isinstance(summary_file, str) or not summary_file):
            raise ValueError(f"Expected argument `summary_file` to be a file name or None, but got {summary_file!r}.")
        _checks.boolean("verbose", verbose)
        self.window = window
        self.spike_factor = float(spike_factor)
        self.oscillation_cv = float(oscillation_cv)
        self.stall_tolerance = float(stall_tolerance)
        self.overfit_patience = overfit_patience
        self.imbalance_ratio = float(imbalance_ratio)
        self.loss_key = loss_key
        self.stop_on_divergence = stop_on_divergence
        self.summary_file = summary_file
        self.verbose = verbose
        self._reset()

    def _reset(self) -> None:
        self.findings: list[dict[str, Any]] = []
        """Every finding of the fit, in the order found: kind, step, epoch, lr, message and details."""
        self.summary: dict[str, Any] = {}
        """The fit-end summary (filled at fit end)."""
        self.summary_path: Path | None = None
        self._print_pending = False
        self._losses: deque[float] = deque(maxlen=self.window + _SPIKE_STEPS)
        self._lrs: deque[float] = deque(maxlen=self.window)
        self._start_level: float | None = None
        self._initial_loss: float | None = None
        self._interval_losses: list[float] = []
        self._validations: list[dict[str, Any]] = []
        self._label_counts: Counter[int] = Counter()
        self._labels_readable = True
        self._lr_first: float | None = None
        self._lr_last: float | None = None
        self._lr_now: float | None = None

    # ------------------------------------------------------------------ hooks

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._reset()

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check_plateau_monitors(trainer)

    @override
    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._lr_now = _first_lr(trainer)  # the lr this batch's optimizer step uses

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = _training_loss(outputs, trainer)
        lr = self._lr_now
        if lr is not None:
            self._lr_first = lr if self._lr_first is None else self._lr_first
            self._lr_last = lr
            self._lrs.append(lr)
        diverged = False
        if loss is not None:
            if math.isfinite(loss):
                self._initial_loss = loss if self._initial_loss is None else self._initial_loss
                self._losses.append(loss)
                self._interval_losses.append(loss)
                if self._start_level is None and len(self._losses) == self.window:
                    self._start_level = statistics.median(self._losses)
            diverged = self._check_divergence(trainer, loss, lr)
            step = trainer.global_step
            if math.isfinite(loss) and step % self.window == 0 and step >= 2 * self.window:
                self._check_window(trainer, lr)
        if self.stop_on_divergence:
            if trainer.world_size > 1:  # every rank, every step: a rank that diverges stops them all together
                diverged = trainer.strategy.reduce_boolean_decision(diverged, all=False)
            if diverged:
                trainer.should_stop = True

    @override
    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if trainer.sanity_checking or not self._labels_readable or trainer.state.fn != "fit":
            return
        labels = _labels(batch)
        if labels is None:
            self._labels_readable = False
            return
        if not self._validations:  # count the labels of the first validation run only
            self._label_counts.update(labels.tolist())

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        metrics = {key: float(value) for key, value in trainer.callback_metrics.items() if _is_scalar(value)}
        train_loss = statistics.fmean(self._interval_losses) if self._interval_losses else None
        self._interval_losses = []
        self._validations.append(
            {
                "step": trainer.global_step,
                "epoch": trainer.current_epoch,
                "val_loss": metrics.get(self.loss_key, metrics.get(f"{self.loss_key}_epoch")),
                "train_loss": train_loss,
                "metrics": metrics,
            }
        )
        self._check_overfitting(trainer)
        self._check_accuracy_on_imbalanced_labels(trainer, metrics)

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.summary = self._build_summary(trainer)
        if not trainer.is_global_zero:
            return
        for experiment in tensorboard.tensorboard_experiments(trainer):
            experiment.add_text("diagnostics/summary", _markdown(self.summary["text"]), global_step=trainer.global_step)
        if self.summary_file is not None:
            folder = Path(trainer.log_dir or trainer.default_root_dir)
            folder.mkdir(parents=True, exist_ok=True)
            self.summary_path = folder / self.summary_file
            self.summary_path.write_text(json.dumps(self.summary, indent=2, default=float) + "\n")
        self._print_pending = self.verbose

    @override
    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if not self._print_pending:
            return
        self._print_pending = False
        progress_bar = trainer.progress_bar_callback
        if progress_bar is not None:
            # a live rich progress bar redirects stdout (and recurses on it inside Jupyter): let it finish first;
            # its teardown is idempotent, so Lightning calling it again is harmless
            progress_bar.teardown(trainer, pl_module, stage)
        print(self.summary["text"])

    # ------------------------------------------------------------------ the checks

    def _check_divergence(self, trainer: pl.Trainer, loss: float, lr: float | None) -> bool:
        """Report a NaN/inf loss or a spike (once); True while either holds."""
        if math.isfinite(loss):
            losses = list(self._losses)
            # the mean of the last few steps, so that one hard batch is not a spike
            recent = statistics.fmean(losses[-_SPIKE_STEPS:])
            initial = self._initial_loss if self._initial_loss is not None else recent
            history = losses[:-_SPIKE_STEPS]
            if initial > 0 and len(losses) >= _SPIKE_STEPS and recent > _BLOW_UP * initial:  # history or not
                what = f"the training loss rose to {recent:.4g}, {recent / initial:.0f}x its first value {initial:.4g}"
            # a spike is above where training started too, so that the noise of a small, well-trained loss is no
            # spike; that cheap test comes first, since a healthy run fails it at almost every step and the
            # medians below sort the window
            elif recent > initial and len(history) >= max(8, self.window // 2):
                baseline = statistics.median(history)
                spread = statistics.median(abs(value - baseline) for value in history)
                if not (recent > self.spike_factor * baseline and recent > baseline + 10 * spread):
                    return False
                what = (
                    f"the training loss jumped to {recent:.4g} (mean of the last {_SPIKE_STEPS} steps),"
                    f" {recent / baseline:.1f}x its running median {baseline:.4g}"
                )
            else:
                return False
        else:
            what = f"the training loss is {loss}"
        rising, note = self._lr_trend(lr)
        fix = (
            "Lower the peak lr (`max_lr`, or the lr the warmup climbs to) by 3-10x, or lengthen the warmup."
            if rising
            else "Lower the lr by 3-10x; gradient clipping (`Trainer(gradient_clip_val=1.0)`) also guards against"
            " single bad batches."
        )
        stopped = " Training was stopped (`stop_on_divergence=True`)." if self.stop_on_divergence else ""
        self._report(
            trainer,
            "divergence",
            f"Divergence at step {trainer.global_step}: {what}, at lr {_fmt(lr)}{note}. {fix}{stopped}",
            lr=lr,
            loss=loss,
            lr_rising=rising,
        )
        return True

    def _check_window(self, trainer: pl.Trainer, lr: float | None) -> None:
        losses = list(self._losses)[-self.window :]
        half = len(losses) // 2
        earlier, later = statistics.fmean(losses[:half]), statistics.fmean(losses[half:])
        mean = statistics.fmean(losses)
        if mean <= 0:
            return
        cv = statistics.pstdev(losses) / mean
        progress = (earlier - later) / earlier if earlier > 0 else 0.0
        start = self._start_level or mean
        # after a divergence the loss may bounce, or sit where it started with a broken model: that is explained
        diverged = any(finding["kind"] == "divergence" for finding in self.findings)
        if cv > self.oscillation_cv and progress < 0.05 and mean > 0.5 * start and not diverged:
            note = self._lr_trend(lr)[1]
            self._report(
                trainer,
                "oscillation",
                f"Oscillation around step {trainer.global_step}: over the last {len(losses)} steps the training loss"
                f" varies by {cv:.0%} of its mean {mean:.4g} without improving, at lr {_fmt(lr)}{note}. The lr is"
                " probably too high: lower the max lr 3x, lengthen the warmup, or let a plateau schedule reduce it"
                " sooner (smaller `patience`). Larger batches also smooth the loss.",
                lr=lr,
                cv=cv,
            )
        moved = abs(start - later) / start if start > 0 else 1.0
        warming_up = self._lr_trend(lr)[0]  # a warmup's low lr is not a stall (yet)
        long_enough = trainer.global_step >= 3 * self.window
        stalled = moved < self.stall_tolerance and cv <= self.oscillation_cv
        if stalled and long_enough and not warming_up and not diverged:
            peak = max(self._lrs) if self._lrs else None
            decayed = lr is not None and peak is not None and lr < 0.01 * peak
            cause = (
                f" The lr has decayed to {_fmt(lr)}, under 1% of its peak {_fmt(peak)}: the schedule ends too early;"
                " give it a longer length or a higher `eta_min`/final lr."
                if decayed
                else " The lr is probably too low to learn: try 10x higher (preview the schedule with"
                " `lightning_lrsched.preview`), or a short warmup to a higher peak."
            )
            self._report(
                trainer,
                "stall",
                f"Stall at step {trainer.global_step}: the training loss is {later:.4g} after starting at {start:.4g}"
                f" (moved {moved:.1%}), at lr {_fmt(lr)}.{cause}",
                lr=lr,
                start_loss=start,
                loss=later,
            )

    def _check_overfitting(self, trainer: pl.Trainer) -> None:
        recent = self._validations[-(self.overfit_patience + 1) :]
        if len(recent) <= self.overfit_patience:
            return
        val = [entry["val_loss"] for entry in recent]
        train = [entry["train_loss"] for entry in recent]
        if any(v is None or not math.isfinite(v) for v in val) or any(t is None for t in train):
            return
        rising = all(b > a for a, b in itertools.pairwise(val))
        if not rising or not train[-1] < train[0]:
            return
        best = self._best_validation(trainer)
        where = f"epoch {best['epoch']} (step {best['step']}, {best['monitor']} {best['value']:.4g})"
        if best.get("checkpoint"):
            where += f", saved at {best['checkpoint']}"
        plateau = [c for c in trainer.callbacks if isinstance(c, ReduceLROnPlateau)]  # type: ignore[attr-defined]
        note = " (the plateau schedule will now reduce it)" if plateau else ""
        self._report(
            trainer,
            "overfitting",
            f"Overfitting: {self.loss_key} rose {self.overfit_patience} validations in a row"
            f" ({' -> '.join(f'{v:.4g}' for v in val)}) while the training loss fell"
            f" ({train[0]:.4g} -> {train[-1]:.4g}). Lowering the lr alone will not fix this{note}. The best model so"
            f" far is from {where}: keep that checkpoint (`ModelCheckpoint(monitor='{self.loss_key}')`), stop early"
            f" (`EarlyStopping(monitor='{self.loss_key}')`), or add data, augmentation or regularization (weight"
            " decay, dropout).",
            val_losses=val,
            train_losses=train,
            best=best,
        )

    def _check_plateau_monitors(self, trainer: pl.Trainer) -> None:
        # (monitor, whether that schedule has warned about it itself already)
        monitors = [
            (c.monitor, "train" in c._warned)
            for c in trainer.callbacks  # type: ignore[attr-defined]
            if isinstance(c, ReduceLROnPlateau)
        ]
        monitors += [
            (config.monitor, False)
            for config in trainer.lr_scheduler_configs
            if config.reduce_on_plateau and config.monitor is not None
        ]
        for monitor, warned in monitors:
            if monitor.lower().startswith("train"):
                self._report(
                    trainer,
                    "metric-choice",
                    f"The plateau schedule watches {monitor!r}, a training metric. Training loss keeps falling while"
                    " the model overfits, so the lr is reduced late or never when it matters. Watch a validation"
                    f" metric: `ReduceLROnPlateau(monitor='{self.loss_key}')`.",
                    warn=not warned,
                    monitor=monitor,
                )

    def _check_accuracy_on_imbalanced_labels(self, trainer: pl.Trainer, metrics: dict[str, float]) -> None:
        counts = self._label_counts
        if len(counts) < 2:
            return
        ratio = max(counts.values()) / min(counts.values())
        if ratio < self.imbalance_ratio:
            return
        majority = max(counts.values()) / sum(counts.values())
        for monitor, owner in _accuracy_monitors(trainer):
            accuracy = metrics.get(monitor)
            if accuracy is None:
                continue
            others = {
                key: metrics[key]
                for word in ("f1", "recall")
                if (key := _swap(monitor, word)) in metrics and key != monitor
            }
            disagree = {key: value for key, value in others.items() if accuracy - value >= 0.15}
            if accuracy > majority + 0.02 and not disagree:
                continue
            shares = ", ".join(
                f"class {label}: {count / sum(counts.values()):.0%}" for label, count in counts.most_common()
            )
            contrast = "; ".join(f"{key} is {value:.3f}" for key, value in disagree.items())
            self._report(
                trainer,
                "metric-choice",
                f"{owner} monitors {monitor!r} ({accuracy:.3f}), but the validation labels are imbalanced ({shares}):"
                f" always predicting the majority class scores {majority:.3f}"
                f"{'; ' + contrast if contrast else ''}. Accuracy hides a model that ignores the minority class;"
                f" monitor F1 or recall instead, e.g. `{owner}(monitor='{_swap(monitor, 'f1')}', mode='max')`.",
                monitor=monitor,
                accuracy=accuracy,
                majority_share=majority,
                others=others,
            )
            return

    # ------------------------------------------------------------------ reporting

    def _report(self, trainer: pl.Trainer, kind: str, message: str, *, warn: bool = True, **details: Any) -> None:
        if any(finding["kind"] == kind for finding in self.findings):
            return  # each kind once: no spam
        finding = {
            "kind": kind,
            "step": trainer.global_step,
            "epoch": trainer.current_epoch,
            "lr": details.pop("lr", _first_lr(trainer)),
            "message": message,
            **details,
        }
        self.findings.append(finding)
        if warn:  # (not when a schedule callback has just warned about the same thing)
            rank_zero_warn(f"LRDiagnostics: {message}")
        if trainer.is_global_zero:
            for experiment in tensorboard.tensorboard_experiments(trainer):
                experiment.add_text(f"diagnostics/{kind}", message, global_step=trainer.global_step)

    def _lr_trend(self, lr: float | None) -> tuple[bool, str]:
        """Whether the lr rose over the last window, and a note saying so."""
        if lr is None or not self._lrs:
            return False, ""
        low = min(self._lrs)
        if lr > low * 1.05:
            return True, f", which had just increased from {_fmt(low)} (warmup, OneCycle or a cyclic schedule)"
        return False, ""

    def _best_validation(self, trainer: pl.Trainer) -> dict[str, Any]:
        checkpoint = next(
            (c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint) and c.monitor), None
        )
        monitor = checkpoint.monitor if checkpoint is not None and checkpoint.monitor else self.loss_key
        mode = checkpoint.mode if checkpoint is not None and checkpoint.monitor else "min"
        scored = [entry for entry in self._validations if monitor in entry["metrics"]]
        if not scored:
            return {}
        pick = min if mode == "min" else max
        best = pick(scored, key=lambda entry: entry["metrics"][monitor])
        result = {"monitor": monitor, "value": best["metrics"][monitor], "epoch": best["epoch"], "step": best["step"]}
        if checkpoint is not None and checkpoint.best_model_path:
            result["checkpoint"] = checkpoint.best_model_path
        return result

    def _build_summary(self, trainer: pl.Trainer) -> dict[str, Any]:
        schedules = [c.summary() for c in trainer.callbacks if isinstance(c, LRSchedulerCallback)]  # type: ignore[attr-defined]
        if schedules:
            lr_path = [schedule["text"] for schedule in schedules]
        elif self._lr_first is None:
            lr_path = ["no optimizer step was taken"]
        elif math.isclose(self._lr_first, self._lr_last or 0.0, rel_tol=1e-9):
            lr_path = [f"lr constant at {_fmt(self._lr_first)} (no lightning_lrsched schedule)"]
        else:
            lr_path = [f"lr {_fmt(self._lr_first)} -> {_fmt(self._lr_last)} (no lightning_lrsched schedule)"]
        best = self._best_validation(trainer)
        lines = ["Learning-rate summary", *(f"  {line}" for line in lr_path)]
        if best:
            where = f" ({best['checkpoint']})" if best.get("checkpoint") else ""
            lines.append(
                f"  best: {best['monitor']} {best['value']:.4g} at epoch {best['epoch']}, step {best['step']}{where}"
            )
        lines.append(f"  findings: {len(self.findings) or 'none'}")
        lines += [f"  - [{finding['kind']}] {finding['message']}" for finding in self.findings]
        return {
            "lr_path": lr_path,
            "schedules": schedules,
            "lr": {"first": self._lr_first, "last": self._lr_last},
            "best": best,
            "validations": len(self._validations),
            "steps": trainer.global_step,
            "findings": [dict(finding) for finding in self.findings],
            "text": "\n".join(lines),
        }


# ---------------------------------------------------------------------- helpers


def _training_loss(outputs: Any, trainer: pl.Trainer) -> float | None:
    """The step's training loss: the `loss` the training step returned, else the logged `train_loss`."""
    value = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        # Lightning passes the loss divided by `accumulate_grad_batches` (automatic optimization)
        return float(value.detach()) * trainer.accumulate_grad_batches
    metrics = trainer.callback_metrics
    value = metrics.get("train_loss_step", metrics.get("train_loss"))
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    return None


def _first_lr(trainer: pl.Trainer) -> float | None:
    optimizers = trainer.optimizers
    return float(optimizers[0].param_groups[0]["lr"]) if optimizers else None


def _labels(batch: Any) -> torch.Tensor | None:
    """Integer class labels of a batch (a dict with `labels`/`label`/`target`/`y`, or `(x, y)`), else None."""
    value: Any = None
    if isinstance(batch, Mapping):
        value = next((batch[key] for key in _LABEL_KEYS if key in batch), None)
    elif isinstance(batch, Sequence) and not isinstance(batch, str) and len(batch) >= 2:
        value = batch[1]
    if isinstance(value, torch.Tensor) and value.dim() == 1 and not value.is_floating_point():
        return value.detach().cpu()
    return None


def _accuracy_monitors(trainer: pl.Trainer) -> list[tuple[str, str]]:
    """(monitored key, who monitors it) for every accuracy that drives a decision."""
    found = []
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        monitor = getattr(callback, "monitor", None)
        if isinstance(callback, (ReduceLROnPlateau, ModelCheckpoint, EarlyStopping)) and isinstance(monitor, str):
            found.append((monitor, type(callback).__name__))
    return [(monitor, owner) for monitor, owner in found if {"acc", "accuracy"} & set(_words(monitor))]


def _words(key: str) -> list[str]:
    return key.lower().replace("/", "_").replace("-", "_").split("_")


def _swap(monitor: str, word: str) -> str:
    return monitor.replace("accuracy", word).replace("acc", word)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, torch.Tensor) and value.numel() == 1)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _markdown(text: str) -> str:
    """TensorBoard renders text as markdown: keep the summary's lines and indentation."""
    return "\n".join(f"    {line}" for line in text.splitlines())
