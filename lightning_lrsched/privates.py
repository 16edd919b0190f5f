"""Every use of a private attribute of Lightning or torch, each with its public fallback, in one place.

The rest of the package calls these functions and never reads a private attribute of Lightning or torch itself, so
that a release that moves one breaks one function here, whose fallback says what to do instead. Lightning is
imported inside the functions: the torch-only layer (``planned_lrs.py``) uses this module too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import StochasticWeightAveraging
    from lightning.pytorch.loggers import Logger
    from torch.optim import Optimizer


def mark_stepped(optimizer: Optimizer) -> None:
    """Tell torch's schedulers that ``optimizer`` has stepped (a stand-in that never steps).

    Private: torch's flag ``_opt_called``; a scheduler stepping an optimizer that never did warns once. The public
    fallback is to filter that warning ("Detected call of `lr_scheduler.step()` before") around each event.
    """
    optimizer._opt_called = True  # type: ignore[attr-defined]


def batches_that_stepped(trainer: pl.Trainer) -> int:
    """The x value of Lightning's own step metrics.

    Private: the epoch loop's ``_batches_that_stepped``. The public fallback, ``global_step``, equals it with one
    optimizer in automatic optimization.
    """
    return int(getattr(trainer.fit_loop.epoch_loop, "_batches_that_stepped", trainer.global_step))


def logged_step(trainer: pl.Trainer) -> int | None:
    """The x value of this batch's step metrics when Lightning logs them (see :func:`batches_that_stepped`), else None.

    Private: the logger connector's ``should_update_logs``; the fallback restates its rule.
    """
    step = int(getattr(trainer.fit_loop.epoch_loop, "_batches_that_stepped", trainer.global_step))  # (as above)
    connector = getattr(trainer, "_logger_connector", None)
    if connector is not None and hasattr(connector, "should_update_logs"):
        return step if connector.should_update_logs else None
    every = int(getattr(trainer, "log_every_n_steps", 1))
    return step if every > 0 and ((step + 1) % every == 0 or trainer.should_stop) else None


def progress_bar_metrics(trainer: pl.Trainer) -> dict[str, Any] | None:
    """The dict the progress bar shows, to put a text in it; None when it moved.

    Private: the logger connector's ``_progress_bar_metrics`` (``LightningModule.log`` costs more per call than the
    schedule step and takes no text). The fallback, on None, is ``log(..., prog_bar=True)``.
    """
    shown = getattr(getattr(trainer, "_logger_connector", None), "_progress_bar_metrics", None)
    return shown if isinstance(shown, dict) else None


def tensorboard_file_writer(logger: Logger) -> Any:
    """The file writer of a rank-zero, prefix-free TensorBoardLogger on torch's SummaryWriter, else None.

    Such a logger gets all lrs of a step as one event; others get ``log_metrics`` (the fallback). Private:
    ``TensorBoardLogger._prefix`` (no public accessor) and torch's ``SummaryWriter._get_file_writer``.
    """
    from lightning.pytorch.utilities import rank_zero_only

    from lightning_lrsched.namespaces import classes

    prefixed = getattr(logger, "_prefix", "")
    if (
        not isinstance(logger, classes("loggers", "TensorBoardLogger"))
        or prefixed
        or getattr(rank_zero_only, "rank", 0) != 0
    ):
        return None
    experiment = logger.experiment
    if type(experiment).__module__ != "torch.utils.tensorboard.writer":  # tensorboardX has its own protos
        return None
    return summary_file_writer(experiment)


def summary_file_writer(experiment: Any) -> Any:
    """The file writer of torch's ``SummaryWriter``, which takes whole summaries (HParams, several scalars).

    Private: ``SummaryWriter._get_file_writer``, as Lightning's own ``log_hyperparams`` uses it. No public fallback
    writes a summary proto; without it (None) the caller writes nothing.
    """
    get_writer = getattr(experiment, "_get_file_writer", None)
    return get_writer() if callable(get_writer) else None


def validation_data_defined(trainer: pl.Trainer) -> bool | None:
    """Whether the fit has validation data (a dataloader, or a datamodule or module that defines one).

    Private: the validation loop's ``_data_source``, which knows before the dataloaders are loaded. The public
    check needs them loaded; without the private one (None) nothing is concluded before the first validation.
    """
    source = getattr(trainer.fit_loop.epoch_loop.val_loop, "_data_source", None)
    return bool(source.is_defined()) if source is not None else None


def swa_epoch_start(callback: StochasticWeightAveraging) -> Any:
    """SWA's ``swa_epoch_start`` as given (an int, or a float share of ``max_epochs``).

    Private: SWA converts a float to an int in its own ``on_fit_start``, maybe after ours; it keeps the value only
    as ``_swa_epoch_start``. No public fallback: without it SWA's start is not known before its first epoch.
    """
    return callback._swa_epoch_start


def skip_training_steps(trainer: pl.Trainer, pl_module: pl.LightningModule) -> Callable[[], None]:
    """Make the next training steps learn nothing, until the function returned is called.

    Replaces the strategy's ``training_step`` (a loss that reaches no parameter: no gradient, nothing synced; DDP
    refuses a None) and, in automatic optimization, the module's ``optimizer_step`` (Lightning's closure runs, the
    optimizer does not step). No public fallback: Lightning has no hook that skips one batch (``on_train_batch_start``
    returning -1 skips the rest of the epoch, a ``training_step`` returning None is refused under DDP).
    """
    import torch

    strategy, device = trainer.strategy, pl_module.device

    def no_training_step(*args: Any, **kwargs: Any) -> torch.Tensor:
        return torch.zeros((), device=device, requires_grad=True)

    def closure_only(epoch: int, batch_idx: int, optimizer: Any, optimizer_closure: Any = None) -> None:
        if optimizer_closure is not None:
            optimizer_closure()

    strategy.training_step = no_training_step  # type: ignore[method-assign]
    if pl_module.automatic_optimization:
        pl_module.optimizer_step = closure_only  # type: ignore[method-assign]

    def restore() -> None:
        strategy.__dict__.pop("training_step", None)
        pl_module.__dict__.pop("optimizer_step", None)

    return restore
