"""Per-step overhead of each callback kind against Lightning's native scheduler + LearningRateMonitor.

Four kinds: a step schedule (OneCycleLR), an epoch schedule (StepLR), plateau (ReduceLROnPlateau on val_loss)
and warmup + cosine; and the step schedule with LRDiagnostics beside it. The native side returns the same torch
scheduler from `configure_optimizers` (warmup + cosine as torch's SequentialLR of LinearLR and
CosineAnnealingLR) and logs with LearningRateMonitor. Same model, data, TensorBoard logger and
`log_every_n_steps` on both sides; runs alternate so that drift in the machine's speed hits both equally.

Per-step time is the training loop's wall time (from `on_train_start` to `on_train_end`, validation included)
divided by the optimizer steps; the one-time work at fit start (the planned-schedule figure, about 0.1 s) is
reported separately as the whole fit's median ratio.

    python benchmarks/overhead.py --runs 9 --epochs 3 --log-every 1
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn
from torch.optim import lr_scheduler as ts
from torch.utils.data import DataLoader, TensorDataset

import lightning_lrsched as lrs

LR = 0.05
WARMUP = 20  # optimizer steps
STEPS_PER_EPOCH = 64

NativeFactory = Callable[[torch.optim.Optimizer, int], dict[str, Any]]
KINDS: dict[str, tuple[Callable[[], Callback | list[Callback]], NativeFactory]] = {
    "step: OneCycleLR": (
        lambda: lrs.OneCycleLR(LR),
        lambda opt, total: {"scheduler": ts.OneCycleLR(opt, LR, total_steps=total), "interval": "step"},
    ),
    "epoch: StepLR": (
        lambda: lrs.StepLR(1, gamma=0.5),
        lambda opt, total: {"scheduler": ts.StepLR(opt, 1, gamma=0.5), "interval": "epoch"},
    ),
    "plateau: ReduceLROnPlateau": (
        lambda: lrs.ReduceLROnPlateau(monitor="val_loss", patience=0),
        lambda opt, total: {"scheduler": ts.ReduceLROnPlateau(opt, patience=0), "monitor": "val_loss"},
    ),
    "warmup + cosine": (
        lambda: lrs.CosineAnnealingLR(warmup=WARMUP, warmup_start_factor=0.1),
        lambda opt, total: {
            "scheduler": ts.SequentialLR(
                opt,
                [ts.LinearLR(opt, 0.1, total_iters=WARMUP), ts.CosineAnnealingLR(opt, total - WARMUP)],
                milestones=[WARMUP],
            ),
            "interval": "step",
        },
    ),
    "step + LRDiagnostics": (
        lambda: [lrs.OneCycleLR(LR), lrs.LRDiagnostics(verbose=False, summary_file=None)],
        lambda opt, total: {"scheduler": ts.OneCycleLR(opt, LR, total_steps=total), "interval": "step"},
    ),
}


class Model(pl.LightningModule):
    def __init__(self, native: NativeFactory | None) -> None:
        super().__init__()
        self.native = native
        self.net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 2))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.cross_entropy(self.net(x), y))

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=LR, momentum=0.9)
        if self.native is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": self.native(optimizer, int(self.trainer.estimated_stepping_batches)),
        }


class LoopTimer(Callback):
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds = time.perf_counter() - self.start


def loader(n: int, seed: int) -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 32, generator=generator)
    y = (x[:, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=False)


def fit(kind: str, native: bool, epochs: int, log_every: int, root: str) -> tuple[float, float]:
    """(seconds per optimizer step in the training loop, seconds of the whole fit)."""
    torch.manual_seed(0)
    ours, theirs = KINDS[kind]
    made = [LearningRateMonitor(logging_interval="step")] if native else ours()
    schedule = made if isinstance(made, list) else [made]
    timer = LoopTimer()
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=TensorBoardLogger(root, name="native" if native else "callback"),
        log_every_n_steps=log_every,
        callbacks=[*schedule, timer],
        num_sanity_val_steps=0,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    start = time.perf_counter()
    trainer.fit(Model(theirs if native else None), loader(32 * STEPS_PER_EPOCH, 0), loader(256, 1))
    return timer.seconds / (epochs * STEPS_PER_EPOCH), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--log-every", type=int, default=1)
    parser.add_argument("--only", nargs="*", choices=list(KINDS), default=None, help="some of the kinds")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    print(
        f"{args.epochs * STEPS_PER_EPOCH} optimizer steps per fit, log_every_n_steps={args.log_every},"
        f" {args.runs} alternating runs per side; target: median per-step ratio <= 1.02"
    )
    with tempfile.TemporaryDirectory() as root:
        for kind in args.only or KINDS:
            for native in (True, False):  # warm-up: imports, first-call costs
                fit(kind, native, 1, args.log_every, root)
            step_ratios, fit_ratios, native_steps = [], [], []
            for run in range(args.runs):
                order = (True, False) if run % 2 == 0 else (False, True)
                results = {native: fit(kind, native, args.epochs, args.log_every, root) for native in order}
                native_steps.append(results[True][0])
                step_ratios.append(results[False][0] / results[True][0])
                fit_ratios.append(results[False][1] / results[True][1])
            print(
                f"{kind:>27}: native {statistics.median(native_steps) * 1e3:.2f} ms/step;"
                f" callback/native per step {statistics.median(step_ratios):.3f},"
                f" whole fit {statistics.median(fit_ratios):.3f}"
            )


if __name__ == "__main__":
    main()
