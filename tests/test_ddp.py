"""Two CPU processes (gloo): ranks that log different local values still take the same plateau decisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

import lightning_lrsched as lrs
from tests.helpers import TinyModel, make_loader, trainer
from tests.test_plateau import VALUES, ScriptedModel, by_hand

RANK1 = [2.0 - 0.1 * k for k in range(len(VALUES))]  # keeps improving: alone, rank 1 would never reduce


def two_ranks(tmp_path: Path, max_epochs: int, callbacks: list[Callback]) -> Any:
    """A Trainer of two CPU processes (gloo)."""
    return trainer(
        tmp_path, max_epochs=max_epochs, devices=2, strategy="ddp_spawn", callbacks=callbacks, deterministic=False
    )


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
    run = two_ranks(tmp_path, max_epochs=8, callbacks=[schedule, DumpLrs(str(tmp_path))])
    run.fit(ScriptedModel(rank1_values=RANK1), make_loader(), make_loader(6))
    rank0 = json.loads((tmp_path / "rank0.json").read_text())
    rank1 = json.loads((tmp_path / "rank1.json").read_text())
    assert rank0 == rank1
    alone0, alone1 = by_hand(VALUES[:8], patience=1, factor=0.5), by_hand(RANK1[:8], patience=1, factor=0.5)
    assert alone0 != alone1  # without agreement the ranks would train with different learning rates
    mean = [(a + b) / 2 for a, b in zip(VALUES[:8], RANK1[:8], strict=True)]
    assert rank0 == by_hand(mean, patience=1, factor=0.5)


class NanOnRank1(TinyModel):
    """Rank 1's training loss is NaN at optimizer step 5; rank 0's only becomes NaN a step later."""

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = super().training_step(batch, batch_idx)
        if self.global_rank == 1 and self.global_step == 5:
            loss = loss * float("nan")
        return loss


class DumpSteps(Callback):
    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        Path(self.folder, f"steps{trainer.global_rank}.json").write_text(json.dumps(trainer.global_step))


def test_stop_on_divergence_stops_every_rank_at_the_same_step(tmp_path) -> None:
    diagnostics = lrs.LRDiagnostics(window=4, stop_on_divergence=True, verbose=False, summary_file=None)
    run = two_ranks(tmp_path, max_epochs=4, callbacks=[diagnostics, DumpSteps(str(tmp_path))])
    run.fit(NanOnRank1(), make_loader())  # (the finding's warning is raised in the spawned rank 0)
    steps = [json.loads((tmp_path / f"steps{rank}.json").read_text()) for rank in (0, 1)]
    assert steps == [6, 6]  # of 20: both stopped after the step where rank 1 diverged
