"""Resumed with other arguments than the checkpoint's: one warning naming old and new; the checkpoint's apply."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from lightning.pytorch.callbacks import ModelCheckpoint

import lightning_lrsched as lrs
from tests.golden.cases import STOP_STEP, GoldenModel
from tests.helpers import SAFE_LOAD, LRRecorder, TinyModel, make_loader, trainer

CHANGED = "resumes with arguments that differ from the checkpoint's"


def resumed(
    tmp_path: Path, first: Callable[[], lrs.LRSchedulerCallback], second: lrs.LRSchedulerCallback
) -> tuple[list[list[float]], list[list[float]], list[str]]:
    """(uninterrupted lrs with ``first``, lrs before + after a mid-run resume with ``second``, warnings)."""
    straight = LRRecorder()
    trainer(tmp_path / "s", max_epochs=4, callbacks=[first(), straight]).fit(TinyModel(), make_loader())
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "c", every_n_train_steps=15, save_last=True, save_top_k=0)
    before = LRRecorder()
    from tests.test_resume import StopAt

    trainer(tmp_path / "a", max_epochs=4, callbacks=[first(), before, StopAt(step=15), checkpoint],
            enable_checkpointing=True).fit(TinyModel(), make_loader())  # fmt: skip
    after = LRRecorder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path / "b", max_epochs=4, callbacks=[second, after]).fit(
            TinyModel(), make_loader(), ckpt_path=checkpoint.last_model_path, **SAFE_LOAD
        )
    return straight.lrs, before.lrs[:15] + after.lrs, [str(w.message) for w in caught if CHANGED in str(w.message)]


@pytest.mark.parametrize(
    ("first", "second", "named"),
    [
        (lambda: lrs.CosineAnnealingLR(warmup=8), lrs.CosineAnnealingLR(warmup=4), "`warmup` was '8' and is now '4'"),
        (
            lambda: lrs.CosineAnnealingLR(warmup=8, warmup_start_factor=0.1),
            lrs.CosineAnnealingLR(warmup=8, warmup_start_factor=0.5),
            "`warmup_start_factor` was 0.1 and is now 0.5",
        ),
        (lambda: lrs.StepLR(1, gamma=0.5), lrs.StepLR(1, gamma=0.9), "`gamma` was 0.5 and is now 0.9"),
        (lambda: lrs.OneCycleLR(0.5), lrs.OneCycleLR(0.5, pct_start=0.5), "`pct_start` was 0.3 and is now 0.5"),
    ],
    ids=["warmup", "warmup_start_factor", "gamma", "pct_start"],
)
def test_a_changed_argument_is_named_once_and_the_checkpoints_applies(tmp_path, first, second, named) -> None:
    straight, trace, messages = resumed(tmp_path, first, second)
    assert trace == straight  # exactly the checkpoint's plan
    assert len(messages) == 1
    assert named in messages[0]


def test_the_same_arguments_give_no_such_warning(tmp_path) -> None:
    straight, trace, messages = resumed(
        tmp_path, lambda: lrs.CosineAnnealingLR(warmup=8), lrs.CosineAnnealingLR(warmup=8)
    )
    assert trace == straight
    assert messages == []


def test_a_checkpoint_from_before_the_arguments_were_saved_still_names_a_changed_warmup(tmp_path) -> None:
    path = Path(__file__).parent / "golden" / "cosine_warmup.ckpt"  # warmup "20%" = 8 steps, no "arguments"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path, max_epochs=4, callbacks=[lrs.CosineAnnealingLR(warmup=4, warmup_start_factor=0.1)]).fit(
            GoldenModel(), make_loader(), make_loader(9), ckpt_path=path, **SAFE_LOAD
        )
    messages = [str(w.message) for w in caught if CHANGED in str(w.message)]
    assert len(messages) == 1
    assert "`warmup` was '8 steps' and is now '4 steps'" in messages[0]
    assert STOP_STEP == 13
