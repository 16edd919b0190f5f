"""Per-step overhead of each callback kind against Lightning's native scheduler + LearningRateMonitor.

Four kinds: a step schedule (OneCycleLR), an epoch schedule (StepLR), plateau (ReduceLROnPlateau on val_loss)
and warmup + cosine; and the step schedule with LRDiagnostics beside it. The native side returns the same torch
scheduler from `configure_optimizers` (warmup + cosine as torch's SequentialLR of LinearLR and
CosineAnnealingLR) and logs with LearningRateMonitor. Same model, data, TensorBoard logger and
`log_every_n_steps` on both sides; runs alternate so that drift in the machine's speed hits both equally.

Per-step time is the training loop's wall time (from `on_train_start` to `on_train_end`, validation included)
divided by the optimizer steps; the one-time work at fit start (the planned-schedule figure, about 0.1 s) is
reported separately as the whole fit's median ratio.

The wall-time ratio moves by several percent from run to run on this few-millisecond step, more than the
difference it measures. So each run also clocks (`time.perf_counter`) the work that differs between the two sides,
where it runs: on the native side `LearningRateMonitor`'s hooks and Lightning's scheduler stepping
(`update_lr_schedulers`), on the callback side every hook of the package's callbacks, the optimizer step hooks they
register, and the same (then empty) `update_lr_schedulers`; the hooks of every batch, epoch and validation, not
those that run once a fit (planning, the figure), which the whole fit's ratio has. Everything else (the model, the
data, the loops, `self.log`) is the same code on both sides, so the per-step ratio implied by the clocked work,
1 + (callback's work - native's work) / native step, is the overhead without the machine's drift.

    python benchmarks/overhead.py --runs 9 --epochs 3 --log-every 1
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.loops.training_epoch_loop import _TrainingEpochLoop
from torch import nn
from torch.optim import lr_scheduler as ts
from torch.utils.data import DataLoader, TensorDataset

import lightning_lrsched as lrs
from lightning_lrsched.core.timeline import Timeline
from lightning_lrsched.lightning.fit_run import FitRun

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


# hooks that run once a fit (planning, the planned-schedule figure, the results): the whole fit's ratio has them
ONE_TIME = {"on_fit_start", "on_fit_end", "on_train_start", "on_train_end", "on_sanity_check_start",
            "on_sanity_check_end", "on_exception"}  # fmt: skip


class WorkClock:
    """Sums the seconds spent in the functions it wraps (the work that differs between the two sides)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0  # (a clocked function that calls another clocked one is counted once)

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def clocked(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds += time.perf_counter() - start

        return clocked

    @contextlib.contextmanager
    def clocking(self, callbacks: list[Callback], native: bool) -> Iterator[None]:
        """Clock the callbacks' hooks (theirs or the package's), the scheduler stepping and the optimizer hooks."""
        for callback in callbacks:
            for name in dir(Callback):
                if name.startswith("on_") and name not in ONE_TIME:
                    setattr(callback, name, self.wrap(getattr(callback, name)))
        patched: list[tuple[type, str]] = [(_TrainingEpochLoop, "update_lr_schedulers")]
        if not native:  # the optimizer's step hooks that the package registers (bound at fit start: the class's)
            patched += [(FitRun, "before_optimizer_step"), (Timeline, "optimizer_step")]
        saved = [(owner, name, owner.__dict__[name]) for owner, name in patched]
        try:
            for owner, name, function in saved:
                setattr(owner, name, self.wrap(function))
            yield
        finally:
            for owner, name, function in saved:
                setattr(owner, name, function)


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


def fit(kind: str, native: bool, epochs: int, log_every: int, root: str) -> tuple[float, float, float]:
    """(seconds per optimizer step in the training loop, seconds of the whole fit, clocked seconds per step)."""
    torch.manual_seed(0)
    ours, theirs = KINDS[kind]
    made: Callback | list[Callback] = [LearningRateMonitor(logging_interval="step")] if native else ours()
    schedule = made if isinstance(made, list) else [made]
    timer, clock = LoopTimer(), WorkClock()
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
    with clock.clocking(schedule, native):
        trainer.fit(Model(theirs if native else None), loader(32 * STEPS_PER_EPOCH, 0), loader(256, 1))
    steps = epochs * STEPS_PER_EPOCH
    return timer.seconds / steps, time.perf_counter() - start, clock.seconds / steps


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
            step_ratios, fit_ratios, native_steps, clocked_ratios = [], [], [], []
            work: dict[bool, list[float]] = {True: [], False: []}
            for run in range(args.runs):
                order = (True, False) if run % 2 == 0 else (False, True)
                results = {native: fit(kind, native, args.epochs, args.log_every, root) for native in order}
                native_steps.append(results[True][0])
                step_ratios.append(results[False][0] / results[True][0])
                fit_ratios.append(results[False][1] / results[True][1])
                for native in order:
                    work[native].append(results[native][2])
                clocked_ratios.append(1 + (results[False][2] - results[True][2]) / results[True][0])
            print(
                f"{kind:>27}: native {statistics.median(native_steps) * 1e3:.2f} ms/step;"
                f" callback/native per step {statistics.median(step_ratios):.3f},"
                f" whole fit {statistics.median(fit_ratios):.3f};"
                f" clocked work {statistics.median(work[False]) * 1e6:.0f} us/step against native"
                f" {statistics.median(work[True]) * 1e6:.0f}, per-step ratio {statistics.median(clocked_ratios):.3f}"
                f" ({min(clocked_ratios):.3f}-{max(clocked_ratios):.3f})"
            )


if __name__ == "__main__":
    main()
