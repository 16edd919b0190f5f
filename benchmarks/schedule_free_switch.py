"""What ScheduleFreeCallback's switches cost: one eval() and one train() of a schedule-free AdamW, per validation.

Measured on the BERT demo's model (MiniLM BERT, 22.7M parameters, offline) and on a 1M-parameter MLP, after one
optimizer step (so that the average exists): the median of 20 switch pairs, against the time of one training step
of the same model on a batch of 32 (the BERT demo validates 4 times an epoch of 94 steps: 8 switches an epoch).

    python benchmarks/schedule_free_switch.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import schedulefree
import torch
from bert_step_time import load_demo
from torch import nn


def median_seconds(work: Callable[[], None], repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, model: nn.Module, loss: Callable[[], torch.Tensor]) -> None:
    optimizer = schedulefree.AdamWScheduleFree(model.parameters(), lr=1e-4)
    optimizer.train()

    def step() -> None:
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()

    step()  # the average exists from the first step on
    step_time = median_seconds(step, repeats=5)

    def switch() -> None:
        optimizer.eval()
        optimizer.train()

    switch_time = median_seconds(switch)
    count = sum(p.numel() for p in model.parameters())
    print(
        f"{name:>24} ({count / 1e6:5.1f}M parameters): eval()+train() {switch_time * 1e3:7.2f} ms,"
        f" a training step {step_time * 1e3:8.1f} ms ({switch_time / step_time:.1%} of a step per validation)"
    )


def main() -> None:
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10))
    x, y = torch.randn(32, 512), torch.randint(0, 10, (32,))
    measure("MLP", mlp, lambda: nn.functional.cross_entropy(mlp(x), y))
    demo = load_demo()
    _, bert = demo.load_model(demo.offline_model_dir())
    ids = torch.randint(1000, 2000, (32, 33))
    labels = torch.randint(0, 2, (32,))
    measure("MiniLM BERT (BERT demo)", bert, lambda: bert(input_ids=ids, labels=labels).loss)


if __name__ == "__main__":
    main()
