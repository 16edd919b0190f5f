"""TensorBoard I/O: the dashboard layout, scalars in one event, the plan card, and scalars read back from logs.

This module imports nothing of the package: what to write is decided by the callbacks and ``reporting``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHARTS: tuple[tuple[str, str, str], ...] = (
    ("schedule", "learning rate", r"^lr-(?!.*(-momentum|-weight_decay|-plan|-summary|-plateau)).*"),
    ("schedule", "momentum / beta1", r"^lr-.*-momentum$"),
    ("schedule", "weight decay", r"^lr-.*-weight_decay$"),
    ("losses", "training loss", r"^train_loss(_step)?$"),
    ("losses", "training loss, epoch mean", r"^train_loss_epoch$"),
    ("losses", "validation loss", r"^val_loss$"),
    ("quality", "training accuracy", r"^train_acc"),
    ("quality", "validation accuracy", r"^val_acc$"),
    ("quality", "training F1", r"^train_f1"),
    ("quality", "validation F1", r"^val_f1$"),
)
"""The custom-scalars charts, each (category, title, tag regex). Training and validation curves get charts of
their own: TensorBoard colours curves by run, not by tag, so on one chart they would share a colour."""


def layout(tags: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    """TensorBoard's custom-scalars layout for a run that logs ``tags``: only the charts that will have curves.

    Example::

        >>> sorted(layout(["lr-SGD", "train_loss", "val_loss"])["losses"])
        ['training loss', 'validation loss']
    """
    import re

    found: dict[str, dict[str, list[Any]]] = {}
    for category, title, pattern in CHARTS:
        if any(re.search(pattern, tag) for tag in tags):
            found.setdefault(category, {})[title] = ["Multiline", [pattern]]
    return found


def write_scalars(writer: Any, metrics: dict[str, float], step: int) -> None:
    """Write ``metrics`` at ``step`` as one TensorBoard event through a file writer.

    Lightning's ``TensorBoardLogger.log_metrics`` writes one event per value (about 100 us each), which makes
    logging 200 param groups cost 20 ms a step. A single event holding every value costs about 100 us plus
    5 us per value and reads back the same, tag by tag.
    """
    from tensorboard.compat.proto.summary_pb2 import Summary

    values = [Summary.Value(tag=tag, simple_value=value) for tag, value in metrics.items()]
    writer.add_summary(Summary(value=values), step)


def write_layout(experiments: Sequence[Any], tags: Sequence[str]) -> None:
    """The custom-scalars layout for a run that logs ``tags``, on every TensorBoard writer (the last one counts)."""
    charts = layout(tags)
    for experiment in experiments:
        experiment.add_custom_scalars(charts)


RESULTS = ("hp/best_val_acc", "hp/best_val_f1", "hp/final_val_loss", "hp_metric")
"""The run's results in the HParams tab: best validation accuracy and F1, the final validation loss, and
``hp_metric`` (the best accuracy when there is one, as Lightning's placeholder is -1)."""


def declare_hparams(writers: Sequence[Any], params: dict[str, Any]) -> None:
    """Write the HParams tab's definition (the hyperparameters and the result metrics), without any scalar.

    TensorBoard takes a run's HParams definition from the first one written, so this is written at fit start,
    before Lightning's own (whose only metric is ``hp_metric``); the results come as scalars at fit end.
    """
    from torch.utils.tensorboard.summary import hparams

    plain = {key: value if isinstance(value, (bool, int, float, str)) else str(value) for key, value in params.items()}
    for writer in writers:  # (the file writers of the SummaryWriters: see `privates.summary_file_writer`)
        for summary in hparams(plain, dict.fromkeys(RESULTS, 0.0)):  # type: ignore[no-untyped-call]
            writer.add_summary(summary)


def write_plan(experiments: Sequence[Any], tag: str, text: str, figure: Figure | None, step: int) -> None:
    """At fit start: the text card of the plan and its figure, on every TensorBoard writer."""
    for experiment in experiments:
        experiment.add_text(tag, text, global_step=step)
        if figure is not None:
            experiment.add_figure(tag, figure, global_step=step, close=False)


def read_scalars(logdir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of one run folder as ``{tag: [(step, value), ...]}``, read with TensorBoard's own reader."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError("Reading logs needs tensorboard: `pip install tensorboard`.") from error
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Run folders (those holding event files) at or below each path."""
    runs: list[Path] = []
    for path in map(Path, paths):
        found = sorted({event.parent for event in path.rglob("events.out.tfevents*")})
        if not found:
            raise ValueError(f"No TensorBoard event files under {str(path)!r}. Point at a log directory of a run.")
        runs += [run for run in found if run not in runs]
    return runs
