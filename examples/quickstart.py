"""The smallest complete use: one schedule callback, one Trainer, real data (scikit-learn's digits), offline.

python examples/quickstart.py            # about 9 s on 2 CPU cores (8.3-8.9 s measured)
tensorboard --logdir runs/quickstart     # lr-AdamW, lr-AdamW-momentum, train_loss, val_loss, val_acc
"""

from __future__ import annotations

import argparse
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_lrsched import OneCycleLR


class DigitsClassifier(pl.LightningModule):
    def __init__(self, lr: float = 1e-3) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y), prog_bar=True)
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean(), prog_bar=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.lr)  # no scheduler here: the callback schedules it


def digits_loaders(batch_size: int = 32, seed: int = 0) -> tuple[DataLoader[Any], DataLoader[Any]]:
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.2, random_state=seed, stratify=y)

    def loader(x_: Any, y_: Any, shuffle: bool) -> DataLoader[Any]:
        data = TensorDataset(torch.tensor(x_, dtype=torch.float32), torch.tensor(y_, dtype=torch.long))
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)

    return loader(x_train, y_train, True), loader(x_val, y_val, False)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="Train a digits classifier with OneCycleLR.")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-lr", type=float, default=1e-2)
    parser.add_argument("--logdir", default="runs")
    args = parser.parse_args(argv)

    pl.seed_everything(0, verbose=False)
    train, val = digits_loaders()
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        logger=TensorBoardLogger(args.logdir, name="quickstart"),
        callbacks=[OneCycleLR(max_lr=args.max_lr)],  # total_steps and stepping found by the callback
        log_every_n_steps=1,
    )
    trainer.fit(DigitsClassifier(), train, val)
    result = {key: float(value) for key, value in trainer.callback_metrics.items()}
    print(f"val_acc={result['val_acc']:.3f} val_loss={result['val_loss']:.3f}")
    print(f"TensorBoard: tensorboard --logdir {args.logdir}/quickstart")
    return result


if __name__ == "__main__":
    main()
