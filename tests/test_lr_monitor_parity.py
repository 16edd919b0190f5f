"""Side by side with Lightning: a scheduler returned from `configure_optimizers` logged by `LearningRateMonitor`, and
the same schedule as this package's callback. Same keys, same x values, same values, in every scenario."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor
from torch.optim import lr_scheduler as ts

import lightning_lrsched as lrs
from tests.helpers import Catcher, TinyModel, make_loader, make_optimizer, trainer

Build = Callable[[torch.optim.Optimizer], ts.LRScheduler]


class Native(TinyModel):
    """The schedule returned from `configure_optimizers`, as Lightning users write it."""

    def __init__(self, build: Build, interval: str, optimizer: str = "sgd", name: str | None = None) -> None:
        super().__init__(optimizer)
        self.build, self.interval, self.name = build, interval, name

    def configure_optimizers(self) -> Any:
        optimizer = make_optimizer([*self.hidden.parameters(), *self.out.parameters()], self.optimizer_kind)
        config = {"scheduler": self.build(optimizer), "interval": self.interval, "name": self.name}
        return {"optimizer": optimizer, "lr_scheduler": config}


def run_both(
    tmp_path: Any,
    native: TinyModel,
    ours: lrs.LRSchedulerCallback,
    model: TinyModel | None = None,
    monitor: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[list[Any], list[Any]]:
    """Fit the native module with LearningRateMonitor, and a plain module with ``ours``; their lr log calls."""
    calls = []
    for label, module, callbacks in (
        ("native", native, [LearningRateMonitor(**(monitor or {}))]),
        ("ours", model or TinyModel(native.optimizer_kind), [ours]),
    ):
        catcher = Catcher()
        trainer(tmp_path / label, max_epochs=3, logger=catcher, callbacks=callbacks, **options).fit(
            module, make_loader(), make_loader(6)
        )
        calls.append(catcher.lr_calls())
    return calls[0], calls[1]


def onecycle(optimizer: torch.optim.Optimizer) -> ts.LRScheduler:
    return ts.OneCycleLR(optimizer, max_lr=[1.0, 0.1], total_steps=30)


@pytest.mark.parametrize("every", [1, 2, 3, 50, 0])
def test_a_step_schedule_logs_where_lightning_does_at_any_cadence(tmp_path, every) -> None:
    # 1cycle cycles momentum, which the callback logs by default: `log_momentum=True` on the monitor's side
    native, ours = run_both(
        tmp_path,
        Native(onecycle, "step"),
        lrs.OneCycleLR(max_lr=[1.0, 0.1]),
        monitor={"log_momentum": True},
        log_every_n_steps=every,
    )
    assert native == ours
    assert [step for step, _ in ours] == [s for s in range(30) if every and (s + 1) % every == 0]
    if every == 3:
        assert [step for step, _ in ours] == [2, 5, 8, 11, 14, 17, 20, 23, 26, 29]  # where train_loss goes


def test_an_epoch_schedule_logs_at_epoch_starts_as_lightning_does(tmp_path) -> None:
    native, ours = run_both(tmp_path, Native(lambda o: ts.StepLR(o, 1, 0.5), "epoch"), lrs.StepLR(1, 0.5))
    assert native == ours
    assert [step for step, _ in ours] == [0, 10, 20]


def test_logging_interval_epoch_for_a_step_schedule(tmp_path) -> None:
    native, ours = run_both(
        tmp_path,
        Native(onecycle, "step"),
        lrs.OneCycleLR(max_lr=[1.0, 0.1], logging_interval="epoch", log_momentum=False),
        monitor={"logging_interval": "epoch"},
        log_every_n_steps=1,
    )
    assert native == ours
    assert [step for step, _ in ours] == [0, 10, 20]


def test_logging_interval_step_for_an_epoch_schedule(tmp_path) -> None:
    native, ours = run_both(
        tmp_path,
        Native(lambda o: ts.StepLR(o, 1, 0.5), "epoch"),
        lrs.StepLR(1, 0.5, logging_interval="step"),
        monitor={"logging_interval": "step"},
        log_every_n_steps=4,
    )
    assert native == ours
    assert [step for step, _ in ours] == [3, 7, 11, 15, 19, 23, 27]


def test_momentum_and_weight_decay_with_their_names(tmp_path) -> None:
    native, ours = run_both(
        tmp_path,
        Native(lambda o: ts.CosineAnnealingLR(o, 30), "step", optimizer="adamw"),
        lrs.CosineAnnealingLR(log_momentum=True, log_weight_decay=True),
        monitor={"log_momentum": True, "log_weight_decay": True},
        log_every_n_steps=5,
    )
    assert native == ours
    assert set(ours[0][1]) == {
        f"lr-AdamW/pg{i}{suffix}" for i in (1, 2) for suffix in ("", "-momentum", "-weight_decay")
    }


class NamedGroups(Native):
    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(
            [
                {"params": self.hidden.parameters(), "lr": 1e-3, "name": "encoder"},
                {"params": self.out.parameters(), "lr": 1e-2, "name": "head"},
            ]
        )
        if self.build is None:
            return optimizer
        config = {"scheduler": self.build(optimizer), "interval": self.interval, "name": self.name}
        return {"optimizer": optimizer, "lr_scheduler": config}


@pytest.mark.parametrize("name", [None, "schedule"])
def test_named_groups_and_a_named_schedule(tmp_path, name) -> None:
    native, ours = run_both(
        tmp_path,
        NamedGroups(lambda o: ts.CosineAnnealingLR(o, 30), "step", name=name),
        lrs.CosineAnnealingLR(name=name),
        model=NamedGroups(None, "step"),  # type: ignore[arg-type]
        log_every_n_steps=2,
    )
    assert native == ours
    prefix = name or "lr-AdamW"
    assert set(ours[0][1]) == {f"{prefix}/encoder", f"{prefix}/head"}


class TwoOptimizers(TinyModel):
    """Manual optimization with an SGD and an Adam; each may have a scheduler, stepped here as Lightning asks."""

    def __init__(
        self, builds: tuple[Build | None, Build | None] = (None, None), kinds: tuple[str, str] = ("SGD", "Adam")
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.builds, self.kinds = builds, kinds

    def configure_optimizers(self) -> Any:
        kinds = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}
        optimizers = [
            kinds[self.kinds[0]](self.out.parameters(), lr=0.1),
            kinds[self.kinds[1]](self.hidden.parameters(), lr=0.01),
        ]
        configs = [
            {"scheduler": build(optimizer), "interval": "step"}
            for optimizer, build in zip(optimizers, self.builds, strict=True)
            if build is not None
        ]
        return optimizers, configs

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        schedulers = self.lr_schedulers()
        schedulers = [] if schedulers is None else schedulers if isinstance(schedulers, list) else [schedulers]
        by_optimizer = {id(s.optimizer): s for s in schedulers}
        for optimizer in self.optimizers():
            loss = torch.nn.functional.mse_loss(self(x), y)
            optimizer.zero_grad()
            self.manual_backward(loss)
            optimizer.step()
            if id(optimizer.optimizer) in by_optimizer:
                by_optimizer[id(optimizer.optimizer)].step()


def cosine(optimizer: torch.optim.Optimizer) -> ts.LRScheduler:
    return ts.CosineAnnealingLR(optimizer, 30)


@pytest.mark.parametrize("every", [1, 2, 3])
def test_two_optimizers_in_manual_optimization(tmp_path, every) -> None:
    catchers = []
    for label, model, callbacks in (
        ("native", TwoOptimizers((cosine, cosine)), [LearningRateMonitor()]),
        ("ours", TwoOptimizers(), [lrs.CosineAnnealingLR(optimizer=0), lrs.CosineAnnealingLR(optimizer=1)]),
    ):
        catcher = Catcher()
        trainer(tmp_path / label, max_epochs=3, logger=catcher, log_every_n_steps=every, callbacks=callbacks).fit(
            model, make_loader(), make_loader(6)
        )
        catchers.append(catcher)
    native = catchers[0].lr_calls()
    merged: dict[int | None, dict[str, float]] = {}  # each callback logs its own optimizer at the same x
    for step, metrics in catchers[1].lr_calls():
        merged.setdefault(step, {}).update(metrics)
    assert native == sorted(merged.items())
    assert [step for step, _ in native] == [s for s in range(30) if (s + 1) % every == 0]  # batches, not steps
    assert set(native[0][1]) == {"lr-SGD", "lr-Adam"}


@pytest.mark.parametrize("kinds", [("SGD", "Adam"), ("Adam", "Adam")], ids=["sgd-adam", "adam-adam"])
def test_only_the_second_optimizer_scheduled(tmp_path, kinds) -> None:
    catchers = []
    for label, model, callbacks in (
        ("native", TwoOptimizers((None, cosine), kinds), [LearningRateMonitor()]),
        ("ours", TwoOptimizers((None, None), kinds), [lrs.CosineAnnealingLR(optimizer=1)]),
    ):
        catcher = Catcher()
        trainer(tmp_path / label, max_epochs=3, logger=catcher, log_every_n_steps=1, callbacks=callbacks).fit(
            model, make_loader(), make_loader(6)
        )
        catchers.append(catcher)
    native = [(step, {k: v for k, v in m.items() if k == "lr-Adam"}) for step, m in catchers[0].lr_calls()]
    native = [(step, metrics) for step, metrics in native if metrics]  # (the monitor logs unscheduled ones too)
    assert catchers[1].lr_calls() == native  # the scheduled Adam is `lr-Adam`, not `lr-Adam-1`


def test_early_stopping_can_monitor_the_lr(tmp_path) -> None:
    stops = []
    for label, module, callbacks in (
        ("native", Native(lambda o: ts.StepLR(o, 1, 0.5), "epoch"), [LearningRateMonitor()]),
        ("ours", TinyModel(), [lrs.StepLR(1, 0.5)]),
    ):
        stop = EarlyStopping(monitor="lr-SGD/pg1", mode="min", stopping_threshold=0.03, patience=100)
        run = trainer(tmp_path / label, max_epochs=6, logger=Catcher(), callbacks=[*callbacks, stop])
        run.fit(module, make_loader(), make_loader(6))
        stops.append((run.current_epoch, run.global_step, float(run.callback_metrics["lr-SGD/pg1"])))
    assert stops[0] == stops[1]
    assert stops[1][0] < 6  # it did stop on the lr


def test_the_progress_bar_shows_small_lrs_readably(tmp_path) -> None:
    schedule = lrs.ExponentialLR(0.01, interval="step")  # 0.1, 1e-3, 1e-5, ...: 0.000 with 3 decimals
    run = trainer(tmp_path, max_epochs=1, limit_train_batches=3, enable_progress_bar=True, callbacks=[schedule])
    run.fit(TinyModel(), make_loader())
    assert run.progress_bar_metrics["lr-SGD/pg1"] == "1.0e-07"  # the lr after the last step
    assert "lr-SGD/pg2" not in run.progress_bar_metrics  # the first group's lr only
