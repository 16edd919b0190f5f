"""preview() equals a real Trainer run; the CLI writes PNG and CSV; TensorBoard gets the plan and the layout."""

from __future__ import annotations

import csv
import math
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import GradientAccumulationScheduler
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lightning_lrsched as lrs
from lightning_lrsched.__main__ import main
from lightning_lrsched.report import reporting
from lightning_lrsched.report.preview import plot_schedule, preview, preview_run
from tests.helpers import GROUP_LRS, LRRecorder, TinyModel, make_loader, trainer
from tests.test_plateau import VALUES, ScriptedModel

CASES = [
    ("onecycle", lambda: lrs.OneCycleLR([1.0, 0.1])),
    ("cosine-warmup", lambda: lrs.CosineAnnealingLR(warmup="10%", warmup_start_factor=0.1)),
    ("step-epoch", lambda: lrs.StepLR(1, 0.5, warmup=3)),
    ("warm-restarts", lambda: lrs.CosineAnnealingWarmRestarts(1, T_mult=2, interval="step")),
    ("wsd", lambda: lrs.WarmupStableDecayLR(decay="30%", warmup=4)),
    (
        "sequential",
        lambda: lrs.SequentialLR(
            [lrs.LinearLR(0.1, 1.0, "100%", interval="step"), lrs.ExponentialLR(0.7)], milestones=["1ep"]
        ),
    ),
]


@pytest.mark.parametrize(("label", "make"), CASES, ids=[c[0] for c in CASES])
def test_preview_equals_a_trainer_run(tmp_path, label, make) -> None:
    recorder = LRRecorder()
    trainer(tmp_path, max_epochs=4, callbacks=[make(), recorder]).fit(TinyModel(), make_loader())
    assert preview(make(), epochs=4, steps_per_epoch=10, lr=list(GROUP_LRS)) == recorder.lrs


RUNS = {
    "max-steps": ({"max_epochs": 3, "max_steps": 25}, [], [10.0, 20.0]),
    "accumulation": ({"max_epochs": 4}, [GradientAccumulationScheduler({1: 2})], [10.0, 15.0, 20.0]),
}


@pytest.mark.parametrize("run", RUNS, ids=list(RUNS))
@pytest.mark.parametrize(("label", "make"), CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_the_planned_schedule_figure_is_the_fits_own_run(tmp_path, monkeypatch, run, label, make) -> None:
    """The figure of the planned schedule (TensorBoard, at fit start) draws the fit's own lrs, where its run is not
    whole epochs of one size: ``max_steps=25`` ends epoch 2 after 5 of its 10 steps; with
    ``GradientAccumulationScheduler({1: 2})`` the epochs have 10 steps, then 5. Its epochs' starts are marked where
    the run's are. ``preview_run`` of the plan's length gives the same lrs. Before, the figure drew whole epochs of
    the first epoch's size: a cosine over 30 steps where the fit's went over 25."""
    drawn: list[tuple[list[list[float]], list[float]]] = []

    def capture(trace: list[list[float]], *, epoch_starts: Sequence[float], title: str) -> Figure:
        drawn.append((trace, list(epoch_starts)))
        return Figure()

    monkeypatch.setattr(reporting, "draw_schedule", capture)
    options, more, starts = RUNS[run]
    schedule, recorder = make(), LRRecorder()
    logger = TensorBoardLogger(tmp_path, name="run")
    trainer(tmp_path, logger=logger, callbacks=[*more, schedule, recorder], **options).fit(TinyModel(), make_loader())
    assert len(recorder.lrs) == 25
    ((trace, marked),) = drawn
    assert trace == recorder.lrs
    assert marked == starts
    assert preview_run(make(), schedule.schedule.last_timeline.plan.length, lr=list(GROUP_LRS)) == recorder.lrs


def test_preview_of_plateau_with_a_metric_sequence(tmp_path) -> None:
    def make() -> lrs.LRSchedulerCallback:
        return lrs.ReduceLROnPlateau(patience=1, factor=0.5, warmup=5)

    recorder = LRRecorder()
    trainer(tmp_path, max_epochs=8, callbacks=[make(), recorder]).fit(ScriptedModel(), make_loader(), make_loader(6))
    assert preview(make(), epochs=8, steps_per_epoch=10, lr=list(GROUP_LRS), metrics=VALUES[:8]) == recorder.lrs


def test_preview_leaves_the_callback_untouched_and_plots() -> None:
    schedule = lrs.OneCycleLR(0.1)
    preview(schedule, epochs=2, steps_per_epoch=5)
    assert schedule.scheduler is None
    figure = plot_schedule(schedule, epochs=2, steps_per_epoch=5, lr=[0.1, 0.01])
    assert isinstance(figure, Figure)
    (axis,) = figure.axes
    curves = [line for line in axis.get_lines() if line.get_label().startswith("param group")]
    assert len(curves) == 2
    assert max(curves[0].get_ydata()) == pytest.approx(0.1)


def test_preview_errors() -> None:
    with pytest.raises(TypeError, match=r"`schedule` to be a lightning_lrsched schedule or .*`schedule_from_name"):
        preview("cosine", epochs=1, steps_per_epoch=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`epochs` to be an int >= 1, but got 0"):
        preview(lrs.StepLR(1), epochs=0, steps_per_epoch=1)
    for length in (lrs.TrainingLength(math.inf, 10), lrs.TrainingLength(20, math.inf), lrs.TrainingLength(0, 0)):
        with pytest.raises(ValueError, match=r"`length` to be a run of at least one optimizer step.*TrainingLength\("):
            preview_run(lrs.StepLR(1), length)


def test_cli_preview_writes_png_and_csv(tmp_path, capsys) -> None:
    out = tmp_path / "plan" / "cosine"
    main(["preview", "CosineAnnealingLR", "--epochs", "3", "--steps-per-epoch", "20", "--lr", "5e-5,1e-4",
          "--set", "warmup=10%", "--set", "eta_min=1e-7", "--out", str(out)])  # fmt: skip
    rows = list(csv.DictReader((tmp_path / "plan" / "cosine.csv").open()))
    expected = preview(lrs.CosineAnnealingLR(warmup="10%", eta_min=1e-7), epochs=3, steps_per_epoch=20, lr=[5e-5, 1e-4])
    assert [[float(r["lr_pg1"]), float(r["lr_pg2"])] for r in rows] == expected
    assert (tmp_path / "plan" / "cosine.png").read_bytes()[:4] == b"\x89PNG"
    assert "60 optimizer steps" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["preview", "cosin", "--epochs", "1", "--steps-per-epoch", "1"])
    assert "Did you mean 'cosine'" in capsys.readouterr().err


def fit_with_tensorboard(tmp_path: Path, schedule: lrs.LRSchedulerCallback | None = None) -> str:
    logger = TensorBoardLogger(tmp_path, name="tb")
    module = lrs.ClassifierModule(torch.nn.Linear(4, 2), num_classes=2, lr=0.05)

    class Pairs(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 30

        def __getitem__(self, i: int) -> Any:
            x = torch.randn(4, generator=torch.Generator().manual_seed(i))
            return x, int(x.sum() > 0)

    loader = torch.utils.data.DataLoader(Pairs(), batch_size=5)
    trainer(tmp_path, max_epochs=2, logger=logger, log_every_n_steps=1,
            callbacks=[schedule or lrs.CosineAnnealingLR(warmup=2)]).fit(module, loader, loader)  # fmt: skip
    return logger.log_dir


@pytest.mark.parametrize(
    "schedule",
    [lambda: lrs.ReduceLROnPlateau(warmup=2), lambda: lrs.GreedyLR(warmup=2), lambda: lrs.TimmLR("cosine", warmup_t=1)],
    ids=["plateau", "greedy", "timm"],
)
def test_the_plan_of_a_schedule_without_initial_lr_is_drawn_from_its_own_lrs(tmp_path, schedule) -> None:
    """Plateau schedules set no `initial_lr` and the warmup has lowered the lr to 0 at fit start."""
    events = EventAccumulator(fit_with_tensorboard(tmp_path, schedule()), size_guidance={"images": 0})
    events.Reload()
    assert "lr-AdamW/decay-plan" in events.Tags()["images"]


def test_plan_figure_text_and_layout_in_tensorboard(tmp_path) -> None:
    log_dir = fit_with_tensorboard(tmp_path)
    events = EventAccumulator(log_dir, size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    assert "lr-AdamW/decay-plan" in tags["images"]
    card = events.Tensors("lr-AdamW/decay-plan/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "stepped per step" in card
    assert "total optimizer steps: 12" in card
    assert "warmup steps: 2" in card
    assert "T_max: 10" in card
    layout = events.Tensors("custom_scalars__config__")
    assert layout, "custom scalars layout missing"


def test_cli_plot_reads_event_files(tmp_path, capsys) -> None:
    log_dir = fit_with_tensorboard(tmp_path)
    out = tmp_path / "curves.png"
    main(["plot", str(Path(log_dir).parent), "--out", str(out)])
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_tensorboard_server_lists_the_tags(tmp_path) -> None:
    log_dir = fit_with_tensorboard(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(Path(log_dir).parent),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--reload_interval",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tags: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=5) as reply:
                    import json

                    tags = json.load(reply)
                if tags:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        (run,) = tags.values()
        assert {"lr-AdamW/decay", "lr-AdamW/no_decay", "train_loss_step", "val_loss", "val_acc", "val_f1"} <= set(run)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_hparams_hold_the_real_best_results(tmp_path) -> None:
    log_dir = fit_with_tensorboard(tmp_path)
    events = EventAccumulator(log_dir, size_guidance={"scalars": 0})
    events.Reload()
    val_acc = [e.value for e in events.Scalars("val_acc")]
    assert events.Scalars("hp/best_val_acc")[-1].value == pytest.approx(max(val_acc))
    assert events.Scalars("hp_metric")[-1].value == pytest.approx(max(val_acc))  # not the -1 placeholder
    assert events.Scalars("hp/final_val_loss")[-1].value == pytest.approx(events.Scalars("val_loss")[-1].value)
    assert "hp/best_val_f1" in events.Tags()["scalars"]


def test_missing_optional_packages_name_what_to_install(monkeypatch, tmp_path) -> None:
    from lightning_lrsched.report import tensorboard
    from lightning_lrsched.report.preview import new_figure

    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing.event_accumulator", None)
    with pytest.raises(ModuleNotFoundError, match=r"`pip install tensorboard`"):
        tensorboard.read_scalars(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ModuleNotFoundError, match=r"`pip install matplotlib`"):
        new_figure((3, 3))


def test_csv_logger_alone_still_gets_every_scalar(tmp_path) -> None:
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(tmp_path, name="csv")
    module = lrs.ClassifierModule(torch.nn.Linear(4, 2), num_classes=2, lr=0.05)
    data = torch.utils.data.TensorDataset(torch.randn(20, 4), torch.randint(0, 2, (20,)))
    loader = torch.utils.data.DataLoader(data, batch_size=5)
    trainer(tmp_path, max_epochs=1, logger=logger, log_every_n_steps=1, callbacks=[lrs.CosineAnnealingLR()]).fit(
        module, loader, loader
    )
    header = (Path(logger.log_dir) / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"lr-AdamW/decay", "train_loss_step", "val_loss", "val_acc", "val_f1"} <= set(header)


def test_plan_false_writes_no_plan(tmp_path) -> None:
    logger = TensorBoardLogger(tmp_path, name="noplan")
    trainer(tmp_path, max_epochs=1, logger=logger, callbacks=[lrs.StepLR(1, plan=False)]).fit(
        TinyModel(), make_loader()
    )
    events = EventAccumulator(logger.log_dir, size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    assert not events.Tags()["images"]
    assert "lr-SGD/pg1" in events.Tags()["scalars"]
    with pytest.raises(TypeError, match=r"`plan` to be True or False, but got 'no'"):
        lrs.StepLR(1, plan="no")


def test_preview_of_a_plateau_on_a_training_metric(recwarn) -> None:
    schedule = lrs.ReduceLROnPlateau(monitor="train_loss", patience=0, factor=0.5)
    trace = lrs.preview(schedule, epochs=4, steps_per_epoch=2, lr=1.0, metrics=[1.0, 1.0])
    assert [round(group[0], 3) for group in trace] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    assert [round(group[0], 3) for group in lrs.preview(schedule, epochs=2, steps_per_epoch=2, lr=1.0)] == [1.0] * 4
