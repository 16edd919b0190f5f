"""Two CPU processes (gloo): ranks that log different local values still take the same plateau decisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

import lightning_lrsched as lrs
from tests.helpers import make_loader, trainer
from tests.test_plateau import VALUES, ScriptedModel, by_hand

RANK1 = [2.0 - 0.1 * k for k in range(len(VALUES))]  # keeps improving: alone, rank 1 would never reduce


class DumpLrs(Callback):
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.lrs: list[float] = []

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        Path(self.folder, f"rank{trainer.global_rank}.json").write_text(json.dumps(self.lrs))


def test_plateau_under_ddp_gives_every_rank_the_same_lr(tmp_path) -> None:
    schedule = lrs.ReduceLROnPlateau(patience=1, factor=0.5)
    run = trainer(
        tmp_path,
        max_epochs=8,
        devices=2,
        strategy="ddp_spawn",
        callbacks=[schedule, DumpLrs(str(tmp_path))],
        deterministic=False,
    )
    run.fit(ScriptedModel(rank1_values=RANK1), make_loader(), make_loader(6))
    rank0 = json.loads((tmp_path / "rank0.json").read_text())
    rank1 = json.loads((tmp_path / "rank1.json").read_text())
    assert rank0 == rank1
    alone0, alone1 = by_hand(VALUES[:8], patience=1, factor=0.5), by_hand(RANK1[:8], patience=1, factor=0.5)
    assert alone0 != alone1  # without agreement the ranks would train with different learning rates
    mean = [(a + b) / 2 for a, b in zip(VALUES[:8], RANK1[:8], strict=True)]
    assert rank0 == by_hand(mean, patience=1, factor=0.5)
