"""transformers' twelve schedule names with their arguments equal transformers' own schedulers, step for step.

The reference is the installed transformers: ``get_scheduler(name, optimizer, num_warmup_steps,
num_training_steps, scheduler_specific_kwargs)`` stepped by hand (what its Trainer's ``create_scheduler`` does),
and its ``GreedyLR`` fed the same validation values.
"""

from __future__ import annotations

import inspect
import itertools
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers
from lightning.pytorch.callbacks import ModelCheckpoint
from transformers import SchedulerType

import lightning_lrsched as lrs
from lightning_lrsched.core.hf_schedules import FACTORIES
from tests.helpers import SAFE_LOAD, LRRecorder, TinyModel, flat, make_loader, make_optimizer, reference_trace, trainer
from tests.test_parity import ACCUMULATE, EPOCHS, PER_EPOCH, TOTAL
from tests.test_plateau import VALUES, LrAfterValidation, ScriptedModel
from tests.test_resume import StopAt, resumed_trace, run
from tests.test_run_changes import assert_lrs, by_hand, checkpoint_at, containing, replanned_resume

W = 3
WSD_VARIANTS = [
    {"warmup_type": up, "decay_type": down, "min_lr_ratio": 0.1}
    for up, down in itertools.product(("linear", "cosine", "1-sqrt"), repeat=2)
]
CASES: list[tuple[str, int, dict[str, Any]]] = [
    ("linear", W, {}),
    ("cosine", W, {}),
    ("cosine", W, {"num_cycles": 0.75}),  # fractional: ends a quarter wave up
    ("cosine", 0, {"num_cycles": 2.3}),
    ("cosine_with_restarts", W, {"num_cycles": 3}),  # restarts at steps 7 and 11 of 16: not on epoch boundaries
    ("cosine_with_restarts", 0, {"num_cycles": 2.5}),
    ("polynomial", W, {}),
    ("polynomial", W, {"lr_end": 1e-3, "power": 2.0}),
    ("constant", 0, {}),
    ("constant_with_warmup", W, {}),
    ("inverse_sqrt", W, {}),
    ("inverse_sqrt", W, {"timescale": 7}),
    ("cosine_with_min_lr", W, {"min_lr_rate": 0.1}),
    ("cosine_with_min_lr", W, {"min_lr": 0.005, "num_cycles": 0.75}),
    ("cosine_warmup_with_min_lr", W, {"min_lr_rate": 0.05}),
    ("cosine_warmup_with_min_lr", W, {"min_lr": 0.002, "warmup_lr_rate": 0.2}),
    *[("warmup_stable_decay", W, {"num_decay_steps": 5, **variant}) for variant in WSD_VARIANTS],
    ("warmup_stable_decay", W, {"num_decay_steps": 6, "num_cycles": 0.25}),
    ("warmup_stable_decay", W, {"num_decay_steps": 4, "num_stable_steps": 5}),  # ends early: min_lr_ratio after
]
IDS = [f"{name}-w{w}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for name, w, kw in CASES]


def transformers_schedule(name: str, warmup: int, total: int, kwargs: dict[str, Any]) -> Any:
    def build(optimizer: torch.optim.Optimizer) -> Any:
        specific = dict(kwargs)
        steps: int | None = total if "num_stable_steps" not in specific else None
        return transformers.get_scheduler(name, optimizer, warmup, steps, scheduler_specific_kwargs=specific)

    return build


def ours(name: str, warmup: int | str, kwargs: dict[str, Any]) -> lrs.LRSchedulerCallback:
    return lrs.schedule_from_name(name, **kwargs, **({"num_warmup_steps": warmup} if name != "constant" else {}))


@pytest.mark.parametrize(("name", "warmup", "kwargs"), CASES, ids=IDS)
def test_every_name_and_argument_equals_transformers_in_a_trainer_run(tmp_path, name, warmup, kwargs) -> None:
    recorder = LRRecorder()
    run_ = trainer(
        tmp_path,
        max_epochs=EPOCHS,
        accumulate_grad_batches=ACCUMULATE,
        callbacks=[ours(name, warmup, kwargs), recorder],
    )
    run_.fit(TinyModel(), make_loader())
    expected = reference_trace(
        transformers_schedule(name, warmup, TOTAL, kwargs), epochs=EPOCHS, steps_per_epoch=PER_EPOCH, interval="step"
    )
    assert flat(recorder.lrs) == pytest.approx(flat(expected), rel=1e-12, abs=1e-18)  # the same float operations


@pytest.mark.parametrize(("name", "warmup", "kwargs"), CASES, ids=IDS)
def test_every_name_resumed_mid_epoch_equals_the_uninterrupted_run(tmp_path, name, warmup, kwargs) -> None:
    def schedule() -> lrs.LRSchedulerCallback:
        return ours(name, warmup, kwargs)

    straight, _ = run(tmp_path / "straight", schedule, validate=False)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=15, save_last=True, save_top_k=0)
    trace, _ = resumed_trace(tmp_path, schedule, StopAt(step=15), validate=False, checkpoint=checkpoint)
    assert trace == straight.trace
    expected = reference_trace(transformers_schedule(name, warmup, 40, kwargs), epochs=4, steps_per_epoch=10,
                               interval="step")  # fmt: skip
    assert flat(lrs_ for _, lrs_ in trace) == pytest.approx(flat(expected), rel=1e-12, abs=1e-18)


def test_three_restarts_over_100_steps_fall_where_transformers_puts_them() -> None:
    """The issue's case: restarts at steps 34 and 67 of 100 (inside epochs of 30 steps), not at 30/60/90."""
    trace = [group[0] for group in lrs.preview(ours("cosine_with_restarts", 0, {"num_cycles": 3}), epochs=4,
                                                 steps_per_epoch=25, lr=1.0)]  # fmt: skip
    restarts = [step for step in range(1, 100) if trace[step] > trace[step - 1]]
    assert restarts == [34, 67]
    expected = reference_trace(transformers_schedule("cosine_with_restarts", 0, 100, {"num_cycles": 3}), epochs=4,
                               steps_per_epoch=25, interval="step")  # fmt: skip
    assert trace == pytest.approx([row[0] / 0.1 for row in expected], rel=1e-12)


@pytest.mark.parametrize(
    ("written", "steps"),
    [("25%", 4), ("1ep", 4), ("3 steps", 3)],
    ids=["percent", "epochs", "steps"],
)
def test_every_step_count_takes_a_duration(tmp_path, written, steps) -> None:
    kwargs = {"num_decay_steps": written, "num_cycles": 0.5, "min_lr_ratio": 0.1}
    recorder = LRRecorder()
    callback = lrs.TransformersLR("warmup_stable_decay", num_warmup_steps=written, **kwargs)
    trainer(tmp_path, max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, callbacks=[callback, recorder]).fit(
        TinyModel(), make_loader()
    )
    specific = {"num_decay_steps": steps, "num_cycles": 0.5, "min_lr_ratio": 0.1}
    expected = reference_trace(transformers_schedule("warmup_stable_decay", steps, TOTAL, specific), epochs=EPOCHS,
                               steps_per_epoch=PER_EPOCH, interval="step")  # fmt: skip
    assert flat(recorder.lrs) == pytest.approx(flat(expected), rel=1e-12)
    assert callback.resolved_lengths == {"num_warmup_steps": steps, "num_decay_steps": steps,
                                         "num_training_steps": TOTAL}  # fmt: skip


def test_a_float_warmup_is_a_share_rounded_up_as_training_arguments_does() -> None:
    total = 23  # 10% is 2.3 steps: transformers takes 3, a "10%" duration rounds to 2
    args = transformers.TrainingArguments(output_dir="unused", warmup_steps=0.1, report_to=[])
    assert args.get_warmup_steps(total) == 3
    callback = lrs.TransformersLR("linear", num_warmup_steps=0.1)
    trace = lrs.preview(callback, epochs=1, steps_per_epoch=total, lr=0.1)
    expected = reference_trace(transformers_schedule("linear", 3, total, {}), epochs=1, steps_per_epoch=total,
                               interval="step")  # fmt: skip
    assert [row[0] for row in trace] == pytest.approx([row[0] for row in expected], rel=1e-12)
    assert lrs.TransformersLR("linear", num_warmup_steps="10%")  # (a duration: round half up, 2 steps)


def test_the_package_warmup_prefix_gives_the_same_curve_for_linear_warmups() -> None:
    for name in ("linear", "cosine", "constant_with_warmup", "polynomial"):
        prefix = lrs.preview(lrs.schedule_from_name(name, warmup=4), epochs=2, steps_per_epoch=10, lr=0.1)
        inside = lrs.preview(lrs.schedule_from_name(name, num_warmup_steps=4), epochs=2, steps_per_epoch=10, lr=0.1)
        assert flat(prefix) == pytest.approx(flat(inside), rel=1e-12), name


def test_cosine_holds_its_end_past_num_training_steps_where_transformers_would_rise_again() -> None:
    trace = [row[0] for row in lrs.preview(lrs.TransformersLR("cosine", num_training_steps=10), epochs=2,
                                           steps_per_epoch=10, lr=1.0)]  # fmt: skip
    assert trace[10:] == [0.0] * 10
    assert trace[:10] == pytest.approx([0.5 * (1 + math.cos(math.pi * s / 10)) for s in range(10)])


# ------------------------------------------------------------------ errors at construction


SPECIFIC = [
    (name, parameter)
    for name, factory in FACTORIES.items()
    for parameter in inspect.signature(factory).parameters
    if parameter != "optimizer"
]


@pytest.mark.parametrize(("name", "parameter"), SPECIFIC, ids=[f"{n}-{p}" for n, p in SPECIFIC])
def test_a_misspelled_argument_of_every_name_is_named_at_construction(name, parameter) -> None:
    with pytest.raises(TypeError, match=rf"unknown argument `{parameter}x`=1\. Did you mean `{parameter}`\?"):
        lrs.schedule_from_name(name, **{f"{parameter}x": 1})


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: lrs.schedule_from_name("cosine", num_cycle=2), TypeError, r"`num_cycle`=2\. Did you mean"),
        (lambda: lrs.schedule_from_name("cosine", eta_min=0.1), TypeError, r"use `CosineAnnealingLR`"),
        (lambda: lrs.TransformersLR("cosine", num_cycles=0), ValueError, r"`num_cycles` to be positive, but got 0"),
        (lambda: lrs.TransformersLR("linear", num_warmup_steps=5, warmup=5), ValueError, r"both `num_warmup_steps`=5"),
        (lambda: lrs.TransformersLR("constant", num_warmup_steps=5), ValueError, r"'constant' has no warmup"),
        (lambda: lrs.TransformersLR("greedy"), ValueError, r"follows a validation metric"),
        (lambda: lrs.TransformersLR("cosin"), ValueError, r"`lr_scheduler_type` to be one of"),
        (lambda: lrs.TransformersLR("cosine_with_min_lr"), ValueError, r"exactly one of `min_lr` .* got neither"),
        (lambda: lrs.TransformersLR("cosine_with_min_lr", min_lr=1e-5, min_lr_rate=0.1), ValueError, r"got both"),
        (lambda: lrs.TransformersLR("cosine_warmup_with_min_lr", min_lr_rate=1.5), ValueError, r"`min_lr_rate` to"),
        (lambda: lrs.TransformersLR("warmup_stable_decay"), TypeError, r"needs `num_decay_steps`"),
        (lambda: lrs.TransformersLR("warmup_stable_decay", num_decay_steps=2, decay_type="exp"), ValueError,
         r"`decay_type` to be one of"),
        (lambda: lrs.TransformersLR("warmup_stable_decay", num_decay_steps=2, num_stable_steps=3, num_training_steps=9),
         ValueError, r"Give one of `num_training_steps` and `num_stable_steps`"),
        (lambda: lrs.TransformersLR("linear", num_warmup_steps="1 fortnight"), ValueError, r"`num_warmup_steps`"),
        (lambda: lrs.TransformersLR("polynomial", lr_end=-1.0), ValueError, r"`lr_end` to be non-negative"),
    ],
    ids=lambda value: None,
)  # fmt: skip
def test_bad_transformers_arguments_are_refused_at_construction(make, error, message) -> None:
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize(
    ("callback", "message"),
    [
        (lambda: lrs.TransformersLR("polynomial", lr_end=0.5), r"`lr_end`=0\.5 must be below the optimizer's lr"),
        (lambda: lrs.TransformersLR("linear", num_warmup_steps=40), r"`num_warmup_steps` is 40 steps, not shorter"),
    ],
    ids=["lr_end-above-lr", "warmup-as-long-as-the-run"],
)
def test_arguments_that_need_the_run_fail_at_fit_start(tmp_path, callback, message) -> None:
    with pytest.raises(ValueError, match=message):
        trainer(tmp_path, max_epochs=4, callbacks=[callback()]).fit(TinyModel(), make_loader())


# ------------------------------------------------------------------ the run changes


def second_phase(name: str, kwargs: dict[str, Any], lr_then: float) -> dict[str, Any]:
    """transformers' arguments for what remains after a re-plan from ``lr_then`` (group 0's lr; lr0 = 0.1)."""
    if name == "cosine_with_min_lr":
        return {"min_lr_rate": 0.1 * kwargs["min_lr_rate"] / lr_then}  # the same floor, 0.01
    if name == "polynomial":
        return {"lr_end": 0.1 * kwargs["lr_end"] / lr_then}  # the same end, lr_end
    return kwargs


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("linear", {}), ("cosine", {}), ("cosine_with_min_lr", {"min_lr_rate": 0.1}), ("polynomial", {"lr_end": 1e-4})],
)
def test_replan_on_resume_stretches_what_remains_to_the_new_end_without_a_jump(tmp_path, name, kwargs) -> None:
    def schedule(**extra: Any) -> lrs.LRSchedulerCallback:
        return lrs.schedule_from_name(name, num_warmup_steps=4, **kwargs, **extra)

    resumed, messages = replanned_resume(tmp_path, schedule, 10, epochs=2, into=4)
    assert containing(messages, "past the end") == []
    first = by_hand([(transformers_schedule(name, 4, 20, kwargs), 11)])
    lr_then = first[10][0]
    rest = second_phase(name, kwargs, lr_then)
    expected = by_hand(
        [(transformers_schedule(name, 4, 20, kwargs), 10), (transformers_schedule(name, 0, 30, rest), 30)]
    )
    assert_lrs(resumed, expected[10:])  # from the checkpoint's lr on, no jump, to the end at step 40
    floor = {"cosine_with_min_lr": 0.01, "polynomial": 1e-4}.get(name, 0.0)
    assert resumed[-1][0] == pytest.approx(floor, abs=lr_then / 25)  # (its last step: one 30th above)


@pytest.mark.parametrize(
    ("name", "kwargs"), [("linear", {}), ("cosine", {}), ("warmup_stable_decay", {"num_decay_steps": 8})]
)
def test_replan_on_resume_inside_transformers_own_warmup_goes_on_as_a_fresh_run_of_the_new_length(
    tmp_path, name, kwargs
) -> None:
    """Resumed at step 4 of ``num_warmup_steps=6`` into 50 steps from 30: the formula's warmup does not depend on the
    run's length, so the run goes on exactly as transformers' schedule for 50 steps. Before, it could not re-plan
    "without a jump", kept the 30-step plan and held lr 0 over the last 20 steps."""

    def schedule(**extra: Any) -> lrs.LRSchedulerCallback:
        return lrs.TransformersLR(name, num_warmup_steps=6, **kwargs, **extra)

    resumed, messages = replanned_resume(tmp_path, schedule, 4, epochs=3, into=5)
    expected = by_hand([(transformers_schedule(name, 6, 50, kwargs), 50)])
    assert_lrs(resumed, expected[4:])
    assert containing(messages, "cannot re-plan") == containing(messages, "past the end") == []


@pytest.mark.parametrize(("name", "share"), [("linear", 0.2), ("cosine", "20%")])
def test_replan_on_resume_inside_a_warmup_given_as_a_share_keeps_its_length(tmp_path, name, share) -> None:
    """``num_warmup_steps`` as a share (transformers' ``warmup_ratio``): 6 steps of 30. Resumed at step 4 into 50 steps,
    where the share would be 10: the warmup keeps its running 6 steps, as the package's ``warmup`` does, and the run
    goes on as transformers' schedule with 6 warmup steps of 50. Before, it kept its 30-step plan ("cannot re-plan")
    and held lr 0 over the last 20 steps."""

    def schedule(**extra: Any) -> lrs.LRSchedulerCallback:
        return lrs.TransformersLR(name, num_warmup_steps=share, **extra)

    resumed, messages = replanned_resume(tmp_path, schedule, 4, epochs=3, into=5)
    assert_lrs(resumed, by_hand([(transformers_schedule(name, 6, 50, {}), 50)])[4:])
    assert containing(messages, "cannot re-plan") == containing(messages, "past the end") == []


@pytest.mark.parametrize(
    ("name", "kwargs", "step"),
    [("cosine", {}, 15), ("warmup_stable_decay", {"num_decay_steps": 10}, 25)],
    ids=["cosine-at-15", "wsd-at-25"],
)
def test_replan_on_resume_past_a_share_warmup_with_a_fixed_end_goes_on_as_planned(tmp_path, name, kwargs, step) -> None:
    """``num_warmup_steps='20%'`` (6 of 30) with ``num_training_steps=30``: resumed past the warmup into 50 steps, only
    the share of a warmup already run would move. It keeps its 6 steps, so nothing moved: the schedule goes on as
    planned (a cosine at step 15; WSD inside its decay at step 25) and holds its end from step 30. Before, it rebuilt a
    new decay from the resumed step's lr over the steps left to 30."""

    def schedule(**extra: Any) -> lrs.LRSchedulerCallback:
        return lrs.TransformersLR(name, num_warmup_steps="20%", num_training_steps=30, **kwargs, **extra)

    resumed, messages = replanned_resume(tmp_path, schedule, step, epochs=3, into=5)
    specific = {**kwargs, "num_stable_steps": 14} if name == "warmup_stable_decay" else kwargs  # (30 - 6 - 10)
    planned = by_hand([(transformers_schedule(name, 6, 30, specific), 30)])
    assert_lrs(resumed, planned[step:] + [[0.0, 0.0]] * 20)
    assert containing(messages, "cannot re-plan") == []


def test_replan_on_resume_moves_the_transformers_wsd_decay_to_the_new_end(tmp_path) -> None:
    def schedule(**extra: Any) -> lrs.LRSchedulerCallback:
        return lrs.TransformersLR("warmup_stable_decay", num_decay_steps="20%", min_lr_ratio=0.1, **extra)

    path = checkpoint_at(tmp_path, schedule(), TinyModel(), 10, max_epochs=2)
    recorder = LRRecorder()
    trainer(tmp_path / "b", max_epochs=4, callbacks=[schedule(replan_on_resume=True), recorder]).fit(
        TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD
    )
    specific = {"num_decay_steps": 8, "min_lr_ratio": 0.1}  # stable until 80% of the new 40 steps, then 8 of decay
    assert_lrs(recorder.lrs, by_hand([(transformers_schedule("warmup_stable_decay", 0, 40, specific), 40)])[10:])


# ------------------------------------------------------------------ GreedyLR and ReduceLROnPlateau by name


@pytest.mark.parametrize(
    "kwargs",
    [{"patience": 1}, {"patience": 0, "factor": 0.5, "cooldown": 1}, {"patience": 1, "wait_after_increase": 2},
     {"patience": 0, "smooth": True, "window_size": 3}, {"patience": 0, "factor": 0.5, "min_lr": 0.05,
     "reset_start": 2, "threshold_mode": "rel", "threshold": 0.01},
     {"patience": 0, "factor": 0.5, "mode": "max"}],
    ids=["defaults", "cooldown", "wait", "smooth", "reset", "max"],
)  # fmt: skip
def test_greedy_equals_transformers_greedy_fed_the_same_values(tmp_path, kwargs) -> None:
    probe = LrAfterValidation()
    schedule = lrs.schedule_from_name("greedy", **kwargs)
    trainer(tmp_path, max_epochs=len(VALUES), callbacks=[schedule, probe]).fit(
        ScriptedModel(), make_loader(), make_loader(6)
    )
    optimizer = make_optimizer()
    hf = {**kwargs}
    if "wait_after_increase" in hf:
        hf["warmup"] = hf.pop("wait_after_increase")
    reference = transformers.optimization.GreedyLR(optimizer, **hf)
    expected = []
    for value in VALUES:
        reference.step(value)
        expected.append(optimizer.param_groups[0]["lr"])
    assert probe.lrs == pytest.approx(expected, rel=1e-12)
    assert len(set(probe.lrs)) > 1  # the case moves the lr


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_greedy_improvement_rule_equals_torchs_plateau_comparison(mode, threshold_mode) -> None:
    from lightning_lrsched.core.greedy import _GreedySchedule

    greedy = _GreedySchedule(make_optimizer(), mode=mode, threshold_mode=threshold_mode, threshold=0.05)
    torchs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        make_optimizer(), mode=mode, threshold_mode=threshold_mode, threshold=0.05
    )
    compare = getattr(torchs, "is_better", None) or torchs._is_better  # (public before torch 2.5)
    deltas = (-0.2, -0.06, -0.04, 0.0, 0.04, 0.06, 0.2)  # (on both sides of the threshold, rel or abs)
    cases = [(best, best + delta) for best in (-2.0, 0.5, 1.0, 3.0) for delta in deltas]
    answers = []
    for best, value in cases:
        greedy.best = torchs.best = best
        answers.append(greedy._improves(value))
        assert answers[-1] == compare(value, best), (best, value)
    assert True in answers
    assert False in answers


def test_greedy_resumed_between_validations_equals_the_uninterrupted_run(tmp_path) -> None:
    def schedule() -> lrs.LRSchedulerCallback:
        return lrs.GreedyLR(patience=0, factor=0.5, smooth=True, window_size=2, cooldown=1)

    def fit(folder: Path, epochs: int, **kwargs: Any) -> LrAfterValidation:
        probe = LrAfterValidation()
        model = ScriptedModel()
        if "ckpt_path" in kwargs:
            model.runs = 4  # (the scripted values go on where the first fit stopped)
        extra = kwargs.pop("callbacks", [])
        trainer(folder, max_epochs=epochs, callbacks=[schedule(), probe, *extra], **kwargs.pop("options", {})).fit(
            model, make_loader(), make_loader(6), **kwargs
        )
        return probe

    straight = fit(tmp_path / "straight", 8)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)
    first = fit(tmp_path / "a", 4, callbacks=[checkpoint], options={"enable_checkpointing": True})
    second = fit(tmp_path / "b", 8, ckpt_path=checkpoint.last_model_path, **SAFE_LOAD)
    assert first.lrs + second.lrs == straight.lrs
    assert len(set(straight.lrs)) > 2


def test_every_transformers_name_is_known() -> None:
    names = {member.value for member in SchedulerType}
    assert len(names) == 12
    assert names <= set(lrs.SCHEDULE_NAMES)
    assert isinstance(lrs.schedule_from_name("greedy"), lrs.GreedyLR)
    assert type(lrs.schedule_from_name("reduce_lr_on_plateau", patience=2)) is lrs.ReduceLROnPlateau
    needs = {"cosine_with_min_lr": {"min_lr_rate": 0.1}, "cosine_warmup_with_min_lr": {"min_lr_rate": 0.1},
             "warmup_stable_decay": {"num_decay_steps": 1}}  # fmt: skip
    assert all(isinstance(lrs.schedule_from_name(n, **needs.get(n, {})), lrs.TransformersLR) for n in FACTORIES)


# ------------------------------------------------------------------ schedule_from_hf


def hf_trainer_schedule(args: transformers.TrainingArguments, total: int) -> Any:
    """What transformers' Trainer.create_scheduler builds for these arguments and a run of ``total`` steps."""

    def build(optimizer: torch.optim.Optimizer) -> Any:
        return transformers.get_scheduler(args.lr_scheduler_type, optimizer, args.get_warmup_steps(total), total,
                                          scheduler_specific_kwargs=args.lr_scheduler_kwargs)  # fmt: skip

    return build


@pytest.mark.parametrize(
    "settings",
    [{"lr_scheduler_type": "linear", "warmup_steps": 0.1}, {"lr_scheduler_type": "cosine", "warmup_steps": 5},
     {"lr_scheduler_type": "cosine_with_restarts", "lr_scheduler_kwargs": {"num_cycles": 3}},
     {"lr_scheduler_type": "cosine_with_min_lr", "warmup_steps": 0.15, "lr_scheduler_kwargs": {"min_lr": 1e-3}},
     {"lr_scheduler_type": "warmup_stable_decay", "warmup_steps": 4,
      "lr_scheduler_kwargs": {"num_decay_steps": 10, "decay_type": "1-sqrt"}},
     {"lr_scheduler_type": "polynomial", "lr_scheduler_kwargs": '{"lr_end": 1e-4, "power": 3}'}],
    ids=["linear-ratio", "cosine", "restarts", "min-lr", "wsd", "poly-json"],
)  # fmt: skip
def test_training_arguments_give_the_hf_trainer_schedule(tmp_path, settings) -> None:
    args = transformers.TrainingArguments(output_dir=str(tmp_path), report_to=[], **settings)
    recorder = LRRecorder()
    trainer(tmp_path, max_epochs=4, callbacks=[lrs.schedule_from_hf(args), recorder]).fit(TinyModel(), make_loader())
    expected = reference_trace(hf_trainer_schedule(args, 40), epochs=4, steps_per_epoch=10, interval="step")
    assert flat(recorder.lrs) == pytest.approx(flat(expected), rel=1e-12, abs=1e-18)
    explicit = lrs.schedule_from_hf(**settings)
    assert flat(lrs.preview(explicit, epochs=4, steps_per_epoch=10, lr=0.1)) == pytest.approx([r[0] for r in expected])


def test_schedule_from_hf_metric_schedules_and_warmup_rules(tmp_path) -> None:
    plateau = transformers.TrainingArguments(output_dir=str(tmp_path), report_to=[], eval_strategy="epoch",
                                             lr_scheduler_type="reduce_lr_on_plateau",
                                             metric_for_best_model="accuracy")  # fmt: skip
    callback = lrs.schedule_from_hf(plateau)
    assert (type(callback), callback.monitor, callback.mode) == (lrs.ReduceLROnPlateau, "val_accuracy", "max")
    greedy = lrs.schedule_from_hf(lr_scheduler_type="greedy", lr_scheduler_kwargs={"warmup": 2, "patience": 1})
    assert (greedy.monitor, greedy.schedule._kwargs["wait_after_increase"], greedy.warmup_length) == (
        "val_loss",
        2,
        None,
    )
    assert lrs.schedule_from_hf(lr_scheduler_type="greedy", monitor="val_f1").monitor == "val_f1"
    assert lrs.schedule_from_hf(warmup_ratio=0.1).schedule._warmup_ratio == 0.1  # transformers 4's setting
    with pytest.warns(UserWarning, match=r"'constant' schedule has no warmup"):
        constant = lrs.schedule_from_hf(lr_scheduler_type="constant", warmup_steps=10)
    assert lrs.preview(constant, epochs=1, steps_per_epoch=4, lr=0.1) == [[0.1]] * 4
    with pytest.raises(ValueError, match=r"`warmup_steps`=5 and `warmup_ratio`=0\.1; give one"):
        lrs.schedule_from_hf(warmup_steps=5, warmup_ratio=0.1)
    with pytest.raises(ValueError, match=r"Got `training_args` and also `warmup_steps`"):
        lrs.schedule_from_hf(plateau, warmup_steps=3)
    with pytest.raises(ValueError, match=r"`lr_scheduler_type` to be one of"):
        lrs.schedule_from_hf(lr_scheduler_type="cosine_annealing")
    with pytest.raises(TypeError, match=r"`lr_scheduler_kwargs` to be a dict or JSON text"):
        lrs.schedule_from_hf(lr_scheduler_kwargs=[1])


def test_a_transformers_checkpoint_state_loads_with_weights_only(tmp_path) -> None:
    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_last=True, save_top_k=0)
    callback = lrs.schedule_from_name("cosine_warmup_with_min_lr", num_warmup_steps=3, min_lr=1e-3)
    trainer(tmp_path, max_epochs=1, callbacks=[callback, checkpoint], enable_checkpointing=True).fit(
        TinyModel(), make_loader()
    )
    state = torch.load(Path(checkpoint.last_model_path), weights_only=True)["callbacks"]
    assert any("FormulaLR" in str(value) or "cosine_warmup_with_min_lr" in str(value) for value in state.values())


def test_resuming_with_another_transformers_name_is_an_error_naming_both(tmp_path) -> None:
    path = checkpoint_at(tmp_path, lrs.TransformersLR("linear"), TinyModel(), 10, max_epochs=2)
    run_ = trainer(tmp_path / "b", max_epochs=2, callbacks=[lrs.TransformersLR("cosine")])
    with pytest.raises(ValueError, match=r"written by `TransformersLR\[linear\]`, but this callback is `Transformers"):
        run_.fit(TinyModel(), make_loader(), ckpt_path=path, **SAFE_LOAD)


def test_the_hparams_name_the_vocabulary_and_the_kind_briefly(tmp_path) -> None:
    from lightning.pytorch.loggers import TensorBoardLogger

    from tests.test_logging import hparams_definition

    logger = TensorBoardLogger(tmp_path, name="tb")
    trainer(tmp_path, max_epochs=2, logger=logger, callbacks=[lrs.TransformersLR("cosine", num_warmup_steps=2)]).fit(
        TinyModel(), make_loader(), make_loader(6)
    )
    _, _, values = hparams_definition(logger.log_dir)
    assert values["lr_schedule"] == "hf:cosine"  # (a table cell: short)
    assert values["lr_schedule/plan"] == "TransformersLR[cosine](num_warmup_steps=2, num_training_steps=20) per step"
