"""timm's scheduler vocabulary equals timm's formulas, step for step.

timm cannot be installed beside the CPU torch here (it imports torchvision), so the reference is a small model of
timm's schedulers written from timm's source: the stateful protocol of ``timm/scheduler/scheduler.py`` (base
values taken from the groups' initial lrs; ``step(epoch)`` at each epoch end when ``t_in_epochs``,
``step_update(num_updates)`` after each optimizer update otherwise; the noise added as ``lr * (1 + noise)``),
the warmup slope precomputed at construction as each scheduler does (``(target - warmup_lr_init) / warmup_t``),
and the per-scheduler ``_get_lr(t)``:

- ``cosine_lr.py``: ``lr_min + 0.5 * (lr_max - lr_min) * (1 + cos(pi * t_curr**k / t_i**k))``
- ``tanh_lr.py``: ``lr_min + 0.5 * (lr_max - lr_min) * (1 - tanh(lb * (1 - t_curr/t_i) + ub * t_curr/t_i))``
- ``poly_lr.py``: ``lr_min + (lr_max - lr_min) * (1 - t_curr**k / t_i**k) ** power``
- cycles: ``i = floor(log(1 - t/t_initial * (1 - cycle_mul), cycle_mul))`` (or ``t // t_initial``),
  ``lr_max = base * cycle_decay**i``, ``lr_min`` once ``i >= cycle_limit``
- ``step_lr.py``: ``base * decay_rate ** (t // decay_t)``; ``multistep_lr.py``: ``base * decay_rate **
  bisect_right(decay_t, t)``

Some values are also checked by hand, so that the model itself is pinned.
"""

from __future__ import annotations

import bisect
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

import lightning_lrsched as lrs
from tests.helpers import SAFE_LOAD, LRRecorder, TinyModel, flat, make_loader, make_optimizer, trainer
from tests.test_features_together import optimizer_at
from tests.test_resume import StopAt, resumed_trace, run


class TimmModel:
    """timm's scheduler protocol and formulas, for one configuration (see the module docstring)."""

    def __init__(self, optimizer: torch.optim.Optimizer, sched: str, t_in_epochs: bool = True, **cfg: Any) -> None:
        stepped = sched in ("step", "multistep")
        defaults = {"lr_min": 0.0, "warmup_t": 0, "warmup_lr_init": 0.0, "warmup_prefix": stepped,
                    "cycle_mul": 1.0, "cycle_decay": 1.0, "cycle_limit": 1, "k_decay": 1.0, "power": 0.5, "lb": -7.0,
                    "ub": 3.0, "decay_rate": 1.0, "noise_range_t": None, "noise_type": "normal", "noise_pct": 0.67,
                    "noise_seed": 42}  # fmt: skip
        self.__dict__.update({**defaults, **cfg})
        self.optimizer, self.sched, self.t_in_epochs = optimizer, sched, t_in_epochs
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_values = [group["initial_lr"] for group in optimizer.param_groups]
        if self.warmup_t:
            tanh_start = sched == "tanh" and not self.warmup_prefix
            targets = self._decayed(self.warmup_t) if tanh_start else self.base_values
            self.warmup_steps = [(v - self.warmup_lr_init) / self.warmup_t for v in targets]
            self._set([self.warmup_lr_init] * len(self.base_values))

    def _decayed(self, t: float) -> list[float]:
        if self.warmup_prefix:
            t = t - self.warmup_t
        if self.sched == "step":
            return [v * (self.decay_rate ** (t // self.decay_t)) for v in self.base_values]
        if self.sched == "multistep":
            return [v * (self.decay_rate ** bisect.bisect_right(self.decay_t, t)) for v in self.base_values]
        if self.cycle_mul != 1:
            i = math.floor(math.log(1 - t / self.t_initial * (1 - self.cycle_mul), self.cycle_mul))
            t_i = self.cycle_mul**i * self.t_initial
            t_curr = t - (1 - self.cycle_mul**i) / (1 - self.cycle_mul) * self.t_initial
        else:
            i = t // self.t_initial
            t_i = self.t_initial
            t_curr = t - (self.t_initial * i)
        if i >= self.cycle_limit:
            return [self.lr_min for _ in self.base_values]
        tops = [v * self.cycle_decay**i for v in self.base_values]
        if self.sched == "cosine":
            k = self.k_decay
            return [
                self.lr_min + 0.5 * (top - self.lr_min) * (1 + math.cos(math.pi * t_curr**k / t_i**k)) for top in tops
            ]
        if self.sched == "poly":
            k = self.k_decay
            return [self.lr_min + (top - self.lr_min) * (1 - t_curr**k / t_i**k) ** self.power for top in tops]
        tr = t_curr / t_i
        return [self.lr_min + 0.5 * (top - self.lr_min) * (1 - math.tanh(self.lb * (1.0 - tr) + self.ub * tr))
                for top in tops]  # fmt: skip

    def _get_lr(self, t: int) -> list[float]:
        if t < self.warmup_t:
            return [self.warmup_lr_init + t * s for s in self.warmup_steps]
        return self._decayed(t)

    def _with_noise(self, values: list[float], t: int) -> list[float]:
        window = self.noise_range_t
        if window is None:
            return values
        inside = window[0] <= t < window[1] if isinstance(window, (list, tuple)) else t >= window
        if not inside:
            return values
        generator = torch.Generator()
        generator.manual_seed(self.noise_seed + t)
        if self.noise_type == "normal":
            while True:
                noise = torch.randn(1, generator=generator).item()
                if abs(noise) < self.noise_pct:
                    break
        else:
            noise = 2 * (torch.rand(1, generator=generator).item() - 0.5) * self.noise_pct
        return [v + v * noise for v in values]

    def _set(self, values: list[float]) -> None:
        for group, value in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = value

    def step(self, epoch: int) -> None:
        if self.t_in_epochs:
            self._set(self._with_noise(self._get_lr(epoch), epoch))

    def step_update(self, num_updates: int) -> None:
        if not self.t_in_epochs:
            self._set(self._with_noise(self._get_lr(num_updates), num_updates))


def timm_trace(sched: str, *, epochs: int, per_epoch: int, t_in_epochs: bool = True, **cfg: Any) -> list[list[float]]:
    """timm's training loop (train.py): ``step_update`` after every update, ``step(epoch + 1)`` after every epoch."""
    optimizer = make_optimizer()
    scheduler = TimmModel(optimizer, sched, t_in_epochs, **cfg)
    trace, updates = [], 0
    for epoch in range(epochs):
        for _ in range(per_epoch):
            trace.append([group["lr"] for group in optimizer.param_groups])
            updates += 1
            scheduler.step_update(updates)
        scheduler.step(epoch + 1)
    return trace


EPOCH_CASES: list[tuple[str, dict[str, Any]]] = [
    ("cosine", {"t_initial": 10}),
    ("cosine", {"t_initial": 8, "warmup_t": 2, "warmup_lr_init": 1e-4, "lr_min": 1e-3}),
    ("cosine", {"t_initial": 6, "warmup_t": 3, "warmup_lr_init": 1e-4, "warmup_prefix": True}),
    ("cosine", {"t_initial": 3, "cycle_limit": 3, "cycle_decay": 0.5, "lr_min": 1e-4}),
    ("cosine", {"t_initial": 2, "cycle_limit": 3, "cycle_mul": 2.0, "cycle_decay": 0.7}),
    ("cosine", {"t_initial": 10, "k_decay": 2.0}),
    ("cosine", {"t_initial": 10, "noise_range_t": 4, "noise_pct": 0.3}),
    ("cosine", {"t_initial": 10, "noise_range_t": [2, 7], "noise_type": "uniform", "noise_seed": 7}),
    ("tanh", {"t_initial": 10}),
    ("tanh", {"t_initial": 8, "warmup_t": 2, "warmup_lr_init": 1e-4, "lb": -5.0, "ub": 2.0}),
    ("tanh", {"t_initial": 6, "warmup_t": 2, "warmup_lr_init": 1e-4, "warmup_prefix": True, "lr_min": 1e-3}),
    ("tanh", {"t_initial": 4, "cycle_limit": 2, "cycle_mul": 1.5}),
    ("poly", {"t_initial": 10}),
    ("poly", {"t_initial": 10, "power": 2.0, "k_decay": 0.5, "lr_min": 1e-4, "warmup_t": 2}),
    ("poly", {"t_initial": 5, "cycle_limit": 2, "cycle_decay": 0.5}),
    ("step", {"decay_t": 3, "decay_rate": 0.5}),
    ("step", {"decay_t": 2, "decay_rate": 0.5, "warmup_t": 2, "warmup_lr_init": 1e-4}),
    ("step", {"decay_t": 2, "decay_rate": 0.5, "warmup_t": 2, "warmup_prefix": False, "noise_range_t": 3}),
    ("multistep", {"decay_t": [3, 6, 8], "decay_rate": 0.3}),
    ("multistep", {"decay_t": [2, 5], "decay_rate": 0.5, "warmup_t": 2, "warmup_lr_init": 1e-3}),
]
IDS = [f"{sched}-" + "-".join(f"{k}={v}" for k, v in cfg.items()) for sched, cfg in EPOCH_CASES]


@pytest.mark.parametrize(("sched", "cfg"), EPOCH_CASES, ids=IDS)
def test_per_epoch_equals_timm_in_a_trainer_run(tmp_path, sched, cfg) -> None:
    recorder = LRRecorder()
    trainer(tmp_path, max_epochs=10, callbacks=[lrs.TimmLR(sched, **cfg), recorder]).fit(
        TinyModel(), make_loader(12, batch_size=3)
    )
    expected = timm_trace(sched, epochs=10, per_epoch=4, **cfg)
    assert flat(recorder.lrs) == pytest.approx(flat(expected), rel=1e-12, abs=1e-18)


UPDATE_CASES = [EPOCH_CASES[i] for i in (0, 1, 4, 6, 9, 13, 15, 18)]


@pytest.mark.parametrize(("sched", "cfg"), UPDATE_CASES, ids=[IDS[i] for i in (0, 1, 4, 6, 9, 13, 15, 18)])
def test_per_update_equals_timm_on_updates_in_a_trainer_run(tmp_path, sched, cfg) -> None:
    """timm's ``sched_on_updates``: the same times counted in optimizer updates (4 per epoch, 40 in all)."""
    scaled = {key: ([4 * v for v in value] if isinstance(value, list) else 4 * value) if key.endswith("_t") or
              key == "t_initial" else value for key, value in cfg.items()}  # fmt: skip
    recorder = LRRecorder()
    callback = lrs.TimmLR(sched, interval="step", **scaled)
    trainer(tmp_path, max_epochs=10, callbacks=[callback, recorder]).fit(TinyModel(), make_loader(12, batch_size=3))
    expected = timm_trace(sched, epochs=10, per_epoch=4, t_in_epochs=False, **scaled)
    assert flat(recorder.lrs) == pytest.approx(flat(expected), rel=1e-12, abs=1e-18)


@pytest.mark.parametrize(("sched", "cfg"), EPOCH_CASES, ids=IDS)
def test_per_epoch_resumed_at_an_epoch_end_equals_the_uninterrupted_run(tmp_path, sched, cfg) -> None:
    fitted = {key: value for key, value in cfg.items() if key != "t_initial"}  # (omitted: the cycles fill 4 epochs)
    if sched == "multistep":
        fitted["decay_t"] = [1, 3]

    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.TimmLR(sched, **fitted)

    straight, _ = run(tmp_path / "straight", schedule, validate=False)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)
    trace, _ = resumed_trace(tmp_path, schedule, StopAt(epoch=1), validate=False, checkpoint=checkpoint)
    assert trace == straight.trace


def test_the_model_of_timm_is_pinned_by_hand() -> None:
    """Values worked out from the formulas by hand (base lr 0.1)."""
    cosine = timm_trace("cosine", epochs=5, per_epoch=1, t_initial=4)
    assert [row[0] for row in cosine] == pytest.approx([0.1, 0.05 * (1 + math.cos(math.pi / 4)), 0.05,
                                                        0.05 * (1 - math.cos(math.pi / 4)), 0.0])  # fmt: skip
    warm = timm_trace("cosine", epochs=3, per_epoch=1, t_initial=10, warmup_t=2, warmup_lr_init=0.02)
    assert [row[0] for row in warm] == pytest.approx([0.02, 0.06, 0.05 * (1 + math.cos(math.pi * 2 / 10))])
    restarts = timm_trace("cosine", epochs=7, per_epoch=1, t_initial=2, cycle_limit=3, cycle_mul=2.0)
    assert [row[0] for row in restarts][:3] == pytest.approx([0.1, 0.05, 0.1])  # the second cycle starts at t=2
    assert restarts[6][0] == pytest.approx(0.1)  # the third at t = 2 + 4 = 6
    poly = timm_trace("poly", epochs=2, per_epoch=1, t_initial=4, power=2.0)
    assert poly[1][0] == pytest.approx(0.1 * 0.75**2)
    step = timm_trace("multistep", epochs=6, per_epoch=1, decay_t=[2, 4], decay_rate=0.5)
    assert [row[0] for row in step] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    tanh = timm_trace("tanh", epochs=2, per_epoch=1, t_initial=4)
    assert tanh[1][0] == pytest.approx(0.05 * (1 - math.tanh(-7 * 0.75 + 3 * 0.25)))


def test_a_resume_mid_epoch_on_updates_equals_the_uninterrupted_run(tmp_path) -> None:
    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.TimmLR("cosine", interval="step", t_initial="1ep", cycle_limit=3, cycle_mul=2.0, warmup_t=3,
                          warmup_lr_init=1e-4, noise_range_t="50%", noise_type="uniform")  # fmt: skip

    straight, _ = run(tmp_path / "straight", schedule, validate=False)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=15, save_last=True, save_top_k=0)
    trace, _ = resumed_trace(tmp_path, schedule, StopAt(step=15), validate=False, checkpoint=checkpoint)
    assert trace == straight.trace
    cfg = {"t_initial": 10, "cycle_limit": 3, "cycle_mul": 2.0, "warmup_t": 3, "warmup_lr_init": 1e-4,
           "noise_range_t": 20, "noise_type": "uniform"}  # fmt: skip
    expected = timm_trace("cosine", epochs=4, per_epoch=10, t_in_epochs=False, **cfg)
    assert flat(lr for _, lr in trace) == pytest.approx(flat(expected), rel=1e-12)


def test_an_omitted_t_initial_fills_the_run_with_the_cycles_warmup_and_cooldown() -> None:
    callback = lrs.TimmLR("cosine", warmup_t=2, warmup_prefix=True, cooldown_t=2, cycle_limit=2)
    trace = lrs.preview(callback, epochs=10, steps_per_epoch=1, lr=[0.1, 0.01])
    timeline = callback.schedule.timeline(make_optimizer(), lrs.TrainingLength(total_steps=10, steps_per_epoch=1))
    assert timeline.plan.resolved["t_initial"] == 3  # (10 - 2 warmup - 2 cooldown) / 2 cycles
    assert trace[-2:] == [[0.0, 0.0], [0.0, 0.0]]  # the cooldown at lr_min
    expected = timm_trace("cosine", epochs=10, per_epoch=1, t_initial=3, warmup_t=2, warmup_prefix=True, cycle_limit=2)
    assert flat(trace) == pytest.approx(flat(expected), rel=1e-12)


# ------------------------------------------------------------------ schedule_from_timm: create_scheduler_v2's names


@pytest.mark.parametrize(
    ("arguments", "sched", "cfg"),
    [
        ({"sched": "cosine", "num_epochs": 8, "warmup_epochs": 2, "min_lr": 1e-4, "cooldown_epochs": 2},
         "cosine", {"t_initial": 8, "warmup_t": 2, "warmup_lr_init": 1e-5, "lr_min": 1e-4, "warmup_prefix": False,
                    "cycle_decay": 0.1}),
        ({"sched": "cosine", "num_epochs": 4, "cycle_limit": 2, "noise": [0.25, 0.75], "noise_seed": 3},
         "cosine", {"t_initial": 4, "cycle_limit": 2, "cycle_decay": 0.1, "noise_range_t": [1.0, 3.0],
                    "noise_seed": 3, "warmup_prefix": False}),
        ({"sched": "poly", "num_epochs": 10, "decay_rate": 2.0}, "poly", {"t_initial": 10, "power": 2.0,
                                                                          "cycle_decay": 0.1, "warmup_prefix": False}),
        ({"sched": "step", "decay_epochs": 3, "decay_rate": 0.5, "warmup_epochs": 1}, "step",
         {"decay_t": 3, "decay_rate": 0.5, "warmup_t": 1, "warmup_lr_init": 1e-5, "warmup_prefix": False}),
        ({"sched": "multistep", "decay_milestones": [2, 5], "step_on_epochs": False}, "multistep",
         {"decay_t": [8, 20], "decay_rate": 0.1, "warmup_prefix": False}),
    ],
    ids=["cosine-cooldown", "cosine-noise-pair", "poly-power-from-decay-rate", "step-warmup", "multistep-on-updates"],
)  # fmt: skip
def test_schedule_from_timm_equals_create_scheduler_v2(arguments, sched, cfg) -> None:
    callback = lrs.schedule_from_timm(**arguments)
    on_updates = arguments.get("step_on_epochs") is False
    got = lrs.preview(callback, epochs=10, steps_per_epoch=4, lr=[0.1, 0.01])
    expected = timm_trace(sched, epochs=10, per_epoch=4, t_in_epochs=not on_updates, **cfg)
    assert flat(got) == pytest.approx(flat(expected), rel=1e-12, abs=1e-18)


def test_schedule_from_timm_plateau_is_reduce_lr_on_plateau_and_says_what_differs() -> None:
    callback = lrs.schedule_from_timm("plateau", decay_rate=0.5, patience_epochs=2, plateau_mode="min", min_lr=1e-5)
    kwargs = callback.schedule._kwargs
    assert (type(callback), callback.mode, kwargs["factor"], kwargs["patience"]) == (
        lrs.ReduceLROnPlateau,
        "min",
        0.5,
        2,
    )
    with pytest.warns(UserWarning, match=r"rises at every optimizer step over the same 3 epochs"):
        warm = lrs.schedule_from_timm("plateau", warmup_epochs=3, monitor="val_acc")
    assert (warm.monitor, warm.warmup_length.text) == ("val_acc", "3ep")


# ------------------------------------------------------------------ errors at construction


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: lrs.TimmLR("cosin"), ValueError, r"`sched` to be one of"),
        (lambda: lrs.TimmLR("cosine", decay_t=3), ValueError, r"`decay_t`=3 does not apply to timm's 'cosine'"),
        (lambda: lrs.TimmLR("step", t_initial=3, decay_t=2), ValueError, r"`t_initial`=3 does not apply"),
        (lambda: lrs.TimmLR("step"), TypeError, r"needs `decay_t`: its period"),
        (lambda: lrs.TimmLR("tanh", lb=3.0, ub=1.0), ValueError, r"`lb`=3\.0 to be below `ub`=1\.0"),
        (lambda: lrs.TimmLR("cosine", t_inital=5), TypeError, r"`t_inital`=5\. Did you mean `t_initial`"),
        (lambda: lrs.TimmLR("cosine", cycle_limit=0), ValueError, r"`cycle_limit` to be an int >= 1"),
        (lambda: lrs.TimmLR("cosine", noise_range_t=[1, 2, 3]), ValueError, r"`noise_range_t` to be a time or a"),
        (lambda: lrs.TimmLR("cosine", warmup_t=2, warmup=2), ValueError, r"one of `warmup_t`"),
        (lambda: lrs.schedule_from_timm("cosine", num_epochs=-1), ValueError, r"`epochs` to be non-negative"),
    ],
    ids=lambda value: None,
)
def test_bad_timm_arguments_are_refused_at_construction(make, error, message) -> None:
    with pytest.raises(error, match=message):
        make()


def test_noise_std_is_kept_but_said_to_have_no_effect() -> None:
    with pytest.warns(UserWarning, match=r"`noise_std`=0\.5 has no effect: timm's noise is a standard normal"):
        callback = lrs.TimmLR("cosine", noise_range_t=0, noise_std=0.5)
    got = lrs.preview(callback, epochs=3, steps_per_epoch=1, lr=[0.1, 0.01])
    expected = timm_trace("cosine", epochs=3, per_epoch=1, t_initial=3, noise_range_t=0)
    assert flat(got) == pytest.approx(flat(expected), rel=1e-12)


def test_a_timm_checkpoint_loads_with_weights_only(tmp_path) -> None:
    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_last=True, save_top_k=0)
    callback = lrs.TimmLR("cosine", warmup_t=1, noise_range_t=[1, 3])
    trainer(tmp_path, max_epochs=2, callbacks=[callback, checkpoint], enable_checkpointing=True).fit(
        TinyModel(), make_loader()
    )
    assert torch.load(Path(checkpoint.last_model_path), weights_only=True)["global_step"] == 20


@pytest.mark.parametrize("sched", ["cosine", "tanh"])
def test_replan_on_resume_inside_timms_own_warmup_goes_on_as_timm_for_the_new_length(tmp_path, sched) -> None:
    """Resumed at update 4 of ``warmup_t=6`` into 50 updates from 30, ``t_initial`` omitted (the whole run): timm's
    cosine warms up the same way for any length, so the run goes on exactly as timm's for 50 updates. tanh without a
    prefix warms up to its lr at ``warmup_t``, which depends on the length: its plan is kept, and it says so. Before,
    both kept their plans ("cannot re-plan without a jump") and the cosine held lr_min over the last 20 updates."""
    from tests.test_run_changes import containing, replanned_resume

    def schedule(**more: Any) -> lrs.LRSchedulerCallback:
        return lrs.TimmLR(sched, interval="step", warmup_t=6, warmup_lr_init=1e-4, **more)

    resumed, messages = replanned_resume(tmp_path, schedule, 4, epochs=3, into=5)
    cfg = {"warmup_t": 6, "warmup_lr_init": 1e-4}
    if sched == "cosine":
        expected = timm_trace(sched, epochs=5, per_epoch=10, t_in_epochs=False, t_initial=50, **cfg)
        assert flat(resumed) == pytest.approx(flat(expected[4:]), rel=1e-12, abs=1e-18)
        assert containing(messages, "cannot re-plan") == []
    else:
        kept = timm_trace(sched, epochs=3, per_epoch=10, t_in_epochs=False, t_initial=30, **cfg)
        assert flat(resumed[:26]) == pytest.approx(flat(kept[4:]), rel=1e-12, abs=1e-18)
        assert len(containing(messages, "cannot re-plan")) == 1


def timm_from(row: list[float], sched: str, updates: int, **cfg: Any) -> list[list[float]]:
    """timm's scheduler on updates over ``updates`` updates, built on an optimizer whose groups are at the lrs ``row``
    (timm takes its base values from them): the rest of a cycle re-planned from the current lr."""
    optimizer = optimizer_at(row)
    scheduler = TimmModel(optimizer, sched, t_in_epochs=False, t_initial=updates, **cfg)
    trace = []
    for update in range(1, updates + 1):
        trace.append([group["lr"] for group in optimizer.param_groups])
        scheduler.step_update(update)
    return trace


@pytest.mark.parametrize(
    ("sched", "cfg", "t_initial"),
    [("cosine", {}, 30), ("poly", {"power": 2.0, "lr_min": 1e-4, "warmup_prefix": True}, 24), ("tanh", {}, 30)],
    ids=["cosine", "poly-prefix", "tanh"],
)
def test_replan_on_resume_past_timms_warmup_goes_on_from_the_current_lr_to_lr_min_at_the_new_end(
    tmp_path, sched, cfg, t_initial
) -> None:
    """Resumed at update 15 (past ``warmup_t=6``) into 50 updates from 30, ``t_initial`` omitted: a cosine or poly
    cycle goes on from the lrs it had down to ``lr_min`` at update 50, as timm's cycle over the 35 updates left built
    from those lrs; resumed again at update 30 into 60, the same over the 30 left. Before, it kept its 30-update plan
    ("cannot re-plan without a jump") and held ``lr_min`` over the last 20 updates. tanh's curve does not start at
    its peak, so a tanh started from the current lr would jump: it keeps its plan and says so."""
    from tests.test_run_changes import caught_messages, checkpoint_at, containing

    def schedule(**more: Any) -> lrs.LRSchedulerCallback:
        return lrs.TimmLR(sched, interval="step", warmup_t=6, warmup_lr_init=1e-4, **cfg, **more)

    first = checkpoint_at(tmp_path, schedule(), TinyModel(), 15, max_epochs=3)
    once, twice = LRRecorder(), LRRecorder()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "again", every_n_train_steps=15, save_top_k=-1)
    callbacks = [schedule(replan_on_resume=True), once, checkpoint]
    run = trainer(tmp_path / "b", max_epochs=5, callbacks=callbacks, enable_checkpointing=True)
    messages = caught_messages(lambda: run.fit(TinyModel(), make_loader(), ckpt_path=first, **SAFE_LOAD))
    kept = timm_trace(sched, epochs=3, per_epoch=10, t_in_epochs=False, t_initial=t_initial, warmup_t=6,
                      warmup_lr_init=1e-4, **cfg)  # fmt: skip
    decay = {key: value for key, value in cfg.items() if key != "warmup_prefix"}
    if sched == "tanh":
        assert flat(once.lrs[:15]) == pytest.approx(flat(kept[15:]), rel=1e-12, abs=1e-18)
        assert len(containing(messages, "cannot re-plan")) == 1
        return
    expected = timm_from(kept[15], sched, 35, **decay)
    assert flat(once.lrs) == pytest.approx(flat(expected), rel=1e-12, abs=1e-18)
    assert containing(messages, "cannot re-plan") == []
    second = str(next((tmp_path / "again").glob("*step=30.ckpt")))
    run = trainer(tmp_path / "c", max_epochs=6, callbacks=[schedule(replan_on_resume=True), twice])
    run.fit(TinyModel(), make_loader(), ckpt_path=second, **SAFE_LOAD)
    assert flat(twice.lrs) == pytest.approx(flat(timm_from(expected[15], sched, 30, **decay)), rel=1e-12, abs=1e-18)


@pytest.mark.parametrize("prefix", [False, True], ids=["inside", "prefix"])
def test_replan_on_resume_inside_a_warmup_t_given_as_a_share_keeps_its_length(tmp_path, prefix) -> None:
    """``warmup_t="20%"``: 6 of 30 updates. Resumed at update 4 into 50, where the share would be 10: the warmup keeps
    its running 6 updates, as the package's ``warmup`` does, and the run goes on as timm's cosine with ``warmup_t=6``
    for 50 updates (with ``warmup_prefix``, the cycle that fills the run is refilled: 44 updates after the warmup).
    Before, no value so far matched, it kept its 30-update plan ("cannot re-plan") and held lr_min over the last 20."""
    from tests.test_run_changes import containing, replanned_resume

    def schedule(**more: Any) -> lrs.LRSchedulerCallback:
        return lrs.TimmLR("cosine", interval="step", warmup_t="20%", warmup_lr_init=1e-4, warmup_prefix=prefix, **more)

    resumed, messages = replanned_resume(tmp_path, schedule, 4, epochs=3, into=5)
    expected = timm_trace("cosine", epochs=5, per_epoch=10, t_in_epochs=False, t_initial=44 if prefix else 50,
                          warmup_t=6, warmup_lr_init=1e-4, warmup_prefix=prefix)  # fmt: skip
    assert flat(resumed) == pytest.approx(flat(expected[4:]), rel=1e-12, abs=1e-18)
    assert containing(messages, "cannot re-plan") == containing(messages, "past the end") == []


def test_replan_on_resume_past_a_share_warmup_t_with_a_fixed_cycle_goes_on_as_planned(tmp_path) -> None:
    """``warmup_t="20%"`` (6 of 30 updates) with ``t_initial=30``: resumed at update 15 into 50, only the share of a
    warmup already run would move. It keeps its 6 updates, so nothing moved: the run goes on as timm's cycle planned,
    ``lr_min`` after update 30. Before, it rebuilt a new cycle from update 15's lr over the 15 updates left."""
    from tests.test_run_changes import containing, replanned_resume

    def schedule(**more: Any) -> lrs.LRSchedulerCallback:
        return lrs.TimmLR("cosine", interval="step", t_initial=30, warmup_t="20%", warmup_lr_init=1e-4, **more)

    resumed, messages = replanned_resume(tmp_path, schedule, 15, epochs=3, into=5)
    planned = timm_trace("cosine", epochs=5, per_epoch=10, t_in_epochs=False, t_initial=30, warmup_t=6,
                         warmup_lr_init=1e-4)  # fmt: skip
    assert flat(resumed) == pytest.approx(flat(planned[15:]), rel=1e-12, abs=1e-18)
    assert containing(messages, "cannot re-plan") == []
