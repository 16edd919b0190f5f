"""Writes the notebooks in this folder from their cell sources (run it after editing a notebook's cells here).

    python notebooks/build.py && ruff check --fix notebooks && ruff format notebooks

The notebooks hold the real settings only; `tests/test_notebooks.py` shrinks them for its runs by replacing
named snippets (each replacement must still match, so a notebook edit cannot silently escape the test).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

NOTEBOOKS = {
    "quickstart.ipynb": [
        new_markdown_cell(
            "# Quickstart\n\nA digit classifier (scikit-learn's digits, 1,797 8x8 images) trained with the 1cycle"
            " policy: the learning rate climbs to `max_lr` and anneals far below its start. Your"
            " `configure_optimizers` returns only the optimizer; the callback finds the run's length and steps the"
            " schedule after every optimizer step."
        ),
        new_code_cell(
            """import lightning.pytorch as pl
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_lrsched import ClassifierModule, OneCycleLR, plot_schedule

x, y = load_digits(return_X_y=True)
data = TensorDataset(torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y))
train, val = torch.utils.data.random_split(data, [1400, 397], generator=torch.Generator().manual_seed(0))
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))"""
        ),
        new_markdown_cell(
            "What the schedule will do, before training: 8 epochs of 44 optimizer steps (1,400 images, batch 32)."
        ),
        new_code_cell("""plot_schedule(OneCycleLR(max_lr=1e-2), epochs=8, steps_per_epoch=44)"""),
        new_markdown_cell(
            "Train: `OneCycleLR` finds `total_steps` from the Trainer and steps after every optimizer step."
        ),
        new_code_cell(
            """trainer = pl.Trainer(max_epochs=8, accelerator="cpu", callbacks=[OneCycleLR(max_lr=1e-2)],
                     log_every_n_steps=1, enable_progress_bar=False, default_root_dir="runs/notebooks")
trainer.fit(ClassifierModule(model, num_classes=10, lr=1e-3), DataLoader(train, 32, shuffle=True), DataLoader(val, 64))
{k: round(float(v), 3) for k, v in trainer.callback_metrics.items() if k.startswith("val")}"""
        ),
    ],
    "bert_sentiment.ipynb": [
        new_markdown_cell(
            "# Fine-tune BERT for sentiment\n\nA 6-layer BERT (MiniLM, shipped offline by a pip package) learns to"
            " tell positive from negative tweets (human-labelled, also shipped offline), with a 10% warmup and a"
            " linear decay of the learning rate. About 2.5 minutes on 2 CPU cores; the same run as"
            " `python examples/bert_sentiment.py`."
        ),
        new_code_cell(
            """import sys

sys.path.insert(0, "../examples")
import bert_sentiment

result = bert_sentiment.main(["--epochs", "2", "--logdir", "runs/notebooks"])
{k: result[k] for k in ("accuracy", "f1", "confusion")}"""
        ),
    ],
    "diagnostics.ipynb": [
        new_markdown_cell(
            "# Diagnose the learning-rate strategy\n\n`LRDiagnostics` reads the loss and metric curves and says when"
            " the lr strategy is not working: four small runs on scikit-learn's digits, three of them broken on"
            " purpose."
        ),
        new_code_cell(
            """import warnings

import lightning.pytorch as pl
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, Subset, TensorDataset

from lightning_lrsched import ClassifierModule, CosineAnnealingLR, LRDiagnostics, OneCycleLR

x, y = load_digits(return_X_y=True)
data = TensorDataset(torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y))
train, val = torch.utils.data.random_split(data, [1400, 397], generator=torch.Generator().manual_seed(0))


def fit(lr, schedule=None, train_size=1400, epochs=10, hidden=128):
    '''Train on digits with LRDiagnostics beside the schedule; return the diagnostics.'''
    pl.seed_everything(0, verbose=False)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    diagnostics = LRDiagnostics(window=10, verbose=False, summary_file=None)
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", callbacks=[c for c in (schedule, diagnostics) if c],
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    module = ClassifierModule(model, num_classes=10, lr=lr, weight_decay=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each finding is also a warning; here they are in the summaries below
        trainer.fit(module, DataLoader(Subset(train, range(train_size)), 32, shuffle=True), DataLoader(val, 64))
    return diagnostics"""
        ),
        new_code_cell(
            """runs = {
    "lr far too high": fit(1e-3, OneCycleLR(max_lr=30.0)),
    "fixed tiny lr": fit(1e-7),
    "40 training images, a big model": fit(1e-2, train_size=40, hidden=1024, epochs=30),
    "warmup + cosine at a sensible lr": fit(3e-3, CosineAnnealingLR(warmup="10%")),
}"""
        ),
        new_code_cell(
            """for name, diagnostics in runs.items():
    print(f"## {name}: {[f['kind'] for f in diagnostics.findings] or 'no finding'}")
    print(diagnostics.summary["text"], end="\\n\\n")"""
        ),
    ],
    "schedules.ipynb": [
        new_markdown_cell(
            "# Preview and compare schedules\n\n`preview` returns the learning rate of every optimizer step exactly"
            " as a Trainer run would; `plot_schedule` draws it."
        ),
        new_code_cell(
            """from lightning_lrsched import (CosineAnnealingLR, OneCycleLR, PolynomialLR, ReduceLROnPlateau, StepLR,
                               WarmupStableDecayLR, plot_schedule, preview)

plot_schedule(CosineAnnealingLR(warmup="10%"), epochs=3, steps_per_epoch=100, lr=5e-5)"""
        ),
        new_code_cell(
            """plot_schedule(ReduceLROnPlateau(patience=1, factor=0.5), epochs=8, steps_per_epoch=50, lr=1e-3,
              metrics=[1.0, 0.8, 0.81, 0.82, 0.7, 0.75, 0.76, 0.77])"""
        ),
        new_code_cell(
            """for schedule in [StepLR(1, gamma=0.5), OneCycleLR(max_lr=1e-3), PolynomialLR(warmup="10%"),
                 WarmupStableDecayLR(warmup="5%", decay="20%")]:
    lrs = [step[0] for step in preview(schedule, epochs=4, steps_per_epoch=25, lr=1e-3)]
    print(f"{type(schedule).__name__:>20}: first {lrs[0]:.2e}  peak {max(lrs):.2e}  last {lrs[-1]:.2e}")"""
        ),
        new_markdown_cell("Compare schedules on the same task (the full run: `python examples/compare_schedules.py`)."),
        new_code_cell(
            """import sys

sys.path.insert(0, "../examples")
import compare_schedules

results = compare_schedules.main(["--logdir", "runs/notebooks"])"""
        ),
    ],
}


def main() -> None:
    """Write every notebook, without outputs."""
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, HERE / name)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
