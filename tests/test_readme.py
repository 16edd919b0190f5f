"""The README's complete example runs as written and writes the curves it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from lightning_lrsched.report.tensorboard import find_runs, read_scalars

ROOT = Path(__file__).resolve().parents[1]


def complete_example() -> str:
    text = (ROOT / "README.md").read_text()
    after = text[text.index("A complete example") :]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_example_runs_as_written(tmp_path) -> None:
    code = complete_example()
    for name in ("lightning_lrsched", "LRDiagnostics", "ClassificationMetrics", "TensorDataset"):
        assert name in code  # the package, the diagnostics, the metrics, and the data: a complete example
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (run,) = find_runs([tmp_path / "lightning_logs"])
    scalars = read_scalars(run)
    assert {"lr-AdamW", "train_loss", "val_loss", "val_acc", "val_f1"} <= set(scalars)
    assert len(scalars["val_acc"]) == 5  # one validation per epoch
    assert scalars["val_acc"][-1][1] > 0.9  # it learns the digits
    assert "CosineAnnealingLR" in done.stdout + done.stderr  # LRDiagnostics' summary names the schedule
    assert seconds < 120
