"""Write the golden checkpoints that tests/test_golden.py resumes from.

Run once with the version whose checkpoint format is frozen: `python -m tests.golden.make_golden` wrote those of
lightning_lrsched 0.1.0 before the Timeline redesign (tests/golden/), `python -m tests.golden.make_golden v1` those
of the Timeline version before the core redesign (tests/golden/v1/). Each case saves a mid-run checkpoint of a
4-epoch TinyModel run and the lr trace of the same run uninterrupted; the test resumes from the checkpoint with the
current code and compares the rest of the trace.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

from lightning.pytorch.callbacks import ModelCheckpoint

from tests.golden.cases import CASES, CASES_V1, STOP_STEP, GoldenModel
from tests.helpers import LRRecorder, make_loader, trainer
from tests.test_resume import StopAt

HERE = Path(__file__).parent


def main(version: str = "") -> None:
    cases, folder = (CASES_V1, HERE / version) if version else (CASES, HERE)
    folder.mkdir(exist_ok=True)
    traces = {}
    for name, make in cases.items():
        with TemporaryDirectory() as tmp:
            straight = LRRecorder()
            trainer(Path(tmp) / "s", max_epochs=4, callbacks=[make(), straight]).fit(
                GoldenModel(), make_loader(), make_loader(9)
            )
            checkpoint = ModelCheckpoint(
                dirpath=Path(tmp) / "c", every_n_train_steps=STOP_STEP, save_last=True, save_top_k=0
            )
            first = LRRecorder()
            trainer(
                Path(tmp) / "a",
                max_epochs=4,
                callbacks=[make(), first, StopAt(step=STOP_STEP), checkpoint],
                enable_checkpointing=True,
            ).fit(GoldenModel(), make_loader(), make_loader(9))
            shutil.copy(checkpoint.last_model_path, folder / f"{name}.ckpt")
            traces[name] = {"straight": straight.trace, "before_stop": len(first.trace)}
    (folder / "traces.json").write_text(json.dumps(traces, indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
