"""SIGKILL after a checkpoint, then resume: the same lr trace and the same final weights as an uninterrupted run.

Each run is a real separate process (tests/fault_run.py). The killed process gets SIGKILL in the middle of its
third epoch, after the checkpoint written at the end of the second: no `on_exception`, no teardown, no flush of
anything but what was already on disk. Then a new process resumes from `last.ckpt`. Also under DDP on CPU (gloo):
2 processes on one node, and 2 nodes of 1 process each (two launches on the loopback address, as on two machines),
where every rank is killed and the ranks' traces are compared with each other. The measured-rate job re-plans its
schedule at the end of the first epoch (an optimizer stepping on every second batch), before the checkpoint.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def launch(schedule: str, out: Path, *extra: str, devices: int = 1, nodes: int = 1) -> int:
    """Run one training job of tests/fault_run.py (a DDP job launches its other local ranks itself)."""
    args = ["-m", "tests.fault_run", schedule, str(out), "--devices", str(devices), "--nodes", str(nodes), *extra]
    return launch_nodes(args, nodes=nodes)


def launch_nodes(args: list[str], nodes: int = 1) -> int:
    """Run ``python args`` as ``nodes`` processes, one per node of a job; their common return code.

    Two nodes are two processes on this machine, each told its ``NODE_RANK`` and the rendezvous on the loopback
    address, as a cluster launcher (SLURM, torchrun) tells processes on two machines.
    """
    command = [sys.executable, *args]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if nodes > 1:
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    processes = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "NODE_RANK": str(node)} if nodes > 1 else env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for node in range(nodes)
    ]
    codes = []
    for process in processes:
        output, _ = process.communicate(timeout=300)
        with contextlib.suppress(ProcessLookupError):  # a DDP rank that outlived its launcher (after SIGKILL) goes too
            os.killpg(process.pid, signal.SIGKILL)
        if process.returncode not in (0, -signal.SIGKILL):
            raise AssertionError(f"{command} failed with {process.returncode}:\n{output.decode()[-3000:]}")
        codes.append(process.returncode)
    assert len(set(codes)) == 1, codes  # the nodes ended alike
    return codes[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def trace(path: Path) -> list[tuple[int, list[str]]]:
    lines = [line.split() for line in path.read_text().splitlines()]
    return [(int(step), lrs) for step, *lrs in lines]


JOBS = [  # schedule, processes per node, nodes, optimizer steps per epoch (30 examples, batch 3, split by rank)
    ("cosine-warmup", 1, 1, 10),
    ("plateau", 1, 1, 10),
    ("step-epoch", 1, 1, 10),
    ("cosine-measured-rate", 1, 1, 5),
    ("cosine-warmup", 2, 1, 5),
    ("plateau", 2, 1, 5),
    ("cosine-warmup", 1, 2, 5),
    ("plateau", 1, 2, 5),
    ("cosine-measured-rate", 1, 2, 3),
]


@pytest.mark.parametrize(
    ("schedule", "devices", "nodes", "per_epoch"),
    JOBS,
    ids=[f"{s}-{d * n}x" + ("-2nodes" if n > 1 else "") for s, d, n, _ in JOBS],
)
def test_sigkill_after_a_checkpoint_then_resume_equals_the_uninterrupted_run(
    tmp_path, schedule, devices, nodes, per_epoch
) -> None:
    ranks = devices * nodes
    kill_at = 2 * per_epoch + per_epoch // 2  # mid third epoch; last.ckpt is from the end of the second
    straight, faulted = tmp_path / "straight", tmp_path / "faulted"
    # the uninterrupted and the killed run are independent: they run side by side, but for two nodes, whose
    # processes start together and fill the 2 cores of CI (Lightning's launcher starts a node's second process
    # once its first has started Lightning: one core each is busy most of the time)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1 if nodes > 1 else 2) as pool:
        straight_run = pool.submit(launch, schedule, straight, devices=devices, nodes=nodes)
        killed_run = pool.submit(launch, schedule, faulted, "--kill-at", str(kill_at), devices=devices, nodes=nodes)
        assert straight_run.result() == 0
        assert killed_run.result() == -signal.SIGKILL
    saved = torch.load(faulted / "ckpt" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 2 * per_epoch
    assert not (faulted / "weights-killed.pt").exists()  # it really died before the end
    assert launch(schedule, faulted, "--resume", devices=devices, nodes=nodes) == 0

    for rank in range(ranks):
        expected = trace(straight / f"trace-straight-rank{rank}.txt")
        killed = trace(faulted / f"trace-killed-rank{rank}.txt")
        resumed = trace(faulted / f"trace-resumed-rank{rank}.txt")
        assert [step for step, _ in killed] == list(range(kill_at))
        assert resumed[0][0] == saved["global_step"]
        combined = [entry for entry in killed if entry[0] < saved["global_step"]] + resumed
        assert combined == expected  # every lr, as repr strings: bit for bit
        assert len(expected) == 4 * per_epoch
    if ranks == 2:  # the ranks agree with each other too
        assert trace(straight / "trace-straight-rank0.txt") == trace(straight / "trace-straight-rank1.txt")

    uninterrupted = torch.load(straight / "weights-straight.pt", weights_only=True)
    after_resume = torch.load(faulted / "weights-resumed.pt", weights_only=True)
    assert uninterrupted.keys() == after_resume.keys()
    for key, tensor in uninterrupted.items():
        assert torch.equal(tensor, after_resume[key]), key
