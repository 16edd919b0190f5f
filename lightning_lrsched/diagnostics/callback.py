"""LRDiagnostics: read the loss and metric curves for signs that the learning-rate strategy is wrong, and say so."""

from __future__ import annotations

import copy
import json
import math
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn
from typing_extensions import override

import lightning_lrsched.diagnostics.findings as findings
from lightning_lrsched import _checks
from lightning_lrsched.diagnostics.findings import Finding, Record, Thresholds, Window, fmt
from lightning_lrsched.diagnostics.rewind import Rewind, Rewinder
from lightning_lrsched.lightning import run_changes
from lightning_lrsched.lightning.callback import LRSchedulerCallback
from lightning_lrsched.lightning.lr_logging import effective_lr
from lightning_lrsched.lightning.schedules import ReduceLROnPlateau
from lightning_lrsched.namespaces import classes
from lightning_lrsched.report import reporting

_LABEL_KEYS = ("labels", "label", "targets", "target", "y")
OnDivergence = Literal["warn", "stop", "rewind"]


class LRDiagnostics(Callback):
    """Diagnose the learning-rate strategy from the training and validation curves, and summarize the fit.

    Works beside any schedule callback of this package, beside a scheduler returned from
    ``configure_optimizers``, or with none. It watches:

    * **divergence**: a NaN/inf training loss; a loss 100 times its first value (however early); or a spike
      above a robust running baseline (the mean of 3 steps above ``spike_factor`` times the median of the last
      ``window`` losses, far outside their spread, and above the first loss). Reported with the lr at that
      moment and whether the lr had just increased (warmup, OneCycle, cyclic). ``on_divergence`` says what
      happens then: ``"warn"`` (training goes on), ``"stop"``, or ``"rewind"`` / :class:`Rewind` (back to a good
      state, the whole remaining schedule lowered, optionally some batches skipped, then on; docs: "Diagnostics
      and rewind").
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
    losses; a divergence on any rank stops or rewinds every rank at the same step.

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
        on_divergence: ``"warn"``, ``"stop"`` (stop training there), ``"rewind"`` (:class:`Rewind` with its
            defaults) or a :class:`Rewind`.
        stop_on_divergence: the same as ``on_divergence="stop"`` (kept from earlier versions).
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
        on_divergence: OnDivergence | Rewind = "warn",
        stop_on_divergence: bool = False,
        summary_file: str | None = "lr_summary.json",
        verbose: bool = True,
    ) -> None:
        self.thresholds = Thresholds(
            window, spike_factor, oscillation_cv, stall_tolerance, overfit_patience, imbalance_ratio, loss_key
        )
        """What counts as a finding (checked when made)."""
        _checks.boolean("stop_on_divergence", stop_on_divergence)
        self.on_divergence = _on_divergence(on_divergence, stop_on_divergence)
        self.stop_on_divergence = self.on_divergence == "stop"
        self._loaded: dict[str, Any] | None = None  # checkpoint state loaded before the fit, applied at its start
        self.output = SummaryOutput(summary_file, verbose)
        """Where the fit-end summary goes: TensorBoard, the JSON file, the console."""
        self._reset()

    def _reset(self) -> None:
        self.findings: list[dict[str, Any]] = []
        """Every finding of the fit, in the order found: kind, step, epoch, lr, message and details."""
        self.summary: dict[str, Any] = {}
        """The fit-end summary (filled at fit end)."""
        self.summary_path: Path | None = None
        """The JSON summary written at fit end (rank zero), or None."""
        limits = self.thresholds  # (everything below is bounded, whatever the length of the run)
        self._training = TrainingWatch(
            Window(limits.window), limits.spike_factor, limits.oscillation_cv, limits.stall_tolerance
        )
        self._record = Record()
        self._validations = ValidationWatch(limits.overfit_patience, limits.imbalance_ratio, limits.loss_key)
        self._healthy = True  # no divergence at the last training step (checkpoints record it)
        rewind = self.on_divergence
        self._rewinder = Rewinder(rewind, self.state_key) if isinstance(rewind, Rewind) else None

    @property
    def rewinds(self) -> list[dict[str, Any]]:
        """Every rewind of the current or last fit (``on_divergence="rewind"``), as reported, in order."""
        return list(self._rewinder.rewinds) if self._rewinder is not None else []

    # ------------------------------------------------------------------ hooks

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._reset()
        loaded, self._loaded = self._loaded, None
        if loaded:
            if "window" in loaded:
                self._training.window = Window.from_state(loaded["window"])
            if self._rewinder is not None:
                self._rewinder.load_state_dict(loaded)

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for found, warn in plateau_monitor_findings(trainer, pl_module, self.thresholds.loss_key):
            self._report(trainer, found, warn=warn)
        if self._rewinder is not None:
            self._rewinder.check_fit(trainer)
            self._rewinder.start(trainer, pl_module, self._training.window)

    @override
    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._training.lr_now = _first_lr(trainer)  # the lr this batch's optimizer step uses
        if self._rewinder is not None and self._rewinder.config.keep == "checkpoint":
            self._rewinder.note_checkpoints(trainer)

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._rewinder is not None and self._rewinder.skip_left:
            self._rewinder.skipped_one()  # a skipped batch: no loss, nothing to check
            return
        loss, lr = _training_loss(outputs, trainer), self._training.lr_now
        self._record.saw_lr(lr)
        stopping = "`on_divergence='stop'`" if self.on_divergence == "stop" else ""
        found = self._training.step(trainer.global_step, loss, stopping)
        if found is not None and self._rewinder is None:
            self._report(trainer, found)
        diverged = found is not None
        if self.on_divergence != "warn" and trainer.world_size > 1:
            # every rank, every step: a rank that diverges stops (or rewinds) them all together
            diverged = trainer.strategy.reduce_boolean_decision(diverged, all=False)
        self._healthy = not diverged
        if diverged and self.on_divergence == "stop":
            trainer.should_stop = True
        elif diverged and self._rewinder is not None:
            what = found.details["what"] if found is not None else "the training loss diverged on another rank"
            spike_factor = self.thresholds.spike_factor
            answer, self._training.window = self._rewinder.answer(
                trainer, pl_module, what, loss, lr, window=self._training.window, spike_factor=spike_factor
            )
            self._report(trainer, answer)
            return
        elif self._rewinder is not None:
            self._rewinder.healthy_step(trainer, pl_module, self._training.window)
        if loss is not None and math.isfinite(loss):
            for found_now in self._training.periodic(trainer.global_step, self.findings):
                self._report(trainer, found_now)

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
        if not trainer.sanity_checking and trainer.state.fn == "fit":
            self._validations.batch(batch, first=not self._record.validations)

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        metrics = {key: float(value) for key, value in trainer.callback_metrics.items() if _is_scalar(value)}
        train_loss = self._training.take_mean_loss()
        self._record.saw_validation(metrics, step=trainer.global_step, epoch=trainer.current_epoch)
        for found in self._validations.validation(trainer, metrics, train_loss, self._record):
            self._report(trainer, found)

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._rewinder is not None:
            self._rewinder.unpatch()
        self.summary = build_summary(trainer, self._record, self.findings, self.rewinds, self.thresholds.loss_key)
        if trainer.is_global_zero:
            self.summary_path = self.output.write(trainer, self.summary)

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if self._rewinder is not None:
            self._rewinder.unpatch()

    @override
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"window": self._training.window.state(), "healthy": self._healthy}
        return {**state, **self._rewinder.state_dict()} if self._rewinder is not None else state

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._loaded = copy.deepcopy(state_dict) or None

    @override
    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self._rewinder is not None:
            self._rewinder.unpatch()
        self.output.print_pending(trainer, pl_module, stage)

    # ------------------------------------------------------------------ reporting

    def _report(self, trainer: pl.Trainer, found: Finding, *, warn: bool = True) -> None:
        kind, message, details = found.kind, found.message, dict(found.details)
        details.pop("what", None)
        if kind != "rewind" and any(finding["kind"] == kind for finding in self.findings):
            return  # each kind once (each rewind is its own event): no spam
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
            for experiment in reporting.tensorboard_experiments(trainer.loggers):
                experiment.add_text(f"diagnostics/{kind}", message, global_step=trainer.global_step)


# ---------------------------------------------------------------------- helpers


class SummaryOutput:
    """Where LRDiagnostics' fit-end summary goes: TensorBoard's text, a JSON file, and the console once training ends.

    Args:
        file: the JSON file's name in the log directory; None writes none.
        verbose: print the summary's text when training has ended (after the progress bar has finished).

    Example::

        >>> output = SummaryOutput("lr_summary.json", verbose=False)
        >>> output.pending is None
        True
    """

    def __init__(self, file: str | None, verbose: bool) -> None:
        if file is not None and (not isinstance(file, str) or not file):
            raise ValueError(f"Expected argument `summary_file` to be a file name or None, but got {file!r}.")
        _checks.boolean("verbose", verbose)
        self.file, self.verbose = file, verbose
        self.pending: str | None = None
        """The text to print at teardown (None: nothing)."""

    def write(self, trainer: pl.Trainer, summary: dict[str, Any]) -> Path | None:
        """Write ``summary`` to TensorBoard and to the JSON file (returned), and keep its text to print."""
        for experiment in reporting.tensorboard_experiments(trainer.loggers):
            experiment.add_text("diagnostics/summary", _markdown(summary["text"]), global_step=trainer.global_step)
        self.pending = summary["text"] if self.verbose else None
        if self.file is None:
            return None
        path = Path(trainer.log_dir or trainer.default_root_dir) / self.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, default=float) + "\n")
        return path

    def print_pending(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Print the summary kept by :meth:`write`, once; a live progress bar is finished first."""
        if self.pending is None:
            return
        text, self.pending = self.pending, None
        progress_bar = trainer.progress_bar_callback
        if progress_bar is not None:
            # a live rich progress bar redirects stdout (and recurses on it inside Jupyter): let it finish first;
            # its teardown is idempotent, so Lightning calling it again is harmless
            progress_bar.teardown(trainer, pl_module, stage)
        print(text)


class TrainingWatch:
    """The training curve, step by step: recent losses and lrs, the mean loss since the last validation, checks.

    The checks: a divergence at every step; oscillation and a stall every ``window.size`` steps.

    Args:
        window: the recent training losses and lrs (a checkpoint's, or empty).
        spike_factor: a loss this many times its running median is a divergence.
        oscillation_cv: the spread of the window's losses (coefficient of variation) that counts as oscillating.
        stall_tolerance: a relative improvement below this over three windows is a stall.

    Example::

        >>> watch = TrainingWatch(Window(8), 4.0, 0.5, 0.02)
        >>> watch.lr_now = 0.1
        >>> watch.step(1, 2.3, stopping=""), watch.take_mean_loss()
        (None, 2.3)
    """

    def __init__(self, window: Window, spike_factor: float, oscillation_cv: float, stall_tolerance: float) -> None:
        self.window = window
        self.spike_factor, self.oscillation_cv, self.stall_tolerance = spike_factor, oscillation_cv, stall_tolerance
        self.lr_now: float | None = None
        """The lr of the batch under way (read at its start, before its optimizer step)."""
        self.loss_sum, self.loss_count = 0.0, 0  # training losses since the last validation: only their mean

    def step(self, step: int, loss: float | None, stopping: str) -> Finding | None:
        """A training batch ended with ``loss`` (None: not a number): a divergence, if this is one."""
        lr = self.lr_now
        self.window.add(loss, lr)
        if loss is None:
            return None
        if math.isfinite(loss):
            self.loss_sum += loss
            self.loss_count += 1
        return findings.divergence(self.window, step, loss, lr, self.spike_factor, stopping)

    def periodic(self, step: int, so_far: Sequence[Mapping[str, Any]]) -> list[Finding]:
        """Every ``window.size`` steps (from the second window on): oscillation, and (from the third) a stall.

        Each judges a whole window of losses: a fit that resumed from a checkpoint without this callback's state
        (its window starts empty) is judged once one has filled.

        ``so_far``: the fit's findings until now (after a divergence, the curve's shape says less).
        """
        size, lr = self.window.size, self.lr_now
        if step % size or step < 2 * size or len(self.window.losses) < size:
            return []
        diverged = any(finding["kind"] == "divergence" for finding in so_far)
        found = [findings.oscillation(self.window, step, lr, self.oscillation_cv, diverged)]
        if step >= 3 * size:
            found.append(findings.stall(self.window, step, lr, self.stall_tolerance, self.oscillation_cv, diverged))
        return [finding for finding in found if finding is not None]

    def take_mean_loss(self) -> float | None:
        """The mean training loss since the last call (a validation), and start a new one."""
        mean = self.loss_sum / self.loss_count if self.loss_count else None
        self.loss_sum, self.loss_count = 0.0, 0
        return mean


class ValidationWatch:
    """What the validations of a fit show: overfitting, and accuracy read on imbalanced labels.

    It keeps the train and validation losses of the last ``overfit_patience + 1`` validations and the label counts
    of the first validation run (both bounded, whatever the length of the run).

    Args:
        overfit_patience: validations in a row of a rising validation loss and a falling training loss.
        imbalance_ratio: the most common label this many times the rarest makes accuracy misleading.
        loss_key: the validation loss's logged name.

    Example::

        >>> watch = ValidationWatch(3, 4.0, "val_loss")
        >>> watch.batch({"labels": torch.tensor([0, 0, 1])}, first=True)
        >>> watch.label_counts
        Counter({0: 2, 1: 1})
    """

    def __init__(self, overfit_patience: int, imbalance_ratio: float, loss_key: str) -> None:
        self.patience, self.imbalance_ratio, self.loss_key = overfit_patience, imbalance_ratio, loss_key
        self.recent: deque[dict[str, Any]] = deque(maxlen=overfit_patience + 1)
        self.label_counts: Counter[int] = Counter()
        self.labels_readable = True

    def batch(self, batch: Any, *, first: bool) -> None:
        """A validation batch: its labels are counted in the first validation run (if they can be read)."""
        if not self.labels_readable or not first:
            return
        labels = _labels(batch)
        if labels is None:
            self.labels_readable = False
            return
        self.label_counts.update(labels.tolist())

    def validation(
        self, trainer: pl.Trainer, metrics: Mapping[str, float], train_loss: float | None, record: Record
    ) -> list[Finding]:
        """A validation ended with ``metrics``, after training steps of mean loss ``train_loss``: what it shows."""
        step, epoch = trainer.global_step, trainer.current_epoch
        val_loss = metrics.get(self.loss_key, metrics.get(f"{self.loss_key}_epoch"))
        self.recent.append({"step": step, "epoch": epoch, "val_loss": val_loss, "train_loss": train_loss})
        plateau = any(isinstance(c, ReduceLROnPlateau) for c in trainer.callbacks)  # type: ignore[attr-defined]
        best = best_validation(record, trainer, self.loss_key)
        found = [
            findings.unlogged_validation_loss(self.loss_key, list(metrics)) if val_loss is None else None,
            findings.overfitting(self.recent, self.patience, self.loss_key, best, plateau),
            findings.accuracy_on_imbalanced_labels(
                self.label_counts, _accuracy_monitors(trainer), metrics, self.imbalance_ratio
            ),
        ]
        return [finding for finding in found if finding is not None]


def build_summary(
    trainer: pl.Trainer, record: Record, found: list[dict[str, Any]], rewinds: list[dict[str, Any]], loss_key: str
) -> dict[str, Any]:
    """The fit-end summary of ``LRDiagnostics``: the lr path, the best validation, the rewinds and the findings."""
    schedules = [c.summary() for c in trainer.callbacks if isinstance(c, LRSchedulerCallback)]  # type: ignore[attr-defined]
    first, last = record.lr_first, record.lr_last
    if schedules:
        lr_path = [schedule["text"] for schedule in schedules]
    elif first is None:
        lr_path = ["no optimizer step was taken"]
    elif math.isclose(first, last or 0.0, rel_tol=1e-9):
        lr_path = [f"lr constant at {fmt(first)} (no lightning_lrsched schedule)"]
    else:
        lr_path = [f"lr {fmt(first)} -> {fmt(last)} (no lightning_lrsched schedule)"]
    best = best_validation(record, trainer, loss_key)
    lines = ["Learning-rate summary", *(f"  {line}" for line in lr_path)]
    if best:
        where = f" ({best['checkpoint']})" if best.get("checkpoint") else ""
        lines.append(
            f"  best: {best['monitor']} {best['value']:.4g} at epoch {best['epoch']}, step {best['step']}{where}"
        )
    if rewinds:
        undone = ", ".join(f"{event['to_step'] + 1}-{event['step']}" for event in rewinds)
        lines.append(
            f"  rewinds: {len(rewinds)} (steps undone: {undone}); learning rates at {rewinds[-1]['scale']:.3g}x"
            " the plan since the last one"
        )
    lines.append(f"  findings: {len(found) or 'none'}")
    lines += [f"  - [{finding['kind']}] {finding['message']}" for finding in found]
    return {
        "lr_path": lr_path,
        "schedules": schedules,
        "lr": {"first": first, "last": last},
        "best": best,
        "validations": record.validations,
        "steps": trainer.global_step,
        "findings": [dict(finding) for finding in found],
        "rewinds": rewinds,
        "text": "\n".join(lines),
    }


def plateau_monitor_findings(
    trainer: pl.Trainer, pl_module: pl.LightningModule, loss_key: str
) -> list[tuple[Finding, bool]]:
    """Plateau schedules that watch a training metric, or a validation metric when no validation runs.

    Returns:
        Each finding with whether to warn (a schedule callback that warned or raised already is not repeated).
    """
    # (monitor, whether that schedule has warned about it itself already)
    monitors = [
        (c.monitor, c.schedule.watches_training)
        for c in trainer.callbacks  # type: ignore[attr-defined]
        if isinstance(c, ReduceLROnPlateau)
    ]
    monitors += [
        (config.monitor, False)
        for config in trainer.lr_scheduler_configs
        if config.reduce_on_plateau and config.monitor is not None
    ]
    no_validation = run_changes.validation_never_runs(trainer, pl_module)
    result: list[tuple[Finding, bool]] = []
    for monitor, warned in monitors:
        found = findings.training_metric_monitor(monitor, loss_key)
        if found is not None:
            result.append((found, not warned))
        found = findings.plateau_without_validation(monitor, no_validation)
        if found is not None:
            result.append((found, False))
    return result


def best_validation(record: Record, trainer: pl.Trainer, loss_key: str) -> dict[str, Any]:
    """The best validation so far of the metric ModelCheckpoint monitors (else the validation loss)."""
    kind = classes("callbacks", "ModelCheckpoint")
    checkpoint = next((c for c in trainer.checkpoint_callbacks if isinstance(c, kind) and c.monitor), None)
    monitor = checkpoint.monitor if checkpoint is not None and checkpoint.monitor else loss_key
    mode = checkpoint.mode if checkpoint is not None and checkpoint.monitor else "min"
    best = record.best.get((monitor, "min" if mode == "min" else "max"))
    if best is None:
        return {}
    result = {"monitor": monitor, "value": best["value"], "epoch": best["epoch"], "step": best["step"]}
    if checkpoint is not None and checkpoint.best_model_path:
        result["checkpoint"] = checkpoint.best_model_path
    return result


def _on_divergence(value: Any, stop_on_divergence: bool) -> OnDivergence | Rewind:
    """The divergence action, from ``on_divergence`` and the older ``stop_on_divergence``."""
    if not isinstance(value, Rewind) and value not in ("warn", "stop", "rewind"):
        raise ValueError(
            f"Expected argument `on_divergence` to be 'warn', 'stop', 'rewind' or a `Rewind(...)`, but got {value!r}."
        )
    if stop_on_divergence and value != "stop":
        if value != "warn":
            raise ValueError(
                f"`stop_on_divergence=True` and `on_divergence={value!r}` contradict each other. Pass only"
                " `on_divergence` (`stop_on_divergence=True` is the older spelling of `on_divergence='stop'`)."
            )
        return "stop"
    return Rewind() if value == "rewind" else value


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
    optimizers = trainer.optimizers  # (a schedule-free optimizer's lr includes its own warmup)
    return effective_lr(optimizers[0].param_groups[0]) if optimizers else None


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
        watchers: tuple[type[Any], ...] = (ReduceLROnPlateau, *classes("callbacks", "ModelCheckpoint"))
        watchers += classes("callbacks", "EarlyStopping")
        if isinstance(callback, watchers) and isinstance(monitor, str):
            found.append((monitor, type(callback).__name__))
    return [(monitor, owner) for monitor, owner in found if {"acc", "accuracy"} & set(_words(monitor))]


def _words(key: str) -> list[str]:
    return key.lower().replace("/", "_").replace("-", "_").split("_")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, torch.Tensor) and value.numel() == 1)


def _markdown(text: str) -> str:
    """TensorBoard renders text as markdown: keep the summary's lines and indentation."""
    return "\n".join(f"    {line}" for line in text.splitlines())
