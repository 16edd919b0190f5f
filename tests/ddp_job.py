"""The DDP scenarios of tests/test_ddp.py, run in-process (2 spawned processes) or as one node of a 2-node job.

    python -m tests.ddp_job SCENARIO OUT      (with NODE_RANK, MASTER_ADDR, MASTER_PORT set; see test_faults.launch)

Each scenario writes one JSON file per global rank under OUT, which the tests compare across ranks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback, ModelCheckpoint

import lightning_lrsched as lrs
from tests.helpers import LeaveTogether, LRRecorder, TinyModel, make_loader, trainer
from tests.test_plateau import VALUES, ScriptedModel

RANK1 = [2.0 - 0.1 * k for k in range(len(VALUES))]  # keeps improving: alone, rank 1 would never reduce


class DumpLrs(Callback):
    """Writes the lr after every validation run to `rank<r>.json`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.lrs: list[float] = []

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        Path(self.folder, f"rank{trainer.global_rank}.json").write_text(json.dumps(self.lrs))


class NanOnRank1(TinyModel):
    """Rank 1's training loss is NaN at optimizer step 5; rank 0's only becomes NaN a step later."""

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = super().training_step(batch, batch_idx)
        if self.global_rank == 1 and self.global_step == 5:
            loss = loss * float("nan")
        return loss


class NanOnRank1Once(TinyModel):
    """Rank 1's training loss is NaN at optimizer step 13 only (its NaN gradients reach rank 0 through DDP)."""

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = super().training_step(batch, batch_idx)
        if self.global_rank == 1 and self.global_step == 13:
            loss = loss * float("nan")
        return loss


class DumpRewinds(Callback):
    """Writes each rank's rewinds, lrs of every optimizer step and final weights to `rewind<r>.json`."""

    def __init__(self, folder: str, diagnostics: lrs.LRDiagnostics, recorder: LRRecorder) -> None:
        self.folder, self.diagnostics, self.recorder = folder, diagnostics, recorder

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        weights = [float(v) for tensor in pl_module.state_dict().values() for v in tensor.flatten()]
        rewinds = [[event["step"], event["to_step"]] for event in self.diagnostics.rewinds]
        result = {"rewinds": rewinds, "lrs": self.recorder.lrs, "weights": weights, "steps": trainer.global_step}
        Path(self.folder, f"rewind{trainer.global_rank}.json").write_text(json.dumps(result))


class DumpSteps(Callback):
    """Writes the global step at fit end to `steps<r>.json`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        Path(self.folder, f"steps{trainer.global_rank}.json").write_text(json.dumps(trainer.global_step))


class DumpModes(Callback):
    """Writes each rank's schedule-free modes at every training and validation batch, and the final weights."""

    def __init__(self, folder: str, scenario: str) -> None:
        self.folder, self.scenario = folder, scenario
        self.modes: list[list[Any]] = []

    def _note(self, trainer: Any, hook: str) -> None:
        self.modes.append([trainer.global_step, hook, trainer.optimizers[0].param_groups[0]["train_mode"]])

    def on_train_batch_start(self, trainer: Any, *args: Any) -> None:
        self._note(trainer, "train")

    def on_validation_batch_start(self, trainer: Any, *args: Any) -> None:
        self._note(trainer, "validation")

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        weights = [float(v) for tensor in pl_module.state_dict().values() for v in tensor.flatten()]
        result = {"modes": self.modes, "weights": weights, "steps": trainer.global_step}
        Path(self.folder, f"{self.scenario}-rank{trainer.global_rank}.json").write_text(json.dumps(result))


class DumpRangeTest(Callback):
    """Writes each rank's range test (curve and pick), its lrs per step and final weights to `range-test<r>.json`."""

    def __init__(self, folder: str, schedule: lrs.CosineAnnealingLR, recorder: LRRecorder) -> None:
        self.folder, self.schedule, self.recorder = folder, schedule, recorder

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        result = self.schedule.range_result
        weights = [float(x) for p in pl_module.parameters() for x in p.detach().flatten()]
        dump = {"test": result.state() if result else None, "lrs": self.recorder.lrs, "weights": weights}
        Path(self.folder, f"range-test{trainer.global_rank}.json").write_text(json.dumps(dump))


def run(scenario: str, out: Path, **layout: Any) -> None:
    """Fit ``scenario`` with the DDP ``layout`` (``devices``, ``num_nodes``, ``strategy``)."""
    if scenario == "plateau":
        schedule = lrs.ReduceLROnPlateau(patience=1, factor=0.5)
        fit = trainer(
            out, max_epochs=8, callbacks=[schedule, DumpLrs(str(out)), LeaveTogether()], deterministic=False, **layout
        )
        fit.fit(ScriptedModel(rank1_values=RANK1), make_loader(), make_loader(6))
    elif scenario == "divergence":
        diagnostics = lrs.LRDiagnostics(window=4, stop_on_divergence=True, verbose=False, summary_file=None)
        fit = trainer(
            out,
            max_epochs=4,
            callbacks=[diagnostics, DumpSteps(str(out)), LeaveTogether()],
            deterministic=False,
            **layout,
        )
        fit.fit(NanOnRank1(), make_loader())  # (the finding's warning is raised in rank 0)
    elif scenario == "rewind":
        rewind = lrs.Rewind(every=5, factor=0.5, skip_batches=2)
        diagnostics = lrs.LRDiagnostics(window=4, on_divergence=rewind, verbose=False, summary_file=None)
        recorder = LRRecorder()
        callbacks = [lrs.OneCycleLR(max_lr=0.1, plan=False), diagnostics, recorder]
        dump = DumpRewinds(str(out), diagnostics, recorder)
        fit = trainer(out, max_epochs=4, callbacks=[*callbacks, dump, LeaveTogether()], deterministic=False, **layout)
        fit.fit(NanOnRank1Once(), make_loader())
    elif scenario in ("schedule-free", "schedule-free-resume"):
        from tests.test_schedule_free import VAL, SFModel

        checkpoint = ModelCheckpoint(dirpath=out / "ckpt", every_n_epochs=1, save_top_k=-1, filename="{step}")
        callbacks = [lrs.ScheduleFreeCallback(), DumpModes(str(out), scenario), checkpoint, LeaveTogether()]
        fit = trainer(out / scenario, max_epochs=3, callbacks=callbacks, enable_checkpointing=True,
                      num_sanity_val_steps=1, deterministic=False, **layout)  # fmt: skip
        resume = str(out / "ckpt" / "step=5.ckpt") if scenario.endswith("resume") else None
        fit.fit(SFModel(), make_loader(), VAL, ckpt_path=resume)
    elif scenario == "range-test":
        from tests.test_range_test import Net, loader

        schedule = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
        recorder = LRRecorder()
        dump = DumpRangeTest(str(out), schedule, recorder)
        fit = trainer(out, max_epochs=8, callbacks=[schedule, recorder, dump, LeaveTogether()], deterministic=False,
                      **layout)  # fmt: skip
        fit.fit(Net(), loader())  # (each rank trains on its half of the batches)
    else:
        raise ValueError(f"unknown scenario {scenario!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "scenario",
        choices=["plateau", "divergence", "rewind", "schedule-free", "schedule-free-resume", "range-test"],
    )
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    run(args.scenario, args.out, devices=1, num_nodes=2, strategy="ddp")


if __name__ == "__main__":
    main()
