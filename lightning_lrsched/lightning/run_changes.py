"""How a schedule callback follows a run that changes after fit start (the Lightning side of it).

Each function reads one kind of change off the Trainer and tells the :class:`~lightning_lrsched.core.timeline.Timeline`:
epochs that change size (a ``GradientAccumulationScheduler``'s are planned for from the fit's start), an optimizer
that steps at another rate than one step per batch, a fit that starts at a position the schedule has no state for,
StochasticWeightAveraging taking over, validation that never runs. The docs page "Resume and run changes" lists what
each case does.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import StochasticWeightAveraging
from lightning.pytorch.utilities import rank_zero_warn
from torch.optim import Optimizer

from lightning_lrsched import privates
from lightning_lrsched.core.duration import TrainingLength
from lightning_lrsched.core.plan import saved_sizes
from lightning_lrsched.core.timeline import REPLAN_TOLERANCE, Timeline, catch_up, ended_text
from lightning_lrsched.namespaces import classes, overrides


def steps_per_epoch_now(trainer: pl.Trainer, rate: float, accumulate: int | None = None) -> float:
    """Optimizer steps in the epoch about to run: its batches over the accumulation, times the measured ``rate``.

    With ``accumulate``, those of an epoch of the same batches at that accumulation.
    """
    batches = float(trainer.num_training_batches)
    if not math.isfinite(batches) or batches <= 0:
        return math.inf
    every = trainer.accumulate_grad_batches if accumulate is None else accumulate
    return max(round(math.ceil(batches / every) * rate), 1)


def accumulation_sizes(trainer: pl.Trainer, epoch: int, rate: float) -> tuple[tuple[int, float], ...]:
    """The epochs' sizes a ``GradientAccumulationScheduler`` sets from epoch ``epoch`` on, at the current batches.

    ``(epoch, optimizer steps per epoch from it)`` pairs, the first at ``epoch``, then one where the size changes
    (see ``TrainingLength.resized``); none without such a callback, or for data without a length.
    """
    scheduler = _accumulation(trainer)
    if scheduler is None or not math.isfinite(steps_per_epoch_now(trainer, rate)):
        return ()
    sizes: list[tuple[int, float]] = []
    for first in (epoch, *(key for key in scheduler.epochs if key > epoch)):
        size = steps_per_epoch_now(trainer, rate, scheduler.get_accumulate_grad_batches(first))
        if not sizes or size != sizes[-1][1]:
            sizes.append((first, size))
    return tuple(sizes)


def _accumulation(trainer: pl.Trainer) -> Any | None:
    """The Trainer's ``GradientAccumulationScheduler`` (under either name of Lightning), or None."""
    accumulating = classes("callbacks", "GradientAccumulationScheduler")
    return next((c for c in trainer.callbacks if isinstance(c, accumulating)), None)  # type: ignore[attr-defined]


def accumulation_at(trainer: pl.Trainer, epoch: int) -> int:
    """``accumulate_grad_batches`` in epoch ``epoch``: by its ``GradientAccumulationScheduler``, else the Trainer's."""
    scheduler = _accumulation(trainer)
    return int(trainer.accumulate_grad_batches if scheduler is None else scheduler.get_accumulate_grad_batches(epoch))


def fit_length(trainer: pl.Trainer, rate: float | None) -> TrainingLength:
    """The run's length at fit start (:func:`scaled` to the optimizer's ``rate``), as the Trainer estimates it.

    With a ``GradientAccumulationScheduler``, each epoch counts the steps its accumulation gives it, where the
    Trainer's estimate counts every epoch at the accumulation before the first (``max_steps`` still bounds).
    """
    length = TrainingLength.from_trainer(trainer)
    sizes = accumulation_sizes(trainer, 0, 1.0)
    if sizes and math.isfinite(length.steps_per_epoch):
        length = dataclasses.replace(length, steps_per_epoch=sizes[0][1], resized=sizes[1:])
        if trainer.max_epochs is not None and trainer.max_epochs != -1:  # (else `max_steps` alone bounds the run)
            total = int(length.steps_in(max(trainer.max_epochs, 1)))  # (at least one epoch, as Lightning counts)
            total = min(total, trainer.max_steps) if trainer.max_steps != -1 else total
            length = dataclasses.replace(length, total_steps=total)
    return scaled(length, rate)


def steps_left_in_epoch(trainer: pl.Trainer, after: int = 0) -> float:
    """Optimizer steps Lightning takes from the batch that starts to the end of its epoch (automatic optimization).

    In manual optimization (no accumulation) these are the batches left. Lightning steps after every
    ``accumulate_grad_batches``-th batch of an epoch and after its last one; the batch
    that starts is ``batch_progress.current.ready`` (counted from 1, with a resumed epoch's earlier batches). With
    ``after``, from that many batches later (at a batch's end, ``after=1``: the steps still to come).
    """
    batches = float(trainer.num_training_batches)
    if not math.isfinite(batches):
        return math.inf
    return _steps_from(trainer, trainer.fit_loop.epoch_loop.batch_progress.current.ready + after)


def epochs_left(trainer: pl.Trainer, after: int) -> list[float]:
    """Optimizer steps Lightning takes in its epochs from the batch ``after`` batches after the one that starts.

    The steps left in this epoch (:func:`steps_left_in_epoch`), then, when that batch lies in a later epoch (the
    batches before it skipped by a rewind), the steps of each epoch up to it: 0 for one skipped whole. With a
    ``GradientAccumulationScheduler``, a later epoch counts at the accumulation it gives it, and the sizes go on to
    its last change: after a rewind into an earlier epoch, the schedule counts its epochs behind the run's, and
    its epochs then take the run's sizes, not those of the epochs its count names.
    """
    sizes, last = [steps_left_in_epoch(trainer, after)], float(trainer.num_training_batches)
    skipped = trainer.fit_loop.epoch_loop.batch_progress.current.ready + after - 1 - last  # (in the epochs after)
    scheduler, epoch = _accumulation(trainer), trainer.current_epoch
    last_change = max(scheduler.epochs) if scheduler is not None else 0
    while math.isfinite(last) and (skipped > 0 or epoch < last_change):
        epoch += 1
        sizes.append(_steps_from(trainer, max(int(skipped), 0) + 1, accumulation_at(trainer, epoch)))
        skipped -= last
    return sizes


def _steps_from(trainer: pl.Trainer, first: int, every: int | None = None) -> float:
    """Optimizer steps Lightning takes in an epoch from its batch ``first`` (counted from 1) to its end.

    The epoch accumulates ``every`` batches a step (by default the Trainer's current ``accumulate_grad_batches``).
    """
    last, every = int(trainer.num_training_batches), every or trainer.accumulate_grad_batches
    if first > last:
        return 0
    return last // every - (first - 1) // every + (1 if last % every else 0)


def length_from_now(
    trainer: pl.Trainer, timeline: Timeline, per_epoch: float, *, epoch: int, start: float | None = None
) -> TrainingLength:
    """The run's length if epoch ``epoch`` and all after it take ``per_epoch`` steps each (``max_steps`` still bounds).

    Epoch ``epoch`` starts at optimizer step ``start`` of the timeline's position; by default where its current
    epoch started, or now when it is the next one. The length counts the run's steps as the Trainer does (as its
    estimate at fit start did): the steps that rewinds took back from the schedule count.
    """
    total = math.inf
    max_epochs, position = trainer.max_epochs, timeline.position
    sizes = accumulation_sizes(trainer, epoch, timeline.plan.steps_per_batch)  # (the later epochs', by accumulation)
    length = TrainingLength(math.inf, per_epoch, timeline.plan.length.unbounded, sizes)
    if start is None:
        start = position.epoch_start_steps if epoch == position.epochs else position.steps
    # the run's steps, as the Trainer counts them: those that rewinds took back from the schedule were taken
    start, taken = start + position.undone, position.steps + position.undone
    if max_epochs is not None and max_epochs >= 0 and math.isfinite(per_epoch):
        total = start + length.steps_in(max(max_epochs - epoch, 0), start=epoch)
    if trainer.max_steps is not None and trainer.max_steps >= 0:
        # `max_steps` counts the Trainer's steps: this optimizer's share of them so far carries on
        share = taken / trainer.global_step if trainer.global_step else 1.0
        total = min(total, taken + max(trainer.max_steps - trainer.global_step, 0) * share)
    return dataclasses.replace(length, total_steps=total)


def follow_epoch_size(trainer: pl.Trainer, timeline: Timeline) -> None:
    """At an epoch start: when this epoch has another number of optimizer steps than planned, re-plan."""
    if trainer.current_epoch == 0 or timeline.position.handed_over is not None:
        return  # the plan was made from the first epoch's size; after SWA's start the schedule sets no lr
    per_epoch = steps_per_epoch_now(trainer, timeline.plan.steps_per_batch)
    planned = timeline.plan.length.epoch_size(trainer.current_epoch)
    if not math.isfinite(per_epoch) or per_epoch == planned or not math.isfinite(timeline.plan.steps):
        return
    why = f"epochs of {per_epoch:g} optimizer steps from epoch {trainer.current_epoch}"
    before = timeline.plan.steps
    length = length_from_now(trainer, timeline, per_epoch, epoch=trainer.current_epoch)
    if timeline.replan(length, why, epochs_kept=True) == "rebuilt":
        rate = timeline.plan.steps_per_batch
        cause = f"{trainer.num_training_batches:g} batches, `accumulate_grad_batches`={trainer.accumulate_grad_batches}"
        cause += f", {rate:g} optimizer steps a batch" if rate != 1 else ""
        timeline.warn.once(
            "epoch-size",
            f"{timeline.name}: the epochs of this run changed size, from {planned:g} to {per_epoch:g} optimizer"
            f" steps at epoch {trainer.current_epoch} (now {cause}). What remains of the schedule"
            f" is re-planned for {timeline.plan.steps:g} optimizer steps in all (it was {before:g}), continuing from"
            f" the current lr {timeline.planned.written[0]:.3g}; lengths given as fixed durations keep their places."
            " Later changes of epoch size are followed without another warning.",
        )


def follow_resumed_epoch(
    trainer: pl.Trainer, timeline: Timeline, estimate: TrainingLength, saved: TrainingLength | None = None
) -> None:
    """At the first batch of a resumed fit (in an epoch's middle or at its start): plan for the steps really left.

    The Trainer's ``estimate`` counts whole epochs of this fit's size, but the epochs before (and the resumed epoch's
    first batches) ran in the checkpoint's run, which may have had another ``accumulate_grad_batches`` or epoch size; a
    checkpoint written at an epoch's end (``ModelCheckpoint``'s default) resumes at the next epoch's start. A plan made
    for this fit (fresh, caught up, or re-planned on resume) is re-planned for the steps really left; epochs of another
    size than the plan's are followed as at an epoch start. A checkpoint's plan that was kept stays. The resumed epoch's
    own size (its steps before and after the resume) is the plan's for it, where a schedule counts fractions of epochs
    (``CosineAnnealingWarmRestarts`` per step: from the resumed step on, as after a rewind). The steps of an optimizer
    at its own rate (manual optimization, ``steps_per_batch``) are not Lightning's to count: only its epochs' size is
    followed. Where the checkpoint's run (its epochs' sizes: ``saved``) had this epoch at this fit's size, the
    epoch's first steps ran at it: the run is as planned, whatever rewinds and skipped batches did to the schedule's
    own count.
    """
    plan, position = timeline.plan, timeline.position
    if not trainer.lightning_module.automatic_optimization or plan.steps_per_batch != 1.0:
        follow_epoch_size(trainer, timeline)
        return
    per_epoch = steps_per_epoch_now(trainer, 1.0)
    left = steps_left_in_epoch(trainer)
    if position.handed_over is not None or not all(map(math.isfinite, (per_epoch, left, plan.steps))):
        return
    epoch = trainer.current_epoch
    same_size = saved is not None and saved.epoch_size(epoch) == per_epoch  # (its first steps ran at this size)
    if not same_size:  # its first steps ran at the checkpoint's size, the rest at this fit's: it ends with this fit's
        timeline.end_epoch_with_run(epochs_left(trainer, 0))  # (fractions follow from the resumed step; later sizes)
    length = length_from_now(trainer, timeline, per_epoch, epoch=epoch + 1, start=position.steps + left)
    resized = per_epoch != plan.length.epoch_size(epoch)  # (the estimate counted this epoch at another size)
    for_this_fit = plan.length == estimate and plan.steps == estimate.total_steps  # (not a checkpoint's kept plan)
    if not resized and (same_size or not for_this_fit or length.total_steps == plan.steps):
        return
    if timeline.schedule.ends and plan.behind(position, timeline.interval) and length.total_steps > plan.steps:
        timeline.warn.once("plan-end", ended_text(timeline, length))  # (as at fit start: nothing is left to stretch)
        return
    before, done = plan.steps, position.steps + position.undone
    if trainer.fit_loop.epoch_loop.batch_progress.current.ready > 1:
        why = f"epoch {epoch} resumed in its middle with {left:g} optimizer steps left, then epochs of {per_epoch:g}"
        where = f"in the middle of epoch {epoch}, which has {left:g} optimizer steps left"
    else:
        why = f"epoch {epoch} resumed at its start after {done:g} optimizer steps, epochs of {per_epoch:g} from it"
        where = f"at the start of epoch {epoch}, after {done:g} optimizer steps"
    if timeline.replan(length, why, epochs_kept=True) == "rebuilt":
        timeline.warn.once(
            "resumed-epoch",
            f"{timeline.name}: this fit resumed {where}, and {resumed_size(trainer, epoch, per_epoch)}; the plan of"
            f" {before:g} steps in all did not count on that. What remains of the schedule is re-planned for"
            f" {plan.steps:g} optimizer steps in all, continuing from the current lr"
            f" {timeline.planned.written[0]:.3g}.",
        )


def resumed_size(trainer: pl.Trainer, epoch: int, per_epoch: float) -> str:
    """The size of a resumed epoch that the plan did not count on, and its likely cause, for a re-plan's warning.

    Lightning calls no ``on_train_epoch_start`` for an epoch that a checkpoint resumes in its middle (nor for the
    next one, where the checkpoint was written after an epoch's last batch, before its end), so a
    ``GradientAccumulationScheduler`` does not set that epoch's accumulation: it runs at the Trainer's (1).
    """
    scheduled, running = accumulation_at(trainer, epoch), int(trainer.accumulate_grad_batches)
    if scheduled == running:
        return (
            f"epochs of {per_epoch:g} optimizer steps follow (another `accumulate_grad_batches` or epoch size than"
            " the checkpoint's run?)"
        )
    return (
        f"epoch {epoch} has {per_epoch:g} optimizer steps: Lightning resumed it without calling"
        f" `on_train_epoch_start`, so it runs at `accumulate_grad_batches={running}`, not the {scheduled} that"
        " GradientAccumulationScheduler sets for it (later epochs get theirs)"
    )


def validations_done(trainer: pl.Trainer) -> int | None:
    """Validation batches the fit loop counts as done (its public progress), or None where it has no such count.

    The current run's count: Lightning adds a validation it skips on resume to it, and resets the total's at an
    epoch's end.
    """
    progress = getattr(getattr(trainer.fit_loop.epoch_loop, "val_loop", None), "batch_progress", None)
    return getattr(getattr(progress, "current", None), "completed", None)


def validation_after_ended_epoch(trainer: pl.Trainer) -> bool | None:
    """At train start: whether a validation followed the batch the checkpoint was written after, an epoch's last.

    None where the restored loops are elsewhere (a fresh fit, or a checkpoint of an epoch's middle: there Lightning
    counts the validation it skips, see :func:`validations_done`). A checkpoint written at the end of an epoch's last
    batch resumes at the next epoch, and Lightning neither runs the validation that followed nor counts it (its
    check runs at the next epoch's first batch instead). So its own rule decides, on the Trainer's public values:
    ``check_val_every_n_epoch``, then ``val_check_interval`` in batches, counted in the epoch (in the run without an
    epoch cadence); a run validated at its epochs' ends only has an infinite ``val_check_batch`` or the epoch's size.
    A time-based interval (no ``val_check_batch``) may have validated there: it counts as one that did.
    """
    progress = trainer.fit_loop.epoch_loop.batch_progress
    if not (progress.is_last_batch and progress.current.completed == progress.current.ready - 1):
        return None
    epoch, every = trainer.current_epoch - 1, trainer.check_val_every_n_epoch  # (the fit loop has ended the epoch)
    if not trainer.enable_validation or (every is not None and (epoch + 1) % every):
        return False
    batches = trainer.val_check_batch
    if batches is None or not math.isfinite(batches):
        return True
    done = trainer.fit_loop.total_batch_idx if every is None else progress.current.ready - 1
    return (done + 1) % int(batches) == 0


def warn_skipped_validation(timeline: Timeline, step: int) -> None:
    """Lightning skipped the validation that followed the checkpoint's batch: a monitored value is missing.

    A checkpoint written at the end of a training batch (``ModelCheckpoint(every_n_train_steps=...)``) holds the
    state from before the validation that follows that batch; resumed, Lightning counts that validation as done
    without running it. A schedule that monitors a validation metric then goes on without its value, as
    Lightning's own plateau schedulers and ``EarlyStopping`` do, and its lrs can differ from the uninterrupted run's.
    ``step`` is the resumed global step, the one the checkpoint's name gives (the schedule's own count is behind it
    by the steps rewinds took back).
    """
    watched = sorted(validation_monitors(timeline))
    if not watched:
        return
    timeline.warn.once(
        "skipped-validation",
        f"{timeline.name} monitors {watched}, but this fit resumed from a checkpoint written at the end of a"
        f" training batch (step {step}), before the validation that followed it;"
        " Lightning does not run that validation again, so the schedule goes on without its value (as"
        " Lightning's own schedulers and EarlyStopping do): a reduction it would have made comes later, or not"
        " at all, and the lrs can differ from an uninterrupted run's. To resume with every value, let the"
        " checkpoints be written after validation: a `ModelCheckpoint` without `every_n_train_steps` saves there.",
    )


def follow_step_rate(trainer: pl.Trainer, timeline: Timeline, steps_in_epoch: int) -> float | None:
    """At the end of the first whole epoch of a fit: an optimizer that steps at another rate than planned re-plans.

    Returns:
        The measured steps per planned step (e.g. 0.5 for a GAN generator stepping every second batch), or None
        when the rate is as planned.
    """
    planned = timeline.plan.length.steps_per_epoch
    if not math.isfinite(planned) or planned <= 0 or abs(steps_in_epoch - planned) <= REPLAN_TOLERANCE * planned:
        return None
    rate = steps_in_epoch / planned
    why = f"{steps_in_epoch} optimizer steps per epoch measured, {planned:g} planned"
    before = timeline.plan.steps
    length = length_from_now(trainer, timeline, steps_in_epoch, epoch=trainer.current_epoch + 1)
    outcome = timeline.replan(length, why, epochs_kept=True)
    took = (
        f"{timeline.name}: {type(timeline.optimizer).__name__} took {steps_in_epoch} optimizer steps in epoch"
        f" {trainer.current_epoch}, where the Trainer's estimate (one step per batch) gave {planned:g}."
    )
    if outcome == "rebuilt":
        timeline.warn.once(
            "step-rate",
            f"{took} What remains of the schedule now follows this optimizer's own rate: {timeline.plan.steps:g}"
            f" optimizer steps in all instead of {before:g}. Pass `steps_per_batch={rate:g}` to plan it from the"
            " first step.",
        )
    elif outcome == "kept":  # (the schedule said it cannot re-plan; what fixes that here is the rate)
        timeline.warn.once(
            "step-rate",
            f"{took} Its plan of {before:g} optimizer steps is kept, of which this run takes about"
            f" {length.total_steps:g}. Pass `steps_per_batch={rate:g}` to plan it for this optimizer's rate from the"
            " first step.",
        )
    return rate


def scaled(length: TrainingLength, rate: float | None) -> TrainingLength:
    """The run's length in steps of an optimizer that takes ``rate`` optimizer steps per training batch."""
    if rate is None or rate == 1.0:
        return length
    total = math.floor(length.total_steps * rate + 0.5) if math.isfinite(length.total_steps) else length.total_steps
    per_epoch = max(round(length.steps_per_epoch * rate), 1) if math.isfinite(length.steps_per_epoch) else math.inf
    resized = tuple((epoch, max(round(size * rate), 1)) for epoch, size in length.resized)
    return TrainingLength(total, per_epoch, length.unbounded, resized)


def position(trainer: pl.Trainer, optimizer: Optimizer) -> int:
    """Optimizer steps ``optimizer`` has taken in this run (after a checkpoint's loops are restored)."""
    if len(trainer.optimizers) == 1:
        return int(trainer.global_step)
    counts = [int(state["step"]) for state in optimizer.state.values() if "step" in state]
    return max(counts) if counts else int(trainer.global_step) // len(trainer.optimizers)


def continued_state(trainer: pl.Trainer, optimizer: Optimizer, previous: Timeline | None) -> dict[str, Any] | None:
    """The state to continue from when the same Trainer fits again: the last fit's, if it ended where this starts."""
    if previous is not None and previous.position.steps == position(trainer, optimizer):
        return previous.state_dict()
    return None


def start_at_position(trainer: pl.Trainer, timeline: Timeline) -> None:
    """A fit at a position the schedule has no state for: the schedule starts there, as if it had run so far."""
    steps = position(trainer, timeline.optimizer)
    catch_up(timeline, steps, trainer.current_epoch)
    rank_zero_warn(
        f"{timeline.name} has no state for this run, which is at optimizer step {steps} (epoch"
        f" {trainer.current_epoch}): the checkpoint was written without this schedule callback, or this Trainer"
        " already trained. The schedule starts at that position, as if it had run from the start (lr"
        f" {timeline.planned.written[0]:.3g} now). To start the schedule afresh from these weights instead, load them"
        " with `YourModule.load_from_checkpoint(path)` and fit a new Trainer without `ckpt_path`."
    )


def swa_start_epoch(trainer: pl.Trainer) -> tuple[StochasticWeightAveraging, int] | None:
    """The StochasticWeightAveraging callback of this Trainer and the 0-based epoch its phase starts, if any."""
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, classes("callbacks", "StochasticWeightAveraging")):
            start: Any = privates.swa_epoch_start(callback)
            if isinstance(start, float):
                start = int((trainer.max_epochs or 0) * start)
            return callback, max(int(start) - 1, 0)
    return None


def hand_over_to_swa(trainer: pl.Trainer, timeline: Timeline, *, next_epoch: int) -> bool:
    """Before SWA's first epoch: the schedule stops setting the lr and gives the groups their configured lrs.

    SWA's ``SWALR`` then anneals from those to ``swa_lrs`` exactly as it does without a schedule callback.
    """
    found = swa_start_epoch(trainer)
    if found is None or timeline.position.handed_over is not None or next_epoch < found[1]:
        return False
    timeline.hand_over("StochasticWeightAveraging")
    timeline.warn.once(
        "swa",
        f"{timeline.name} hands the learning rate over to StochasticWeightAveraging from epoch {next_epoch}"
        f" (step {timeline.position.steps}): from there SWA's SWALR sets it, starting from the optimizer's configured"
        f" learning rate {timeline.planned.configured[0]:.3g}, as it would without a schedule callback.",
    )
    return True


def validation_never_runs(trainer: pl.Trainer, pl_module: pl.LightningModule) -> str | None:
    """Why no validation will run in this fit, or None when one may."""
    if trainer.limit_val_batches == 0:
        return "`limit_val_batches=0`"
    if not overrides(pl_module, "validation_step"):
        return "the LightningModule has no `validation_step`"
    if privates.validation_data_defined(trainer) is False:
        return "there is no validation dataloader"
    every, max_epochs = trainer.check_val_every_n_epoch, trainer.max_epochs
    if every is not None and max_epochs is not None and max_epochs >= 0 and every > max_epochs:
        return f"`check_val_every_n_epoch={every}` is beyond `max_epochs={max_epochs}`"
    return None


def validation_monitors(timeline: Timeline) -> dict[str, bool]:
    """The validation metrics ``timeline`` monitors (a name not starting with ``train``), each with its strictness."""
    return {m: strict for m, strict in timeline.monitors().items() if not m.lower().startswith("train")}


def check_validation(trainer: pl.Trainer, pl_module: pl.LightningModule, timeline: Timeline, warn: Any) -> None:
    """A schedule that monitors a validation metric needs validation runs: an error, or one warning if not strict.

    Raises:
        ValueError: when validation never runs and a monitored metric is strict.
    """
    watched = validation_monitors(timeline)
    why = validation_never_runs(trainer, pl_module) if watched else None
    if why is None:
        return
    message = (
        f"{timeline.name} monitors {sorted(watched)}, a validation metric, but no validation will run in this fit:"
        f" {why}. The learning rate would never be reduced. Add a `validation_step` and a validation dataloader"
        " (and let validation run), or monitor a training metric such as 'train_loss'"
    )
    if any(watched.values()):
        raise ValueError(f"{message}, or pass `strict=False` to train without reductions.")
    warn(f"{message}. (`strict=False`: training goes on without reductions.)")


class RunFollower:
    """One fit's watch on how its run changes, told by the callback's hooks.

    Args:
        timeline: the fit's timeline.
        catch_up: the fit resumes at a position the schedule has no state for (start there at train start).
        measure: measure the optimizer's steps per batch over the first whole epoch, or the one a resume continues
            (manual optimization).
        estimate: the run's length as the Trainer estimated it at fit start (default: the timeline's plan's).
        saved: the epochs' sizes in the run the checkpoint was written in (None: unknown).

    Example::

        >>> import torch
        >>> from lightning_lrsched.core import CosineAnnealingLR, TrainingLength
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> follower = RunFollower(CosineAnnealingLR().timeline(optimizer, TrainingLength(8, 4)))
        >>> follower.timeline.plan.steps_per_batch
        1.0
    """

    @classmethod
    def begin(
        cls,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        timeline: Timeline,
        resume: tuple[dict[str, Any] | None, bool, Timeline | None],
        *,
        steps_per_batch: float | None,
        replan: bool,
    ) -> RunFollower:
        """Start a fit's fresh timeline where the run is, check its monitored metrics will come, and follow the run.

        The timeline continues a checkpoint's state, or the same Trainer's last fit, or starts at the Trainer's
        position (at train start, once the loops are restored).

        Args:
            trainer: the fitting Trainer.
            pl_module: its module.
            timeline: the fit's fresh timeline.
            resume: the checkpoint's state (or None), whether the checkpoint had none for a position past 0, and the
                last fit's timeline of the same callback (or None).
            steps_per_batch: the optimizer's steps per batch as declared (None: 1, or measured in manual
                optimization).
            replan: re-plan what remains when the run is longer or shorter than the checkpoint's plan.

        Raises:
            ValueError: when a strict plateau schedule monitors a validation metric and no validation will run.
        """
        pending, catch_up, previous = resume
        check_validation(trainer, pl_module, timeline, rank_zero_warn)
        if not pending and not catch_up and trainer.global_step > 0:  # the same Trainer fits again
            pending = continued_state(trainer, timeline.optimizer, previous)
            catch_up = pending is None
        timeline.plan.steps_per_batch = steps_per_batch or 1.0
        estimate = timeline.plan.length  # (this fit's own; a checkpoint's plan may replace it)
        if pending:
            timeline.load_state_dict(pending, replan=replan)
        measure = (
            steps_per_batch is None and timeline.plan.steps_per_batch == 1.0 and not pl_module.automatic_optimization
        )
        saved = saved_sizes(pending) if pending else None
        follower = cls(timeline, catch_up=catch_up, measure=measure, estimate=estimate, saved=saved)
        follower.fit_start(trainer, resumed=bool(pending))
        return follower

    def __init__(
        self,
        timeline: Timeline,
        *,
        catch_up: bool = False,
        measure: bool = False,
        estimate: TrainingLength | None = None,
        saved: TrainingLength | None = None,
    ) -> None:
        self.timeline = timeline
        self.estimate = timeline.plan.length if estimate is None else estimate
        self.saved = saved
        self.catch_up = catch_up
        self.measure = measure
        self._measuring = False
        self._taken_before_epoch = 0  # (the optimizer's steps before the measured epoch: `Position.taken`)
        self.first_batch_due = self._fit_first = False
        self.epoch_ended = False
        """Whether Lightning's current epoch has ended for the schedule (its last batch's end has run)."""
        self._validations_at_start: int | None = None

    def fit_start(self, trainer: pl.Trainer, *, resumed: bool) -> None:
        """SWA from the first epoch: the schedule hands over at once."""
        if not resumed:
            hand_over_to_swa(trainer, self.timeline, next_epoch=0)

    def train_start(self, trainer: pl.Trainer) -> None:
        """The loops are restored: a schedule without state for this position starts there."""
        if self.catch_up:
            self.catch_up = False
            start_at_position(trainer, self.timeline)
        # an epoch resumed in its middle gets no epoch-start hook: its length is checked at its first batch
        self.first_batch_due = self._fit_first = True
        self._validations_at_start = validations_done(trainer)
        if (skipped := validation_after_ended_epoch(trainer)) is not None:  # (Lightning's count tells nothing here)
            self._validations_at_start = None
            if skipped:
                warn_skipped_validation(self.timeline, trainer.global_step)

    def batch_start(self, trainer: pl.Trainer) -> None:
        """A fit's or an epoch's first batch: an epoch resumed in its middle, another epoch size, a skipped validation.

        An epoch's size is read here, after every callback's epoch start: a ``GradientAccumulationScheduler`` after
        this callback sets the epoch's ``accumulate_grad_batches`` in its own.
        """
        if not self.first_batch_due:
            return
        self.first_batch_due = False
        fit_first, self._fit_first = self._fit_first, False
        mid_epoch = trainer.fit_loop.epoch_loop.batch_progress.current.ready > 1
        if mid_epoch:
            self._measuring = self.measure  # (the epoch's steps before the resume are in its count)
            self._taken_before_epoch = self.timeline.position.taken - self.timeline.position.epoch_steps
        if mid_epoch or (fit_first and trainer.current_epoch > 0):  # (resumed, in an epoch's middle or at its start)
            follow_resumed_epoch(trainer, self.timeline, self.estimate, self.saved)
        else:
            follow_epoch_size(trainer, self.timeline)
        before = self._validations_at_start if fit_first else None
        if before is not None and (now := validations_done(trainer)) is not None and now > before:  # (none started)
            warn_skipped_validation(self.timeline, trainer.global_step)

    def validation_start(self) -> None:
        """A validation starts: one before the fit's first batch (resumed in its middle) was not skipped."""
        self._validations_at_start = None

    def epoch_start(self, trainer: pl.Trainer) -> None:
        """An epoch starts: its size is checked at its first batch; the first whole epoch of a fit is measured."""
        self._measuring = self.measure and self.timeline.position.epoch_steps == 0
        self._taken_before_epoch = self.timeline.position.taken
        self.first_batch_due, self.epoch_ended = True, False

    def epoch_end(self, trainer: pl.Trainer) -> None:
        """After an epoch's last batch: the measured rate, the epoch event, and SWA's start.

        The callback calls it after the batch that ends the epoch by Lightning's own rule (its epoch loop's end check),
        on the loop's public progress: the epoch's batches are all in (``limit_train_batches`` and a mid-epoch resume
        counted), or the data ran out (an iterable without a length).

        The measured epoch's steps are those the optimizer took in it, a rewind's undone steps included (a rewind in
        it moves the schedule's position back, not the optimizer's rate).
        """
        timeline = self.timeline
        if self._measuring:
            self.measure = self._measuring = False
            rate = follow_step_rate(trainer, timeline, timeline.position.taken - self._taken_before_epoch)
            timeline.plan.steps_per_batch = rate if rate is not None else timeline.plan.steps_per_batch
        timeline.epoch_end()
        self.epoch_ended = True
        hand_over_to_swa(trainer, timeline, next_epoch=trainer.current_epoch + 1)
