"""ReduceLROnPlateau: stepped once per completed validation run, with that run's fresh value of the metric."""

from __future__ import annotations

import copy
import difflib
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from torch.optim import Optimizer
from torch.optim import lr_scheduler as torch_schedulers
from typing_extensions import override

from lightning_lrsched import _checks
from lightning_lrsched.core.duration import Interval, TrainingLength
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.core.timeline import Timeline

_MIN_WORDS = ("loss", "error", "err", "mse", "mae", "rmse", "perplexity", "ppl", "nll", "wer", "cer")
_MAX_WORDS = ("acc", "accuracy", "f1", "precision", "recall", "auroc", "auc", "iou", "dice", "map", "bleu", "r2")


USUAL_MONITORS = tuple(
    f"{stage}{sep}{name}"
    for stage in ("val", "valid", "train")
    for sep in ("_", "/")
    for name in ("loss", "acc", "accuracy", "f1", "precision", "recall", "auroc", "mse", "mae", "perplexity")
)
"""Usual monitored metric names: a monitor close to one of them, whose direction the name does not tell, is a typo."""


def typo_of(monitor: str) -> str | None:
    """The usual metric name ``monitor`` looks like a misspelling of, or None.

    Example::

        >>> typo_of("val_los"), typo_of("val_loss"), typo_of("score")
        ('val_loss', None, None)
    """
    if monitor in USUAL_MONITORS:
        return None
    close = difflib.get_close_matches(monitor, USUAL_MONITORS, n=1, cutoff=0.8)
    return close[0] if close else None


def per_dataloader(name: str, logged: Iterable[str]) -> list[str]:
    """The keys of ``logged`` that hold ``name`` once for each of several evaluation dataloaders.

    Lightning names them ``name/dataloader_idx_0``, ``name/dataloader_idx_1``, ... and then never logs ``name``.

    Example::

        >>> per_dataloader("val_loss", ["val_loss/dataloader_idx_1", "train_loss", "val_loss/dataloader_idx_0"])
        ['val_loss/dataloader_idx_0', 'val_loss/dataloader_idx_1']
    """
    return sorted(key for key in logged if key.startswith(f"{name}/dataloader_idx_"))


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


class PlateauTimeline(Timeline):
    """A plateau schedule's timeline: steps on monitored values only, keeps their history and the reductions.

    Example::

        >>> import torch
        >>> from lightning_lrsched import TrainingLength
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> timeline = ReduceLROnPlateau(patience=0).timeline(optimizer, TrainingLength(4, 2))
        >>> [len(timeline.validation({"val_loss": v}, step=0, epoch=0)) for v in (1.0, 2.0)]
        [0, 1]
    """

    def __init__(self, schedule: Schedule, optimizer: Optimizer, length: TrainingLength, **options: Any) -> None:
        assert isinstance(schedule, ReduceLROnPlateau)
        super().__init__(schedule, optimizer, length, **options)
        self.monitor = schedule.monitor
        self.mode = schedule.mode
        self.patience, self.strict = schedule.patience, schedule.strict
        self.history: list[tuple[int, float]] = []
        """(global step, value) of every validation the schedule counted."""
        self.reductions: list[dict[str, Any]] = []
        """One entry per reduction: step, epoch, old and new lrs, and the values since the best one."""
        if self.watches_training:
            self.warn.once(
                "train",
                f"ReduceLROnPlateau monitors {self.monitor!r}, a training metric: it is read at each training epoch"
                " end. A validation metric such as 'val_loss' is the usual choice, since training loss keeps"
                " falling while the model overfits.",
            )

    @property
    def watches_training(self) -> bool:
        """A training metric is read at training epoch ends instead of after validation runs."""
        return self.monitor.lower().startswith("train")

    @override
    def monitors(self) -> dict[str, bool]:
        return {self.monitor: self.strict}

    @override
    def take_values(self, values: Mapping[str, float], *, step: int, epoch: int) -> list[dict[str, Any]]:
        value = values.get(self.monitor)
        if value is None or self.position.steps < self.plan.warmup.steps:  # validations inside the warmup do not count
            return []
        scheduler = self.scheduler
        assert isinstance(scheduler, torch_schedulers.ReduceLROnPlateau)
        fed = value
        if not math.isfinite(value):
            self.warn.once(
                "nonfinite",
                f"ReduceLROnPlateau got {self.monitor}={value} at step {step}; a NaN/inf value counts as no"
                " improvement. Check the model for divergence (an lr that is too high is a common cause).",
            )
            fed = float(scheduler.mode_worse)
        groups = scheduler.optimizer.param_groups  # (torch before 2.3 has no last lrs before its first step)
        before = [float(group["lr"]) for group in groups]
        scheduler.step(fed)
        self.history.append((step, value))
        after = [float(group["lr"]) for group in groups]
        if after == before:
            return []
        event = {
            "step": step,
            "epoch": epoch,
            "lr_before": before,
            "lr_after": after,
            "recent_values": [v for _, v in self.history[-(self.patience + 1) :]],
            "best": float(scheduler.best),
            "validations": self.patience + 1,
            "monitor": self.monitor,
            "schedule": type(self.schedule).__name__,  # (ReduceLROnPlateau or GreedyLR, also as a composite's part)
        }
        self.reductions.append(event)
        return [event]

    @override
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "plateau": self._record()}

    def _record(self) -> dict[str, Any]:
        return {"history": [list(item) for item in self.history], "reductions": copy.deepcopy(self.reductions)}

    @override
    def rewind(self, state: Mapping[str, Any], length: TrainingLength, factor: float, left: Sequence[float]) -> None:
        """Go back to an earlier state's clock, keeping the plateau's reductions and counts of now.

        The reductions answered validations that happened; going back in optimizer steps does not undo them, so
        the lr goes on from ``factor`` times the lr that diverged, never from a level before a cut.
        """
        now = {"scheduler": self._scheduler_state(), "plateau": self._record()}
        kept = {key: value for key, value in state.items() if key not in ("lrs", "plan")}  # (the plateau's now)
        super().rewind({**kept, **now}, length, factor, left)

    def answered_since(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """What this plateau did since ``state`` (an earlier state of it) that a rewind to that state keeps.

        Its counts and reductions of now, and per param group the factor by which the reductions since ``state``
        moved the lr: a plateau phase of a composite shares its lrs with the other phases, so a rewind of the
        composite restores the lrs of ``state`` and multiplies them by these (:meth:`keep_answered`).
        """
        done = len(state.get("plateau", {}).get("reductions", []))
        factors = [1.0] * len(self.planned.stand_in.param_groups)
        for event in self.reductions[done:]:
            pairs = zip(event["lr_before"], event["lr_after"], strict=False)
            moved = [float(after) / float(before) if before else 1.0 for before, after in pairs]
            factors = [kept * by for kept, by in itertools.zip_longest(factors, moved, fillvalue=1.0)]
        return {"scheduler": self._scheduler_state(), "plateau": self._record(), "factors": factors}

    def keep_answered(self, answered: Mapping[str, Any]) -> None:
        """After a rewind of the composite this plateau is a phase of: keep what :meth:`answered_since` gave."""
        self._load_scheduler_state(answered["scheduler"])
        self._load_record(answered["plateau"])
        for group, factor in zip(self.planned.stand_in.param_groups, answered["factors"], strict=False):
            group["lr"] *= factor

    @override
    def restore(self, state: Mapping[str, Any]) -> None:
        super().restore(state)
        self._load_record(state.get("plateau", {}))

    def _load_record(self, plateau: Mapping[str, Any]) -> None:
        self.history = [(int(step), float(value)) for step, value in plateau.get("history", [])]
        self.reductions = copy.deepcopy(list(plateau.get("reductions", [])))

    @override
    def _advance(self) -> None:
        """Plateau schedules step on monitored values only (see ``validation``)."""


class ReduceLROnPlateau(Schedule):
    """Reduce the learning rate when a validation metric stops improving, wired to the metric by itself.

    The schedule steps exactly once per completed validation run, mid-epoch runs (``val_check_interval < 1``)
    included, with the value that run logged: never during the sanity check, and never on a stale value from an
    earlier run (Lightning's own plateau wiring steps at every epoch end, on whatever value was logged last). A
    metric whose name starts with ``train`` is read at the end of each training epoch instead, and so is one that
    the first validation finds logged during training only (``"loss"`` from ``training_step``; one warning says
    so). Under DDP the
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
        **kwargs: ``warmup`` and ``warmup_start_factor`` as on every schedule; validations inside the warmup are
            not counted.

    Example::

        >>> schedule = ReduceLROnPlateau(monitor="val_acc", patience=3)  # mode "max" from the name
        >>> schedule.mode
        'max'
    """

    open_arguments = False

    _timeline_class = PlateauTimeline
    _plateau_scheduler: type[torch_schedulers.ReduceLROnPlateau] = torch_schedulers.ReduceLROnPlateau
    """The torch scheduler fed with the monitored values (``GreedyLR`` has its own)."""

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
        if resolved is None and (typo := typo_of(monitor)) is not None:
            raise ValueError(
                f"`monitor`={monitor!r} looks like a misspelling of {typo!r}. Did you mean `monitor={typo!r}`? Give"
                " the key your LightningModule logs with `self.log(...)` (for a metric of your own that is really"
                " named so, pass `mode='min'` or `mode='max'`)."
            )
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
            self._plateau_scheduler,
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
        self.patience, self.strict = patience, strict

    @property
    def watches_training(self) -> bool:
        """A training metric (``train...``) is read at each training epoch end, not after validation."""
        return self.monitor.lower().startswith("train")

    @property
    def history(self) -> list[tuple[int, float]]:
        """(global step, value) of every validation the schedule counted in the current or last fit."""
        timeline = self.last_timeline
        return list(timeline.history) if isinstance(timeline, PlateauTimeline) else []

    @property
    def reductions(self) -> list[dict[str, Any]]:
        """One entry per reduction of the current or last fit: step, epoch, old and new lrs, recent values."""
        timeline = self.last_timeline
        return list(timeline.reductions) if isinstance(timeline, PlateauTimeline) else []

    @override
    def _default_interval(self, kwargs: dict[str, Any]) -> Interval:
        return "epoch"
