"""Checkpoints of earlier versions resume with exactly the lrs of the uninterrupted run.

tests/golden/: written before the Timeline redesign; tests/golden/v1/: written by the Timeline version, before the
core redesign of issue 21.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.golden.cases import CASES, CASES_V1, STOP_STEP, GoldenModel
from tests.helpers import SAFE_LOAD, LRRecorder, make_loader, trainer

GOLDEN = Path(__file__).parent / "golden"
TRACES = json.loads((GOLDEN / "traces.json").read_text())
TRACES_V1 = json.loads((GOLDEN / "v1" / "traces.json").read_text())


SETS = {"": (CASES, TRACES), "v1": (CASES_V1, TRACES_V1)}


@pytest.mark.parametrize(("version", "name"), [(v, n) for v, (cases, _) in SETS.items() for n in sorted(cases)])
def test_golden_checkpoint_resumes_exactly(tmp_path, version, name) -> None:
    cases, traces = SETS[version]
    path = GOLDEN / version / f"{name}.ckpt"
    assert torch.load(path, weights_only=True)["global_step"] == STOP_STEP
    recorder = LRRecorder()
    run = trainer(tmp_path, max_epochs=4, callbacks=[cases[name](), recorder])
    run.fit(GoldenModel(), make_loader(), make_loader(9), ckpt_path=path, **SAFE_LOAD)
    straight = [(step, lrs) for step, lrs in traces[name]["straight"]]
    assert traces[name]["before_stop"] == STOP_STEP
    assert recorder.trace == straight[STOP_STEP:]  # exactly, not approximately
    assert len(recorder.trace) == 40 - STOP_STEP
    assert len({lrs[0] for _, lrs in straight}) > 3  # (the schedule changes the lr)


def test_the_plateau_golden_run_reduces() -> None:
    lrs = [group[0] for _, group in TRACES["plateau"]["straight"]]
    assert lrs[0] == 0.0  # a warmup from 0 ...
    assert max(lrs) == pytest.approx(0.1)
    assert min(lrs[STOP_STEP:]) < 0.1  # ... and a reduction after the checkpoint
