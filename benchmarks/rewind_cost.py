"""What `LRDiagnostics(on_divergence="rewind")` costs, and what it buys.

1. The good state: the time to copy model + AdamW state to CPU memory, and its size, for MLPs of 1M to 50M
   parameters (a copy is taken every `every` optimizer steps; up to two are held).
2. The whole fit: a 1.6M-parameter MLP with AdamW, `on_divergence="warn"` against `Rewind(every=50)` and
   `Rewind(every=10)`, alternating runs, the median paired ratio of fit times.
3. The recovery: a OneCycle run whose peak lr is 4x too high, without the option (warn, stop), with it (with and
   without skipped batches), and the run that started at the lower peak.

    python benchmarks/rewind_cost.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
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


def fit_time(on_divergence: Any, steps: int) -> float:
    torch.manual_seed(0)
    x = torch.randn(steps * 32, 64)
    data = DataLoader(TensorDataset(x, x[:, :1]), batch_size=32)
    diagnostics = lrs.LRDiagnostics(on_divergence=on_divergence, verbose=False, summary_file=None)
    trainer = pl.Trainer(
        max_epochs=1, callbacks=[lrs.CosineAnnealingLR(interval="step", plan=False), diagnostics], logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
    )  # fmt: skip
    start = time.perf_counter()
    trainer.fit(Regressor(), data)
    return time.perf_counter() - start


def recovery(max_lr: float, on_divergence: Any) -> dict[str, Any]:
    """One 192-step OneCycle run of the small classifier the tests use; val loss and accuracy at its end."""
    from tests.test_diagnostics import MLP, dataset

    pl.seed_everything(0, verbose=False)
    diagnostics = lrs.LRDiagnostics(window=10, on_divergence=on_divergence, verbose=False, summary_file=None)
    trainer = pl.Trainer(
        max_epochs=6, callbacks=[lrs.OneCycleLR(max_lr=max_lr, plan=False), diagnostics], logger=False,
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller models (a smoke run)")
    args = parser.parse_args()
    sizes, repeats, pairs, steps = ((1, 5), 3, 1, 60) if args.quick else ((1, 10, 50), 7, 7, 600)

    print("1. the good state: one copy of model + AdamW state to CPU memory")
    for size in sizes:
        ms, mib, params = copy_cost(size, repeats)
        print(f"   {params / 1e6:5.1f}M parameters: {mib:7.1f} MiB per copy (x2 held at most), {ms:7.1f} ms per copy")

    print(f"2. a whole fit of {steps} steps (1.6M-parameter MLP, AdamW), median of {pairs} alternating pairs")
    for label, option in (("Rewind(every=50)", lrs.Rewind(every=50)), ("Rewind(every=10)", lrs.Rewind(every=10))):
        ratios, seconds = [], []
        for pair in range(pairs):  # which of the two runs first alternates, against warm-up effects
            if pair % 2:
                with_option = fit_time(option, steps)
                base = fit_time("warn", steps)
            else:
                base = fit_time("warn", steps)
                with_option = fit_time(option, steps)
            ratios.append(with_option / base)
            seconds.append(base)
        print(
            f"   {label}: {statistics.median(ratios):.3f}x the fit time of on_divergence='warn'"
            f" ({statistics.median(seconds) / steps * 1e3:.1f} ms a step without)"
        )

    print("3. recovery: OneCycleLR, 192 steps, a small classifier (tests/test_diagnostics.py's MLP)")
    runs = [
        ("peak 0.25 (the right one)", 0.25, "warn"),
        ("peak 1.0, warn", 1.0, "warn"),
        ("peak 1.0, stop", 1.0, "stop"),
        ("peak 1.0, Rewind(every=10, factor=0.25)", 1.0, lrs.Rewind(every=10, factor=0.25)),
        ("peak 1.0, + skip_batches=5", 1.0, lrs.Rewind(every=10, factor=0.25, skip_batches=5)),
    ]
    for label, max_lr, option in runs[: 2 if args.quick else None]:
        result = recovery(max_lr, option)
        print(
            f"   {label:42s} val_loss {result['val_loss']:.3f}  val_acc {result['val_acc']:.3f}  steps"
            f" {result['steps']}  rewinds (step -> state of step) {result['rewinds']}"
        )


if __name__ == "__main__":
    main()
