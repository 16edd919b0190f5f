"""ClassifierModule: a LightningModule around any classifier that returns logits, with metrics and AdamW groups."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from lightning_lrsched import _checks
from lightning_lrsched.lightning.metrics import Average, ClassificationMetrics, Stage
from lightning_lrsched.report import reporting

_LAYER = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)\.")
_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


if TYPE_CHECKING:
    _Module = pl.LightningModule
else:
    _Module = object  # (the LightningModule comes second in each concrete class's bases)


class ClassifierMethods(_Module):
    """What :class:`ClassifierModule` does, on either name of Lightning's ``LightningModule``.

    ``lightning_lrsched.ClassifierModule`` puts these methods on ``lightning.pytorch.LightningModule``,
    ``lightning_lrsched.pytorch_lightning.ClassifierModule`` on the standalone ``pytorch_lightning``'s (whose
    Trainer takes its own modules only).

    Example::

        >>> issubclass(ClassifierModule, ClassifierMethods)
        True
    """

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        lr: float = 5e-5,
        weight_decay: float = 0.01,
        layer_decay: float | None = None,
        label_smoothing: float = 0.0,
        average: Average = "macro",
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"Expected argument `model` to be a torch `nn.Module`, but got {type(model).__name__}.")
        _checks.positive("lr", lr)
        _checks.non_negative("weight_decay", weight_decay)
        if layer_decay is not None:
            _checks.in_range("layer_decay", layer_decay, 0, 1, closed_low=False, closed_high=True)
        _checks.in_range("label_smoothing", label_smoothing, 0, 1, closed_low=True, closed_high=False)
        self.save_hyperparameters(ignore=["model"])
        self.model = model.train()  # `from_pretrained` returns models in eval mode, which would disable dropout
        self.metrics = ClassificationMetrics(num_classes, average)

    def forward(self, batch: Any) -> Tensor:
        """Logits for a batch: a dict for transformers models, else ``(inputs, labels)`` or bare inputs."""
        if isinstance(batch, Mapping):
            inputs = {key: value for key, value in batch.items() if key != "labels"}
            output = self.model(**inputs)
        else:
            output = self.model(batch[0] if isinstance(batch, (tuple, list)) else batch)
        logits = getattr(output, "logits", output)
        if not isinstance(logits, Tensor):
            raise TypeError(
                f"`{type(self.model).__name__}` returned {type(output).__name__}; ClassifierModule needs logits"
                " (a tensor, or an output with `.logits`)."
            )
        return logits

    def _step(self, batch: Any, stage: Stage, dataloader_idx: int = 0) -> Tensor:
        target = batch["labels"] if isinstance(batch, Mapping) else batch[1]
        logits = self(batch)
        loss = nn.functional.cross_entropy(logits, target, label_smoothing=self.hparams["label_smoothing"])
        batch_size = int(target.shape[0])
        on_step = stage == "train"
        self.log(f"{stage}_loss", loss, on_step=on_step, on_epoch=True, prog_bar=True, batch_size=batch_size)
        self.metrics.update_and_log(self, stage, logits, target, dataloader_idx)
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Cross-entropy on a training batch; logs ``train_loss`` and the training metrics."""
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Logs ``val_loss``, ``val_acc`` and ``val_f1`` (each dataloader's, where there are several)."""
        self._step(batch, "val", dataloader_idx)

    def test_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Logs ``test_loss``, ``test_acc`` and ``test_f1`` (each dataloader's, where there are several)."""
        self._step(batch, "test", dataloader_idx)

    def on_fit_start(self) -> None:
        """Start the record of the best validation results of this fit."""
        self.best: dict[str, float] = {}

    def on_validation_epoch_end(self) -> None:
        """Track best val_acc/val_f1 and the last val_loss for the hparams summary."""
        if self.trainer.sanity_checking or self.trainer.state.fn != "fit":
            return
        reporting.track_results(self.best, self.trainer.callback_metrics)

    def on_fit_end(self) -> None:
        """Write the hyperparameters with real results: best val_acc/F1 and the final val_loss.

        ``hp_metric``, which Lightning's TensorBoard logger starts as a placeholder, becomes the best ``val_acc``.
        """
        if not getattr(self, "best", None) or _has_schedule_callback(self.trainer):
            return  # (a schedule callback writes the same results, with the schedule in the HParams)
        results = reporting.final_results(self.best)
        for logger in self.trainer.loggers:
            if "metrics" in inspect.signature(logger.log_hyperparams).parameters:  # TensorBoard: the HParams tab
                logger.log_hyperparams(dict(self.hparams), metrics=results)
            else:
                logger.log_metrics(results, step=self.trainer.global_step)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW over named param groups (no weight decay on biases and norms; optional layer-wise decay)."""
        return torch.optim.AdamW(self.param_groups(), lr=self.hparams["lr"])

    def param_groups(self) -> list[dict[str, Any]]:
        """The named AdamW param groups this module trains with."""
        no_decay = _no_decay_names(self.model)
        layers = _layer_depths(self.model)
        depth_count = max(layers.values(), default=-1) + 2  # embeddings 0, layers 1..L, head L + 1
        lr, decay, layer_decay = self.hparams["lr"], self.hparams["weight_decay"], self.hparams["layer_decay"]
        groups: dict[str, dict[str, Any]] = {}
        for name, param in self.model.named_parameters():
            if not param.requires_grad:
                continue
            if layer_decay is None or not layers:
                label, scale = "decay", 1.0
            else:
                depth = layers.get(name, 0 if "embed" in name else depth_count - 1)
                label = "embeddings" if depth == 0 else "head" if depth == depth_count - 1 else f"layer_{depth - 1}"
                scale = layer_decay ** (depth_count - 1 - depth)
            if name in no_decay:
                label = "no_decay" if label == "decay" else f"{label}_no_decay"
            group = groups.setdefault(
                label,
                {"name": label, "params": [], "lr": lr * scale, "weight_decay": 0.0 if name in no_decay else decay},
            )
            group["params"].append(param)
        return list(groups.values())


class ClassifierModule(ClassifierMethods, pl.LightningModule):
    """Train any classifier with cross-entropy, torchmetrics accuracy/F1 and AdamW; scheduling stays with callbacks.

    ``model`` is any ``nn.Module`` returning logits (batches ``(inputs, labels)``), or a transformers model
    (batches are dicts with ``labels``; the output's ``.logits`` is used). Logged: ``train_loss`` (per step and
    per epoch), ``train_acc``/``train_f1``, ``val_loss``, ``val_acc``, ``val_f1`` and ``test_*``, each epoch value
    over the whole epoch (see :class:`ClassificationMetrics`).

    The optimizer is AdamW without weight decay on biases and normalization weights. With ``layer_decay`` (e.g.
    0.8), a transformer encoder's layers get geometrically smaller rates towards the embeddings: the head gets
    ``lr``, the last layer ``lr * layer_decay``, ... Param groups are named (``decay``/``no_decay``, or
    ``layer_3``/``layer_3_no_decay``, ``embeddings``, ``head``), so the lr logging shows each by name. The
    module returns no scheduler: add a schedule callback to the Trainer.

    Args:
        model: the classifier.
        num_classes: number of classes (2 gives binary metrics).
        lr: the peak learning rate (of the head, with layer decay).
        weight_decay: AdamW weight decay for weights other than biases and norms.
        layer_decay: optional layer-wise lr decay factor in (0, 1].
        label_smoothing: cross-entropy label smoothing in [0, 1).
        average: multiclass F1 averaging (``"macro"``, ``"weighted"``, ``"micro"``).

    Example::

        >>> module = ClassifierModule(nn.Linear(64, 10), num_classes=10, lr=1e-3)
        >>> [group["name"] for group in module.configure_optimizers().param_groups]
        ['decay', 'no_decay']
    """


def _no_decay_names(model: nn.Module) -> set[str]:
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if param_name == "bias" or isinstance(module, _NORMS) or "norm" in module_name.lower().split(".")[-1]:
                names.add(full)
    return names


def _layer_depths(model: nn.Module) -> dict[str, int]:
    """Depth 1..L of each parameter inside a numbered encoder layer (``encoder.layer.3.`` -> 4)."""
    depths = {}
    for name, _ in model.named_parameters():
        match = _LAYER.search(name)
        if match:
            depths[name] = int(match.group(1)) + 1
    return depths


def _has_schedule_callback(trainer: pl.Trainer) -> bool:
    from lightning_lrsched.core.schedule import Schedule

    return any(isinstance(getattr(c, "schedule", None), Schedule) for c in trainer.callbacks)  # type: ignore[attr-defined]
