"""LRDiagnostics' memory over a long run: the peak at 10% and at 100% of a 1,000,000-step run (flat is the target).

Drives the callback's hooks directly with a stand-in for the Trainer (the attributes the hooks read), a noisy
falling loss, and one validation every 1,000 steps; or none at all with --no-validation, the case where the
training losses between two validations used to pile up.

    python benchmarks/diagnostics_memory.py [--steps 1000000] [--no-validation]
"""

from __future__ import annotations

import argparse
import math
import random
import time
import tracemalloc
from types import SimpleNamespace
from typing import Any

import torch

from lightning_lrsched import LRDiagnostics


def stand_in_trainer() -> Any:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(()))], lr=0.1)
    return SimpleNamespace(
        global_step=0, current_epoch=0, world_size=1, accumulate_grad_batches=1, is_global_zero=True,
        optimizers=[optimizer], callback_metrics={}, loggers=[], callbacks=[], checkpoint_callbacks=[],
        lr_scheduler_configs=[], sanity_checking=False, state=SimpleNamespace(fn="fit"), should_stop=False,
    )  # fmt: skip


def run(steps: int, validate_every: int | None) -> tuple[float, float]:
    """(peak MiB traced while running ``steps`` steps, seconds without tracing per 100k steps)."""
    rng = random.Random(0)
    losses = [torch.tensor(2.0 * math.exp(-i / 5000) + 0.1 + 0.05 * rng.random()) for i in range(4096)]
    diagnostics = LRDiagnostics(verbose=False, summary_file=None)
    trainer = stand_in_trainer()
    diagnostics.on_fit_start(trainer, None)  # type: ignore[arg-type]
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    for step in range(steps):
        trainer.global_step = step
        diagnostics.on_train_batch_start(trainer, None, None, step)  # type: ignore[arg-type]
        diagnostics.on_train_batch_end(trainer, None, {"loss": losses[step % len(losses)]}, None, step)  # type: ignore[arg-type]
        if validate_every and (step + 1) % validate_every == 0:
            trainer.callback_metrics = {"val_loss": torch.tensor(1.0 / (1 + step)), "val_acc": torch.tensor(0.5)}
            diagnostics.on_validation_end(trainer, None)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--no-validation", action="store_true")
    args = parser.parse_args()
    validate_every = None if args.no_validation else 1000
    for share in (0.1, 1.0):
        steps = int(args.steps * share)
        peak, seconds = run(steps, validate_every)
        print(f"{steps:>9,} steps ({share:.0%}): peak {peak:.3f} MiB traced, {seconds:.1f} s with tracing")


if __name__ == "__main__":
    main()
