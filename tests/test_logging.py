"""Learning-rate logging, read back with TensorBoard's own event reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lightning_lrsched as lrs
from tests.helpers import LRRecorder, TinyModel, make_loader, trainer


def scalars(log_dir: str) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(log_dir, size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def fit_logged(tmp_path: Path, schedule: lrs.LRSchedulerCallback, **kwargs: Any) -> tuple[dict, LRRecorder, Any]:
    recorder = LRRecorder()
    logger = TensorBoardLogger(tmp_path, name="run")
    model = kwargs.pop("model", None) or TinyModel()
    run = trainer(tmp_path, max_epochs=2, logger=logger, callbacks=[schedule, recorder], **kwargs)
    run.fit(model, make_loader())
    return scalars(logger.log_dir), recorder, run


def test_one_lr_point_per_optimizer_step_with_lr_monitor_names(tmp_path) -> None:
    logged, recorder, _ = fit_logged(tmp_path, lrs.OneCycleLR(max_lr=[1.0, 0.1]), log_every_n_steps=1)
    for group, tag in enumerate(["lr-SGD/pg1", "lr-SGD/pg2"]):
        assert [step for step, _ in logged[tag]] == list(range(20))
        assert [value for _, value in logged[tag]] == pytest.approx([lrs_[group] for lrs_ in recorder.lrs], rel=1e-6)
    momentum = [value for _, value in logged["lr-SGD/pg1-momentum"]]
    assert len(momentum) == 20
    assert min(momentum) == pytest.approx(0.85)
    assert max(momentum) == pytest.approx(0.95)


def test_an_epoch_schedule_logs_every_step_of_its_warmup_then_once_an_epoch(tmp_path) -> None:
    logged, recorder, _ = fit_logged(tmp_path, lrs.StepLR(1, gamma=0.5, warmup=4), log_every_n_steps=1)
    points = logged["lr-SGD/pg1"]
    assert [step for step, _ in points] == [0, 1, 2, 3, 4, 10]  # the warmup's steps (its last included), then epochs
    assert [value for _, value in points] == pytest.approx([recorder.lrs[step][0] for step, _ in points])
    only_epochs, _, _ = fit_logged(tmp_path / "asked", lrs.StepLR(1, warmup=4, logging_interval="epoch"))
    assert [step for step, _ in only_epochs["lr-SGD/pg1"]] == [0, 10]  # as asked: LearningRateMonitor's cadence


def test_logging_follows_log_every_n_steps(tmp_path) -> None:
    logged, _, _ = fit_logged(tmp_path, lrs.CosineAnnealingLR(), log_every_n_steps=5)
    # where Lightning logs the module's step metrics (and LearningRateMonitor the lr): batches 4, 9, 14, 19
    assert [step for step, _ in logged["lr-SGD/pg1"]] == [4, 9, 14, 19]
    assert "lr-SGD/pg1-momentum" not in logged  # cosine does not cycle momentum


class NamedGroupsAdamW(TinyModel):
    def configure_optimizers(self) -> Any:
        import torch

        return torch.optim.AdamW(
            [
                {"params": self.hidden.parameters(), "lr": 1e-3, "name": "encoder"},
                {"params": self.out.parameters(), "lr": 1e-2, "name": "head"},
            ]
        )


def test_named_param_groups_and_adam_beta1(tmp_path) -> None:
    schedule = lrs.CyclicLR(1e-4, 1e-2, step_size_up=4)
    logged, recorder, run = fit_logged(
        tmp_path, schedule, log_every_n_steps=1, model=NamedGroupsAdamW(), enable_progress_bar=True
    )
    assert {"lr-AdamW/encoder", "lr-AdamW/head", "lr-AdamW/encoder-momentum"} <= set(logged)
    beta1 = [value for _, value in logged["lr-AdamW/encoder-momentum"]]
    assert min(beta1) == pytest.approx(0.8)
    assert max(beta1) == pytest.approx(0.9)
    # the current lr (after the last step) in the progress bar, readably
    assert run.progress_bar_metrics["lr-AdamW/encoder"] == f"{run.optimizers[0].param_groups[0]['lr']:.1e}"
    assert run.progress_bar_metrics["lr-AdamW/encoder"] != f"{recorder.lrs[-1][0]:.1e}"


def test_custom_name_and_log_lr_off(tmp_path) -> None:
    logged, _, _ = fit_logged(tmp_path, lrs.StepLR(1, name="schedule"), log_every_n_steps=1)
    assert "schedule/pg1" in logged
    assert "schedule/pg2" in logged
    off = lrs.StepLR(1, log_lr=False)
    logged_off, _, run = fit_logged(tmp_path / "off", off, log_every_n_steps=1, enable_progress_bar=True)
    assert not any(tag.startswith("lr-") for tag in logged_off)
    assert not any(key.startswith("lr-") for key in run.progress_bar_metrics)


def test_other_loggers_get_the_lr_too(tmp_path) -> None:
    logger = CSVLogger(tmp_path, name="csv")
    trainer(tmp_path, max_epochs=1, logger=logger, log_every_n_steps=1, callbacks=[lrs.StepLR(1)]).fit(
        TinyModel(), make_loader()
    )
    header = (Path(logger.log_dir) / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"lr-SGD/pg1", "lr-SGD/pg2", "step"} <= set(header)


class ManyGroups(TinyModel):
    """Layer-wise decay style: every parameter tensor in its own named group with its own lr."""

    def configure_optimizers(self) -> Any:
        import torch

        groups = [
            {"params": [param], "lr": 0.1 * 0.5**i, "name": f"layer{i}"} for i, param in enumerate(self.parameters())
        ]
        return torch.optim.SGD(groups, lr=0.1)


def test_many_groups_are_written_as_one_event_per_step_and_read_back_tag_by_tag(tmp_path) -> None:
    logged, recorder, _ = fit_logged(tmp_path, lrs.CosineAnnealingLR(), log_every_n_steps=1, model=ManyGroups())
    for group in range(4):
        points = logged[f"lr-SGD/layer{group}"]
        assert [step for step, _ in points] == list(range(20))
        assert [value for _, value in points] == pytest.approx([lrs_[group] for lrs_ in recorder.lrs], rel=1e-6)
    events = EventAccumulator(str(next(tmp_path.glob("run/version_0"))), size_guidance={"scalars": 0})
    events.Reload()
    assert events.Scalars("lr-SGD/layer0")[3].wall_time == events.Scalars("lr-SGD/layer3")[3].wall_time


def test_a_prefixed_tensorboard_logger_keeps_its_prefix(tmp_path) -> None:
    logger = TensorBoardLogger(tmp_path, name="prefixed", prefix="fold1")
    trainer(tmp_path, max_epochs=1, logger=logger, log_every_n_steps=1, callbacks=[lrs.StepLR(1)]).fit(
        TinyModel(), make_loader()
    )
    assert {"fold1-lr-SGD/pg1", "fold1-lr-SGD/pg2"} <= set(scalars(logger.log_dir))


class ClassifierLike(TinyModel):
    """Logs what a classifier logs: train/val loss, val accuracy and F1."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        super().validation_step(batch, batch_idx)
        self.log("val_acc", 0.5)
        self.log("val_f1", 0.4)


def read_layout(log_dir: str) -> dict[str, dict[str, list[str]]]:
    """The custom-scalars layout as TensorBoard reads it (its last version): {category: {chart: regexes}}."""
    from tensorboard.plugins.custom_scalar import layout_pb2

    events = EventAccumulator(log_dir, size_guidance={"tensors": 0})
    events.Reload()
    layout = layout_pb2.Layout()
    layout.ParseFromString(events.Tensors("custom_scalars__config__")[-1].tensor_proto.string_val[0])
    return {c.title: {chart.title: list(chart.multiline.tag) for chart in c.chart} for c in layout.category}


def test_the_dashboard_has_train_and_val_charts_apart_and_no_empty_chart(tmp_path) -> None:
    import re

    logger = TensorBoardLogger(tmp_path, name="run")
    trainer(tmp_path, max_epochs=2, logger=logger, log_every_n_steps=1, callbacks=[lrs.CosineAnnealingLR()]).fit(
        ClassifierLike("adamw"), make_loader(), make_loader(6)
    )
    layout = read_layout(logger.log_dir)
    assert layout == {
        "schedule": {"learning rate": layout["schedule"]["learning rate"]},  # AdamW + cosine: no momentum chart
        "losses": {"training loss": ["^train_loss(_step)?$"], "validation loss": ["^val_loss$"]},
        "quality": {"validation accuracy": ["^val_acc$"], "validation F1": ["^val_f1$"]},
    }
    tags = set(scalars(logger.log_dir))
    for charts in layout.values():
        for patterns in charts.values():  # every chart has curves
            assert any(re.search(patterns[0], tag) for tag in tags), patterns
    assert not any(re.search(layout["schedule"]["learning rate"][0], tag) for tag in ("train_loss", "lr-x-momentum"))


def hparams_definition(log_dir: str) -> tuple[set[str], set[str], dict[str, Any]]:
    """What the HParams tab shows, as TensorBoard reads it: hyperparameter names, metric names, session values."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    events = EventAccumulator(log_dir)
    events.Reload()
    content = events.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    session = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    values = {key: value.string_value or value.number_value for key, value in session.hparams.items()}
    return {h.name for h in experiment.hparam_infos}, {m.name.tag for m in experiment.metric_infos}, values


def test_hparams_list_the_schedule_and_the_real_results_for_any_module(tmp_path) -> None:
    logger = TensorBoardLogger(tmp_path, name="run")

    class Scored(TinyModel):  # a user's own module: val_loss, val_acc, val_f1
        def __init__(self) -> None:
            super().__init__("adamw")
            self.save_hyperparameters({"hidden": 4})

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            super().validation_step(batch, batch_idx)
            self.log("val_acc", 0.5 + 0.1 * self.current_epoch)
            self.log("val_f1", 0.4)

    trainer(tmp_path, max_epochs=3, logger=logger, callbacks=[lrs.CosineAnnealingLR(warmup=3)]).fit(
        Scored(), make_loader(), make_loader(6)
    )
    names, metrics, values = hparams_definition(logger.log_dir)
    assert {"hidden", "lr_schedule", "lr_schedule/interval", "lr_schedule/warmup_steps", "lr_schedule/T_max"} <= names
    assert metrics == {"hp/best_val_acc", "hp/best_val_f1", "hp/final_val_loss", "hp_metric"}  # not hp_metric only
    assert values["lr_schedule"] == "CosineAnnealingLR"
    assert values["lr_schedule/plan"] == "CosineAnnealingLR(T_max=27) per step, warmup 3 steps"
    assert values["lr_schedule/T_max"] == 27  # 30 steps, 3 of warmup
    logged = scalars(logger.log_dir)
    assert logged["hp/best_val_acc"][-1][1] == pytest.approx(0.7)
    assert logged["hp_metric"][-1][1] == pytest.approx(0.7)  # not Lightning's -1 placeholder
    assert logged["hp/final_val_loss"][-1][1] == pytest.approx(logged["val_loss"][-1][1])
