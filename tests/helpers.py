"""Tiny models, data and a learning-rate recorder shared by the tests."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger
from torch import nn
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.data import DataLoader, TensorDataset

GROUP_LRS = (0.1, 0.01)

SAFE_LOAD: dict[str, bool] = (
    {"weights_only": True} if "weights_only" in inspect.signature(pl.Trainer.fit).parameters else {}
)
"""``trainer.fit(..., ckpt_path=..., **SAFE_LOAD)``: resume through torch's safe unpickler where Lightning takes the
option (2.5 on); before it, Lightning loads with torch's default (the full unpickler with the floors' torch 2.2)."""


def seed_quietly(value: int) -> None:
    """``seed_everything(value)`` without its log line (the ``verbose`` argument exists from Lightning 2.4 on)."""
    quiet = {"verbose": False} if "verbose" in inspect.signature(pl.seed_everything).parameters else {}
    pl.seed_everything(value, **quiet)


def make_loader(n: int = 30, batch_size: int = 3, seed: int = 0) -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = (x.sum(dim=1, keepdim=True) > 0).float()
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)


def make_optimizer(params: list[Any] | None = None, kind: str = "sgd") -> torch.optim.Optimizer:
    """Two param groups with different learning rates, as most tests use."""
    if params is None:
        params = [nn.Linear(4, 4).weight, nn.Linear(4, 4).bias]
    groups = [{"params": [params[0]], "lr": GROUP_LRS[0]}, {"params": params[1:], "lr": GROUP_LRS[1]}]
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=GROUP_LRS[0])
    return torch.optim.SGD(groups, lr=GROUP_LRS[0], momentum=0.9)


class TinyModel(pl.LightningModule):
    """A two-layer regressor whose optimizer has two param groups of different learning rates."""

    def __init__(self, optimizer: str = "sgd", scheduler: Callable[[Any], Any] | None = None) -> None:
        super().__init__()
        self.hidden = nn.Linear(4, 4)
        self.out = nn.Linear(4, 1)
        self.optimizer_kind = optimizer
        self.own_scheduler = scheduler

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(x)))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> Any:
        optimizer = make_optimizer([*self.hidden.parameters(), *self.out.parameters()], self.optimizer_kind)
        if self.own_scheduler is not None:
            return {"optimizer": optimizer, "lr_scheduler": self.own_scheduler(optimizer)}
        return optimizer


class LRRecorder(Callback):
    """Records (global_step, lrs of every group) right before each optimizer step that really runs.

    ``optimizer``: the index of the one optimizer to record (all of them, interleaved, by default).
    """

    def __init__(self, optimizer: int | None = None) -> None:
        self.optimizer = optimizer
        self.trace: list[tuple[int, list[float]]] = []
        self._handles: list[Any] = []
        self._trainer: pl.Trainer | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._trainer = trainer
        for index, optimizer in enumerate(trainer.optimizers):
            if self.optimizer in (None, index):
                self._handles.append(optimizer.register_step_pre_hook(self._record))

    def _record(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        assert self._trainer is not None
        self.trace.append((self._trainer.global_step, [group["lr"] for group in optimizer.param_groups]))

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for handle in self._handles:
            handle.remove()

    @property
    def lrs(self) -> list[list[float]]:
        return [lrs for _, lrs in self.trace]


class Catcher(Logger):
    """A logger that keeps every `log_metrics` call as (step, metrics)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int | None, dict[str, float]]] = []

    @property
    def name(self) -> str:
        return "catcher"

    @property
    def version(self) -> str:
        return "0"

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.calls.append((step, {key: float(value) for key, value in metrics.items()}))

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def lr_calls(self) -> list[tuple[int | None, dict[str, float]]]:
        """The calls with lr keys, with only those keys (not the module's own metrics, not the HParams results)."""
        own = {"train_loss", "val_loss", "epoch"}
        picked = [
            (step, {k: v for k, v in metrics.items() if k not in own and not k.startswith("hp")})
            for step, metrics in self.calls
        ]
        return [(step, metrics) for step, metrics in picked if metrics]


class LeaveTogether(Callback):
    """Ends a DDP fit cleanly: the ranks wait for each other, then destroy the process group.

    Lightning destroys the process group at exit for NCCL only; a gloo group left to the interpreter's exit can
    abort a rank ("terminate called without an active exception", pytorch/pytorch#190489). ``teardown`` is the
    last hook of a fit, after the strategy's own teardown.
    """

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()


def reference_trace(
    build: Callable[[torch.optim.Optimizer], LRScheduler],
    *,
    epochs: int,
    steps_per_epoch: int,
    interval: str,
    step: Callable[[LRScheduler, int], None] | None = None,
) -> list[list[float]]:
    """Torch's scheduler stepped by hand: the lrs before each optimizer step of a run."""
    optimizer = make_optimizer()
    scheduler = build(optimizer)
    trace = []
    done = 0
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            trace.append([group["lr"] for group in optimizer.param_groups])
            optimizer.step()
            done += 1
            if interval == "step":
                step(scheduler, done) if step else scheduler.step()
        if interval == "epoch":
            scheduler.step()
    return trace


def trainer(tmp_path: Any, **kwargs: Any) -> pl.Trainer:
    """A quiet CPU Trainer writing under ``tmp_path``."""
    defaults: dict[str, Any] = {
        "default_root_dir": str(tmp_path),
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "deterministic": True,
    }
    defaults.update(kwargs)
    return pl.Trainer(**defaults)


def flat(rows: Any) -> list[float]:
    """Every group's lr of every step in one list (pytest.approx compares flat lists)."""
    return [float(value) for row in rows for value in (row if isinstance(row, (list, tuple)) else [row])]


def steps_per_epoch(batches: int, accumulate: int) -> int:
    return math.ceil(batches / accumulate)
