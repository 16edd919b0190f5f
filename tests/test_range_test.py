"""The lr range test (``find_lr``): restore exact, the pick feeds the schedule, resume, bad inputs, the rules."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import GradientAccumulationScheduler, ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lightning_lrsched as lrs
from lightning_lrsched.core.lr_range import RULES, RangeCurve, geometric, pick
from tests.helpers import LRRecorder, seed_quietly, trainer


def blobs(n: int = 640, seed: int = 0) -> TensorDataset:
    """Four Gaussian blobs in 8 dimensions: a classification a small MLP learns in a few hundred steps."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=generator)
    centres = torch.randn(4, 8, generator=generator) * 2
    return TensorDataset(centres[y] + torch.randn(n, 8, generator=generator), y)


def loader(shuffle: bool = True, n: int = 640, batch_size: int = 16) -> DataLoader[Any]:
    return DataLoader(blobs(n), batch_size=batch_size, shuffle=shuffle)


class Net(pl.LightningModule):
    """An MLP with dropout and batch norm (so RNG and buffers matter), two param groups (0.1 and 0.01)."""

    def __init__(self, lr: float = 0.1, optimizer: str = "sgd", head_lr: float | None = None) -> None:
        super().__init__()
        self.head_lr = head_lr if head_lr is not None else lr / 10
        self.body = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2))
        self.head = nn.Linear(32, 4)
        self.lr, self.optimizer_kind = lr, optimizer
        self.seen = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_step=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.cross_entropy(self(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        groups = [
            {"params": self.body.parameters(), "lr": self.lr},
            {"params": self.head.parameters(), "lr": self.head_lr},
        ]
        if self.optimizer_kind == "adamw":
            return torch.optim.AdamW(groups, lr=self.lr)
        return torch.optim.SGD(groups, lr=self.lr, momentum=0.9)


def fit(tmp_path: Any, callback: pl.Callback, make: Callable[[], pl.LightningModule] = Net, **kwargs: Any) -> Any:
    """A seeded 4-epoch fit (160 optimizer steps) of the module ``make`` builds: the module, its lrs per step."""
    seed_quietly(0)
    module = make()
    recorder = LRRecorder()
    more = kwargs.pop("callbacks", [])  # (others after the callback and the recorder)
    options = {"max_epochs": 4, "deterministic": False, **kwargs}
    trainer(tmp_path, callbacks=[callback, recorder, *more], **options).fit(module, loader())
    return module, recorder.lrs


# ---------------------------------------------------------------------------------------- restore and the pick


def test_a_fit_after_the_test_equals_a_fit_given_the_picked_lr(tmp_path) -> None:
    found = lrs.CosineAnnealingLR(warmup="5%", find_lr=True, log_lr=False, plan=False)
    module, trace = fit(tmp_path, found)
    pick_ = found.range_result.lr
    assert pick_ is not None
    assert 1e-4 < pick_ < 1.0
    assert found.range_result.used == pick_
    direct_module, direct = fit(
        tmp_path / "direct",
        lrs.CosineAnnealingLR(warmup="5%", log_lr=False, plan=False),
        lambda: Net(lr=pick_, head_lr=0.01 * (pick_ / 0.1)),  # (every group scaled by the same factor)
    )
    assert trace == direct  # every step's lrs, both groups (the second keeps its tenth)
    assert max(lr for lr, _ in trace) == pytest.approx(pick_, rel=1e-12)
    for (name, value), (_, same) in zip(module.state_dict().items(), direct_module.state_dict().items(), strict=True):
        assert torch.equal(value, same), name  # weights, batch-norm buffers: the test left no trace


class Probe(pl.Callback):
    """Sets state at fit start that the range test must leave as it was; reads it back at train start."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        optimizer = trainer.optimizers[0]
        optimizer.state[pl_module.head.weight]["momentum_buffer"] = torch.ones(4, 32)
        pl_module.body[3].eval()
        self.groups = [id(group) for group in optimizer.param_groups]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.draws = (random.random(), np.random.rand(), float(torch.rand(1)))
        optimizer = trainer.optimizers[0]
        self.buffer = optimizer.state[pl_module.head.weight]["momentum_buffer"].clone()
        self.same_groups = [id(group) for group in optimizer.param_groups] == self.groups
        self.dropout_training = pl_module.body[3].training


@pytest.mark.parametrize("shuffle", [False, True])
def test_the_test_restores_the_random_generators_the_module_modes_and_the_optimizer_state(tmp_path, shuffle) -> None:
    probes = []
    for find_lr in (False, True):
        probe = Probe()
        callback = lrs.StepLR(step_size=1, find_lr=find_lr, log_lr=False, plan=False)
        seed_quietly(3)
        fit_ = trainer(tmp_path / str(find_lr), callbacks=[probe, callback], max_epochs=4, deterministic=False)
        fit_.fit(Net(), loader(shuffle=shuffle))
        probes.append(probe)
    plain, tested = probes
    assert callback.range_result is not None
    assert callback.range_result.lr is not None
    assert tested.draws == plain.draws  # python, numpy and torch draw what they would have without the test
    assert torch.equal(tested.buffer, torch.ones(4, 32))
    assert tested.same_groups
    assert tested.dropout_training is plain.dropout_training is False  # (the test's own train mode is undone)


def test_the_classifier_module_logs_the_same_metrics_as_a_fit_given_the_pick(tmp_path) -> None:
    def classifier(lr: float = 1e-3) -> lrs.ClassifierModule:
        return lrs.ClassifierModule(nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4)), num_classes=4, lr=lr)

    def run(callback: pl.Callback, make: Callable[[], pl.LightningModule], folder: str) -> dict[str, float]:
        seed_quietly(0)
        fit_ = trainer(tmp_path / folder, callbacks=[callback], max_epochs=4, deterministic=False)
        fit_.fit(make(), loader(), loader(shuffle=False, n=160))
        return {key: float(value) for key, value in fit_.callback_metrics.items()}

    found = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    tested = run(found, classifier, "found")
    direct = run(lrs.CosineAnnealingLR(log_lr=False, plan=False), lambda: classifier(found.range_result.lr), "direct")
    assert set(tested) >= {"train_acc", "train_f1", "train_loss_epoch", "val_acc", "val_f1", "val_loss"}
    assert tested == direct  # (torchmetrics' states hold nothing of the test's batches)


class CountSteps(pl.Callback):
    def __init__(self) -> None:
        self.steps = 0

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any) -> None:
        self.steps += 1


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_other_callbacks_do_not_see_the_test_steps_under_any_precision(tmp_path, precision) -> None:
    counter = CountSteps()
    callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    seed_quietly(0)
    fit_ = trainer(tmp_path, callbacks=[callback, counter], max_epochs=4, precision=precision, deterministic=False)
    fit_.fit(Net(), loader())
    assert callback.range_result.lr is not None
    assert counter.steps == fit_.global_step == 160


def test_one_cycle_takes_the_pick_as_max_lr_exactly_as_torch_does(tmp_path) -> None:
    callback = lrs.OneCycleLR(max_lr="find", log_lr=False, plan=False)
    _, trace = fit(tmp_path, callback)
    result = callback.range_result
    peak = result.used
    assert (
        peak == result.picked.high == pytest.approx(3 * result.picked.lr, rel=1e-12)
    )  # 1cycle's max_lr is the edge itself
    assert "1cycle's max_lr takes the edge" in result.text()
    optimizer = Net(lr=peak).configure_optimizers()
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[peak, peak / 10], total_steps=160)
    expected = []
    for _ in range(160):
        expected.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step() if scheduler.last_epoch + 1 < 160 else None
    assert len(trace) == 160
    for got, want in zip(trace, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12)


def test_the_pick_is_in_the_checkpoint_and_a_resume_does_not_test_again(tmp_path, monkeypatch) -> None:
    _, straight = fit(tmp_path / "straight", lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False))
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_epochs=1, save_top_k=-1, filename="{epoch}")
    first = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    seed_quietly(0)
    trainer(tmp_path, callbacks=[first, checkpoint], max_epochs=4, enable_checkpointing=True,
            deterministic=False).fit(Net(), loader())  # fmt: skip
    saved = torch.load(tmp_path / "ckpt" / "epoch=1.ckpt", weights_only=False)
    state = next(s for s in saved["callbacks"].values() if isinstance(s, dict) and "lr_range" in s)
    assert state["lr_range"]["picked"]["lr"] == first.range_result.lr

    calls = []
    monkeypatch.setattr(lrs.LRRangeTest, "run", lambda *args: calls.append(args))
    again = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    recorder = LRRecorder()
    trainer(tmp_path / "resumed", callbacks=[again, recorder], max_epochs=4, deterministic=False).fit(
        Net(), loader(), ckpt_path=str(tmp_path / "ckpt" / "epoch=1.ckpt")
    )
    assert calls == []
    assert again.range_result.lr == first.range_result.lr  # (for the summary: the checkpoint's test)
    assert recorder.lrs == straight[80:]  # the resumed half, as the uninterrupted run


def test_a_second_fit_of_the_same_trainer_keeps_the_pick_and_a_reused_callback_tests_a_new_run(tmp_path) -> None:
    callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    fit_ = trainer(tmp_path, callbacks=[callback], max_epochs=4, deterministic=False)
    module = Net()
    fit_.fit(module, loader())
    first = callback.range_result
    fit_.fit_loop.max_epochs = 6
    with pytest.warns(UserWarning, match="at the end of its plan of 160 optimizer steps"):
        fit_.fit(module, loader())
    assert callback.range_result is first  # continued at step 160: no second test
    fresh = trainer(tmp_path / "again", callbacks=[callback], max_epochs=4, deterministic=False)
    fresh.fit(Net(optimizer="adamw", lr=1e-3), loader())
    assert callback.range_result is not first
    assert callback.range_result.lr is not None


@pytest.mark.parametrize(
    "accumulation",
    [{"accumulate_grad_batches": 2}, {"callbacks": [GradientAccumulationScheduler({0: 2})]}],
    ids=["trainer", "accumulation-scheduler"],
)
def test_the_test_counts_optimizer_steps_under_gradient_accumulation(tmp_path, accumulation) -> None:
    """The test accumulates as the epoch after it does: the Trainer's `accumulate_grad_batches`, or what a
    `GradientAccumulationScheduler` sets for that epoch (at fit start, before it sets it)."""
    callback = lrs.StepLR(step_size=1, find_lr=lrs.LRRangeTest(steps=30), log_lr=False, plan=False)
    batches = []

    class Counting(Net):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            batches.append(batch_idx)
            return super().training_step(batch, batch_idx)

    fit(tmp_path, callback, Counting, max_epochs=2, **accumulation)
    points = callback.range_result.curve.points + (callback.range_result.curve.stopped == "nan")
    assert len(batches) == 2 * points + 2 * 40  # two batches per test step, then the 2 epochs of 40 batches


def test_the_curve_and_the_pick_are_a_tensorboard_figure_and_a_png(tmp_path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    callback = lrs.CosineAnnealingLR(find_lr=True, plan=False)
    logger = pl.loggers.TensorBoardLogger(str(tmp_path), name="run")
    fit(tmp_path, callback, logger=logger)
    assert (tmp_path / "run" / "version_0" / "lr-SGD-range-test.png").stat().st_size > 10_000
    events = EventAccumulator(logger.log_dir, size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    assert "lr-SGD-range-test" in events.Tags()["images"]
    text = events.Tensors("lr-SGD-range-test/text_summary")[0].tensor_proto.string_val[0].decode()
    assert text.startswith("lr range test (")
    assert f"picked lr {callback.range_result.lr:.3g}" in text


# ---------------------------------------------------------------------------------------- runs the test skips


def test_a_run_shorter_than_the_test_keeps_the_optimizer_lr_with_a_warning(tmp_path) -> None:
    callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    with pytest.warns(UserWarning, match=r"takes up to 100 optimizer steps, more than this whole fit \(40\)"):
        _, trace = fit(tmp_path, callback, max_epochs=1)
    assert callback.range_result is None
    assert trace[0] == [0.1, 0.01]


def test_a_smoke_run_does_not_test(tmp_path, caplog) -> None:
    callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    with caplog.at_level("INFO"):
        _, trace = fit(tmp_path, callback, fast_dev_run=2)
    assert callback.range_result is None
    assert trace[0] == [0.1, 0.01]
    assert "no lr range test in a `fast_dev_run`" in caplog.text


def test_a_loss_that_never_falls_keeps_the_optimizer_lr_with_a_warning(tmp_path) -> None:
    class Frozen(Net):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            return self.head.weight.sum() * 0 + 1.0  # the loss does not depend on the parameters' values

    callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    with pytest.warns(UserWarning, match="found no usable lr: the loss did not fall.*The optimizer's own lr 0.1"):
        _, trace = fit(tmp_path, callback, Frozen)
    assert callback.range_result.lr is None
    assert trace[0] == [0.1, 0.01]


def test_a_nan_in_the_range_stops_the_test_and_the_pick_lies_below_it(tmp_path) -> None:
    class Unstable(Net):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = super().training_step(batch, batch_idx)
            lr = self.trainer.optimizers[0].param_groups[0]["lr"]
            return loss * float("nan") if lr > 0.5 else loss

    callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    fit(tmp_path, callback, Unstable)
    result = callback.range_result
    assert result.curve.stopped in ("nan", "diverged")
    assert max(result.curve.lrs) <= 0.5
    assert result.lr is not None
    assert result.lr < 0.5 / 5


def test_a_nan_at_the_first_step_keeps_the_optimizer_lr_with_a_warning(tmp_path) -> None:
    class Broken(Net):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = super().training_step(batch, batch_idx)
            return loss * float("nan") if not self.trainer.global_step else loss

    callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    with pytest.warns(UserWarning, match=r"the loss was NaN or infinite after 0 step\(s\).*own lr 0.1 stays"):
        _, _trace = fit(tmp_path, callback, Broken, max_epochs=4)
    assert callback.range_result.lr is None


def test_manual_optimization_is_refused_at_fit_start(tmp_path) -> None:
    class Manual(Net):
        def __init__(self) -> None:
            super().__init__()
            self.automatic_optimization = False

        def training_step(self, batch: Any, batch_idx: int) -> None:
            optimizer = self.optimizers()
            optimizer.zero_grad()
            self.manual_backward(super().training_step(batch, batch_idx))
            optimizer.step()

    with pytest.raises(ValueError, match="`find_lr` needs automatic optimization"):
        fit(tmp_path, lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False), Manual)


# ---------------------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: lrs.CosineAnnealingLR(find_lr="yes"), TypeError, r"`find_lr` of `CosineAnnealingLR` to be True"),
        (
            lambda: lrs.OneCycleLR(max_lr=0.1, find_lr=True),
            ValueError,
            r"its peak is its own argument \(max_lr=0.1\).*pass `max_lr='find'`",
        ),
        (
            lambda: lrs.CyclicLR(base_lr=1e-3, max_lr=0.1, find_lr=True),
            ValueError,
            r"\(base_lr=0.001, max_lr=0.1\).*drop `find_lr`",
        ),
        (lambda: lrs.LRRangeTest(start_lr=1.0, end_lr=0.1), ValueError, r"`end_lr` to be above `start_lr`"),
        (lambda: lrs.LRRangeTest(steps=5), ValueError, r"steps"),
        (lambda: lrs.LRRangeTest(rule="fastest"), ValueError, r"rule"),
        (lambda: lrs.LRRangeTest(start_lr=0), ValueError, r"start_lr"),
    ],
)
def test_bad_arguments_are_named_at_construction(build, error, match) -> None:
    with pytest.raises(error, match=match):
        build()


def test_max_lr_find_and_find_lr_agree() -> None:
    assert lrs.OneCycleLR(max_lr="find").range_test is not None
    assert lrs.OneCycleLR(max_lr="find", find_lr=lrs.LRRangeTest(steps=50)).range_test.steps == 50
    assert lrs.CosineAnnealingLR().range_test is None
    assert lrs.GreedyLR(monitor="val_loss", find_lr=True).range_test is not None  # (its max_lr is a cap)


# ---------------------------------------------------------------------------------------- the rules


def synthetic(noise: float, seed: int, diverge_at: float = 0.3) -> RangeCurve:
    """A curve shaped like real ones: flat, a fall from 1e-3 to 0.1, then a blow-up from ``diverge_at``."""
    rng = random.Random(seed)
    lrs_ = geometric(1e-7, 10.0, 100)
    losses = []
    for lr in lrs_:
        fall = 1 / (1 + (1e-2 / lr) ** 1.5)
        loss = 2.3 - 2.0 * fall + max(math.log10(lr / diverge_at), 0) * 20
        losses.append(loss * (1 + noise * rng.gauss(0, 1)))
        if loss > 8:
            return RangeCurve(lrs_[: len(losses)], losses, "diverged")
    return RangeCurve(lrs_, losses)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("noise", [0.0, 0.05, 0.15])
def test_no_rule_picks_in_the_diverging_region(rule, noise) -> None:
    for seed in range(10):
        found = pick(synthetic(noise, seed), rule)
        assert found is not None
        assert found.lr < 0.3


@pytest.mark.parametrize("noise", [0.05, 0.15])
def test_the_default_rule_is_robust_to_noise(noise) -> None:
    clean = pick(synthetic(0.0, 0)).lr
    for seed in range(10):
        assert abs(math.log10(pick(synthetic(noise, seed)).lr / clean)) < 0.35  # within a factor of ~2


def test_a_curve_too_short_or_without_a_fall_gives_no_pick() -> None:
    assert pick(RangeCurve(geometric(1e-4, 1, 5), [1.0, 0.9, 0.8, 0.7, 0.6])) is None
    assert pick(RangeCurve(geometric(1e-4, 1, 30), [1.0] * 30)) is None
    assert pick(RangeCurve(geometric(1e-4, 1, 30), [1.0 + 0.01 * k for k in range(30)])) is None


def test_result_state_round_trips() -> None:
    result = lrs.RangeResult(synthetic(0.0, 0), pick(synthetic(0.0, 0)), 1.5)
    again = lrs.RangeResult.from_state(result.state())
    assert again == result
    assert again.text() == result.text()


# ---------------------------------------------------------------------------------------- with other features


def test_a_composite_schedule_starts_its_phases_from_the_pick(tmp_path) -> None:
    warmup = lrs.LinearLR(0.1, 1.0, total_iters=16, interval="step")
    callback = lrs.SequentialLR([warmup, lrs.CosineAnnealingLR()], milestones=[16], find_lr=True, log_lr=False)
    _, trace = fit(tmp_path, callback)
    picked = callback.range_result.lr
    assert trace[0][0] == pytest.approx(0.1 * picked, rel=1e-12)
    assert trace[16][0] == pytest.approx(picked, rel=1e-12)  # the cosine phase starts at the peak
    assert max(lr for lr, _ in trace) == pytest.approx(picked, rel=1e-12)


def test_a_plateau_schedule_reduces_from_the_pick(tmp_path) -> None:
    class Stuck(Net):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", 1.0)  # never improves: the third validation halves the lr

    callback = lrs.ReduceLROnPlateau(patience=1, factor=0.5, find_lr=True, log_lr=False, plan=False)
    seed_quietly(0)
    recorder = LRRecorder()
    fit_ = trainer(tmp_path, callbacks=[callback, recorder], max_epochs=4, deterministic=False)
    fit_.fit(Stuck(), loader(), loader(shuffle=False, n=32))
    picked = callback.range_result.lr
    epoch_lrs = [lrs_[0] for lrs_ in recorder.lrs[::40]]
    assert epoch_lrs == pytest.approx([picked, picked, picked, 0.5 * picked], rel=1e-12)
    assert callback.reductions[0]["lr_before"][0] == pytest.approx(picked, rel=1e-12)


def test_a_resume_of_a_resume_keeps_the_first_pick(tmp_path, monkeypatch) -> None:
    def run(folder: str, epochs: int, ckpt: str | None) -> lrs.CosineAnnealingLR:
        callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
        saving = ModelCheckpoint(dirpath=tmp_path / folder, every_n_epochs=1, save_top_k=-1, filename="{epoch}")
        seed_quietly(0)
        fit_ = trainer(tmp_path, callbacks=[callback, saving], max_epochs=epochs, enable_checkpointing=True,
                       deterministic=False)  # fmt: skip
        fit_.fit(Net(), loader(), ckpt_path=ckpt)
        return callback

    first = run("a", 4, None)
    monkeypatch.setattr(lrs.LRRangeTest, "run", lambda *args: pytest.fail("a resumed fit tested again"))
    second = run("b", 4, str(tmp_path / "a" / "epoch=0.ckpt"))
    third = run("c", 4, str(tmp_path / "b" / "epoch=2.ckpt"))
    assert first.range_result.lr == second.range_result.lr == third.range_result.lr
    saved = torch.load(tmp_path / "c" / "epoch=3.ckpt", weights_only=False)
    state = next(s for s in saved["callbacks"].values() if isinstance(s, dict) and "lr_range" in s)
    assert state["lr_range"]["picked"]["lr"] == first.range_result.lr


def test_diagnostics_and_rewind_start_after_the_test(tmp_path) -> None:
    diagnostics = lrs.LRDiagnostics(on_divergence=lrs.Rewind(every=20), verbose=False, summary_file=None)
    callback = lrs.CosineAnnealingLR(warmup="5%", find_lr=True, log_lr=False, plan=False)
    seed_quietly(0)
    fit_ = trainer(tmp_path, callbacks=[callback, diagnostics], max_epochs=4, deterministic=False)
    fit_.fit(Net(), loader())
    assert [finding["kind"] for finding in diagnostics.findings] == []  # the test's blow-up is not the fit's
    assert diagnostics.rewinds == []
    assert diagnostics.summary["schedules"][0]["text"].endswith(callback.range_result.text())


def test_a_fit_that_fails_inside_the_test_leaves_the_module_and_trainer_as_they_were(tmp_path) -> None:
    class NoLoss(Net):
        def training_step(self, batch: Any, batch_idx: int) -> Any:
            return None  # (Lightning would skip the batch; the range test needs a loss)

    callback = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    module = NoLoss()
    before = {key: value.clone() for key, value in module.state_dict().items()}
    fit_ = trainer(tmp_path, callbacks=[callback], max_epochs=4, deterministic=False)
    with pytest.raises(ValueError, match="`find_lr` needs `training_step` to return the loss"):
        fit_.fit(module, loader())
    assert callback in fit_.callbacks  # (the test's detaching of the callbacks is undone)
    assert "log" not in module.__dict__
    assert all(torch.equal(value, before[key]) for key, value in module.state_dict().items())
    _, trace = fit(tmp_path / "again", callback)  # the same callback fits a working module afterwards
    assert callback.range_result.lr is not None
    assert trace[0][0] == pytest.approx(callback.range_result.lr, rel=1e-12)


def test_a_checkpoint_written_without_find_lr_resumes_without_a_test(tmp_path, monkeypatch) -> None:
    _, straight = fit(tmp_path / "straight", lrs.CosineAnnealingLR(log_lr=False, plan=False))
    saving = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_epochs=1, save_top_k=-1, filename="{epoch}")
    seed_quietly(0)
    trainer(tmp_path, callbacks=[lrs.CosineAnnealingLR(log_lr=False, plan=False), saving], max_epochs=4,
            enable_checkpointing=True, deterministic=False).fit(Net(), loader())  # fmt: skip
    monkeypatch.setattr(lrs.LRRangeTest, "run", lambda *args: pytest.fail("a resumed fit tested"))
    resumed = lrs.CosineAnnealingLR(find_lr=True, log_lr=False, plan=False)
    recorder = LRRecorder()
    trainer(tmp_path / "resumed", callbacks=[resumed, recorder], max_epochs=4, deterministic=False).fit(
        Net(), loader(), ckpt_path=str(tmp_path / "ckpt" / "epoch=1.ckpt")
    )
    assert resumed.range_result is None
    assert recorder.lrs == straight[80:]  # the checkpoint's plan goes on, from its own lr
