"""preview() of a long schedule: time and peak memory, e.g. 1,000,000 optimizer steps.

python benchmarks/preview_scale.py --steps 1000000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from lightning_lrsched import CosineAnnealingLR, OneCycleLR, WarmupStableDecayLR
from lightning_lrsched.report import preview


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    per_epoch = args.steps // args.epochs
    for schedule in (CosineAnnealingLR(warmup="1%"), OneCycleLR(max_lr=1e-3), WarmupStableDecayLR(warmup="1%")):
        start = time.perf_counter()
        trace = preview(schedule, epochs=args.epochs, steps_per_epoch=per_epoch, lr=1e-3)
        seconds = time.perf_counter() - start
        del trace
        tracemalloc.start()  # a second run for memory: tracing slows Python down several times
        trace = preview(schedule, epochs=args.epochs, steps_per_epoch=per_epoch, lr=1e-3)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{type(schedule).__name__:>20}: {len(trace):,} steps in {seconds:.2f} s"
              f" ({seconds / len(trace) * 1e5:.2f} s per 100k), peak {peak / 2**20:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
