"""SIGKILL after a checkpoint, then resume: the same lr trace and the same final weights as an uninterrupted run.

Each run is a real separate process (tests/fault_run.py). The killed process gets SIGKILL in the middle of its
third epoch, after the checkpoint written at the end of the second: no `on_exception`, no teardown, no flush of
anything but what was already on disk. Then a new process resumes from `last.ckpt`. Also under 2-process DDP on
CPU (gloo), where both ranks are killed and both ranks' traces are compared.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
STEPS_PER_EPOCH = {1: 10, 2: 5}  # 30 examples, batch 3, split over the ranks


def launch(schedule: str, out: Path, *extra: str, devices: int = 1) -> int:
    """Run one training process (a DDP job launches its second rank itself); its return code."""
    command = [sys.executable, "-m", "tests.fault_run", schedule, str(out), "--devices", str(devices), *extra]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    output, _ = process.communicate(timeout=300)
    with contextlib.suppress(ProcessLookupError):  # a DDP rank that outlived its launcher (after SIGKILL) goes too
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"{command} failed with {process.returncode}:\n{output.decode()[-3000:]}")
    return process.returncode


def trace(path: Path) -> list[tuple[int, list[str]]]:
    lines = [line.split() for line in path.read_text().splitlines()]
    return [(int(step), lrs) for step, *lrs in lines]


@pytest.mark.parametrize(
    ("schedule", "devices"),
    [("cosine-warmup", 1), ("plateau", 1), ("step-epoch", 1), ("cosine-warmup", 2), ("plateau", 2)],
    ids=["cosine-warmup", "plateau", "step-epoch", "ddp-cosine-warmup", "ddp-plateau"],
)
def test_sigkill_after_a_checkpoint_then_resume_equals_the_uninterrupted_run(tmp_path, schedule, devices) -> None:
    per_epoch = STEPS_PER_EPOCH[devices]
    kill_at = 2 * per_epoch + per_epoch // 2  # mid third epoch; last.ckpt is from the end of the second
    straight, faulted = tmp_path / "straight", tmp_path / "faulted"
    assert launch(schedule, straight, devices=devices) == 0
    assert launch(schedule, faulted, "--kill-at", str(kill_at), devices=devices) == -signal.SIGKILL
    saved = torch.load(faulted / "ckpt" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 2 * per_epoch
    assert not (faulted / "weights-killed.pt").exists()  # it really died before the end
    assert launch(schedule, faulted, "--resume", devices=devices) == 0

    for rank in range(devices):
        expected = trace(straight / f"trace-straight-rank{rank}.txt")
        killed = trace(faulted / f"trace-killed-rank{rank}.txt")
        resumed = trace(faulted / f"trace-resumed-rank{rank}.txt")
        assert [step for step, _ in killed] == list(range(kill_at))
        assert resumed[0][0] == saved["global_step"]
        combined = [entry for entry in killed if entry[0] < saved["global_step"]] + resumed
        assert combined == expected  # every lr, as repr strings: bit for bit
        assert len(expected) == 4 * per_epoch
    if devices == 2:  # the ranks agree with each other too
        assert trace(straight / "trace-straight-rank0.txt") == trace(straight / "trace-straight-rank1.txt")

    uninterrupted = torch.load(straight / "weights-straight.pt", weights_only=True)
    after_resume = torch.load(faulted / "weights-resumed.pt", weights_only=True)
    assert uninterrupted.keys() == after_resume.keys()
    for key, tensor in uninterrupted.items():
        assert torch.equal(tensor, after_resume[key]), key
