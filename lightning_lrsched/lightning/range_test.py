"""LRRangeTest: the lr range test on the Trainer's own model, data, precision, accumulation and devices.

A schedule callback given ``find_lr=True`` (or ``OneCycleLR(max_lr="find")``) runs it at fit start, before it
plans: the test trains for up to ``steps`` optimizer steps with an lr growing geometrically from ``start_lr`` to
``end_lr``, stops when the loss diverges, puts back everything it changed (weights, optimizer state, the
precision plugin's gradient scaler, the random generators, the modules' train/eval modes; the fit's dataloader
iterator is never touched) and picks the lr with a rule of :mod:`lightning_lrsched.core.lr_range`. The pick
becomes the optimizer's lr, every param group scaled alike, which is the peak every schedule starts from. The
pick is in the callback's checkpoint state, so a resumed fit does not test again.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.utilities import CombinedLoader, rank_zero_info, rank_zero_warn
from torch.optim import Optimizer
from torchmetrics import Metric

from lightning_lrsched import _checks
from lightning_lrsched.core import schedules
from lightning_lrsched.core.duration import TrainingLength
from lightning_lrsched.core.lr_range import RULES, Pick, RangeCurve, Rule, geometric, pick
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.lightning import run_changes
from lightning_lrsched.report import plotting
from lightning_lrsched.report.reporting import tensorboard_experiments

__all__ = ["LRRangeTest", "RangeResult"]


@dataclasses.dataclass
class RangeResult:
    """One range test: the curve, the pick (None: the optimizer's own lr stays), and what it cost.

    Example::

        >>> from lightning_lrsched.core.lr_range import RangeCurve
        >>> RangeResult(RangeCurve([1e-3], [1.0]), None, 0.0, "too few points").lr is None
        True
    """

    curve: RangeCurve
    picked: Pick | None
    seconds: float
    note: str = ""
    used: float | None = None
    """The lr the schedule got: the pick, or its ``high`` for 1cycle's ``max_lr`` (None: the optimizer's stays)."""

    @property
    def lr(self) -> float | None:
        """The picked lr of the first param group, or None."""
        return self.picked.lr if self.picked is not None else None

    def text(self) -> str:
        """The pick and why, in a sentence (the fit-end summary's)."""
        steps = f"{self.curve.points} steps, {self.seconds:.1f} s, stopped: {self.curve.stopped}"
        if self.picked is None:
            return f"lr range test ({steps}) found no usable lr: {self.note}"
        used = self.used if self.used is not None else self.picked.lr
        peak = f"; 1cycle's max_lr takes the edge {used:.3g}" if used != self.picked.lr else ""
        return (
            f"lr range test ({steps}) picked lr {self.picked.lr:.3g}: {self.picked.why} (rule"
            f" {self.picked.rule!r}){peak}"
        )

    def state(self) -> dict[str, Any]:
        """A plain form for checkpoints and summaries."""
        picked = dataclasses.asdict(self.picked) if self.picked is not None else None
        return {
            "curve": self.curve.state(),
            "picked": picked,
            "seconds": self.seconds,
            "note": self.note,
            "used": self.used,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RangeResult:
        """The result a checkpoint holds (:meth:`state`)."""
        curve = RangeCurve(**state["curve"])
        picked = Pick(**state["picked"]) if state.get("picked") else None
        used = state.get("used")
        return cls(curve, picked, float(state.get("seconds", 0.0)), str(state.get("note", "")), used)


class LRRangeTest:
    """The lr range test: how it runs and which rule picks the lr; ``find_lr=`` of every schedule callback.

    Args:
        start_lr: the first param group's lr at the first step (the others keep their ratio to it).
        end_lr: its lr at the last step, if the loss has not diverged before.
        steps: optimizer steps at most. The training data is reused from its start when it has fewer batches.
        rule: how the lr is picked from the curve (:mod:`lightning_lrsched.core.lr_range`): ``"edge"``,
            ``"steepest"``, ``"valley"`` or ``"min_tenth"``.
        diverge: the test stops when the smoothed loss exceeds this many times its lowest value.

    Example::

        >>> from lightning_lrsched import CosineAnnealingLR, OneCycleLR
        >>> schedule = CosineAnnealingLR(warmup="5%", find_lr=True)  # the optimizer's lr is found
        >>> schedule = OneCycleLR(max_lr="find")  # the same test feeds 1cycle's peak
        >>> schedule = CosineAnnealingLR(find_lr=LRRangeTest(steps=200, rule="valley"))
    """

    def __init__(
        self, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100, rule: Rule = "edge", diverge: float = 4.0
    ) -> None:
        _checks.positive("start_lr", start_lr)
        _checks.positive("end_lr", end_lr)
        if end_lr <= start_lr:
            raise ValueError(
                f"Expected `end_lr` to be above `start_lr`, but got start_lr={start_lr!r} and end_lr={end_lr!r}."
                " The test grows the lr from `start_lr` to `end_lr`."
            )
        _checks.integer("steps", steps, 20)
        _checks.one_of("rule", rule, RULES)
        _checks.positive("diverge", diverge)
        self.start_lr, self.end_lr, self.steps, self.rule, self.diverge = start_lr, end_lr, steps, rule, diverge

    def __repr__(self) -> str:
        return (
            f"LRRangeTest(start_lr={self.start_lr!r}, end_lr={self.end_lr!r}, steps={self.steps!r},"
            f" rule={self.rule!r}, diverge={self.diverge!r})"
        )

    def run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Optimizer) -> RangeResult:
        """Run the test on ``optimizer`` and put everything back; the optimizer's lrs are left unchanged.

        Raises:
            ValueError: for a module in manual optimization (its ``training_step`` steps the optimizers itself).
        """
        if not pl_module.automatic_optimization:
            raise ValueError(
                "`find_lr` needs automatic optimization: this module's `training_step` steps its optimizers itself,"
                " so the range test cannot set one step's lr. Give the optimizer's lr, or find it in a module with"
                " automatic optimization."
            )
        began = time.perf_counter()
        accumulate = max(run_changes.accumulation_at(trainer, trainer.current_epoch), 1)  # (the next epoch's)
        with _restored(trainer, pl_module, optimizer):  # (the callbacks are hidden inside)
            curve = self._record(trainer, pl_module, optimizer, accumulate)
        picked = pick(curve, self.rule)
        note = "" if picked is not None else _why_none(curve)
        picked = trainer.strategy.broadcast(picked, src=0)  # (every rank has the same curve: the same pick)
        return RangeResult(curve, picked, time.perf_counter() - began, note)

    def _record(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Optimizer, accumulate: int
    ) -> RangeCurve:
        """The test: one optimizer step of ``accumulate`` batches per lr, loss averaged over devices, to divergence."""
        configured = [float(group["lr"]) for group in optimizer.param_groups]
        base = configured[0]
        lrs = geometric(self.start_lr, self.end_lr, self.steps)
        batches = _batches(trainer)
        curve = RangeCurve([], [])
        smoothed = best = math.inf
        for step, lr in enumerate(lrs):
            for group, own in zip(optimizer.param_groups, configured, strict=False):
                group["lr"] = own / base * lr if base > 0 else lr
            loss = _step(trainer, pl_module, optimizer, batches, accumulate)
            if not math.isfinite(loss):
                curve.stopped = "nan"
                break
            curve.lrs.append(lr)
            curve.losses.append(loss)
            smoothed = loss if step == 0 else 0.9 * smoothed + 0.1 * loss
            best = min(best, smoothed)
            if step >= 5 and smoothed > self.diverge * best:
                curve.stopped = "diverged"
                break
        return curve


def _step(
    trainer: pl.Trainer,
    pl_module: pl.LightningModule,
    optimizer: Optimizer,
    batches: Iterator[tuple[Any, int]],
    accumulate: int,
) -> float:
    """One optimizer step through the strategy (precision, devices, clipping); its loss averaged over devices."""
    strategy = trainer.strategy
    total = torch.zeros((), device=strategy.root_device)

    def closure() -> torch.Tensor:
        nonlocal total
        optimizer.zero_grad()
        for _ in range(accumulate):
            batch, index = next(batches)
            output = strategy.training_step(strategy.batch_to_device(batch), index)
            loss = output["loss"] if isinstance(output, dict) else output
            if not isinstance(loss, torch.Tensor):
                raise ValueError(
                    "`find_lr` needs `training_step` to return the loss (a tensor, or a dict with 'loss') for every"
                    f" batch, but it returned {output!r}."
                )
            strategy.backward(loss / accumulate, optimizer)
            total = total + loss.detach().float() / accumulate
        return total

    strategy.optimizer_step(optimizer, closure, model=pl_module)
    return float(strategy.reduce(total, reduce_op="mean"))


def _batches(trainer: pl.Trainer) -> Iterator[tuple[Any, int]]:
    """The Trainer's training batches with their index, from the start again when they run out."""
    if trainer.train_dataloader is None:
        trainer.fit_loop.setup_data()
    loaders = trainer.train_dataloader
    while True:
        combined = CombinedLoader(loaders, mode="max_size_cycle")
        iter(combined)
        produced = False
        for batch, index, _ in combined:
            produced = True
            yield batch, index
        if not produced:
            raise ValueError("`find_lr`: the training dataloader is empty, so there is nothing to test the lr on.")


@contextmanager
def _restored(trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Optimizer) -> Iterator[None]:
    """Everything the test changes, put back after it: it leaves no trace in the fit."""
    weights = copy.deepcopy(pl_module.state_dict())
    optimizer_state = {param: copy.deepcopy(state) for param, state in optimizer.state.items()}
    groups = [
        {key: copy.deepcopy(value) for key, value in group.items() if key != "params"}
        for group in optimizer.param_groups
    ]
    scaler = getattr(trainer.precision_plugin, "scaler", None)
    scaler_state = copy.deepcopy(scaler.state_dict()) if scaler is not None else None
    modes = {module: module.training for module in pl_module.modules()}
    generators = _rng_states()
    callbacks = trainer.callbacks  # type: ignore[attr-defined]
    # no other callback sees the test's steps (their hooks run for the fit only), nor does the logger
    trainer.callbacks = []  # type: ignore[attr-defined]
    pl_module.__dict__["log"] = pl_module.__dict__["log_dict"] = _not_logged
    pl_module.train()
    try:
        yield
    finally:
        trainer.callbacks = callbacks  # type: ignore[attr-defined]
        del pl_module.__dict__["log"], pl_module.__dict__["log_dict"]
        pl_module.load_state_dict(weights)
        optimizer.state.clear()
        optimizer.state.update(optimizer_state)
        for group, saved in zip(optimizer.param_groups, groups, strict=False):
            group.update(saved)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None and scaler_state:
            scaler.load_state_dict(scaler_state)
        for module, training in modes.items():
            module.train(training)
        _reset_metrics(pl_module)
        _set_rng_states(generators)


def _not_logged(*args: Any, **kwargs: Any) -> None:
    """``self.log`` during the range test: its steps are not the fit's."""


def _reset_metrics(pl_module: pl.LightningModule) -> None:
    """Torchmetrics metrics keep their state outside ``state_dict``: empty them, as the fit starts them."""
    for module in pl_module.modules():
        if isinstance(module, Metric):
            module.reset()


def _rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])


def _why_none(curve: RangeCurve) -> str:
    """Why a curve gave no pick, and what to do."""
    if curve.points < 10:
        cause = {"nan": "the loss was NaN or infinite", "diverged": "the loss diverged"}.get(curve.stopped, "it ended")
        return (
            f"{cause} after {curve.points} step(s) (lr {curve.lrs[-1] if curve.lrs else 0:.3g}), before the curve"
            " showed anything: lower `start_lr` of `LRRangeTest`, or check the loss."
        )
    return (
        "the loss did not fall over the whole range (a frozen model, a constant loss, or `start_lr` already too"
        " high): check that the loss depends on the trained parameters, or lower `start_lr`."
    )


def requested(find_lr: bool | LRRangeTest, schedule: Schedule, owner: str) -> LRRangeTest | None:
    """The range test a callback's ``find_lr`` asks for (``max_lr="find"`` asks too), or None.

    Raises:
        ValueError: when the schedule's peak is one of its own arguments, which a found lr would not change.
    """
    if not isinstance(find_lr, (bool, LRRangeTest)):
        raise TypeError(
            f"Expected argument `find_lr` of `{owner}` to be True, False or an `LRRangeTest(...)`, but got {find_lr!r}."
        )
    if find_lr is False:
        return LRRangeTest() if finds_max_lr(schedule) else None
    own_peak = next((keys for kind, keys in OWN_PEAKS if isinstance(schedule, kind)), None)
    if own_peak is not None and not finds_max_lr(schedule):
        arguments = schedule.plain_arguments()
        given = ", ".join(f"{key}={arguments.get(key)!r}" for key in own_peak)
        advice = "pass `max_lr='find'` to feed the found lr to it, or drop" if own_peak == ("max_lr",) else "drop"
        raise ValueError(
            f"`{owner}(find_lr=...)` would find an lr that its schedule does not use: its peak is its own"
            f" argument ({given}), not the optimizer's lr. To use the range test, {advice} `find_lr` to keep the"
            " given lrs."
        )
    return find_lr if isinstance(find_lr, LRRangeTest) else LRRangeTest()


def finds_max_lr(schedule: Schedule) -> bool:
    """Whether the schedule's ``max_lr`` is ``"find"`` (1cycle's peak from the range test)."""
    return schedule.plain_arguments().get("max_lr") == "find"


OWN_PEAKS: tuple[tuple[type[Schedule], tuple[str, ...]], ...] = (
    (schedules.OneCycleLR, ("max_lr",)),
    (schedules.CyclicLR, ("base_lr", "max_lr")),
)
"""Schedules whose lrs are their own arguments instead of the optimizer's lr."""


def at_fit_start(
    test: LRRangeTest,
    trainer: pl.Trainer,
    pl_module: pl.LightningModule,
    optimizer: Optimizer,
    length: TrainingLength,
    resume: tuple[dict[str, Any] | None, bool, Any],
    tag: str,
    *,
    cycle: bool = False,
) -> RangeResult | None:
    """Run ``test`` if this fit starts from scratch, and make its pick the optimizer's lr; the result (or None).

    ``cycle``: the lr is 1cycle's ``max_lr``, which takes the pick's ``high`` (the edge, for the default rule).

    A resumed fit takes the checkpoint's result (its pick is already the plan's). A smoke run, a fit shorter than
    the test, or one that continues at a later step does not test: the optimizer's lr stays, said in a line.
    """
    pending, catch_up, _ = resume
    if pending is not None:
        saved = pending.get("lr_range")
        return RangeResult.from_state(saved) if isinstance(saved, dict) else None
    lr = float(optimizer.param_groups[0]["lr"])
    if catch_up or trainer.global_step > 0:
        rank_zero_info(
            f"`find_lr`: this fit continues at step {trainer.global_step}, so no lr range test runs (the test belongs"
            f" to a fit's start); the lr stays {lr:.3g}."
        )
        return None
    if getattr(trainer, "fast_dev_run", False):
        rank_zero_info(f"`find_lr`: no lr range test in a `fast_dev_run` smoke run; the lr stays {lr:.3g}.")
        return None
    if length.total_steps < test.steps:
        rank_zero_warn(
            f"`find_lr`: the lr range test takes up to {test.steps} optimizer steps, more than this whole fit"
            f" ({length.total_steps:g}), so it does not run and the optimizer's lr {lr:.3g} stays. Pass"
            f" `find_lr=LRRangeTest(steps=...)` with fewer steps (at least 20), or give the lr."
        )
        return None
    result = test.run(trainer, pl_module, optimizer)
    if result.picked is None:
        rank_zero_warn(f"`find_lr`: {result.text()} The optimizer's own lr {lr:.3g} stays.")
    else:
        result.used = result.picked.high if cycle else result.picked.lr
        factor = result.used / lr if lr > 0 else None
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * factor if factor is not None else result.used
        rank_zero_info(f"`find_lr`: {result.text()}")
    folder = Path(trainer.log_dir or trainer.default_root_dir)  # (`log_dir` is a broadcast: every rank asks)
    if trainer.is_global_zero:
        _draw(trainer, result, tag, folder)
    return result


def _draw(trainer: pl.Trainer, result: RangeResult, tag: str, folder: Path) -> None:
    """The curve with the pick marked: a TensorBoard figure and a PNG next to the logs."""
    if result.curve.points < 2:
        return
    try:
        figure = plotting.draw_range_test(result.curve, result.picked, result.used, title=f"{tag}: lr range test")
    except ModuleNotFoundError:
        return
    folder.mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / f"{tag}-range-test.png", dpi=100)
    for experiment in tensorboard_experiments(trainer.loggers):
        experiment.add_figure(f"{tag}-range-test", figure, global_step=0)
        experiment.add_text(f"{tag}-range-test", result.text(), global_step=0)
