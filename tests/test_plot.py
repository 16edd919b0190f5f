"""`python -m lightning_lrsched plot`: one colour per run, train solid and val dashed, the lr as steps, labelled
axes, legends off the data; TensorBoard and CSVLogger folders alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

import lightning_lrsched as lrs
from lightning_lrsched.__main__ import main
from lightning_lrsched.report.plotting import find_log_runs, plot_runs, read_run
from tests.helpers import TinyModel, make_loader, seed_quietly, trainer


class Classifier(TinyModel):
    """Logs `val_acc` and `val_f1` too, so every panel has curves."""

    def validation_step(self, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        super().validation_step(batch, batch_idx)
        self.log("val_acc", 0.5 + 0.1 * self.current_epoch)
        self.log("val_f1", 0.4 + 0.1 * self.current_epoch)


def runs(root: Path) -> Path:
    for name, logger in (("tb", TensorBoardLogger(root, name="tb")), ("csv", CSVLogger(root, name="csv"))):
        seed_quietly(0)
        trainer(root / name, max_epochs=3, logger=logger, log_every_n_steps=2,
                callbacks=[lrs.CosineAnnealingLR()]).fit(Classifier(), make_loader(), make_loader(6))  # fmt: skip
    return root


def test_tensorboard_and_csv_runs_read_alike(tmp_path) -> None:
    found = find_log_runs([runs(tmp_path)])
    assert sorted(run.parent.name for run in found) == ["csv", "tb"]
    tb, csv = (read_run(run) for run in sorted(found, key=lambda run: run.parent.name, reverse=True))
    for tag in ("lr-SGD/pg1", "val_loss", "val_acc"):
        assert [step for step, _ in tb[tag]] == [step for step, _ in csv[tag]]
        assert [value for _, value in tb[tag]] == pytest.approx([value for _, value in csv[tag]], rel=1e-6)


def test_the_figure_reads_as_promised(tmp_path) -> None:
    figure = plot_runs([runs(tmp_path)], log_lr=True)
    lr_axis, loss_axis, quality_axis = figure.axes
    colours = {tuple(line.get_color()) for line in lr_axis.lines}
    assert len(colours) == 2  # one colour per run
    assert all(line.get_drawstyle() == "steps-post" for line in lr_axis.lines)  # the lr held between steps
    assert lr_axis.get_yscale() == "log"
    styles = {line.get_linestyle() for line in loss_axis.lines}
    assert {"-", "--"} <= styles  # train solid, validation dashed
    assert all(axis.get_ylabel() and axis.get_xlabel() for axis in figure.axes)
    assert all(axis.get_legend() is None for axis in figure.axes)  # the legends are the figure's, below the panels
    assert len(figure.legends) == 2
    assert any(line.get_marker() == "o" for line in quality_axis.lines)  # F1 dotted, accuracy not


def test_cli_plot_reads_a_csv_logger_folder(tmp_path, capsys) -> None:
    root = runs(tmp_path)
    out = tmp_path / "curves.png"
    main(["plot", str(root / "csv"), "--log-lr", "--out", str(out)])
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit):
        main(["plot", str(tmp_path / "nothing"), "--out", str(out)])
    assert "No TensorBoard event files or CSVLogger metrics.csv under" in capsys.readouterr().err
