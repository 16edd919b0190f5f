"""LRDiagnostics on small real CPU runs that provoke each condition, and a healthy run that provokes none.

Each finding must come once: one warning, one TensorBoard text entry (read back with TensorBoard's own event
reader) and one entry in the JSON summary in the log directory.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lightning_lrsched as lrs
from tests.helpers import SAFE_LOAD, LRRecorder, TinyModel, make_loader, seed_quietly, trainer
from tests.test_plateau import ScriptedModel
from tests.test_resume import StopAt


def dataset(n: int, seed: int, *, labels: str = "signal", majority: float = 0.9) -> TensorDataset:
    """8 features; labels from the features ("signal"), random ("noise"), or mostly class 0 ("imbalanced")."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=generator)
    if labels == "signal":
        y = (x[:, :2].sum(dim=1) > 0).long()
    elif labels == "noise":
        y = torch.randint(0, 2, (n,), generator=generator)
    else:
        y = (torch.rand(n, generator=generator) > majority).long()
    return TensorDataset(x, y)


class MLP(pl.LightningModule):
    """A small classifier: cross-entropy, train_loss, val_loss and torchmetrics val_acc / val_f1."""

    def __init__(self, lr: float, hidden: int = 16, optimizer: str = "sgd") -> None:
        super().__init__()
        self.lr, self.optimizer = lr, optimizer
        self.net = nn.Sequential(
            nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2)
        )
        self.metrics = lrs.ClassificationMetrics(2)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y))
        self.metrics.update_and_log(self, "val", logits, y)

    def configure_optimizers(self) -> Any:
        if self.optimizer == "adam":
            return torch.optim.Adam(self.parameters(), lr=self.lr)
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)


def fit(
    tmp_path: Path,
    model: pl.LightningModule,
    callbacks: list[Any],
    *,
    train: TensorDataset,
    val: TensorDataset,
    epochs: int,
    **options: Any,
) -> tuple[lrs.LRDiagnostics, list[str], pl.Trainer]:
    """Fit with LRDiagnostics (window 10) and TensorBoard; the diagnostics and the warnings they raised."""
    seed_quietly(0)
    diagnostics = lrs.LRDiagnostics(window=10, verbose=False, **options)
    logger = TensorBoardLogger(tmp_path, name="run")
    run = trainer(
        tmp_path,
        max_epochs=epochs,
        logger=logger,
        callbacks=[*callbacks, diagnostics],
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        deterministic=False,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.fit(
            model,
            DataLoader(train, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0)),
            DataLoader(val, batch_size=64),
        )
    ours = [str(w.message) for w in caught if str(w.message).startswith("LRDiagnostics")]
    return diagnostics, ours, run


def text_entries(log_dir: str) -> dict[str, list[tuple[int, str]]]:
    """TensorBoard text entries, read back with TensorBoard's own reader: tag -> [(step, text)]."""
    events = EventAccumulator(log_dir, size_guidance={"tensors": 0})
    events.Reload()
    return {
        tag.removesuffix("/text_summary"): [
            (e.step, e.tensor_proto.string_val[0].decode()) for e in events.Tensors(tag)
        ]
        for tag in events.Tags()["tensors"]
        if tag.endswith("/text_summary")  # (not the custom-scalars layout)
    }


def assert_reported_once(diagnostics: lrs.LRDiagnostics, warned: list[str], run: pl.Trainer, kind: str) -> dict:
    """The finding of `kind` is there exactly once: in .findings, the warnings, TensorBoard and the JSON file."""
    (finding,) = [f for f in diagnostics.findings if f["kind"] == kind]
    assert [w for w in warned if finding["message"] in w] == [f"LRDiagnostics: {finding['message']}"]
    texts = text_entries(run.logger.log_dir)  # type: ignore[union-attr]
    assert texts[f"diagnostics/{kind}"] == [(finding["step"], finding["message"])]
    assert diagnostics.summary_path == Path(run.logger.log_dir) / "lr_summary.json"  # type: ignore[union-attr]
    saved = json.loads(diagnostics.summary_path.read_text())
    assert [f["kind"] for f in saved["findings"]].count(kind) == 1
    assert f"[{kind}]" in saved["text"]
    assert "diagnostics/summary" in texts
    return finding


def test_a_healthy_run_with_a_sensible_schedule_has_no_finding(tmp_path) -> None:
    schedule = lrs.CosineAnnealingLR(warmup="10%")
    diagnostics, warned, run = fit(
        tmp_path, MLP(0.05), [schedule], train=dataset(512, 0), val=dataset(256, 1), epochs=6
    )
    assert diagnostics.findings == []
    assert warned == []
    summary = json.loads(diagnostics.summary_path.read_text())  # type: ignore[union-attr]
    assert summary["findings"] == []
    assert summary["lr_path"] == [schedule.summary()["text"]]
    assert summary["lr_path"][0].startswith("CosineAnnealingLR: lr 0 -> peak 0.05 at step 19 -> ")
    assert summary["best"]["monitor"] == "val_loss"
    assert summary["best"]["value"] < 0.2
    assert "findings: none" in summary["text"]
    texts = text_entries(run.logger.log_dir)  # type: ignore[union-attr]
    assert not [tag for tag in texts if tag.startswith("diagnostics/") and tag != "diagnostics/summary"]
    assert texts["lr-SGD-summary"] == [(192, schedule.summary()["text"])]


class TwoValidationLoaders(TinyModel):
    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y))


@pytest.mark.parametrize("loss_key", ["val_loss", "val_loss/dataloader_idx_1", "valid_loss"])
def test_a_validation_loss_that_is_not_logged_is_said_once(tmp_path, loss_key) -> None:
    """Two validation dataloaders log ``val_loss/dataloader_idx_0`` and ``..._1``: watching ``val_loss`` (or a name
    never logged), overfitting cannot be watched, and one finding says so, naming what was logged (before: nothing
    was said). Watching one dataloader's key, nothing is."""
    diagnostics = lrs.LRDiagnostics(loss_key=loss_key, verbose=False, summary_file=None)
    run = trainer(tmp_path, max_epochs=3, callbacks=[lrs.CosineAnnealingLR(), diagnostics])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.fit(TwoValidationLoaders(), make_loader(), [make_loader(9), make_loader(9, seed=1)])
    warned = [str(w.message) for w in caught if str(w.message).startswith("LRDiagnostics")]
    if loss_key == "val_loss/dataloader_idx_1":
        assert diagnostics.findings == []
        assert warned == []
        return
    (finding,) = diagnostics.findings
    assert finding["kind"] == "unwatched"
    assert warned == [f"LRDiagnostics: {finding['message']}"]
    assert f"Validation logged no `{loss_key}`, so overfitting is not watched" in finding["message"]
    per_loader = "Lightning logs it once for each: ['val_loss/dataloader_idx_0', 'val_loss/dataloader_idx_1']"
    assert (per_loader in finding["message"]) == (loss_key == "val_loss")


def test_an_lr_far_too_high_diverges_while_it_rises(tmp_path) -> None:
    diagnostics, warned, run = fit(
        tmp_path, MLP(0.1), [lrs.OneCycleLR(max_lr=30.0)], train=dataset(512, 0), val=dataset(256, 1), epochs=3
    )
    finding = assert_reported_once(diagnostics, warned, run, "divergence")
    assert finding["lr_rising"] is True
    assert "which had just increased" in finding["message"]
    assert "Lower the peak lr (`max_lr`" in finding["message"]
    assert finding["lr"] == pytest.approx(
        lrs.preview(lrs.OneCycleLR(max_lr=30.0), epochs=3, steps_per_epoch=32, lr=0.1)[finding["step"] - 1][0]
    )


def test_an_lr_too_high_to_settle_oscillates_before_it_diverges(tmp_path) -> None:
    diagnostics, warned, run = fit(tmp_path, MLP(0.5), [], train=dataset(512, 0), val=dataset(256, 1), epochs=2)
    finding = assert_reported_once(diagnostics, warned, run, "oscillation")
    assert diagnostics.findings[0] is finding  # first the oscillation, then (at step 40) the divergence it leads to
    assert finding["cv"] > 0.5
    assert "at lr 0.5. The lr is probably too high: lower the max lr 3x" in finding["message"]


def test_stop_on_divergence_stops_at_a_nan_loss(tmp_path) -> None:
    diagnostics, warned, run = fit(
        tmp_path,
        MLP(1e4),  # the loss is NaN/inf within a few steps
        [],
        train=dataset(512, 0),
        val=dataset(256, 1),
        epochs=5,
        stop_on_divergence=True,
    )
    finding = assert_reported_once(diagnostics, warned, run, "divergence")
    assert "Training was stopped" in finding["message"]
    assert run.global_step < 20  # of 160
    assert finding["lr_rising"] is False


def test_a_fixed_tiny_lr_stalls(tmp_path) -> None:
    diagnostics, warned, run = fit(tmp_path, MLP(1e-6), [], train=dataset(512, 0), val=dataset(256, 1), epochs=2)
    finding = assert_reported_once(diagnostics, warned, run, "stall")
    assert "too low to learn: try 10x higher" in finding["message"]
    assert finding["lr"] == pytest.approx(1e-6)
    assert [f["kind"] for f in diagnostics.findings] == ["stall"]
    assert diagnostics.summary["lr_path"] == ["lr constant at 1e-06 (no lightning_lrsched schedule)"]


def test_a_tiny_training_set_and_a_big_model_overfit(tmp_path) -> None:
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss")
    diagnostics, warned, run = fit(
        tmp_path,
        MLP(1e-2, hidden=256, optimizer="adam"),
        [checkpoint],
        train=dataset(24, 0, labels="noise"),
        val=dataset(256, 1),
        epochs=20,
    )
    finding = assert_reported_once(diagnostics, warned, run, "overfitting")
    assert "Lowering the lr alone will not fix this" in finding["message"]
    values = finding["val_losses"]
    assert all(b > a for a, b in itertools.pairwise(values))
    assert finding["train_losses"][-1] < finding["train_losses"][0]
    # the best checkpoint named is the one ModelCheckpoint kept at that point
    assert finding["best"]["checkpoint"].startswith(str(tmp_path / "ckpt"))
    assert f"epoch={finding['best']['epoch']}-" in finding["best"]["checkpoint"]
    assert finding["best"]["value"] <= values[0]  # the best came before the rise


def test_a_plateau_schedule_on_a_training_metric(tmp_path) -> None:
    schedule = lrs.ReduceLROnPlateau(monitor="train_loss", patience=1)
    diagnostics, _, run = fit(tmp_path, MLP(0.1), [schedule], train=dataset(512, 0), val=dataset(256, 1), epochs=3)
    (finding,) = diagnostics.findings
    assert finding["kind"] == "metric-choice"
    assert "'train_loss', a training metric" in finding["message"]
    assert text_entries(run.logger.log_dir)["diagnostics/metric-choice"] == [(0, finding["message"])]  # type: ignore[union-attr]


def test_accuracy_monitored_on_imbalanced_labels(tmp_path) -> None:
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_acc", mode="max")
    diagnostics, warned, run = fit(
        tmp_path,
        MLP(1e-3),
        [checkpoint],
        train=dataset(512, 0, labels="imbalanced"),
        val=dataset(256, 1, labels="imbalanced"),
        epochs=2,
    )
    finding = assert_reported_once(diagnostics, warned, run, "metric-choice")
    assert finding["monitor"] == "val_acc"
    assert finding["majority_share"] > 0.85
    assert finding["others"]["val_f1"] < 0.2
    assert "monitor F1 or recall instead, e.g. `ModelCheckpoint(monitor='val_f1', mode='max')`" in finding["message"]


def test_plateau_reductions_explained_in_the_summary(tmp_path) -> None:
    schedule = lrs.ReduceLROnPlateau(patience=1, factor=0.5)
    diagnostics = lrs.LRDiagnostics(window=10, verbose=False)
    run = trainer(tmp_path, max_epochs=6, callbacks=[schedule, diagnostics])
    run.fit(ScriptedModel(), make_loader(), make_loader(6))  # val_loss 1.0, 0.8, 0.81, 0.82, 0.7, 0.75
    text = schedule.summary()["text"]
    assert text == (
        "ReduceLROnPlateau: lr 0.1 -> 0.05 in 1 plateau reduction (epoch 3: val_loss stalled at 0.8 for 2 validations)"
    )
    assert diagnostics.summary["lr_path"] == [text]
    assert diagnostics.summary["schedules"][0]["first"] == pytest.approx(0.1)
    assert diagnostics.summary["schedules"][0]["last"] == pytest.approx(0.05)
    assert json.loads((tmp_path / "lr_summary.json").read_text())["lr_path"] == [text]  # no logger: root dir


def test_the_summary_is_printed_at_fit_end(tmp_path, capsys) -> None:
    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.StepLR(1), lrs.LRDiagnostics(summary_file=None)])
    run.fit(ScriptedModel(), make_loader(), make_loader(6))
    printed = capsys.readouterr().out
    assert "Learning-rate summary\n  StepLR: lr constant at 0.1 for 10 optimizer steps (per epoch)" in printed
    assert "findings: none" in printed
    assert not (tmp_path / "lr_summary.json").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 2}, r"`window` to be an int >= 4, but got 2"),
        ({"spike_factor": 1.0}, r"`spike_factor` to be in the \(1, inf\) range, but got 1\.0"),
        ({"stall_tolerance": 0}, r"`stall_tolerance` to be in the \(0, 1\) range"),
        ({"overfit_patience": 0}, r"`overfit_patience` to be an int >= 1"),
        ({"loss_key": ""}, r"`loss_key` to be a logged metric name"),
        ({"summary_file": ""}, r"`summary_file` to be a file name or None"),
        ({"stop_on_divergence": "yes"}, r"`stop_on_divergence` to be True or False"),
    ],
)
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        lrs.LRDiagnostics(**kwargs)


def test_schedule_summary_numbers_equal_the_lrs_the_optimizer_used(tmp_path) -> None:
    schedule, recorder = lrs.OneCycleLR(max_lr=1.0), LRRecorder()
    trainer(tmp_path, max_epochs=2, callbacks=[schedule, recorder]).fit(TinyModel(), make_loader())
    used = [group_lrs[0] for group_lrs in recorder.lrs]
    summary = schedule.summary()
    assert (summary["first"], summary["last"], summary["lowest"]) == (used[0], used[-1], min(used))
    assert (summary["peak"], summary["peak_step"]) == (max(used), used.index(max(used)))
    assert summary["steps"] == len(used) == 20
    assert (
        summary["text"]
        == f"OneCycleLR: lr {used[0]:.3g} -> peak 1 at step 5 -> {used[-1]:.3g} over 20 optimizer steps (per step)"
    )


def test_a_few_changes_are_listed_by_epoch(tmp_path) -> None:
    schedule = lrs.StepLR(1, gamma=0.5)
    trainer(tmp_path, max_epochs=3, callbacks=[schedule]).fit(TinyModel(), make_loader())
    assert schedule.summary()["text"] == "StepLR: lr 0.1 -> 0.025 in 2 changes (from epochs 1, 2)"


def test_the_summary_of_a_resumed_fit_equals_the_uninterrupted_one(tmp_path) -> None:
    straight = lrs.CosineAnnealingLR(warmup=3)
    trainer(tmp_path / "a", max_epochs=4, callbacks=[straight]).fit(TinyModel(), make_loader())
    first, checkpoint = lrs.CosineAnnealingLR(warmup=3), ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    stopped = trainer(
        tmp_path / "b", max_epochs=4, callbacks=[first, StopAt(epoch=1), checkpoint], enable_checkpointing=True
    )
    stopped.fit(TinyModel(), make_loader())
    resumed = lrs.CosineAnnealingLR(warmup=3)
    trainer(tmp_path / "c", max_epochs=4, callbacks=[resumed]).fit(
        TinyModel(), make_loader(), ckpt_path=checkpoint.last_model_path, **SAFE_LOAD
    )
    assert first.summary()["steps"] == 20
    assert resumed.summary() == straight.summary()


def test_memory_does_not_grow_with_the_run() -> None:
    """Ten times the steps, without a validation in between: the same peak (only means and bounded windows)."""
    import warnings

    from benchmarks.diagnostics_memory import run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic loss stalls: that finding is not what is measured
        short, _ = run(2_000, validate_every=None)
        long, _ = run(20_000, validate_every=None)
        validated, _ = run(20_000, validate_every=100)
    assert long < short + 0.05  # MiB; keeping every loss would add about 0.6 MiB here
    assert validated < short + 0.05
