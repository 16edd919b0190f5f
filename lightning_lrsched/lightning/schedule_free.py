"""ScheduleFreeCallback: schedule-free optimizers in eval mode wherever the model is evaluated or saved.

Schedule-free optimizers (the ``schedulefree`` package: ``AdamWScheduleFree``, ``SGDScheduleFree``,
``RAdamScheduleFree``, their ``...Reference``/``...Closure`` forms and ``ScheduleFreeWrapper``) train on one sequence
of weights and evaluate another, the average: ``optimizer.eval()`` swaps the parameters to the average,
``optimizer.train()`` swaps them back. Lightning has no hook for it, so without this callback validation, tests and
checkpoints see the training sequence.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn
from typing_extensions import override

from lightning_lrsched import _checks, privates
from lightning_lrsched.core.duration import TrainingLength
from lightning_lrsched.core.warmup import Warmup
from lightning_lrsched.lightning.lr_logging import group_tags, log_lrs, prefixes, sinks
from lightning_lrsched.namespaces import classes

BatchForward = Callable[[pl.LightningModule, Any], Any]
"""How a training batch goes through the model to refresh BatchNorm statistics: ``forward(pl_module, batch)``."""

INSTALL = "pip install schedulefree"


def is_schedule_free(optimizer: Any) -> bool:
    """Whether ``optimizer`` keeps a schedule-free train/eval mode (a ``train_mode`` flag in its groups or on it).

    Example::

        >>> import torch
        >>> is_schedule_free(torch.optim.AdamW([torch.zeros(1, requires_grad=True)]))
        False
    """
    groups = getattr(optimizer, "param_groups", None) or []
    return any("train_mode" in group for group in groups) or isinstance(getattr(optimizer, "train_mode", None), bool)


def in_train_mode(optimizer: Any) -> bool:
    """Whether a schedule-free optimizer's parameters are now the training sequence (not the average)."""
    flag = getattr(optimizer, "train_mode", None)
    return flag if isinstance(flag, bool) else bool(optimizer.param_groups[0].get("train_mode", False))


def default_forward(pl_module: pl.LightningModule, batch: Any) -> Any:
    """The model's forward on a batch's inputs: a tuple's or list's first item, or a dict without its labels."""
    if isinstance(batch, Mapping):
        return pl_module(**{key: value for key, value in batch.items() if key not in ("label", "labels")})
    if isinstance(batch, (tuple, list)):
        return pl_module(batch[0])
    return pl_module(batch)


class ScheduleFreeCallback(Callback):
    """Put every schedule-free optimizer in eval mode where the model is evaluated or saved, in train mode to train.

    Eval mode (the averaged weights, the ones schedule-free optimization is about) around every validation (the
    sanity check and mid-epoch validation included), test and predict run, for every checkpoint (a
    ``ModelCheckpoint``'s, ``trainer.save_checkpoint``'s, an on-exception checkpoint's) and after the fit; train mode
    before each training batch. So the logged validation metrics are those of the averaged weights, a checkpoint
    holds the averaged weights (what ``YourModule.load_from_checkpoint`` gives for inference) with the optimizer in
    eval mode, and a fit resumed from it continues exactly as the uninterrupted one. Automatic and manual
    optimization, any number of optimizers (those that are not schedule-free are left alone).

    The ``schedulefree`` package is needed for the optimizers themselves, not for this callback: ``pip install
    schedulefree`` (or ``pip install lightning-lrsched[schedulefree]``).

    Args:
        bn_batches: before each evaluation, recompute BatchNorm running statistics with the averaged weights over
            this many training batches (what the schedule-free authors recommend for models with BatchNorm; it costs
            that many forward passes per evaluation). 0: off.
        bn_forward: how a training batch goes through the model for that: ``forward(pl_module, batch)``; by default
            the model called on a tuple's first item, or on a dict's items but its labels.
        log_lr: log the lr each schedule-free optimizer's next step uses (its ``lr`` times its own warmup), under
            ``LearningRateMonitor``'s tags (``lr-AdamWScheduleFree``, ``.../pg1``) at the Trainer's logging cadence.
            An optimizer that a schedule callback of this package schedules is logged by that callback instead.

    Example::

        >>> import lightning as L
        >>> trainer = L.Trainer(max_epochs=3, callbacks=[ScheduleFreeCallback()], logger=False)
    """

    def __init__(self, bn_batches: int = 0, bn_forward: BatchForward | None = None, log_lr: bool = True) -> None:
        _checks.integer("bn_batches", bn_batches, 0, "Use e.g. bn_batches=50, or 0 to keep the statistics.")
        _checks.boolean("log_lr", log_lr)
        if bn_forward is not None and not callable(bn_forward):
            raise TypeError(
                f"Expected argument `bn_forward` to be a function `forward(pl_module, batch)`, but got {bn_forward!r}."
            )
        self.bn_batches = bn_batches
        self.bn_forward = bn_forward or default_forward
        self.log_lr = log_lr
        self._optimizers: list[Any] = []
        self._logged: list[tuple[Any, list[str]]] = []  # (optimizer, tags) whose lr this callback logs
        self._sinks: list[tuple[Any, Any]] = []  # the loggers it logs to (see `lr_logging.sinks`)
        self._eval_after_batches = False

    # ------------------------------------------------------------------ fit lifecycle

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._optimizers = _schedule_free_optimizers(trainer.optimizers)
        # a weights-only ModelCheckpoint saves without calling any callback: the average must be in place already
        self._eval_after_batches = any(
            isinstance(c, classes("callbacks", "ModelCheckpoint")) and c.save_weights_only
            for c in trainer.callbacks  # type: ignore[attr-defined]
        )
        scheduled = _check_schedules(trainer, self._optimizers)
        own = [optimizer for optimizer in self._optimizers if optimizer not in scheduled] if self.log_lr else []
        names = prefixes([(optimizer, None) for optimizer in own])
        self._logged = [(optimizer, group_tags(name, optimizer)) for optimizer, name in zip(own, names, strict=True)]
        self._sinks = sinks(trainer) if self._logged else []

    @override
    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        for optimizer in self._optimizers:
            if not in_train_mode(optimizer):
                optimizer.train()
        if self._logged and (step := privates.logged_step(trainer)) is not None:
            log_lrs(trainer, self._logged, self._sinks, step)

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._eval_after_batches:
            self._eval()

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._eval_after_batches:
            self._eval()

    @override
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluate(trainer, pl_module)

    @override
    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluate(trainer, pl_module)

    @override
    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluate(trainer, pl_module)

    @override
    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """The checkpoint gets the averaged weights, and each schedule-free optimizer's state in eval mode.

        Lightning collects the weights before calling this hook: after the switch they are collected again. The
        parameters stay averaged until the next training batch, so the file written after this hook holds them.
        """
        switched = self._evaluate(trainer, pl_module)
        if not switched:
            return
        if "state_dict" in checkpoint:
            checkpoint["state_dict"] = trainer.strategy.lightning_module_state_dict()
        for index, optimizer in enumerate(trainer.optimizers):
            if optimizer in switched and index < len(checkpoint.get("optimizer_states", [])):
                checkpoint["optimizer_states"][index] = trainer.strategy.optimizer_state(optimizer)

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluate(trainer, pl_module)  # after the fit the module holds the averaged weights: test or save them

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._eval()

    # ------------------------------------------------------------------ helpers

    def _evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> list[Any]:
        """The averaged weights, with BatchNorm statistics recomputed for them if asked; the optimizers switched."""
        optimizers = self._optimizers or _schedule_free_optimizers(trainer.optimizers, required=False)
        switched = [optimizer for optimizer in optimizers if in_train_mode(optimizer)]
        self._eval(switched)
        if switched and self.bn_batches:
            recompute_batch_norm(trainer, pl_module, self.bn_batches, self.bn_forward)
        return switched

    def _eval(self, optimizers: Sequence[Any] | None = None) -> None:
        for optimizer in self._optimizers if optimizers is None else optimizers:
            if in_train_mode(optimizer):
                optimizer.eval()


def _schedule_free_optimizers(optimizers: Sequence[Any], *, required: bool = True) -> list[Any]:
    """The schedule-free optimizers among ``optimizers``.

    Raises:
        ValueError: (``required``) when there is none, or one whose ``train()``/``eval()`` a wrapper hides.
    """
    found = [optimizer for optimizer in optimizers if is_schedule_free(optimizer)]
    hidden = [o for o in found if not (callable(getattr(o, "train", None)) and callable(getattr(o, "eval", None)))]
    if hidden:
        raise ValueError(
            f"`ScheduleFreeCallback`: the optimizer {type(hidden[0]).__name__} keeps a schedule-free train/eval mode"
            " but has no `train()`/`eval()` methods: something wraps the schedule-free optimizer and hides them."
            " Return the schedule-free optimizer itself from `configure_optimizers` (or give the wrapper"
            " `train()`/`eval()` that call the optimizer's)."
        )
    if required and not found:
        listed = ", ".join(type(optimizer).__name__ for optimizer in optimizers) or "none"
        raise ValueError(
            f"`ScheduleFreeCallback` found no schedule-free optimizer among `trainer.optimizers` ({listed}). Return"
            f" one from `configure_optimizers`, e.g. `schedulefree.AdamWScheduleFree(self.parameters(), lr=...)`"
            f" (`{INSTALL}`), or drop the callback."
        )
    return found


def _check_schedules(trainer: pl.Trainer, optimizers: Sequence[Any]) -> list[Any]:
    """A schedule of this package on a schedule-free optimizer: a warmup is fine, a decay is named with why.

    Returns:
        The schedule-free optimizers that a schedule callback schedules (and logs).
    """
    from lightning_lrsched.lightning.callback import LRSchedulerCallback
    from lightning_lrsched.report.preview import preview

    length = TrainingLength.from_trainer(trainer)
    scheduled = []
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if not isinstance(callback, LRSchedulerCallback):
            continue
        try:
            optimizer = callback.target.select(trainer)
        except ValueError:  # (a callback naming no optimizer raises at its own fit start)
            continue
        if optimizer not in optimizers:
            continue
        scheduled.append(optimizer)
        name, schedule = type(callback).__name__, callback.schedule
        own_warmup = max(int(group.get("warmup_steps") or 0) for group in optimizer.param_groups)
        if schedule.warmup_length is not None and own_warmup:
            rank_zero_warn(
                f"`{name}(warmup=...)` and the schedule-free optimizer's own `warmup_steps={own_warmup}` both warm"
                " up: their factors multiply. Keep one (the optimizer's `warmup_steps` also weights its average by"
                " the warmup's lrs)."
            )
        if not math.isfinite(length.total_steps):
            continue
        per_epoch = max(int(length.steps_per_epoch), 1) if math.isfinite(length.steps_per_epoch) else 1
        epochs = max(math.ceil(length.total_steps / per_epoch), 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (the schedule's own warnings come at its own fit start)
            lrs = [step[0] for step in preview(schedule, epochs=epochs, steps_per_epoch=per_epoch, lr=1.0)]
            warmup = Warmup.plan(schedule.warmup_length, schedule.warmup_start_factor, length, lambda _: None)
        after = lrs[warmup.steps :]
        if after and max(after) - min(after) > 1e-12 * max(after):
            rank_zero_warn(
                f"`{name}` changes the learning rate of the schedule-free {type(optimizer).__name__} after its"
                f" warmup (between {min(after):.3g}x and {max(after):.3g}x its lr). Schedule-free optimization replaces"
                " a decay by its average of the iterates; a decay on top changes what the average weights. Use a"
                " warmup alone (`ConstantLR(factor=1.0, warmup=...)`, or the optimizer's `warmup_steps`), or a"
                " plain optimizer for a decaying schedule."
            )
    return scheduled


def batch_norms(module: nn.Module) -> list[Any]:
    """The BatchNorm layers of ``module`` that keep running statistics."""
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    return [m for m in module.modules() if isinstance(m, norms) and bool(m.track_running_stats)]


def recompute_batch_norm(
    trainer: pl.Trainer, pl_module: pl.LightningModule, batches: int, forward: BatchForward
) -> None:
    """Recompute every BatchNorm's running statistics with the current (averaged) weights.

    The statistics are reset and then averaged over the first ``batches`` training batches (a cumulative average:
    ``momentum=None`` while recomputing), without gradients and without touching the random state the training
    draws from.
    """
    norms = batch_norms(pl_module)
    loader = trainer.train_dataloader
    if not norms or loader is None:
        return
    momenta = [norm.momentum for norm in norms]
    was_training = pl_module.training
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
        pl_module.train()
        for batch in _first(loader, batches):
            forward(pl_module, trainer.strategy.batch_to_device(batch))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    pl_module.train(was_training)


def _first(loader: Any, count: int) -> Iterator[Any]:
    for index, batch in enumerate(loader):
        if index >= count:
            return
        yield batch
