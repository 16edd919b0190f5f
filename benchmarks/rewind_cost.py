"""What `LRDiagnostics(on_divergence="rewind")` costs, and what it buys.

1. The good state: the time to copy model + AdamW state to CPU memory, and its size, for MLPs of 1M to 50M
   parameters (a copy is taken every `every` optimizer steps; up to two are held).
2. The whole fit: a 1.6M-parameter MLP with AdamW; LRDiagnostics' own time per step (its hooks, timed by
   Lightning's profiler, the first copy at train start included) with `on_divergence="warn"`, `Rewind(every=50)`
   and `Rewind(every=10)`, against the time of a training batch.
3. The recovery: a OneCycle run whose peak lr is 4x too high, without the option (warn, stop), with it (with and
   without skipped batches), and the run that started at the lower peak; its curves in `rewind.png`.

    python benchmarks/rewind_cost.py [--quick] [--out benchmarks/rewind.png]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lightning_lrsched as lrs
from lightning_lrsched.diagnostics.findings import Window
from lightning_lrsched.diagnostics.rewind import _take

warnings.filterwarnings("ignore")


def mlp(params_m: float) -> nn.Module:
    """An MLP of about ``params_m`` million parameters (four square layers)."""
    width = int((params_m * 1e6 / 4) ** 0.5)
    return nn.Sequential(*(nn.Linear(width, width) for _ in range(4)))


def copy_cost(params_m: float, repeats: int) -> tuple[float, float, int]:
    """(ms per copy, MiB per copy, parameters) of model + AdamW state after one step."""
    model = mlp(params_m)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, model[0].in_features)).sum().backward()
    optimizer.step()
    trainer = SimpleNamespace(callbacks=[], global_step=1, optimizers=[optimizer])
    module = SimpleNamespace(state_dict=model.state_dict)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        state = _take(trainer, module, Window(50))  # type: ignore[arg-type]
        times.append(time.perf_counter() - start)
    size = sum(t.nbytes for t in state.model.values())
    size += sum(t.nbytes for s in state.optimizers[0]["state"].values() for t in s.values() if torch.is_tensor(t))
    return statistics.median(times) * 1e3, size / 2**20, sum(p.numel() for p in model.parameters())


class Regressor(pl.LightningModule):
    def __init__(self, width: int = 640) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, width), nn.ReLU(), *[nn.Linear(width, width), nn.ReLU()] * 3)
        self.head = nn.Linear(width, 1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.mse_loss(self.head(self.net(x)), y)

    def configure_optimizers(self) -> Any:
        return torch.optim.AdamW(self.parameters(), lr=1e-3)


def hook_time(on_divergence: Any, steps: int) -> tuple[float, float]:
    """(LRDiagnostics' own time per step in ms, the training batch's time per step in ms), by Lightning's profiler."""
    from lightning.pytorch.profilers import SimpleProfiler

    torch.manual_seed(0)
    x = torch.randn(steps * 32, 64)
    data = DataLoader(TensorDataset(x, x[:, :1]), batch_size=32)
    diagnostics = lrs.LRDiagnostics(on_divergence=on_divergence, verbose=False, summary_file=None)
    profiler = SimpleProfiler(dirpath=tempfile.mkdtemp(), filename="profile")  # (its report to a file)
    trainer = pl.Trainer(
        max_epochs=1, callbacks=[lrs.CosineAnnealingLR(interval="step", plan=False), diagnostics], logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
        profiler=profiler,
    )  # fmt: skip
    trainer.fit(Regressor(), data)
    durations = profiler.recorded_durations
    own = sum(
        sum(durations[f"[Callback]LRDiagnostics.{hook}"])
        for hook in ("on_train_start", "on_train_batch_start", "on_train_batch_end")
    )
    return own / steps * 1e3, sum(durations["run_training_batch"]) / steps * 1e3


class Trace(pl.Callback):
    """(global step, lr used, training loss) of every training batch, as the logged curves show them."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, float, float]] = []
        self._lr = math.nan

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        self._lr = trainer.optimizers[0].param_groups[0]["lr"]

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, *args: Any) -> None:
        loss = float(outputs["loss"]) if isinstance(outputs, dict) and "loss" in outputs else math.nan
        self.rows.append((trainer.global_step - 1, self._lr, loss))


def recovery(max_lr: float, on_divergence: Any) -> dict[str, Any]:
    """One 192-step OneCycle run of the small classifier the tests use; val loss and accuracy at its end."""
    from tests.test_diagnostics import MLP, dataset

    pl.seed_everything(0, verbose=False)
    diagnostics = lrs.LRDiagnostics(window=10, on_divergence=on_divergence, verbose=False, summary_file=None)
    trace = Trace()
    trainer = pl.Trainer(
        max_epochs=6, callbacks=[lrs.OneCycleLR(max_lr=max_lr, plan=False), diagnostics, trace], logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
    )  # fmt: skip
    train = DataLoader(dataset(512, 0), batch_size=16, shuffle=True)
    trainer.fit(MLP(max_lr), train, DataLoader(dataset(256, 1), batch_size=64))
    metrics = trainer.callback_metrics
    return {
        "val_loss": float(metrics["val_loss"]),
        "val_acc": float(metrics["val_acc"]),
        "steps": trainer.global_step,
        "rewinds": [(event["step"], event["to_step"]) for event in diagnostics.rewinds],
        "trace": trace.rows,
    }


def figure(results: list[tuple[str, dict[str, Any]]], path: Path) -> None:
    """Training loss (a running mean of 8 steps) and lr per global step; the rewinds as dotted lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True, layout="constrained")
    for label, result in results:
        steps, rates, losses = zip(*result["trace"], strict=True)
        smooth = [_running_mean(losses[: i + 1]) for i in range(len(losses))]
        line = top.plot(steps, smooth, label=label)[0]
        bottom.step(steps, rates, where="post", color=line.get_color(), label=label)
        for step, _ in result["rewinds"]:
            for axis in (top, bottom):
                axis.axvline(step, color=line.get_color(), linestyle=":", linewidth=1)
    top.set_yscale("log")
    top.set_ylabel("training loss (mean of the last 8 steps)")
    top.set_title("OneCycleLR with a peak 4x too high: LRDiagnostics(on_divergence=...)")
    top.text(0.01, 0.03, "the three 4x runs are the same run up to step 29 (drawn over each other)",
             transform=top.transAxes, ha="left", va="bottom", fontsize=8, color="grey")  # fmt: skip
    top.grid(alpha=0.3)
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("global step (dotted: a rewind)")
    bottom.grid(alpha=0.3)
    fig.legend(*top.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _running_mean(values: tuple[float, ...]) -> float:
    recent = [value for value in values[-8:] if math.isfinite(value)]
    return statistics.fmean(recent) if recent else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller models (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("rewind.png"), help="the figure")
    args = parser.parse_args()
    sizes, repeats, runs, steps = ((1, 5), 3, 1, 60) if args.quick else ((1, 10, 50), 7, 3, 600)

    print("1. the good state: one copy of model + AdamW state to CPU memory")
    for size in sizes:
        ms, mib, params = copy_cost(size, repeats)
        print(f"   {params / 1e6:5.1f}M parameters: {mib:7.1f} MiB per copy (x2 held at most), {ms:7.1f} ms per copy")

    print(f"2. LRDiagnostics' own time in a {steps}-step fit (1.6M-parameter MLP, AdamW; Lightning's profiler)")
    for label, option in (
        ("warn", "warn"),
        ("Rewind(every=50)", lrs.Rewind(every=50)),
        ("Rewind(every=10)", lrs.Rewind(every=10)),
    ):
        timed = [hook_time(option, steps) for _ in range(runs)]
        own, batch = (statistics.median(values) for values in zip(*timed, strict=True))
        print(f"   {label:17s} {own:.3f} ms a step ({own / batch:.1%} of a {batch:.1f} ms training batch)")

    print("3. recovery: OneCycleLR, 192 steps, a small classifier (tests/test_diagnostics.py's MLP)")
    runs = [
        ("peak 0.25 (the right one)", 0.25, "warn"),
        ("peak 1.0, warn", 1.0, "warn"),
        ("peak 1.0, stop", 1.0, "stop"),
        ("peak 1.0, Rewind(every=10, factor=0.25)", 1.0, lrs.Rewind(every=10, factor=0.25)),
        ("peak 1.0, + skip_batches=5", 1.0, lrs.Rewind(every=10, factor=0.25, skip_batches=5)),
    ]
    results = []
    for label, max_lr, option in runs[: 2 if args.quick else None]:
        result = recovery(max_lr, option)
        results.append((label, result))
        print(
            f"   {label:42s} val_loss {result['val_loss']:.3f}  val_acc {result['val_acc']:.3f}  steps"
            f" {result['steps']}  rewinds (step -> state of step) {result['rewinds']}"
        )
    if not args.quick:
        figure([results[i] for i in (0, 1, 3, 4)], args.out)
        print(f"   figure: {args.out}")


if __name__ == "__main__":
    main()
