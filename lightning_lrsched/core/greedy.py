"""GreedyLR: transformers' metric-driven schedule, up while the metric improves, down when it stalls.

Stepped like ReduceLROnPlateau: once per validation run, with that run's value.
"""

from __future__ import annotations

from typing import Any, Literal

from torch.optim import Optimizer
from torch.optim import lr_scheduler as torch_schedulers

from lightning_lrsched import _checks
from lightning_lrsched.core.plateau import ReduceLROnPlateau


class _GreedySchedule(torch_schedulers.ReduceLROnPlateau):
    """transformers' ``GreedyLR`` rules (transformers 5.23, ``optimization.py``) on torch's plateau machinery.

    ``patience + 1`` improvements in a row divide the lr by ``factor`` (up to ``max_lr``), then it waits
    ``wait_after_increase`` validations; ``patience + 1`` stalls multiply it by ``factor`` (down to ``min_lr``),
    then it waits ``cooldown``. ``reset_start`` reductions with every group at ``min_lr`` restore the initial lrs.
    ``smooth`` compares the running mean of the last ``window_size`` values instead of the value itself.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.95,
        patience: int = 10,
        threshold: float = 1e-6,
        threshold_mode: Literal["rel", "abs"] = "abs",
        cooldown: int = 0,
        min_lr: float | list[float] = 1e-3,
        eps: float = 1e-8,
        max_lr: float | list[float] = 1.0,
        wait_after_increase: int = 0,
        smooth: bool = False,
        window_size: int = 50,
        reset_start: int = 500,
    ) -> None:
        super().__init__(optimizer, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps)
        groups = len(optimizer.param_groups)
        self.max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * groups
        self.wait_after_increase, self.wait_counter = wait_after_increase, 0
        self.num_good_epochs = 0
        self.smooth, self.window_size = smooth, window_size
        self.window: list[float] = []
        self.window_sum = 0.0
        self.reset_start = self.reset_start_original = reset_start
        self.init_lrs = [float(group["lr"]) for group in optimizer.param_groups]

    def step(self, metrics: Any, epoch: Any = None) -> None:  # type: ignore[override]
        current = self._smoothed(float(metrics))
        self.last_epoch += 1
        if self.cooldown_counter > 0 or self.wait_counter > 0:
            if self.cooldown_counter > 0:
                self.cooldown_counter -= 1
            else:
                self.wait_counter -= 1
            self.num_bad_epochs = self.num_good_epochs = 0
        else:
            if self._improves(current):
                self.best, self.num_bad_epochs = current, 0
                self.num_good_epochs += 1
            else:
                self.num_bad_epochs, self.num_good_epochs = self.num_bad_epochs + 1, 0
            if self.num_good_epochs > self.patience:
                self._increase_lr()
                self.wait_counter, self.num_good_epochs = self.wait_after_increase, 0
            elif self.num_bad_epochs > self.patience:
                self._reduce_lr(self.last_epoch)
                self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]

    def _improves(self, value: float) -> bool:
        """Whether ``value`` improves on the best one: torch's documented rule for ``mode`` and ``threshold_mode``."""
        best, threshold = float(self.best), float(self.threshold)
        if self.threshold_mode == "rel":
            bound = best * (1 - threshold if self.mode == "min" else 1 + threshold)
        else:
            bound = best - threshold if self.mode == "min" else best + threshold
        return value < bound if self.mode == "min" else value > bound

    def _smoothed(self, value: float) -> float:
        """The running mean of the last ``window_size`` values when smoothing (a running sum, as transformers)."""
        if not self.smooth:
            return value
        self.window.append(value)
        self.window_sum += value
        if len(self.window) > self.window_size:
            self.window_sum -= self.window.pop(0)
        return self.window_sum / len(self.window)

    def _increase_lr(self) -> None:
        for group, high in zip(self.optimizer.param_groups, self.max_lrs, strict=False):
            old = float(group["lr"])
            new = min(old / self.factor, high)
            if new - old > self.eps:
                group["lr"] = new
        self.reset_start = self.reset_start_original

    def _reduce_lr(self, epoch: Any) -> None:
        super()._reduce_lr(epoch)
        if all(float(g["lr"]) <= low for g, low in zip(self.optimizer.param_groups, self.min_lrs, strict=False)):
            self.reset_start -= 1
            if self.reset_start <= 0:
                self._start_over()

    def _start_over(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.init_lrs, strict=False):
            group["lr"] = lr
        self.best = self.mode_worse
        self.num_bad_epochs = self.num_good_epochs = self.cooldown_counter = self.wait_counter = 0
        self.reset_start = self.reset_start_original
        if self.smooth:
            self.window, self.window_sum = [], 0.0


class GreedyLR(ReduceLROnPlateau):
    """transformers' ``GreedyLR`` (``lr_scheduler_type="greedy"``): up while the metric improves, down when it stalls.

    Stepped once per completed validation run with that run's fresh value, as ``ReduceLROnPlateau`` (the same
    monitor wiring, DDP agreement, history and events). Defaults are transformers'.

    Args:
        monitor: the logged metric to watch.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the name, as ``ReduceLROnPlateau``).
        factor: on a stall the lr is multiplied by this; after ``patience + 1`` improvements, divided by it.
        patience: validations in a row before a change.
        threshold: the minimal change that counts as an improvement.
        threshold_mode: ``"abs"`` (transformers' default) or ``"rel"``.
        cooldown: validations to wait after a reduction.
        wait_after_increase: validations to wait after an increase (transformers calls it ``warmup``; here
            ``warmup`` is the learning-rate warmup every callback has).
        min_lr: the lowest lr (one float, or one per param group).
        max_lr: the highest lr (one float, or one per param group).
        eps: changes smaller than this are skipped.
        smooth: compare the running mean of the last ``window_size`` values.
        window_size: the running mean's length.
        reset_start: reductions with every group at ``min_lr`` before the initial lrs come back.
        strict: a monitor key that the first validation did not log is an error (True) or one warning.
        **kwargs: the arguments of every schedule (``warmup``, ``warmup_start_factor``).

    Example::

        >>> schedule = GreedyLR(monitor="val_loss", patience=2, min_lr=1e-5, max_lr=1e-3)
        >>> schedule.mode
        'min'
    """

    _plateau_scheduler = _GreedySchedule

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: Literal["min", "max", "auto"] = "auto",
        factor: float = 0.95,
        patience: int = 10,
        threshold: float = 1e-6,
        threshold_mode: Literal["rel", "abs"] = "abs",
        cooldown: int = 0,
        wait_after_increase: int = 0,
        min_lr: float | list[float] = 1e-3,
        max_lr: float | list[float] = 1.0,
        eps: float = 1e-8,
        smooth: bool = False,
        window_size: int = 50,
        reset_start: int = 500,
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        _checks.integer("wait_after_increase", wait_after_increase, 0)
        _checks.positive("max_lr", max_lr)
        _checks.non_negative("min_lr", min_lr)
        _checks.not_above("min_lr", min_lr, "max_lr", max_lr)
        _checks.boolean("smooth", smooth)
        _checks.integer("window_size", window_size, 1)
        _checks.integer("reset_start", reset_start, 1)
        super().__init__(
            monitor,
            mode,
            factor,
            patience,
            threshold,
            threshold_mode,
            cooldown,
            min_lr,
            eps,
            strict,
            max_lr=max_lr,
            wait_after_increase=wait_after_increase,
            smooth=smooth,
            window_size=window_size,
            reset_start=reset_start,
            **kwargs,
        )
