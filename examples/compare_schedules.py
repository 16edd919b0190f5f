"""Compare a fixed learning rate with StepLR, cosine, OneCycle and plateau on one task (scikit-learn's digits).

Same seed, data and model for every schedule; one TensorBoard run each; a summary table and a PNG with the
learning rate and the validation curves side by side.

    python examples/compare_schedules.py                 # about a minute on 2 CPU cores
    tensorboard --logdir runs/compare
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_lrsched import (
    ClassifierModule,
    CosineAnnealingLR,
    LRDiagnostics,
    LRSchedulerCallback,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from lightning_lrsched.report.preview import new_figure
from lightning_lrsched.report.tensorboard import read_scalars

LR = 3e-3


def schedules(epochs: int) -> dict[str, Callable[[], LRSchedulerCallback | None]]:
    return {
        "fixed": lambda: None,
        "step": lambda: StepLR(step_size=max(epochs // 3, 1), gamma=0.3),
        "cosine": lambda: CosineAnnealingLR(warmup="5%"),
        "onecycle": lambda: OneCycleLR(max_lr=LR * 3),
        "plateau": lambda: ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.3),
    }


def digits(batch_size: int, seed: int, limit: int | None) -> tuple[DataLoader[Any], DataLoader[Any]]:
    x, y = load_digits(return_X_y=True)
    if limit:
        x, y = x[:limit], y[:limit]
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.25, random_state=seed, stratify=y)

    def loader(x_: Any, y_: Any, shuffle: bool) -> DataLoader[Any]:
        data = TensorDataset(torch.tensor(x_, dtype=torch.float32), torch.tensor(y_, dtype=torch.long))
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=torch.Generator().manual_seed(seed))

    return loader(x_train, y_train, True), loader(x_val, y_val, False)


def run(name: str, schedule: LRSchedulerCallback | None, args: argparse.Namespace) -> dict[str, Any]:
    pl.seed_everything(args.seed, verbose=False)
    train, val = digits(args.batch_size, args.seed, args.limit)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    logger = TensorBoardLogger(args.logdir, name="compare", version=name)
    diagnostics = LRDiagnostics(window=20, verbose=False)  # findings per schedule, and lr_summary.json per run
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        logger=logger,
        callbacks=[schedule, diagnostics] if schedule else [diagnostics],
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    start = time.perf_counter()
    trainer.fit(ClassifierModule(model, num_classes=10, lr=LR, weight_decay=0.0), train, val)
    seconds = time.perf_counter() - start
    scalars = read_scalars(logger.log_dir)
    val_acc = [value for _, value in scalars["val_acc"]]
    reached = next((epoch + 1 for epoch, acc in enumerate(val_acc) if acc >= args.target), None)
    return {
        "schedule": name,
        "best_val_acc": max(val_acc),
        "final_val_loss": scalars["val_loss"][-1][1],
        "epochs_to_target": reached,
        "seconds": seconds,
        "scalars": scalars,
        "lr_path": diagnostics.summary["lr_path"][0],
        "findings": [finding["kind"] for finding in diagnostics.findings],
    }


def table(results: list[dict[str, Any]], target: float) -> str:
    lines = [
        f"| schedule | best val acc | final val loss | epochs to {target:.0%} | wall time | findings |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        reached = r["epochs_to_target"] if r["epochs_to_target"] is not None else "not reached"
        lines.append(
            f"| {r['schedule']} | {r['best_val_acc']:.3f} | {r['final_val_loss']:.3f} | {reached} |"
            f" {r['seconds']:.1f} s | {', '.join(r['findings']) or 'none'} |"
        )
    lines += ["", "What each schedule did:", *(f"- {r['schedule']}: {r['lr_path']}" for r in results)]
    return "\n".join(lines)


def figure(results: list[dict[str, Any]], path: Path) -> None:
    fig = new_figure(figsize=(13, 3.8))
    lr_axis, loss_axis, acc_axis = fig.subplots(1, 3)
    for r in results:
        scalars = r["scalars"]
        lr_tag = next((tag for tag in scalars if tag.startswith("lr-") and "momentum" not in tag), None)
        if lr_tag:
            lr_axis.plot(*zip(*scalars[lr_tag], strict=True), label=r["schedule"])
        else:  # no schedule callback: the rate stayed at LR
            steps = [step for step, _ in scalars["train_loss_step"]]
            lr_axis.plot([steps[0], steps[-1]], [LR, LR], label=r["schedule"])
        loss_axis.plot(*zip(*scalars["val_loss"], strict=True), marker=".", label=r["schedule"])
        acc_axis.plot(*zip(*scalars["val_acc"], strict=True), marker=".", label=r["schedule"])
    for axis, title in ((lr_axis, "learning rate"), (loss_axis, "val_loss"), (acc_axis, "val_acc")):
        axis.set_title(title)
        axis.set_xlabel("global step")
        axis.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--target", type=float, default=0.95, help="val accuracy for 'epochs to target'")
    parser.add_argument("--limit", type=int, default=None, help="use only this many examples (for quick tries)")
    parser.add_argument("--only", nargs="*", default=None, help="a subset of: fixed step cosine onecycle plateau")
    parser.add_argument("--logdir", default="runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    chosen = {k: v for k, v in schedules(args.epochs).items() if not args.only or k in args.only}
    results = [run(name, make(), args) for name, make in chosen.items()]
    print(table(results, args.target))
    png = Path(args.logdir) / "compare" / "comparison.png"
    figure(results, png)
    print(f"\nwrote {png}; TensorBoard: tensorboard --logdir {Path(args.logdir) / 'compare'}")
    return results


if __name__ == "__main__":
    main()
