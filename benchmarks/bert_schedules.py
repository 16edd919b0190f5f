"""Does the schedule matter for fine-tuning? Six schedules on the BERT demo's task, data, seed and step budget.

Each run is the demo (`examples/bert_sentiment.py`, its defaults: MiniLM BERT, 3,000 tweets, 2 epochs, batch 32,
peak lr 2e-4, 8 validations) with one schedule: a constant lr, linear decay without warmup, 10% warmup + linear
decay (the demo's default), 10% warmup + cosine, and ReduceLROnPlateau on val_loss (patience 1, factor 0.5) after
the same warmup; and schedule-free AdamW (no schedule; its own warmup over the same 10%, the lr of the others,
the settings its authors recommend). Prints a Markdown table (best val F1, final val loss, the first step at which
val F1 reaches 0.85, test accuracy and F1, wall time) and writes a PNG of the val F1 and lr curves (and their data
as JSON).

    python benchmarks/bert_schedules.py                  # about 15 minutes on 2 CPU cores
    python benchmarks/bert_schedules.py --tiny           # seconds: the pipeline only (the tests run it)
    python benchmarks/bert_schedules.py --only schedule-free   # one row, merged into the last run's .json
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bert_step_time import load_demo

from lightning_lrsched.report.tensorboard import read_scalars

SCHEDULES: list[tuple[str, list[str]]] = [
    ("constant lr", ["--schedule", "constant", "--warmup", "0"]),
    ("linear decay, no warmup", ["--schedule", "linear", "--warmup", "0"]),
    ("10% warmup + linear decay (demo)", ["--schedule", "linear"]),
    ("10% warmup + cosine", ["--schedule", "cosine"]),
    ("10% warmup + plateau", ["--schedule", "plateau"]),
    ("schedule-free AdamW, its own 10% warmup", ["--schedule", "schedule-free"]),
]
TINY = ["--train-size", "48", "--val-size", "16", "--test-size", "16", "--epochs", "1", "--batch-size", "8",
        "--max-length", "16", "--val-every", "0.5"]  # fmt: skip
TARGET_F1 = 0.85


def run(demo: Any, label: str, extra: list[str], options: list[str], root: str) -> dict[str, Any]:
    start = time.perf_counter()
    result = demo.main([*options, *extra, "--logdir", root])
    seconds = time.perf_counter() - start
    logged = read_scalars(result["log_dir"])
    f1, loss = logged["val_f1"], logged["val_loss"]
    lr_tag = next(tag for tag in sorted(logged) if tag.startswith("lr-"))
    reached = next((step for step, value in f1 if value >= TARGET_F1), None)
    return {
        "label": label,
        "best_f1": max(value for _, value in f1),
        "final_loss": loss[-1][1],
        "reached": reached,
        "test_acc": result["accuracy"],
        "test_f1": result["f1"],
        "seconds": seconds,
        "f1": f1,
        "lr": logged[lr_tag],
        "lr_tag": lr_tag,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"| schedule | best val F1 | final val loss | first step with val F1 >= {TARGET_F1} | test acc | test F1"
        " | wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        reached = "never" if row["reached"] is None else str(row["reached"])
        lines.append(
            f"| {row['label']} | {row['best_f1']:.3f} | {row['final_loss']:.3f} | {reached} | {row['test_acc']:.3f}"
            f" | {row['test_f1']:.3f} | {row['seconds']:.0f} s |"
        )
    return "\n".join(lines)


def figure(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 8), sharex=True, layout="constrained")
    for row in rows:
        line = top.plot(*zip(*row["f1"], strict=True), marker="o", label=row["label"])[0]
        bottom.plot(*zip(*row["lr"], strict=True), color=line.get_color(), label=row["label"])
    top.axhline(TARGET_F1, color="grey", linewidth=0.8, linestyle="--")
    low = min((value for row in rows for _, value in row["f1"][1:]), default=0.0)  # (the first: F1 0 for all)
    top.set_ylim(max(0.0, low - 0.05), 0.9)
    top.text(0.01, 0.95, "first validation (step ~23): F1 0.0 for all, below the axis", transform=top.transAxes,
             fontsize=8, color="grey", va="top")  # fmt: skip
    top.set_ylabel("validation F1 (positive class)")
    top.set_title(f"BERT sentiment demo: the same run with {len(rows)} ways to set the learning rate")
    top.grid(alpha=0.3)
    fig.legend(*top.get_legend_handles_labels(), loc="outside lower center", ncol=3, frameon=False)
    bottom.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    group = rows[0]["lr_tag"].rpartition("/")[2]  # (the optimizer's name differs: AdamW, AdamWScheduleFree)
    bottom.set_ylabel(f"learning rate (param group '{group}')")
    bottom.set_xlabel("optimizer step")
    bottom.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few examples: checks the pipeline, measures nothing")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("bert_schedules.png"))
    parser.add_argument("--replot", action="store_true", help="redraw the figure from the last run's .json")
    parser.add_argument("--only", nargs="+", default=None, help="run the rows whose label has one of these words")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    demo = load_demo()
    options = TINY if args.tiny else []
    if args.replot:
        rows = json.loads(args.out.with_suffix(".json").read_text())
    else:
        chosen = [(label, extra) for label, extra in SCHEDULES if not args.only or any(w in label for w in args.only)]
        with tempfile.TemporaryDirectory() as root:
            new = {label: run(demo, label, extra, options, root) for label, extra in chosen}
        last = args.out.with_suffix(".json")
        kept = {row["label"]: row for row in json.loads(last.read_text())} if args.only and last.exists() else {}
        rows = [new.get(label) or kept[label] for label, _ in SCHEDULES if label in new or label in kept]
        last.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    figure(rows, args.out)
    print(f"figure: {args.out}")
    return rows


if __name__ == "__main__":
    main()
