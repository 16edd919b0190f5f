"""How one schedule callback shows its learning rates: the tags, the loggers and the progress bar.

The lr of every param group is logged before each optimizer step at the cadence of ``trainer.log_every_n_steps``,
under the tags Lightning's ``LearningRateMonitor`` uses; a TensorBoard logger gets all of a step's lrs as one
event. Param groups that join during training get their tags (the first group's tag gains ``/pg1`` as in
``LearningRateMonitor``). The Lightning private attributes read here are commented with their public fallbacks.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from torch.optim import Optimizer

from lightning_lrsched import reporting, tensorboard


class LrLog:
    """One fit's lr logging for one optimizer.

    Args:
        trainer: the fitting Trainer.
        optimizer: the scheduled optimizer.
        name: the tag prefix instead of ``lr-<OptimizerClass>``.
        enabled: log to the loggers and show the lr in the progress bar.
        momentum: log momentum (or beta1) too, for schedules that cycle it.

    Example::

        >>> import lightning.pytorch as pl, torch
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> trainer = pl.Trainer(logger=False, enable_progress_bar=False)  # doctest: +ELLIPSIS
        ...
        >>> trainer.optimizers = [optimizer]
        >>> LrLog(trainer, optimizer, None, enabled=True, momentum=False).tags
        ['lr-SGD']
    """

    def __init__(
        self, trainer: pl.Trainer, optimizer: Optimizer, name: str | None, *, enabled: bool, momentum: bool
    ) -> None:
        self.trainer, self.optimizer, self.name, self.momentum = trainer, optimizer, name, momentum
        self.tags = reporting.lr_tags(trainer.optimizers, optimizer, name)
        self.sinks: list[tuple[Logger, Any]] = (
            [(logger, _file_writer(logger)) for logger in trainer.loggers] if enabled else []
        )
        """Each logger with the TensorBoard file writer that takes all lrs of a step as one event, or None."""
        self.show_progress = enabled and trainer.progress_bar_callback is not None

    def retag(self) -> None:
        """Param groups joined: one tag each, named as ``LearningRateMonitor`` names them."""
        self.tags = reporting.lr_tags(self.trainer.optimizers, self.optimizer, self.name)

    def before_step(self) -> None:
        """Log the lrs the coming optimizer step uses, at the Trainer's logging cadence."""
        trainer = self.trainer
        if not self.sinks or not reporting.should_log(
            trainer.global_step, int(getattr(trainer, "log_every_n_steps", 1))
        ):
            return
        metrics = reporting.lr_metrics(self.tags, self.optimizer, self.momentum)
        for logger, writer in self.sinks:
            if writer is None:
                logger.log_metrics(metrics, step=trainer.global_step)
            else:
                tensorboard.write_scalars(writer, metrics, trainer.global_step)

    def show(self, pl_module: pl.LightningModule) -> None:
        """Put the first group's lr in the progress bar."""
        if not self.show_progress:
            return
        lr = float(self.optimizer.param_groups[0]["lr"])
        # private: `LightningModule.log` costs more per call than the schedule step, and the progress bar
        # only reads this dict; `log(..., prog_bar=True)` is the fallback should the dict move
        shown = getattr(self.trainer._logger_connector, "_progress_bar_metrics", None)
        if isinstance(shown, dict):
            shown[self.tags[0]] = lr
        else:
            pl_module.log(self.tags[0], lr, prog_bar=True, logger=False)


def _file_writer(logger: Logger) -> Any:
    """The file writer of a rank-zero, prefix-free TensorBoardLogger on torch's SummaryWriter, else None.

    Such a logger gets all lrs of a step as one event (``tensorboard.write_scalars``); others get ``log_metrics``.
    """
    # private: `TensorBoardLogger._prefix` has no public accessor; a prefixed logger takes the public path
    if not isinstance(logger, TensorBoardLogger) or logger._prefix or getattr(rank_zero_only, "rank", 0) != 0:
        return None
    experiment = logger.experiment
    if type(experiment).__module__ != "torch.utils.tensorboard.writer":  # tensorboardX has its own protos
        return None
    get_writer = getattr(experiment, "_get_file_writer", None)  # private in torch: `log_metrics` should it go
    return get_writer() if callable(get_writer) else None
