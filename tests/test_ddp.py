"""DDP on CPU (gloo), as 2 processes on one node and as 2 nodes of 1 process each (two launches on 127.0.0.1):
ranks that log different local values still take the same plateau decisions, stop together on divergence, and
rewind together to the same state."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.ddp_job import RANK1, run
from tests.test_faults import free_port, launch_nodes
from tests.test_plateau import VALUES, by_hand

LAYOUTS = ["2-processes", "2-nodes"]


@pytest.fixture(autouse=True)
def _fresh_port(monkeypatch) -> None:
    """Lightning's spawn launcher leaves MASTER_PORT in os.environ: the next job would bind the last one's port."""
    monkeypatch.setenv("MASTER_PORT", str(free_port()))


def run_layout(scenario: str, out: Path, layout: str) -> None:
    if layout == "2-processes":
        run(scenario, out, devices=2, strategy="ddp_spawn")
    else:
        launch_nodes(["-m", "tests.ddp_job", scenario, str(out)], nodes=2)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_plateau_under_ddp_gives_every_rank_the_same_lr(tmp_path, layout) -> None:
    run_layout("plateau", tmp_path, layout)
    rank0 = json.loads((tmp_path / "rank0.json").read_text())
    rank1 = json.loads((tmp_path / "rank1.json").read_text())
    assert rank0 == rank1
    alone0, alone1 = by_hand(VALUES[:8], patience=1, factor=0.5), by_hand(RANK1[:8], patience=1, factor=0.5)
    assert alone0 != alone1  # without agreement the ranks would train with different learning rates
    mean = [(a + b) / 2 for a, b in zip(VALUES[:8], RANK1[:8], strict=True)]
    assert rank0 == by_hand(mean, patience=1, factor=0.5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_stop_on_divergence_stops_every_rank_at_the_same_step(tmp_path, layout) -> None:
    run_layout("divergence", tmp_path, layout)
    steps = [json.loads((tmp_path / f"steps{rank}.json").read_text()) for rank in (0, 1)]
    assert steps == [6, 6]  # of 20: both stopped after the step where rank 1 diverged


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_divergence_on_one_rank_rewinds_every_rank_to_the_same_state(tmp_path, layout) -> None:
    run_layout("rewind", tmp_path, layout)
    rank0, rank1 = (json.loads((tmp_path / f"rewind{rank}.json").read_text()) for rank in (0, 1))
    # rank 1's NaN loss at step 13 (seen at global step 14) rewinds both ranks to the copy of step 5
    assert rank0["rewinds"] == rank1["rewinds"] == [[14, 5]]
    assert rank0["lrs"] == rank1["lrs"]
    assert len(rank0["lrs"]) == 20 - 2  # 2 batches of each rank skipped after the rewind
    assert rank0["steps"] == rank1["steps"] == 20
    assert rank0["weights"] == rank1["weights"]
    assert all(math.isfinite(value) for value in rank0["weights"])
    assert rank0["lrs"][14] == pytest.approx([0.5 * lr for lr in rank0["lrs"][5]])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_schedule_free_switches_every_rank_together_and_resumes_exactly(tmp_path, monkeypatch, layout) -> None:
    pytest.importorskip("schedulefree")
    run_layout("schedule-free", tmp_path, layout)
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    run_layout("schedule-free-resume", tmp_path, layout)  # from the epoch-end checkpoint at step 5 of 15
    straight, resumed = (
        [json.loads((tmp_path / f"{scenario}-rank{rank}.json").read_text()) for rank in (0, 1)]
        for scenario in ("schedule-free", "schedule-free-resume")
    )
    assert straight[0]["modes"] == straight[1]["modes"]  # every switch at the same point on every rank
    assert all([step, "validation", False] in straight[0]["modes"] for step in (5, 10, 15))
    assert straight[0]["steps"] == resumed[0]["steps"] == 15
    assert straight[0]["weights"] == straight[1]["weights"] == resumed[0]["weights"] == resumed[1]["weights"]
    later = [mode for mode in straight[0]["modes"] if mode[0] > 5 or (mode[1] == "train" and mode[0] == 5)]
    assert resumed[0]["modes"][-len(later) :] == later


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_lr_range_test_gives_every_rank_the_same_curve_and_pick(tmp_path, layout) -> None:
    run_layout("range-test", tmp_path, layout)
    rank0, rank1 = (json.loads((tmp_path / f"range-test{rank}.json").read_text()) for rank in (0, 1))
    assert rank0["test"] is not None
    assert rank0["test"]["picked"] is not None
    assert rank0["test"]["curve"] == rank1["test"]["curve"]  # the loss of each step averaged over the ranks
    assert rank0["test"]["picked"] == rank1["test"]["picked"]
    assert rank0["lrs"] == rank1["lrs"]
    assert len(rank0["lrs"]) == 8 * 20
    assert max(lr for lr, _ in rank0["lrs"]) == pytest.approx(rank0["test"]["picked"]["lr"], rel=1e-12)
    assert rank0["weights"] == rank1["weights"]
