"""ScheduleFreeCallback on real Trainer runs: evaluation and checkpoints see the averaged weights, resume is exact.

The reference for "the averaged weights" is computed by hand: a copy of the model and of the optimizer's state,
put in eval mode by ``schedulefree`` itself, evaluated outside Lightning. Each test also shows the difference
without the callback, so that it can fail.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn

import lightning_lrsched as lrs
from lightning_lrsched.report.tensorboard import read_scalars
from tests.helpers import make_loader, trainer

schedulefree = pytest.importorskip("schedulefree")  # the `dev` extra installs it: CI runs every test here

VAL = make_loader(12, 4, seed=1)


class SFModel(pl.LightningModule):
    """A small regressor on a schedule-free optimizer (AdamW by default), with BatchNorm if asked."""

    def __init__(self, kind: str = "adamw", warmup_steps: int = 0, batch_norm: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8) if batch_norm else nn.Identity(), nn.ReLU())
        self.out = nn.Linear(8, 1)
        self.kind, self.warmup_steps = kind, warmup_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.net(x))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y), batch_size=len(x))

    def test_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("test_loss", nn.functional.mse_loss(self(x), y), batch_size=len(x))

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self(batch[0])

    def configure_optimizers(self) -> Any:
        if self.kind == "sgd":
            return schedulefree.SGDScheduleFree(self.parameters(), lr=0.05, warmup_steps=self.warmup_steps)
        return schedulefree.AdamWScheduleFree(self.parameters(), lr=0.02, warmup_steps=self.warmup_steps)


def eval_weights_by_hand(pl_module: SFModel, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """The averaged weights of the model now, computed by schedulefree on copies (the run is not touched)."""
    model = copy.deepcopy(pl_module)
    twin = type(optimizer)(model.parameters(), **{k: v for k, v in optimizer.defaults.items() if k in ("lr",)})
    twin.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    if twin.param_groups[0]["train_mode"]:
        twin.eval()
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def loss_of(weights: dict[str, torch.Tensor]) -> float:
    model = SFModel()
    model.load_state_dict(weights)
    model.eval()
    with torch.no_grad():
        losses = [nn.functional.mse_loss(model(x), y, reduction="sum") for x, y in VAL]
    return float(sum(losses) / sum(len(x) for x, _ in VAL))


class Probe(Callback):
    """Before each validation (ahead of ScheduleFreeCallback in the list): the averaged weights, by hand."""

    def __init__(self) -> None:
        self.expected: list[float] = []
        self.logged: list[float] = []

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.expected.append(loss_of(eval_weights_by_hand(pl_module, trainer.optimizers[0])))  # type: ignore[arg-type]

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.logged.append(float(trainer.callback_metrics["val_loss"]))


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
@pytest.mark.parametrize("val_check_interval", [1.0, 0.5], ids=["epoch-end", "mid-epoch"])
def test_every_validation_sees_the_averaged_weights(tmp_path, kind, val_check_interval) -> None:
    results = {}
    for with_callback in (True, False):
        probe = Probe()
        callbacks = [probe, lrs.ScheduleFreeCallback()] if with_callback else [probe, TrainMode()]
        trainer(tmp_path, max_epochs=3, callbacks=callbacks, num_sanity_val_steps=2,
                val_check_interval=val_check_interval).fit(SFModel(kind), make_loader(), VAL)  # fmt: skip
        results[with_callback] = probe
    probe = results[True]
    assert len(probe.logged) == (3 if val_check_interval == 1.0 else 6)
    assert probe.logged == pytest.approx(probe.expected, rel=1e-5)
    without = results[False]  # the training sequence's weights: another loss
    assert max(abs(a - b) / b for a, b in zip(without.logged, without.expected, strict=True)) > 1e-3


class TrainMode(Callback):
    """What users write without the callback: train mode at train start, nothing else."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for optimizer in trainer.optimizers:
            optimizer.train()  # type: ignore[attr-defined]


class SaveProbe(Callback):
    """At each checkpoint save, the averaged weights by hand (runs before the saving ModelCheckpoint)."""

    def __init__(self) -> None:
        self.expected: dict[int, dict[str, torch.Tensor]] = {}

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        if trainer.global_step % 5 == 0:
            self.expected[trainer.global_step] = eval_weights_by_hand(pl_module, trainer.optimizers[0])  # type: ignore[arg-type]


@pytest.mark.parametrize("weights_only", [False, True], ids=["full", "weights-only"])
def test_checkpoints_hold_the_averaged_weights_and_load_for_inference(tmp_path, weights_only) -> None:
    saved = {}
    for with_callback in (True, False):
        probe = SaveProbe()
        checkpoint = ModelCheckpoint(dirpath=tmp_path / f"ckpt{with_callback}", every_n_train_steps=5, save_top_k=-1,
                                     filename="{step}", save_weights_only=weights_only)  # fmt: skip
        callbacks = [probe, checkpoint, lrs.ScheduleFreeCallback() if with_callback else TrainMode()]
        trainer(tmp_path, max_epochs=2, callbacks=callbacks, enable_checkpointing=True).fit(SFModel(), make_loader())
        saved[with_callback] = (probe, checkpoint)
    probe, checkpoint = saved[True]
    files = sorted(Path(checkpoint.dirpath).glob("step=*.ckpt"), key=lambda f: int(f.stem.split("=")[1]))
    assert [int(f.stem.split("=")[1]) for f in files] == [5, 10, 15, 20]
    for file in files:
        step = int(file.stem.split("=")[1])
        state = torch.load(file, weights_only=True)["state_dict"]
        assert all(torch.equal(state[key], value) for key, value in probe.expected[step].items()), step
        if not weights_only:  # the optimizer is saved in eval mode: a resume calls train() first
            assert torch.load(file, weights_only=True)["optimizer_states"][0]["param_groups"][0]["train_mode"] is False
    loaded = SFModel.load_from_checkpoint(files[-1])
    assert all(torch.equal(p, probe.expected[20][k]) for k, p in loaded.state_dict().items())
    probe, checkpoint = saved[False]  # without the callback: the training sequence's weights
    state = torch.load(Path(checkpoint.dirpath) / "step=10.ckpt", weights_only=True)["state_dict"]
    assert not all(torch.equal(state[key], value) for key, value in probe.expected[10].items())


class Trace(Callback):
    """The weights and the optimizer state right after every optimizer step, by global step."""

    def __init__(self) -> None:
        self.weights: dict[int, list[torch.Tensor]] = {}
        self.state: dict[int, list[torch.Tensor]] = {}

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        optimizer = trainer.optimizers[0]
        step = trainer.global_step
        self.weights[step] = [p.detach().clone() for p in pl_module.parameters()]
        self.state[step] = [t.clone() for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)]


def same_batches() -> Any:
    """Ten identical batches an epoch: Lightning restarts a plain DataLoader at a mid-epoch resume, and with
    identical batches what a step learns depends on the step alone, as with a stateful loader."""
    x, y = next(iter(make_loader()))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x.repeat(10, 1), y.repeat(10, 1)), batch_size=3)


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
@pytest.mark.parametrize(("every", "resume_step"), [(10, 10), (7, 7)], ids=["epoch-end", "mid-epoch"])
def test_a_resumed_fit_equals_the_uninterrupted_one_bit_for_bit(tmp_path, kind, every, resume_step) -> None:
    def run(root: Path, ckpt_path: str | None = None) -> Trace:
        trace = Trace()
        checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=every, save_top_k=-1,
                                     filename="{step}")  # fmt: skip
        run = trainer(root, max_epochs=3, callbacks=[trace, checkpoint, lrs.ScheduleFreeCallback()],
                      enable_checkpointing=True)  # fmt: skip
        run.fit(SFModel(kind, warmup_steps=4), same_batches(), VAL, ckpt_path=ckpt_path)
        return trace

    straight = run(tmp_path / "a")
    resumed = run(tmp_path / "b", str(tmp_path / "ckpt" / f"step={resume_step}.ckpt"))
    later = [step for step in straight.weights if step > resume_step]
    assert later
    assert set(later) <= set(resumed.weights)
    for step in later:
        assert all(torch.equal(a, b) for a, b in zip(straight.weights[step], resumed.weights[step], strict=True))
        assert all(torch.equal(a, b) for a, b in zip(straight.state[step], resumed.state[step], strict=True))


class TwoOptimizers(SFModel):
    """Manual optimization with two schedule-free optimizers (one per layer) and a plain SGD for a third."""

    def __init__(self) -> None:
        super().__init__()
        self.extra = nn.Linear(1, 1)
        self.automatic_optimization = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.extra(super().forward(x))

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        optimizers = self.optimizers()
        loss = nn.functional.mse_loss(self(x), y)
        for optimizer in optimizers:
            optimizer.zero_grad()
        self.manual_backward(loss)
        for optimizer in optimizers:
            optimizer.step()

    def configure_optimizers(self) -> Any:
        return [schedulefree.AdamWScheduleFree(self.net.parameters(), lr=0.02),
                schedulefree.SGDScheduleFree(self.out.parameters(), lr=0.05),
                torch.optim.SGD(self.extra.parameters(), lr=0.01)]  # fmt: skip


def test_manual_optimization_with_several_optimizers(tmp_path) -> None:
    seen: list[list[bool]] = []

    class Modes(Callback):
        def on_validation_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
            seen.append([opt.param_groups[0].get("train_mode", "plain") for opt in trainer.optimizers])

        def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
            seen.append([opt.param_groups[0].get("train_mode", "plain") for opt in trainer.optimizers])

    run = trainer(tmp_path, max_epochs=2, callbacks=[lrs.ScheduleFreeCallback(), Modes()], num_sanity_val_steps=1)
    run.fit(TwoOptimizers(), make_loader(), VAL)
    assert [False, False, "plain"] in seen  # evaluation: both schedule-free optimizers averaged
    assert [True, True, "plain"] in seen  # training
    assert [opt.param_groups[0].get("train_mode") for opt in run.optimizers[:2]] == [False, False]  # after the fit


def test_batch_norm_statistics_are_recomputed_with_the_averaged_weights(tmp_path) -> None:
    stats = {}

    class Stats(Callback):
        def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            norm = pl_module.net[1]  # type: ignore[index]
            stats["mean"] = norm.running_mean.clone()
            weights = {k: v.clone() for k, v in pl_module.state_dict().items()}
            model = SFModel(batch_norm=True)
            model.load_state_dict(weights)
            model.net[1].reset_running_stats()
            model.net[1].momentum = None
            model.train()
            with torch.no_grad():
                for x, _ in list(make_loader())[:3]:
                    model(x)
            stats["by_hand"] = model.net[1].running_mean.clone()

    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.ScheduleFreeCallback(bn_batches=3), Stats()])
    run.fit(SFModel(batch_norm=True), make_loader(), VAL)
    assert torch.allclose(stats["mean"], stats["by_hand"], rtol=1e-6, atol=1e-7)
    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.ScheduleFreeCallback(), Stats()])  # off by default
    run.fit(SFModel(batch_norm=True), make_loader(), VAL)
    assert not torch.allclose(stats["mean"], stats["by_hand"], rtol=1e-3, atol=1e-5)


def test_the_logged_lr_is_the_one_the_step_uses_with_the_optimizers_own_warmup(tmp_path) -> None:
    """Logged before each step: the optimizer's lr times its own warmup, what that step really uses."""
    recorded: list[float] = []

    class Logged(Callback):  # after the schedule callback, which logs at the batch start
        def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
            recorded.append(float(trainer.callback_metrics["lr-AdamWScheduleFree"]))

    warmup = lrs.ConstantLR(factor=1.0, total_iters=1, interval="step")
    run = trainer(tmp_path, max_epochs=1, log_every_n_steps=1, callbacks=[warmup, Logged(), lrs.ScheduleFreeCallback()])
    run.fit(SFModel(warmup_steps=4), make_loader())
    assert recorded == pytest.approx([0.005, 0.01, 0.015, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02])
    assert [group["scheduled_lr"] for group in run.optimizers[0].param_groups] == pytest.approx([0.02])


def test_a_decaying_schedule_on_a_schedule_free_optimizer_is_named_with_why(tmp_path) -> None:
    with pytest.warns(UserWarning, match=r"CosineAnnealingLR` changes the learning rate of the schedule-free"):
        trainer(tmp_path, max_epochs=1, callbacks=[lrs.CosineAnnealingLR(), lrs.ScheduleFreeCallback()]).fit(
            SFModel(), make_loader()
        )
    callbacks = [lrs.ConstantLR(factor=1.0, total_iters=1, warmup=3), lrs.ScheduleFreeCallback()]
    run = trainer(tmp_path, max_epochs=2, callbacks=callbacks)
    with pytest.warns(UserWarning, match=r"both warm up: their factors multiply"):
        run.fit(SFModel(warmup_steps=3), make_loader())


def test_a_warmup_alone_is_accepted_quietly(tmp_path) -> None:
    callbacks = [lrs.ConstantLR(factor=1.0, total_iters=1, warmup=3, interval="step"), lrs.ScheduleFreeCallback()]
    trainer(tmp_path, max_epochs=2, callbacks=callbacks).fit(SFModel(), make_loader())  # warnings are errors here


class Hiding(torch.optim.Optimizer):
    """A wrapper that keeps the schedule-free groups but not their train()/eval()."""

    def __init__(self, inner: torch.optim.Optimizer) -> None:
        self.inner = inner
        self.param_groups = inner.param_groups
        self.defaults = inner.defaults
        self.state = inner.state

    def step(self, closure: Any = None) -> Any:
        return self.inner.step(closure)

    train = None  # type: ignore[assignment]
    eval = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        (lambda m: Hiding(schedulefree.AdamWScheduleFree(m.parameters())), r"has no `train\(\)`/`eval\(\)` methods"),
        (lambda m: torch.optim.AdamW(m.parameters()), r"found no schedule-free optimizer among .*\(AdamW\)"),
    ],
    ids=["hidden-modes", "no-schedule-free-optimizer"],
)
def test_bad_input_is_a_clear_error_at_fit_start(tmp_path, optimizer, message) -> None:
    model = SFModel()
    model.configure_optimizers = lambda: optimizer(model)  # type: ignore[method-assign]
    with pytest.raises(ValueError, match=message):
        trainer(tmp_path, max_epochs=1, callbacks=[lrs.ScheduleFreeCallback()]).fit(model, make_loader())


@pytest.mark.parametrize(("value", "message"), [(-1, r"`bn_batches` to be an int >= 0"), ("all", r"`bn_batches`")])
def test_bad_arguments_at_construction(value, message) -> None:
    with pytest.raises(ValueError, match=message):
        lrs.ScheduleFreeCallback(bn_batches=value)
    with pytest.raises(TypeError, match=r"`bn_forward` to be a function"):
        lrs.ScheduleFreeCallback(bn_forward=3)  # type: ignore[arg-type]


def test_without_a_schedule_callback_the_callback_logs_the_lr_each_step_uses(tmp_path) -> None:
    recorded: list[float] = []

    class Logged(Callback):  # after ScheduleFreeCallback, which logs at the batch start
        def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
            recorded.append(float(trainer.callback_metrics["lr-SGDScheduleFree"]))

    logger = TensorBoardLogger(str(tmp_path), name="sf")
    run = trainer(tmp_path, max_epochs=1, log_every_n_steps=1, logger=logger,
                  callbacks=[lrs.ScheduleFreeCallback(), Logged()])  # fmt: skip
    run.fit(SFModel("sgd", warmup_steps=2), make_loader())
    assert recorded == pytest.approx([0.025] + [0.05] * 9)
    logged = read_scalars(logger.log_dir)["lr-SGDScheduleFree"]  # TensorBoard's own reader
    assert [step for step, _ in logged] == list(range(10))
    assert [value for _, value in logged] == pytest.approx(recorded, rel=1e-6)  # (float32 in the event file)
    quiet = trainer(tmp_path, max_epochs=1, callbacks=[lrs.ScheduleFreeCallback(log_lr=False)])
    quiet.fit(SFModel("sgd"), make_loader())
    assert "lr-SGDScheduleFree" not in quiet.callback_metrics


def test_test_and_predict_runs_see_the_averaged_weights(tmp_path) -> None:
    module = SFModel()
    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.ScheduleFreeCallback()])
    run.fit(module, make_loader())
    optimizer = run.optimizers[0]
    expected = loss_of(eval_weights_by_hand(module, optimizer))
    optimizer.train()  # what a user's own code may do between fit and test
    (result,) = run.test(module, VAL, verbose=False)
    assert result["test_loss"] == pytest.approx(expected, rel=1e-5)
    optimizer.train()
    predicted = torch.cat(run.predict(module, VAL))  # type: ignore[arg-type]
    weights = eval_weights_by_hand(module, optimizer)
    assert all(torch.equal(p, weights[k]) for k, p in module.state_dict().items())
    assert predicted.shape == (12, 1)


class FailsAt(SFModel):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if self.global_step == 7:
            raise RuntimeError("interrupted")
        return super().training_step(batch, batch_idx)


def test_an_on_exception_checkpoint_holds_the_averaged_weights(tmp_path) -> None:
    from lightning.pytorch.callbacks import OnExceptionCheckpoint

    probe = SaveProbe()
    module = FailsAt()

    class Last(Callback):
        def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
            probe.expected[trainer.global_step] = eval_weights_by_hand(pl_module, trainer.optimizers[0])  # type: ignore[arg-type]

    callbacks = [Last(), OnExceptionCheckpoint(tmp_path), lrs.ScheduleFreeCallback()]
    run = trainer(tmp_path, max_epochs=1, callbacks=callbacks, enable_checkpointing=True)
    with pytest.raises(RuntimeError, match="interrupted"):
        run.fit(module, make_loader())
    state = torch.load(tmp_path / "on_exception.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(state[key], value) for key, value in probe.expected[7].items())


def test_lr_diagnostics_reports_the_lr_each_step_uses(tmp_path) -> None:
    from lightning_lrsched.diagnostics.findings import fmt

    diagnostics = lrs.LRDiagnostics(verbose=False, summary_file=None)
    run = trainer(tmp_path, max_epochs=1, callbacks=[lrs.ScheduleFreeCallback(), diagnostics])
    run.fit(SFModel(warmup_steps=4), make_loader())
    # the optimizer's lr is 0.02 from the start; its own warmup makes the first step's 0.005
    assert diagnostics.summary["lr_path"] == [f"lr {fmt(0.005)} -> {fmt(0.02)} (no lightning_lrsched schedule)"]


def test_a_reused_callback_on_a_second_fit_and_a_smoke_run(tmp_path) -> None:
    """The same callback object on a second Trainer and model, then under `fast_dev_run`: each fit's own optimizers."""
    callback = lrs.ScheduleFreeCallback()
    for kind in ("adamw", "sgd"):
        probe = Probe()
        trainer(tmp_path, max_epochs=2, callbacks=[probe, callback]).fit(SFModel(kind), make_loader(), VAL)
        assert probe.logged == pytest.approx(probe.expected, rel=1e-5)
    smoke = trainer(tmp_path, fast_dev_run=True, callbacks=[callback])
    smoke.fit(SFModel(), make_loader(), VAL)
    assert smoke.optimizers[0].param_groups[0]["train_mode"] is False  # the averaged weights after the smoke run


class PoisonedSF(SFModel):
    """SFModel whose training loss is NaN at the global steps ``nan_at``."""

    def __init__(self, nan_at: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.nan_at = set(nan_at)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        return loss * float("nan") if self.trainer.global_step in self.nan_at else loss


class TrainStates(Callback):
    """The training weights and the optimizer's state at each batch end (after LRDiagnostics' rewind)."""

    def __init__(self) -> None:
        self.model: dict[int, dict[str, torch.Tensor]] = {}
        self.optimizer: dict[int, dict[str, Any]] = {}

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        self.model[trainer.global_step] = copy.deepcopy(pl_module.state_dict())
        self.optimizer[trainer.global_step] = copy.deepcopy(trainer.optimizers[0].state_dict())


def test_a_rewind_restores_the_schedule_free_state_in_train_mode_and_lowers_its_lr(tmp_path) -> None:
    """A NaN at step 13 (validations every half epoch, each in eval mode): back to step 8's training weights and
    optimizer state (its iterate sums and weights included) in train mode, the lr halved; the validations after it
    still see the averaged weights."""
    from tests.test_rewind import equal_states

    probe, states = Probe(), TrainStates()
    diagnostics = lrs.LRDiagnostics(on_divergence=lrs.Rewind(every=4, factor=0.5), verbose=False, summary_file=None)
    run = trainer(tmp_path, max_epochs=3, val_check_interval=0.5,
                  callbacks=[probe, lrs.ScheduleFreeCallback(), diagnostics, states])  # fmt: skip
    with pytest.warns(UserWarning, match=r"step 8 \(6 optimizer steps undone\); the lrs are lowered to 0.5x \(0.5x"):
        run.fit(PoisonedSF(nan_at=(13,)), make_loader(), VAL)  # (no schedule of the package: the lr itself)
    assert [(event["step"], event["to_step"]) for event in diagnostics.rewinds] == [(14, 8)]
    assert equal_states(states.model[14], states.model[8])
    saved, now = states.optimizer[8], states.optimizer[14]
    assert equal_states(saved["state"], now["state"])
    for before, after in zip(saved["param_groups"], now["param_groups"], strict=True):
        assert after["train_mode"] is before["train_mode"] is True
        assert after["lr"] == pytest.approx(0.5 * before["lr"])
        assert {k: v for k, v in after.items() if k != "lr"} == {k: v for k, v in before.items() if k != "lr"}
    assert run.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.01)  # (and stays lowered)
    assert len(probe.logged) == 6
    assert probe.logged == pytest.approx(probe.expected, rel=1e-5)
