"""Fit wall time: OneCycleLR through this package's callback vs Lightning's native scheduler + LearningRateMonitor.

Same model, data, logger (TensorBoard) and logging cadence on both sides; runs alternate so that drift in the
machine's speed hits both equally. Prints the median time of each side and the median of the paired ratios.

    python benchmarks/overhead.py --runs 7 --epochs 3 --log-every 1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_lrsched import OneCycleLR

MAX_LR = 0.05


class Model(pl.LightningModule):
    def __init__(self, native: bool) -> None:
        super().__init__()
        self.native = native
        self.net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 2))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=MAX_LR, momentum=0.9)
        if not self.native:
            return optimizer
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, MAX_LR, total_steps=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def loader() -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2048, 32, generator=generator)
    y = (x[:, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=False)


def fit_seconds(native: bool, epochs: int, log_every: int, root: str, plan: bool = True) -> float:
    torch.manual_seed(0)
    if native:
        callback: Any = LearningRateMonitor(logging_interval="step", log_momentum=True)
    else:
        callback = OneCycleLR(MAX_LR, plan=plan)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=TensorBoardLogger(root, name="native" if native else "callback"),
        log_every_n_steps=log_every,
        callbacks=[callback],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    data = loader()
    start = time.perf_counter()
    trainer.fit(Model(native), data)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--log-every", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    variants = {"native": [], "callback": [], "callback, plan=False": []}
    settings = {"native": (True, True), "callback": (False, True), "callback, plan=False": (False, False)}
    with tempfile.TemporaryDirectory() as root:
        for native, plan in settings.values():  # warm-up: imports, first-call costs
            fit_seconds(native, 1, args.log_every, root, plan)
        for run in range(args.runs):
            order = list(settings) if run % 2 == 0 else list(reversed(settings))
            for name in order:
                native, plan = settings[name]
                variants[name].append(fit_seconds(native, args.epochs, args.log_every, root, plan))
    steps = args.epochs * 64
    print(f"OneCycleLR, {steps} optimizer steps, log_every_n_steps={args.log_every}, {args.runs} runs per variant")
    print(f"native scheduler + LearningRateMonitor: median {statistics.median(variants['native']):.3f} s")
    for name in ("callback", "callback, plan=False"):
        ratios = [o / n for o, n in zip(variants[name], variants["native"], strict=True)]
        print(
            f"{name:>22}: median {statistics.median(variants[name]):.3f} s, median ratio to native"
            f" {statistics.median(ratios):.3f} (target <= 1.02)"
        )
    print("(plan=True adds the one-time planned-schedule figure for TensorBoard at fit start)")


if __name__ == "__main__":
    main()
