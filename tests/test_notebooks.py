"""The notebooks run top to bottom, executed with nbclient, with their settings shrunk for the test.

The notebooks hold only their real settings; TINY lists the snippets this test replaces, and each must still be
found, so an edit of a notebook cannot quietly make its test run the full settings (or none).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TINY = {
    "quickstart": [("max_epochs=8,", "max_epochs=1,")],
    "bert_sentiment": [
        (
            '["--epochs", "2",',
            '["--train-size", "32", "--val-size", "16", "--test-size", "16", "--max-length", "16",'
            ' "--batch-size", "8", "--warmup", "1", "--epochs", "1",',
        )
    ],
    "diagnostics": [
        ("train_size=1400, epochs=10,", "train_size=400, epochs=3,"),
        ("hidden=1024, epochs=30)", "hidden=1024, epochs=12)"),
        ("fit(3e-3, CosineAnnealingLR", "fit(1e-3, CosineAnnealingLR"),
    ],
    "schedules": [
        ('main(["--logdir"', 'main(["--epochs", "2", "--limit", "300", "--only", "fixed", "cosine", "--logdir"')
    ],
}


def shrink(notebook: nbformat.NotebookNode, stem: str) -> None:
    """Apply the notebook's TINY replacements to its code cells; each must match exactly once."""
    for old, new in TINY[stem]:
        cells = [cell for cell in notebook.cells if cell.cell_type == "code" and old in cell.source]
        assert len(cells) == 1, f"{stem}: {old!r} is in {len(cells)} code cells, not one"
        assert cells[0].source.count(old) == 1, f"{stem}: {old!r} no longer matches once"
        cells[0].source = cells[0].source.replace(old, new)


def test_notebooks_exist() -> None:
    assert {p.name for p in NOTEBOOKS} == {
        "quickstart.ipynb",
        "bert_sentiment.ipynb",
        "schedules.ipynb",
        "diagnostics.ipynb",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(tmp_path, monkeypatch, path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / "notebooks").mkdir()
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # stored without outputs
    assert "TINY" not in "".join(cell.source for cell in notebook.cells)  # no test switch in sight
    shrink(notebook, path.stem)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path / "notebooks")}})  # fmt: skip
    client.execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    last = notebook.cells[-1]
    assert last.cell_type == "code"
    assert last.outputs or path.stem == "schedules"
