"""The findings of LRDiagnostics: one plain function per finding, from the recent window and the validations.

Each function takes what it reads (the recent training losses and lrs, the recent validations, label counts)
and returns a :class:`Finding` or None. Nothing here knows Lightning; ``callback.py`` feeds and reports them.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lightning_lrsched import _checks
from lightning_lrsched.core.plateau import per_dataloader

SPIKE_STEPS = 3
"""A spike is the mean of this many steps, so that a single hard batch is not one."""
BLOW_UP = 100.0
"""A loss this many times its first value has diverged, however early in training."""


@dataclass(frozen=True)
class Thresholds:
    """What counts as a finding: LRDiagnostics' arguments of that name, checked when made.

    Example::

        >>> Thresholds(window=20).spike_factor
        4.0
    """

    window: int = 50
    """Training steps per window for the running baseline, oscillation and stall checks."""
    spike_factor: float = 4.0
    """A loss above this multiple of the window's median (and far outside its spread) is a spike."""
    oscillation_cv: float = 0.5
    """The std / mean of the window's losses above which a loss that does not improve oscillates."""
    stall_tolerance: float = 0.02
    """Relative change of the loss below which it has not moved."""
    overfit_patience: int = 3
    """Validations in a row with a rising validation loss (and a falling training loss) that are overfitting."""
    imbalance_ratio: float = 4.0
    """Majority / minority class count of the validation labels from which accuracy is a doubtful metric."""
    loss_key: str = "val_loss"
    """The logged validation loss."""

    def __post_init__(self) -> None:
        _checks.integer("window", self.window, 4)
        _checks.in_range("spike_factor", self.spike_factor, 1, math.inf, closed_low=False, closed_high=False)
        _checks.positive("oscillation_cv", self.oscillation_cv)
        _checks.in_range("stall_tolerance", self.stall_tolerance, 0, 1, closed_low=False, closed_high=False)
        _checks.integer("overfit_patience", self.overfit_patience, 1)
        _checks.in_range("imbalance_ratio", self.imbalance_ratio, 1, math.inf, closed_low=False, closed_high=False)
        if not isinstance(self.loss_key, str) or not self.loss_key:
            raise ValueError(f"Expected argument `loss_key` to be a logged metric name, but got {self.loss_key!r}.")
        for name in ("spike_factor", "oscillation_cv", "stall_tolerance", "imbalance_ratio"):  # (2 is 2.0 here)
            object.__setattr__(self, name, float(getattr(self, name)))


@dataclass
class Finding:
    """What was found: its kind (``divergence``, ``oscillation``, ...), the message and the numbers behind it.

    Example::

        >>> Finding("stall", "Stall at step 300: ...", {"loss": 0.69}).kind
        'stall'
    """

    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Record:
    """What the diagnostics saw of a fit besides the window: the first and last lr, the validations, the best values.

    Example::

        >>> record = Record()
        >>> record.saw_lr(0.1); record.saw_lr(0.05)
        >>> record.saw_validation({"val_loss": 0.5}, step=10, epoch=0)
        >>> record.lr_first, record.lr_last, record.validations, record.best[("val_loss", "min")]["value"]
        (0.1, 0.05, 1, 0.5)
    """

    lr_first: float | None = None
    lr_last: float | None = None
    validations: int = 0
    best: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(metric, "min"/"max") -> the best validation: value, epoch, step."""

    def saw_lr(self, lr: float | None) -> None:
        """A training step ran with ``lr`` (None: unknown)."""
        if lr is not None:
            self.lr_first = lr if self.lr_first is None else self.lr_first
            self.lr_last = lr

    def saw_validation(self, metrics: Mapping[str, float], *, step: int, epoch: int) -> None:
        """A validation run ended with ``metrics``: count it, and keep each metric's best in both directions."""
        self.validations += 1
        for key, value in metrics.items():
            for mode, better in (("min", value.__lt__), ("max", value.__gt__)):
                best = self.best.get((key, mode))
                if best is None or better(best["value"]):
                    self.best[(key, mode)] = {"value": value, "epoch": epoch, "step": step}


@dataclass
class Window:
    """The recent training steps: bounded, so memory does not grow with the run.

    Example::

        >>> window = Window(size=4)
        >>> for loss in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3):
        ...     window.add(loss, lr=0.1)
        >>> len(window.losses), window.initial_loss
        (7, 1.0)
    """

    size: int
    losses: deque[float] = field(init=False)
    lrs: deque[float] = field(init=False)
    initial_loss: float | None = None
    start_level: float | None = None
    """The median of the first full window: where training started."""

    def __post_init__(self) -> None:
        self.losses = deque(maxlen=self.size + SPIKE_STEPS)
        self.lrs = deque(maxlen=self.size)

    def add(self, loss: float | None, lr: float | None) -> None:
        """One training step's (finite) loss and the lr it used."""
        if lr is not None:
            self.lrs.append(lr)
        if loss is None or not math.isfinite(loss):
            return
        self.initial_loss = loss if self.initial_loss is None else self.initial_loss
        self.losses.append(loss)
        if self.start_level is None and len(self.losses) == self.size:
            self.start_level = statistics.median(self.losses)

    def state(self) -> dict[str, Any]:
        """Plain numbers for a checkpoint (bounded like the window)."""
        return {
            "size": self.size,
            "losses": list(self.losses),
            "lrs": list(self.lrs),
            "initial_loss": self.initial_loss,
            "start_level": self.start_level,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Window:
        """The window a checkpoint's :meth:`state` describes."""
        window = cls(int(state["size"]), initial_loss=state.get("initial_loss"), start_level=state.get("start_level"))
        window.losses.extend(float(loss) for loss in state.get("losses") or [])
        window.lrs.extend(float(lr) for lr in state.get("lrs") or [])
        return window

    def lr_rising(self, lr: float | None) -> tuple[bool, str]:
        """Whether the lr rose over the window, and a note saying so."""
        if lr is None or not self.lrs:
            return False, ""
        low = min(self.lrs)
        if lr > low * 1.05:
            return True, f", which had just increased from {fmt(low)} (warmup, OneCycle or a cyclic schedule)"
        return False, ""


def divergence(
    window: Window, step: int, loss: float, lr: float | None, spike_factor: float, stopping: str = ""
) -> Finding | None:
    """A NaN/inf loss, a loss 100x its first value, or a spike far outside the window's spread."""
    if math.isfinite(loss):
        losses = list(window.losses)
        # the mean of the last few steps, so that one hard batch is not a spike
        recent = statistics.fmean(losses[-SPIKE_STEPS:])
        initial = window.initial_loss if window.initial_loss is not None else recent
        history = losses[:-SPIKE_STEPS]
        if initial > 0 and len(losses) >= SPIKE_STEPS and recent > BLOW_UP * initial:  # history or not
            what = f"the training loss rose to {recent:.4g}, {recent / initial:.0f}x its first value {initial:.4g}"
        # a spike is above where training started too, so that the noise of a small, well-trained loss is no
        # spike; that cheap test comes first, since a healthy run fails it at almost every step and the
        # medians below sort the window
        elif recent > initial and len(history) >= max(8, window.size // 2):
            baseline = statistics.median(history)
            spread = statistics.median(abs(value - baseline) for value in history)
            if not (recent > spike_factor * baseline and recent > baseline + 10 * spread):
                return None
            what = (
                f"the training loss jumped to {recent:.4g} (mean of the last {SPIKE_STEPS} steps),"
                f" {recent / baseline:.1f}x its running median {baseline:.4g}"
            )
        else:
            return None
    else:
        what = f"the training loss is {loss}"
    rising, note = window.lr_rising(lr)
    fix = (
        "Lower the peak lr (`max_lr`, or the lr the warmup climbs to) by 3-10x, or lengthen the warmup."
        if rising
        else "Lower the lr by 3-10x; gradient clipping (`Trainer(gradient_clip_val=1.0)`) also guards against"
        " single bad batches."
    )
    stopped = f" Training was stopped ({stopping})." if stopping else ""
    return Finding(
        "divergence",
        f"Divergence at step {step}: {what}, at lr {fmt(lr)}{note}. {fix}{stopped}",
        {"lr": lr, "loss": loss, "lr_rising": rising, "what": what},
    )


def oscillation(window: Window, step: int, lr: float | None, cv_limit: float, diverged: bool) -> Finding | None:
    """Over the last window the loss varies a lot relative to its mean while it makes no progress."""
    losses, mean, cv, progress = _window_stats(window)
    start = window.start_level or mean
    # after a divergence the loss may bounce, or sit where it started with a broken model: that is explained
    if mean <= 0 or diverged or not (cv > cv_limit and progress < 0.05 and mean > 0.5 * start):
        return None
    note = window.lr_rising(lr)[1]
    return Finding(
        "oscillation",
        f"Oscillation around step {step}: over the last {len(losses)} steps the training loss varies by {cv:.0%} of its"
        f" mean {mean:.4g} without improving, at lr {fmt(lr)}{note}. The lr is probably too high: lower the max lr"
        " 3x, lengthen the warmup, or let a plateau schedule reduce it sooner (smaller `patience`). Larger batches"
        " also smooth the loss.",
        {"lr": lr, "cv": cv},
    )


def stall(
    window: Window, step: int, lr: float | None, tolerance: float, cv_limit: float, diverged: bool
) -> Finding | None:
    """After 3 windows, and not while the lr rises, the loss has hardly moved from where it started."""
    losses, mean, cv, _ = _window_stats(window)
    if mean <= 0 or diverged or window.lr_rising(lr)[0]:  # a warmup's low lr is not a stall (yet)
        return None
    start = window.start_level or mean
    later = statistics.fmean(losses[len(losses) // 2 :])
    moved = abs(start - later) / start if start > 0 else 1.0
    if not (moved < tolerance and cv <= cv_limit):
        return None
    peak = max(window.lrs) if window.lrs else None
    decayed = lr is not None and peak is not None and lr < 0.01 * peak
    cause = (
        f" The lr has decayed to {fmt(lr)}, under 1% of its peak {fmt(peak)}: the schedule ends too early;"
        " give it a longer length or a higher `eta_min`/final lr."
        if decayed
        else " The lr is probably too low to learn: try 10x higher (preview the schedule with"
        " `lightning_lrsched.report.preview`), or a short warmup to a higher peak."
    )
    return Finding(
        "stall",
        f"Stall at step {step}: the training loss is {later:.4g} after starting at {start:.4g} (moved {moved:.1%}),"
        f" at lr {fmt(lr)}.{cause}",
        {"lr": lr, "start_loss": start, "loss": later},
    )


def overfitting(
    recent: Sequence[Mapping[str, Any]], patience: int, loss_key: str, best: Mapping[str, Any], plateau: bool
) -> Finding | None:
    """The validation loss rose ``patience`` validations in a row while the training loss fell."""
    if len(recent) <= patience:
        return None
    recent = list(recent)[-(patience + 1) :]
    val = [entry["val_loss"] for entry in recent]
    train = [entry["train_loss"] for entry in recent]
    if any(v is None or not math.isfinite(v) for v in val) or any(t is None for t in train):
        return None
    if not all(b > a for a, b in itertools.pairwise(val)) or not train[-1] < train[0]:
        return None
    where = f"epoch {best['epoch']} (step {best['step']}, {best['monitor']} {best['value']:.4g})" if best else "n/a"
    if best.get("checkpoint"):
        where += f", saved at {best['checkpoint']}"
    note = " (the plateau schedule will now reduce it)" if plateau else ""
    return Finding(
        "overfitting",
        f"Overfitting: {loss_key} rose {patience} validations in a row ({' -> '.join(f'{v:.4g}' for v in val)})"
        f" while the training loss fell ({train[0]:.4g} -> {train[-1]:.4g}). Lowering the lr alone will not fix"
        f" this{note}. The best model so far is from {where}: keep that checkpoint"
        f" (`ModelCheckpoint(monitor='{loss_key}')`), stop early (`EarlyStopping(monitor='{loss_key}')`), or add"
        " data, augmentation or regularization (weight decay, dropout).",
        {"val_losses": val, "train_losses": train, "best": dict(best)},
    )


def unlogged_validation_loss(loss_key: str, logged: Sequence[str]) -> Finding:
    """A validation ran without logging ``loss_key``: overfitting cannot be watched.

    Example::

        >>> unlogged_validation_loss("val_loss", ["val_loss/dataloader_idx_0", "val_loss/dataloader_idx_1"]).kind
        'unwatched'
    """
    per_loader = per_dataloader(loss_key, logged)
    hint = f" With several dataloaders, Lightning logs it once for each: {per_loader}." if per_loader else ""
    return Finding(
        "unwatched",
        f"Validation logged no `{loss_key}`, so overfitting is not watched; the logged metrics are {sorted(logged)}."
        f"{hint} Set `LRDiagnostics(loss_key=...)` to the validation loss to watch.",
        {"loss_key": loss_key},
    )


def training_metric_monitor(monitor: str, loss_key: str) -> Finding | None:
    """A plateau schedule that watches a training metric."""
    if not monitor.lower().startswith("train"):
        return None
    return Finding(
        "metric-choice",
        f"The plateau schedule watches {monitor!r}, a training metric. Training loss keeps falling while the model"
        " overfits, so the lr is reduced late or never when it matters. Watch a validation metric:"
        f" `ReduceLROnPlateau(monitor='{loss_key}')`.",
        {"monitor": monitor},
    )


def plateau_without_validation(monitor: str, reason: str | None) -> Finding | None:
    """A plateau schedule that watches a validation metric in a fit where no validation runs."""
    if reason is None or monitor.lower().startswith("train"):
        return None
    return Finding(
        "no-validation",
        f"The plateau schedule watches {monitor!r}, but no validation runs in this fit ({reason}): the learning"
        " rate is never reduced. Let validation run, or watch a training metric.",
        {"monitor": monitor, "reason": reason},
    )


def accuracy_on_imbalanced_labels(
    counts: Counter[int], monitors: Sequence[tuple[str, str]], metrics: Mapping[str, float], ratio_limit: float
) -> Finding | None:
    """Accuracy drives a decision although the labels are so imbalanced that it says little."""
    if len(counts) < 2 or max(counts.values()) / min(counts.values()) < ratio_limit:
        return None
    total = sum(counts.values())
    majority = max(counts.values()) / total
    for monitor, owner in monitors:
        accuracy = metrics.get(monitor)
        if accuracy is None:
            continue
        others = {
            key: metrics[key] for word in ("f1", "recall") if (key := swap(monitor, word)) in metrics and key != monitor
        }
        disagree = {key: value for key, value in others.items() if accuracy - value >= 0.15}
        if accuracy > majority + 0.02 and not disagree:
            continue
        shares = ", ".join(f"class {label}: {count / total:.0%}" for label, count in counts.most_common())
        contrast = "; ".join(f"{key} is {value:.3f}" for key, value in disagree.items())
        return Finding(
            "metric-choice",
            f"{owner} monitors {monitor!r} ({accuracy:.3f}), but the validation labels are imbalanced ({shares}):"
            f" always predicting the majority class scores {majority:.3f}{'; ' + contrast if contrast else ''}."
            " Accuracy hides a model that ignores the minority class; monitor F1 or recall instead, e.g."
            f" `{owner}(monitor='{swap(monitor, 'f1')}', mode='max')`.",
            {"monitor": monitor, "accuracy": accuracy, "majority_share": majority, "others": others},
        )
    return None


def swap(monitor: str, word: str) -> str:
    """``val_acc`` -> ``val_f1``: the same metric key with another metric's name."""
    return monitor.replace("accuracy", word).replace("acc", word)


def fmt(value: float | None) -> str:
    """An lr or loss for a sentence."""
    return "n/a" if value is None else f"{value:.3g}"


def _window_stats(window: Window) -> tuple[list[float], float, float, float]:
    """The last window's losses, their mean, relative spread (std / mean) and relative progress."""
    losses = list(window.losses)[-window.size :]
    half = len(losses) // 2
    earlier, later = statistics.fmean(losses[:half]), statistics.fmean(losses[half:])
    mean = statistics.fmean(losses)
    cv = statistics.pstdev(losses) / mean if mean > 0 else 0.0
    progress = (earlier - later) / earlier if earlier > 0 else 0.0
    return losses, mean, cv, progress
