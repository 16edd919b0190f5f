"""Every fit starts clean: a callback object used again behaves exactly like a new one."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

import lightning_lrsched as lrs
from tests.helpers import SAFE_LOAD, LRRecorder, TinyModel, make_loader, trainer
from tests.test_resume import EpochScripted

SCHEDULES: list[tuple[str, Callable[[], lrs.LRSchedulerCallback]]] = [
    ("onecycle", lambda: lrs.OneCycleLR(max_lr=[1.0, 0.1])),
    ("cosine-warmup", lambda: lrs.CosineAnnealingLR(warmup="20%", warmup_start_factor=0.1)),
    ("steplr", lambda: lrs.StepLR(1, gamma=0.5)),
    ("plateau", lambda: lrs.ReduceLROnPlateau(patience=0, factor=0.5)),
    (
        "sequential",
        lambda: lrs.SequentialLR(
            [lrs.LinearLR(0.1, 1.0, total_iters="100%", interval="step"), lrs.ReduceLROnPlateau(patience=0)],
            milestones=["25%"],
        ),
    ),
]
IDS = [s[0] for s in SCHEDULES]


class Crash(Callback):
    """Raises after the given optimizer step, as a crash would (an OOM, a bad batch)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        if trainer.global_step >= self.step:
            raise RuntimeError("simulated crash")


def fit(tmp_path: Path, schedule: lrs.LRSchedulerCallback, *extra: Callback, **kwargs: Any) -> LRRecorder:
    recorder = LRRecorder()
    options: dict[str, Any] = {"max_epochs": 4, **kwargs}
    ckpt_path = options.pop("ckpt_path", None)
    run = trainer(tmp_path, callbacks=[schedule, recorder, *extra], **options)
    run.fit(EpochScripted(), make_loader(), make_loader(9), ckpt_path=ckpt_path, **SAFE_LOAD)
    return recorder


@pytest.mark.parametrize(("label", "make"), SCHEDULES, ids=IDS)
def test_a_second_fit_with_the_same_object_equals_a_fresh_object(tmp_path, label, make) -> None:
    reused = make()
    fit(tmp_path / "first", reused)
    again = fit(tmp_path / "second", reused)
    fresh_schedule = make()
    fresh = fit(tmp_path / "fresh", fresh_schedule)
    assert again.trace == fresh.trace
    assert reused.summary() == fresh_schedule.summary()
    if isinstance(reused, lrs.ReduceLROnPlateau):
        assert reused.history == fresh_schedule.history  # per fit, not accumulated
        assert reused.reductions == fresh_schedule.reductions
        assert len(reused.history) == 4


@pytest.mark.parametrize(("label", "make"), SCHEDULES, ids=IDS)
def test_resume_after_a_crash_with_the_same_object_equals_the_uninterrupted_run(tmp_path, label, make) -> None:
    straight = fit(tmp_path / "straight", make())
    schedule = make()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=5, save_last=True, save_top_k=0)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(tmp_path / "a", schedule, Crash(step=17), checkpoint, enable_checkpointing=True)
    path = Path(checkpoint.last_model_path)
    saved = torch.load(path, weights_only=True)["global_step"]
    assert saved == 15
    resumed = fit(tmp_path / "b", schedule, ckpt_path=path)
    assert straight.trace[:saved] + resumed.trace == straight.trace


@pytest.mark.parametrize("used", [False, True], ids=["new-object", "used-object"])
def test_a_fit_after_a_failed_resume_starts_at_step_zero(tmp_path, used) -> None:
    def make() -> lrs.LRSchedulerCallback:
        return lrs.CosineAnnealingLR(warmup=8)

    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=15, save_last=True, save_top_k=0)
    first = make()
    fit(tmp_path / "a", first, checkpoint, enable_checkpointing=True)
    schedule = first if used else make()
    with pytest.raises(ValueError, match="`warmup`='8' is 8 optimizer steps, but the whole training is 8 steps"):
        fit(tmp_path / "b", schedule, limit_train_batches=2, ckpt_path=checkpoint.last_model_path)
    after = fit(tmp_path / "c", schedule)
    fresh = fit(tmp_path / "d", make())
    assert after.trace == fresh.trace
    assert after.lrs[0] == [0.0, 0.0]  # the warmup starts again from 0


def test_warnings_are_per_fit(tmp_path) -> None:
    schedule = lrs.ReduceLROnPlateau(monitor="train_loss", patience=1)
    for run in ("first", "second"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit(tmp_path / run, schedule)
        assert len([w for w in caught if "a training metric" in str(w.message)]) == 1


REPLANNED: list[tuple[str, Callable[..., lrs.LRSchedulerCallback], int]] = [
    ("in-the-warmup", lambda **more: lrs.CosineAnnealingLR(warmup=6, **more), 4),
    ("in-transformers-warmup", lambda **more: lrs.TransformersLR("linear", num_warmup_steps=6, **more), 4),
    ("in-a-share-warmup", lambda **more: lrs.TransformersLR("cosine", num_warmup_steps=0.2, **more), 4),
    ("timm-rebased", lambda **more: lrs.TimmLR("cosine", interval="step", warmup_t=6, **more), 15),
    (
        "sequential",
        lambda **more: lrs.SequentialLR(
            [lrs.LinearLR(0.1, 1.0, "100%", interval="step"), lrs.CosineAnnealingLR()], ["20%"], **more
        ),
        15,
    ),
]


@pytest.mark.parametrize(("label", "make", "stop"), REPLANNED, ids=[r[0] for r in REPLANNED])
def test_a_replanned_resume_that_crashed_resumes_again_as_the_uninterrupted_one(tmp_path, label, make, stop) -> None:
    """A checkpoint after step ``stop`` of 30, resumed into 50 steps with ``replan_on_resume=True`` (a fresh plan
    inside a warmup, one that keeps its running length, a rebuilt timm cycle, a composite's moved phase). That fit
    crashes at step 27; the same object resumes from its last checkpoint (step 25, written under the new plan): the
    lrs are the uninterrupted re-planned resume's. Then the same object, fitted afresh, equals a new object."""
    from tests.test_run_changes import checkpoint_at

    path = checkpoint_at(tmp_path, make(), TinyModel(), stop, max_epochs=3)
    straight, again, reused, new = LRRecorder(), LRRecorder(), LRRecorder(), LRRecorder()
    resume = {"ckpt_path": path, **SAFE_LOAD}
    trainer(tmp_path / "straight", max_epochs=5, callbacks=[make(replan_on_resume=True), straight]).fit(
        TinyModel(), make_loader(), **resume
    )
    schedule = make(replan_on_resume=True)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt2", every_n_train_steps=5, save_last=True, save_top_k=0)
    crashing = trainer(
        tmp_path / "a", max_epochs=5, callbacks=[schedule, checkpoint, Crash(step=27)], enable_checkpointing=True
    )
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.fit(TinyModel(), make_loader(), **resume)
    trainer(tmp_path / "b", max_epochs=5, callbacks=[schedule, again]).fit(
        TinyModel(), make_loader(), ckpt_path=checkpoint.last_model_path, **SAFE_LOAD
    )
    assert len(again.trace) == 25
    assert again.trace == [(step, lrs_) for step, lrs_ in straight.trace if step >= 25]
    trainer(tmp_path / "c", max_epochs=5, callbacks=[schedule, reused]).fit(TinyModel(), make_loader())
    trainer(tmp_path / "d", max_epochs=5, callbacks=[make(replan_on_resume=True), new]).fit(TinyModel(), make_loader())
    assert reused.trace == new.trace


def test_a_resume_from_an_epochs_end_at_another_accumulation_that_crashed_resumes_again_as_the_uninterrupted_one(
    tmp_path,
) -> None:
    """Trained at ``accumulate_grad_batches=2`` (5 steps an epoch), checkpointed at the end of epoch 1 (step 10),
    resumed at accumulation 1 into 4 epochs with ``replan_on_resume=True``: re-planned at the first batch for the 30
    steps the run has. That fit crashes at step 23; the same object resumes from its last checkpoint (step 20): the
    lrs are the uninterrupted resume's, and the same object fitted afresh equals a new one."""

    def make(**more: Any) -> lrs.LRSchedulerCallback:
        return lrs.CosineAnnealingLR(interval="step", **more)

    first = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_epochs=1, save_top_k=-1)
    trainer(tmp_path / "first", max_epochs=3, accumulate_grad_batches=2, callbacks=[make(), first],
            enable_checkpointing=True).fit(TinyModel(), make_loader())  # fmt: skip
    resume = {"ckpt_path": str(next((tmp_path / "ckpt").glob("epoch=1-*.ckpt"))), **SAFE_LOAD}
    straight, again, reused, new = LRRecorder(), LRRecorder(), LRRecorder(), LRRecorder()
    replanned = "resumed at the start of epoch 2, after 10 optimizer steps"
    with pytest.warns(UserWarning, match=replanned):
        trainer(tmp_path / "straight", max_epochs=4, callbacks=[make(replan_on_resume=True), straight]).fit(
            TinyModel(), make_loader(), **resume
        )
    assert len(straight.trace) == 20
    assert straight.trace[-1][1][0] < 1e-3  # (the cosine re-planned for 30 steps reaches its floor)
    schedule = make(replan_on_resume=True)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt2", every_n_train_steps=5, save_last=True, save_top_k=0)
    crashing = trainer(
        tmp_path / "a", max_epochs=4, callbacks=[schedule, checkpoint, Crash(step=23)], enable_checkpointing=True
    )
    with pytest.warns(UserWarning, match=replanned), pytest.raises(RuntimeError, match="simulated crash"):
        crashing.fit(TinyModel(), make_loader(), **resume)
    trainer(tmp_path / "b", max_epochs=4, callbacks=[schedule, again]).fit(
        TinyModel(), make_loader(), ckpt_path=checkpoint.last_model_path, **SAFE_LOAD
    )
    assert len(again.trace) == 10
    assert again.trace == [(step, lrs_) for step, lrs_ in straight.trace if step >= 20]
    trainer(tmp_path / "c", max_epochs=4, callbacks=[schedule, reused]).fit(TinyModel(), make_loader())
    trainer(tmp_path / "d", max_epochs=4, callbacks=[make(replan_on_resume=True), new]).fit(TinyModel(), make_loader())
    assert reused.trace == new.trace
