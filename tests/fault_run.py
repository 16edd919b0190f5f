"""One training process for the fault tests: train, optionally SIGKILL itself after a checkpoint, or resume.

    python -m tests.fault_run SCHEDULE OUT [--kill-at STEP] [--resume] [--devices 2] [--nodes 2]

With ``--nodes 2`` this process is one node of a two-node job (one process each, both on 127.0.0.1): the caller
starts both, with ``NODE_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set as a cluster launcher would.

Writes, under OUT: `trace-<tag>-rank<r>.txt` (one line per optimizer step: the global step and every group's
lr, flushed at once, so it survives SIGKILL), checkpoints in `ckpt/` (`last.ckpt` at every epoch end), and at
fit end `weights-<tag>.pt` (rank 0). Deterministic: fixed seeds, an epoch-seeded shuffle, no dropout.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from torch.utils.data import DataLoader, DistributedSampler

import lightning_lrsched as lrs
from tests.helpers import SAFE_LOAD, LeaveTogether, TinyModel, make_loader, seed_quietly
from tests.test_stepping import ManualModel

SCHEDULES = {
    "cosine-warmup": lambda: lrs.CosineAnnealingLR(warmup="15%"),
    "plateau": lambda: lrs.ReduceLROnPlateau(patience=0, factor=0.5, threshold=0.05),
    "step-epoch": lambda: lrs.StepLR(1, gamma=0.7),
    # manual optimization stepping on every second batch: re-planned at the end of the first epoch
    "cosine-measured-rate": lambda: lrs.CosineAnnealingLR(warmup=2),
}
EPOCHS = 4


class TraceToFile(Callback):
    """Appends `global_step lr lr ...` before every optimizer step, flushed to disk at once."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("a", buffering=1)
        self.handle = trainer.optimizers[0].register_step_pre_hook(
            lambda optimizer, args, kwargs: self._write(trainer, optimizer)
        )

    def _write(self, trainer: pl.Trainer, optimizer: torch.optim.Optimizer) -> None:
        self.file.write(" ".join([str(trainer.global_step), *(repr(g["lr"]) for g in optimizer.param_groups)]) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.handle.remove()
        self.file.close()


class KillAt(Callback):
    """SIGKILL this process (every rank) when the given optimizer step is about to start: no cleanup at all."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, idx: int) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("schedule", choices=sorted(SCHEDULES))
    parser.add_argument("out", type=Path)
    parser.add_argument("--kill-at", type=int, default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=1)
    args = parser.parse_args()
    ranks = args.devices * args.nodes
    tag = "resumed" if args.resume else "killed" if args.kill_at is not None else "straight"
    seed_quietly(0)
    train = make_loader(30, batch_size=3)
    if ranks == 1:  # the same epoch-seeded shuffle that DDP's DistributedSampler gives each rank
        sampler = DistributedSampler(train.dataset, num_replicas=1, rank=0, shuffle=True, seed=0)
        train = DataLoader(train.dataset, batch_size=3, sampler=sampler)
    else:
        train = DataLoader(train.dataset, batch_size=3, shuffle=True)
    ckpt = args.out / "ckpt"
    rank = int(os.environ.get("NODE_RANK", 0)) * args.devices + int(os.environ.get("LOCAL_RANK", 0))
    callbacks: list[Callback] = [
        SCHEDULES[args.schedule](),
        TraceToFile(args.out / f"trace-{tag}-rank{rank}.txt"),
        ModelCheckpoint(dirpath=ckpt, save_last=True, save_top_k=-1, every_n_epochs=1),
        LeaveTogether(),
    ]
    if args.kill_at is not None:
        callbacks.append(KillAt(args.kill_at))
    trainer = pl.Trainer(
        max_epochs=EPOCHS,
        accelerator="cpu",
        devices=args.devices,
        num_nodes=args.nodes,
        strategy="ddp" if ranks > 1 else "auto",
        callbacks=callbacks,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
        default_root_dir=args.out,
    )
    model = ManualModel() if args.schedule == "cosine-measured-rate" else TinyModel()  # (every second batch)
    trainer.fit(model, train, make_loader(9), ckpt_path=ckpt / "last.ckpt" if args.resume else None, **SAFE_LOAD)
    if trainer.is_global_zero:
        torch.save(model.state_dict(), args.out / f"weights-{tag}.pt")


if __name__ == "__main__":
    main()
