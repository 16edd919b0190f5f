"""Checkpoints written before the Timeline redesign resume with exactly the lrs of the uninterrupted run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.golden.cases import CASES, STOP_STEP, GoldenModel
from tests.helpers import LRRecorder, make_loader, trainer

GOLDEN = Path(__file__).parent / "golden"
TRACES = json.loads((GOLDEN / "traces.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_checkpoint_resumes_exactly(tmp_path, name) -> None:
    path = GOLDEN / f"{name}.ckpt"
    assert torch.load(path, weights_only=True)["global_step"] == STOP_STEP
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=4, callbacks=[CASES[name](), recorder])
    run.fit(GoldenModel(), make_loader(), make_loader(9), ckpt_path=path, weights_only=True)
    straight = [(step, lrs) for step, lrs in TRACES[name]["straight"]]
    assert TRACES[name]["before_stop"] == STOP_STEP
    assert recorder.trace == straight[STOP_STEP:]
    assert len(recorder.trace) == 40 - STOP_STEP


def test_the_plateau_golden_run_reduces() -> None:
    lrs = [group[0] for _, group in TRACES["plateau"]["straight"]]
    assert lrs[0] == 0.0  # a warmup from 0 ...
    assert max(lrs) == pytest.approx(0.1)
    assert min(lrs[STOP_STEP:]) < 0.1  # ... and a reduction after the checkpoint
