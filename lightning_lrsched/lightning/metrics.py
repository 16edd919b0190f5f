"""ClassificationMetrics: accuracy and F1 through torchmetrics, one metric object per stage."""

from __future__ import annotations

from typing import Literal

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import Accuracy, F1Score

from lightning_lrsched import _checks

Stage = Literal["train", "val", "test"]
Average = Literal["macro", "weighted", "micro"]
STAGES: tuple[Stage, ...] = ("train", "val", "test")


class ClassificationMetrics(nn.Module):
    """Accuracy and F1 for a classifier, computed by torchmetrics over the whole epoch of each stage.

    * ``num_classes=2``: binary metrics; F1 is the F1 of class 1 (the positive class), from
      ``softmax(logits)[:, 1] >= 0.5``, which is the arg-max of two logits.
    * ``num_classes > 2``: multiclass; accuracy is the plain fraction of correct predictions (micro), F1 is
      averaged over classes with ``average`` (``"macro"`` by default: every class counts the same, which is what
      matters on imbalanced data; ``"weighted"`` weighs classes by support).

    There is one metric object per stage (``train``, ``val``, ``test``), logged as ``train_acc``, ``val_f1``, ...
    Lightning computes each over the whole epoch (never an average of batch values) and resets it between
    epochs. With several validation (or test) dataloaders, each dataloader gets its own objects (one object fed by
    two dataloaders would log their mixture under both names), logged as Lightning names a value of each:
    ``val_acc/dataloader_idx_0``, ``val_acc/dataloader_idx_1``, ...

    Args:
        num_classes: number of classes, >= 2.
        average: how multiclass F1 averages over classes.

    Example::

        >>> metrics = ClassificationMetrics(num_classes=3)
        >>> metrics["val"].update(torch.tensor([[2.0, 0.1, 0.1], [0.1, 0.1, 3.0]]), torch.tensor([0, 1]))
        >>> {k: round(float(v), 3) for k, v in metrics["val"].compute().items()}
        {'val_acc': 0.5, 'val_f1': 0.333}
    """

    def __init__(self, num_classes: int, average: Average = "macro") -> None:
        super().__init__()
        _checks.integer("num_classes", num_classes, 2, "A classifier needs at least two classes.")
        _checks.one_of("average", average, ("macro", "weighted", "micro"))
        self.num_classes = num_classes
        self.average: Average = average
        if num_classes == 2:
            base = MetricCollection({"acc": Accuracy(task="binary"), "f1": F1Score(task="binary")})
        else:
            base = MetricCollection(
                {
                    "acc": Accuracy(task="multiclass", num_classes=num_classes, average="micro"),
                    "f1": F1Score(task="multiclass", num_classes=num_classes, average=average),
                }
            )
        self.train_metrics = base.clone(prefix="train_")
        self.val_metrics = base.clone(prefix="val_")
        self.test_metrics = base.clone(prefix="test_")
        self.more_dataloaders = nn.ModuleDict()
        """The objects of each dataloader after the first, made at its first batch: ``"val_1"``, ..."""
        self._paths: dict[int, dict[int, str]] = {}

    def __getitem__(self, stage: Stage) -> MetricCollection:
        _checks.one_of("stage", stage, STAGES)
        collection = getattr(self, f"{stage}_metrics")
        assert isinstance(collection, MetricCollection)
        return collection

    def of_dataloader(self, stage: Stage, dataloader_idx: int, device: torch.device) -> MetricCollection:
        """The metric objects of a stage's dataloader: the stage's own for the first, a clone of them for others."""
        first = self[stage]
        if dataloader_idx == 0:
            return first
        key = f"{stage}_{dataloader_idx}"
        if key not in self.more_dataloaders:
            fresh = first.clone()
            fresh.reset()  # (the clone copies the first's values so far)
            self.more_dataloaders[key] = fresh.to(device)
        collection = self.more_dataloaders[key]
        assert isinstance(collection, MetricCollection)
        return collection

    def predictions(self, logits: Tensor) -> Tensor:
        """What the metrics compare with the targets: P(class 1) for binary, logits for multiclass."""
        if self.num_classes == 2:
            return torch.softmax(logits.detach().float(), dim=-1)[..., 1]
        return logits.detach()

    def update_and_log(
        self, module: pl.LightningModule, stage: Stage, logits: Tensor, target: Tensor, dataloader_idx: int = 0
    ) -> None:
        """Update the stage's metrics with a batch and log the metric objects for their epoch values.

        ``dataloader_idx``: the batch's dataloader, as Lightning passes it to ``validation_step`` and ``test_step``
        where there are several.
        """
        collection = self.of_dataloader(stage, dataloader_idx, logits.device)
        collection.update(self.predictions(logits), target)
        if dataloader_idx == 0:
            module.log_dict(collection, on_step=False, on_epoch=True, prog_bar=stage == "val")
            return
        if id(collection) not in self._paths:  # (made after Lightning listed the module's metrics: named here)
            self._paths[id(collection)] = {id(metric): name for name, metric in module.named_modules()}
        paths = self._paths[id(collection)]
        for name, metric in collection.items(keep_base=False):  # (no attribute of the module: Lightning's error)
            where = paths.get(id(metric))
            module.log(name, metric, on_step=False, on_epoch=True, prog_bar=stage == "val", metric_attribute=where)
