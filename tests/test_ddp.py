"""DDP on CPU (gloo), as 2 processes on one node and as 2 nodes of 1 process each (two launches on 127.0.0.1):
ranks that log different local values still take the same plateau decisions, and stop together on divergence."""

from __future__ import annotations

import json
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
