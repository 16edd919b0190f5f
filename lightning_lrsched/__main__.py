"""Command line: ``python -m lightning_lrsched preview ...`` and ``python -m lightning_lrsched plot LOGDIR``.

python -m lightning_lrsched preview cosine --epochs 3 --steps-per-epoch 100 --lr 5e-5 --set warmup=10%
python -m lightning_lrsched preview OneCycleLR --epochs 5 --steps-per-epoch 200 --set max_lr=0.01 --out onecycle
python -m lightning_lrsched plot runs/quickstart --out curves.png
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning_lrsched.lightning.names import schedule_from_name
from lightning_lrsched.report.preview import plot_schedule, preview


def _value(text: str) -> Any:
    """``0.1`` -> float, ``[30, 60]`` -> list, ``true`` -> True, anything else (``10%``, ``3ep``) -> the string."""
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _arguments(pairs: Sequence[str]) -> dict[str, Any]:
    arguments = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --set expects KEY=VALUE (e.g. --set warmup=10%), got {pair!r}")
        arguments[key.strip()] = _value(value.strip())
    return arguments


def _preview(args: argparse.Namespace) -> None:
    schedule = schedule_from_name(args.schedule, **_arguments(args.set))
    rates = [float(v) for v in args.lr.split(",")]
    metrics = [float(v) for v in args.metrics.split(",")] if args.metrics else None
    trace = preview(schedule, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, lr=rates, metrics=metrics)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "epoch", *[f"lr_pg{i + 1}" for i in range(len(rates))]])
        for step, lrs in enumerate(trace):
            writer.writerow([step, step // args.steps_per_epoch, *[repr(lr) for lr in lrs]])
    figure = plot_schedule(
        schedule, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, lr=rates, metrics=metrics
    )
    figure.savefig(out.with_suffix(".png"), dpi=120)
    first, peak, last = trace[0][0], max(lrs[0] for lrs in trace), trace[-1][0]
    print(f"{len(trace)} optimizer steps: lr starts {first:.3g}, peaks {peak:.3g}, ends {last:.3g}")
    print(f"wrote {out.with_suffix('.png')} and {out.with_suffix('.csv')}")


def _plot(args: argparse.Namespace) -> None:
    from lightning_lrsched.report.plotting import plot_runs

    figure = plot_runs(args.logdirs, log_lr=args.log_lr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m lightning_lrsched``."""
    parser = argparse.ArgumentParser(prog="python -m lightning_lrsched", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    shown = commands.add_parser("preview", help="write the lr of every optimizer step as PNG and CSV")
    shown.add_argument("schedule", help="a schedule name ('cosine', 'linear', 'plateau', ...) or class ('OneCycleLR')")
    shown.add_argument("--epochs", type=int, required=True)
    shown.add_argument("--steps-per-epoch", type=int, required=True)
    shown.add_argument("--lr", default="1e-3", help="the optimizer's lr; comma-separated for several param groups")
    shown.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a schedule argument")
    shown.add_argument("--metrics", help="plateau: the monitored value of each epoch, comma-separated")
    shown.add_argument("--out", default="schedule", help="output path without suffix (writes .png and .csv)")
    shown.set_defaults(run=_preview)

    plotted = commands.add_parser(
        "plot", help="PNG of lr, loss and metric curves read from TensorBoard or CSVLogger logs"
    )
    plotted.add_argument("logdirs", nargs="+", help="one or more run folders (or parents of runs)")
    plotted.add_argument("--out", default="curves.png")
    plotted.add_argument("--log-lr", action="store_true", help="a log scale for the learning rate")
    plotted.set_defaults(run=_plot)

    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ValueError, TypeError, ModuleNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from error


if __name__ == "__main__":
    main()
