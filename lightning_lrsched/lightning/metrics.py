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
    epochs.

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

    def __getitem__(self, stage: Stage) -> MetricCollection:
        _checks.one_of("stage", stage, STAGES)
        collection = getattr(self, f"{stage}_metrics")
        assert isinstance(collection, MetricCollection)
        return collection

    def predictions(self, logits: Tensor) -> Tensor:
        """What the metrics compare with the targets: P(class 1) for binary, logits for multiclass."""
        if self.num_classes == 2:
            return torch.softmax(logits.detach().float(), dim=-1)[..., 1]
        return logits.detach()

    def update_and_log(self, module: pl.LightningModule, stage: Stage, logits: Tensor, target: Tensor) -> None:
        """Update the stage's metrics with a batch and log the metric objects for their epoch values."""
        collection = self[stage]
        collection.update(self.predictions(logits), target)
        module.log_dict(collection, on_step=False, on_epoch=True, prog_bar=stage == "val")
