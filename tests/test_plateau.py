"""Plateau decisions equal torch's ReduceLROnPlateau stepped by hand on the fresh values only."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import TinyModel, make_loader, make_optimizer, trainer

# A metric that improves, then stalls: patience 1 makes reductions frequent enough to see.
VALUES = [1.0, 0.8, 0.81, 0.82, 0.7, 0.75, 0.76, 0.77, 0.78, 0.79, 0.8, 0.81]
SANITY_VALUE = -100.0  # would be the best value ever if the sanity check were counted


class ScriptedModel(TinyModel):
    """Logs `val_loss` = VALUES[k] in its k-th real validation run (sanity check runs log SANITY_VALUE)."""

    def __init__(self, key: str = "val_loss", rank1_values: list[float] | None = None) -> None:
        super().__init__()
        self.key, self.rank1_values, self.runs = key, rank1_values, 0

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        values = self.rank1_values if self.rank1_values and self.global_rank == 1 else VALUES
        value = SANITY_VALUE if self.trainer.sanity_checking else values[self.runs]
        self.log(self.key, torch.tensor(value))

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self.runs += 1


class LrAfterValidation(Callback):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def by_hand(values: list[float], **kwargs: Any) -> list[float]:
    optimizer = make_optimizer()
    scheduler = ts.ReduceLROnPlateau(optimizer, **kwargs)
    lrs_ = []
    for value in values:
        scheduler.step(value)
        lrs_.append(optimizer.param_groups[0]["lr"])
    return lrs_


SCENARIOS = [
    ("every-epoch", {"max_epochs": 6}, 6),
    ("every-2nd-epoch", {"max_epochs": 8, "check_val_every_n_epoch": 2}, 4),
    ("mid-epoch", {"max_epochs": 3, "val_check_interval": 0.5}, 6),
    ("sanity-check", {"max_epochs": 4, "num_sanity_val_steps": 2}, 4),
    ("max-steps-mid-epoch", {"max_epochs": 10, "max_steps": 25}, 2),
]


@pytest.mark.parametrize(("label", "options", "runs"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_plateau_steps_once_per_fresh_validation(tmp_path, label, options, runs) -> None:
    schedule, probe = lrs.ReduceLROnPlateau(patience=1, factor=0.5), LrAfterValidation()
    model = ScriptedModel()
    run = trainer(tmp_path, callbacks=[schedule, probe], **options)
    run.fit(model, make_loader(), make_loader(6))
    assert model.runs == runs
    assert [value for _, value in schedule.history] == pytest.approx(VALUES[:runs])
    assert probe.lrs == by_hand(VALUES[:runs], patience=1, factor=0.5)
    assert schedule.scheduler is not None
    assert schedule.scheduler.last_epoch == runs  # one step per real validation, none other


def test_mode_from_name_and_key_epoch_variant(tmp_path) -> None:
    assert lrs.ReduceLROnPlateau("val_acc").mode == "max"
    assert lrs.ReduceLROnPlateau("valid/perplexity").mode == "min"
    with pytest.raises(ValueError, match=r"Cannot tell from the name whether `monitor`='score' .* `mode='min'`"):
        lrs.ReduceLROnPlateau("score")

    class EpochKey(ScriptedModel):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", torch.tensor(VALUES[self.runs]), on_step=True, on_epoch=True)

    schedule = lrs.ReduceLROnPlateau(patience=1, factor=0.5)
    trainer(tmp_path, max_epochs=4, callbacks=[schedule]).fit(EpochKey(), make_loader(), make_loader(6))
    assert [value for _, value in schedule.history] == pytest.approx(VALUES[:4])


def test_missing_key_names_the_logged_keys_and_closest_match(tmp_path) -> None:
    run = trainer(tmp_path, max_epochs=2, callbacks=[lrs.ReduceLROnPlateau("val_los", mode="min")])
    with pytest.raises(
        RuntimeError,
        match=r"monitor='val_los'\) found no such metric .* 'train_loss', 'val_loss'\]\. Did you mean 'val_loss'",
    ):
        run.fit(ScriptedModel(), make_loader(), make_loader(6))


class TwoLoaders(ScriptedModel):
    """Two validation dataloaders: Lightning logs ``val_loss/dataloader_idx_0`` and ``..._1``; the second's values
    are VALUES, the first's stay at 1.0."""

    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.log("val_loss", torch.tensor(VALUES[self.runs] if dataloader_idx else 1.0))


def test_a_metric_of_several_dataloaders_is_named_by_the_error_and_followed_per_dataloader(tmp_path) -> None:
    """``monitor="val_loss"`` with two validation dataloaders: the error at the first validation names the two keys
    Lightning logs (before, it suggested 'train_loss'). Monitoring one of them, the lrs equal torch's plateau stepped
    by hand on that dataloader's values."""
    loaders = [make_loader(6), make_loader(6, seed=1)]
    run = trainer(tmp_path / "a", max_epochs=2, callbacks=[lrs.ReduceLROnPlateau("val_loss")])
    with pytest.raises(RuntimeError, match=r"Lightning logs it once for each: set `monitor` to one of") as raised:
        run.fit(TwoLoaders(), make_loader(), loaders)
    assert "['val_loss/dataloader_idx_0', 'val_loss/dataloader_idx_1']" in str(raised.value)
    assert "Did you mean" not in str(raised.value)
    schedule, probe = lrs.ReduceLROnPlateau("val_loss/dataloader_idx_1", patience=1, factor=0.5), LrAfterValidation()
    trainer(tmp_path / "b", max_epochs=6, callbacks=[schedule, probe]).fit(TwoLoaders(), make_loader(), loaders)
    assert [value for _, value in schedule.history] == pytest.approx(VALUES[:6])
    assert probe.lrs == by_hand(VALUES[:6], patience=1, factor=0.5)


def test_missing_key_not_strict_warns_once(tmp_path) -> None:
    schedule = lrs.ReduceLROnPlateau("val_los", mode="min", strict=False)
    with pytest.warns(UserWarning, match=r"found no such metric") as record:
        trainer(tmp_path, max_epochs=3, callbacks=[schedule]).fit(ScriptedModel(), make_loader(), make_loader(6))
    assert len([w for w in record if "no such metric" in str(w.message)]) == 1
    assert schedule.history == []


def test_nan_counts_as_no_improvement_with_one_warning(tmp_path) -> None:
    class NanModel(ScriptedModel):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            value = [1.0, float("nan"), float("inf"), float("nan")][self.runs]
            self.log("val_acc", torch.tensor(value))

    schedule = lrs.ReduceLROnPlateau("val_acc", patience=1, factor=0.5)
    with pytest.warns(UserWarning, match=r"got val_acc=nan at step \d+; a NaN/inf value counts as no improvement"):
        trainer(tmp_path, max_epochs=4, callbacks=[schedule]).fit(NanModel(), make_loader(), make_loader(6))
    # max mode: inf would look like the best accuracy ever; it counts as no improvement instead
    assert [event["lr_after"][0] for event in schedule.reductions] == [0.05]
    worst = float("-inf")  # torch stepped by hand with each non-finite value replaced by the worst possible one
    assert schedule.scheduler.get_last_lr()[0] == by_hand([1.0, worst, worst, worst], mode="max", patience=1,
                                                           factor=0.5)[-1]  # fmt: skip
    assert [str(v) for _, v in schedule.history] == ["1.0", "nan", "inf", "nan"]


def test_training_metric_warns(tmp_path) -> None:
    schedule = lrs.ReduceLROnPlateau("train_loss", patience=1)
    with pytest.warns(UserWarning, match=r"monitors 'train_loss', a training metric.* 'val_loss' is the usual"):
        trainer(tmp_path, max_epochs=3, callbacks=[schedule]).fit(TinyModel(), make_loader())
    assert len(schedule.history) == 3  # read once per training epoch


def test_reductions_are_logged_as_events(tmp_path) -> None:
    logger = TensorBoardLogger(tmp_path, name="plateau")
    schedule = lrs.ReduceLROnPlateau(patience=1, factor=0.5)
    trainer(tmp_path, max_epochs=8, logger=logger, callbacks=[schedule]).fit(
        ScriptedModel(), make_loader(), make_loader(6)
    )
    events = EventAccumulator(logger.log_dir, size_guidance={"tensors": 0, "scalars": 0})
    events.Reload()
    assert len(schedule.reductions) == 2
    texts = events.Tensors("lr-SGD/pg1-plateau/text_summary")
    assert len(texts) == 2
    first = texts[0].tensor_proto.string_val[0].decode()
    assert "lr 0.1 -> 0.05" in first
    assert "val_loss did not improve for 2 validations" in first
    assert [e.value for e in events.Scalars("lr-SGD/pg1-plateau_reductions")] == [1.0, 2.0]
    assert schedule.reductions[0]["recent_values"] == pytest.approx([0.81, 0.82])


def test_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"steps once per validation run, so `interval`='step' does not apply"):
        lrs.ReduceLROnPlateau(interval="step")


def test_validations_inside_warmup_are_not_counted(tmp_path) -> None:
    schedule, probe = lrs.ReduceLROnPlateau(patience=1, factor=0.5, warmup=15), LrAfterValidation()
    trainer(tmp_path, max_epochs=6, callbacks=[schedule, probe]).fit(ScriptedModel(), make_loader(), make_loader(6))
    assert [value for _, value in schedule.history] == pytest.approx(VALUES[1:6])  # validation 0 ran at step 10
    assert probe.lrs[0] == pytest.approx(0.1 * 10 / 15)  # still warming up
    assert probe.lrs[1:] == by_hand(VALUES[1:6], patience=1, factor=0.5)


def test_lightning_native_wiring_counts_stale_values_and_this_package_does_not(tmp_path) -> None:
    """The reason the package owns plateau stepping, shown on Lightning's own wiring."""

    class Native(ScriptedModel):
        def configure_optimizers(self) -> Any:
            optimizer = make_optimizer([*self.hidden.parameters(), *self.out.parameters()])
            scheduler = ts.ReduceLROnPlateau(optimizer, patience=1, factor=0.5)
            config = {"scheduler": scheduler, "monitor": "val_loss", "strict": False}
            return {"optimizer": optimizer, "lr_scheduler": config}

    native = trainer(tmp_path / "native", max_epochs=8, check_val_every_n_epoch=2)
    with pytest.warns(RuntimeWarning, match="not available but strict is set to `False`"):
        native.fit(Native(), make_loader(), make_loader(6))
    native_steps = native.lr_scheduler_configs[0].scheduler.last_epoch
    ours = lrs.ReduceLROnPlateau(patience=1, factor=0.5)
    trainer(tmp_path / "ours", max_epochs=8, check_val_every_n_epoch=2, callbacks=[ours]).fit(
        ScriptedModel(), make_loader(), make_loader(6)
    )
    assert native_steps == 7  # epochs 1..7 each step on the last value seen (4 validations, 3 repeated)
    assert ours.scheduler is not None
    assert ours.scheduler.last_epoch == 4  # one step per validation run
