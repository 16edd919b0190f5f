"""The callbacks: one per schedule of the core, same name and arguments, plus those of every callback.

Each holds its schedule (``callback.schedule``, a :mod:`lightning_lrsched.core` object that knows nothing of
Lightning) and steps it in a Trainer; see :class:`~lightning_lrsched.LRSchedulerCallback` for the arguments every
callback takes (``optimizer``, ``log_lr``, ``name``, ``replan_on_resume``, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from lightning_lrsched.core import composite, greedy, hf_schedules, plateau, schedules, timm_schedules
from lightning_lrsched.core.schedule import Schedule
from lightning_lrsched.lightning.callback import LRSchedulerCallback


class LambdaLR(LRSchedulerCallback):
    """Multiply the initial learning rate by ``lr_lambda(n)`` after n intervals (epoch by default).

    Holds a :class:`lightning_lrsched.core.LambdaLR`: its arguments, then those of every callback.

    Example::

        >>> callback = LambdaLR(lr_lambda=lambda epoch: 0.9**epoch)
    """

    schedule_type = schedules.LambdaLR


class MultiplicativeLR(LRSchedulerCallback):
    """Multiply the current learning rate by ``lr_lambda(n)`` at every interval (epoch by default).

    Holds a :class:`lightning_lrsched.core.MultiplicativeLR`: its arguments, then those of every callback.

    Example::

        >>> callback = MultiplicativeLR(lr_lambda=lambda epoch: 0.95)
    """

    schedule_type = schedules.MultiplicativeLR


class StepLR(LRSchedulerCallback):
    """Multiply the learning rate by ``gamma`` every ``step_size`` intervals (epoch by default).

    Holds a :class:`lightning_lrsched.core.StepLR`: its arguments, then those of every callback.

    Example::

        >>> callback = StepLR(step_size="2ep", gamma=0.5)
    """

    schedule_type = schedules.StepLR


class MultiStepLR(LRSchedulerCallback):
    """Multiply the learning rate by ``gamma`` at each milestone (epochs by default, or durations).

    Holds a :class:`lightning_lrsched.core.MultiStepLR`: its arguments, then those of every callback.

    Example::

        >>> callback = MultiStepLR(milestones=["50%", "75%"], gamma=0.1)
    """

    schedule_type = schedules.MultiStepLR


class ConstantLR(LRSchedulerCallback):
    """Multiply the learning rate by ``factor`` for ``total_iters`` intervals, then restore it.

    Holds a :class:`lightning_lrsched.core.ConstantLR`: its arguments, then those of every callback.

    Example::

        >>> callback = ConstantLR(factor=0.5, total_iters="1ep")
    """

    schedule_type = schedules.ConstantLR


class LinearLR(LRSchedulerCallback):
    """Scale the learning rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters``.

    Holds a :class:`lightning_lrsched.core.LinearLR`: its arguments, then those of every callback.

    Example::

        >>> callback = LinearLR(start_factor=1.0, end_factor=0.0, total_iters="100%", interval="step")
    """

    schedule_type = schedules.LinearLR


class ExponentialLR(LRSchedulerCallback):
    """Multiply the learning rate by ``gamma`` at every interval (epoch by default).

    Holds a :class:`lightning_lrsched.core.ExponentialLR`: its arguments, then those of every callback.

    Example::

        >>> callback = ExponentialLR(gamma=0.9)
    """

    schedule_type = schedules.ExponentialLR


class PolynomialLR(LRSchedulerCallback):
    """Decay the learning rate polynomially to 0 over ``total_iters`` (the whole training when omitted).

    Holds a :class:`lightning_lrsched.core.PolynomialLR`: its arguments, then those of every callback.

    Example::

        >>> callback = PolynomialLR(power=2.0)  # over every optimizer step of the run
    """

    schedule_type = schedules.PolynomialLR


class CosineAnnealingLR(LRSchedulerCallback):
    """Anneal the learning rate along a half cosine to ``eta_min`` over ``T_max`` (the whole run if omitted).

    Holds a :class:`lightning_lrsched.core.CosineAnnealingLR`: its arguments, then those of every callback.

    Example::

        >>> callback = CosineAnnealingLR(eta_min=1e-6)  # one half cosine over the whole run
    """

    schedule_type = schedules.CosineAnnealingLR


class CosineAnnealingWarmRestarts(LRSchedulerCallback):
    """Cosine annealing restarted every ``T_0`` epochs, each cycle ``T_mult`` times longer than the last.

    Holds a :class:`lightning_lrsched.core.CosineAnnealingWarmRestarts`: its arguments, then those of every callback.

    Example::

        >>> callback = CosineAnnealingWarmRestarts(T_0=2, T_mult=2, interval="step")
    """

    schedule_type = schedules.CosineAnnealingWarmRestarts


class CyclicLR(LRSchedulerCallback):
    """Cycle the learning rate between ``base_lr`` and ``max_lr`` (per optimizer step by default).

    Holds a :class:`lightning_lrsched.core.CyclicLR`: its arguments, then those of every callback.

    Example::

        >>> callback = CyclicLR(base_lr=1e-4, max_lr=1e-2, step_size_up="1ep", cycle_momentum=False)
    """

    schedule_type = schedules.CyclicLR


class OneCycleLR(LRSchedulerCallback):
    """The 1cycle policy: warm up to ``max_lr``, then anneal far below the start (per optimizer step).

    Holds a :class:`lightning_lrsched.core.OneCycleLR`: its arguments, then those of every callback.

    Example::

        >>> callback = OneCycleLR(max_lr=3e-4)
    """

    schedule_type = schedules.OneCycleLR


class InverseSqrtLR(LRSchedulerCallback):
    """Inverse square-root decay, the Transformer paper's schedule: ``lr0 * sqrt(timescale / (step + timescale))``.

    Holds a :class:`lightning_lrsched.core.InverseSqrtLR`: its arguments, then those of every callback.

    Example::

        >>> callback = InverseSqrtLR(warmup="5%")
    """

    schedule_type = schedules.InverseSqrtLR


class WarmupStableDecayLR(LRSchedulerCallback):
    """Warmup, a long constant phase, then a decay over the last ``decay`` of the run (the "WSD" schedule).

    Holds a :class:`lightning_lrsched.core.WarmupStableDecayLR`: its arguments, then those of every callback.

    Example::

        >>> callback = WarmupStableDecayLR(warmup="5%", decay="20%", decay_type="1-sqrt")
    """

    schedule_type = schedules.WarmupStableDecayLR


class ReduceLROnPlateau(LRSchedulerCallback):
    """Reduce the learning rate when a validation metric stops improving, wired to the metric by itself.

    Holds a :class:`lightning_lrsched.core.ReduceLROnPlateau`: its arguments, then those of every callback.

    Example::

        >>> callback = ReduceLROnPlateau(monitor="val_acc", patience=3)  # mode "max" from the name
        >>> callback.mode
        'max'
    """

    schedule_type: ClassVar[type[plateau.ReduceLROnPlateau]] = plateau.ReduceLROnPlateau
    schedule: plateau.ReduceLROnPlateau

    @property
    def monitor(self) -> str:
        """The logged metric the schedule watches."""
        return self.schedule.monitor

    @property
    def mode(self) -> Literal["min", "max"]:
        """``"min"`` or ``"max"``: whether the metric should go down or up."""
        return self.schedule.mode

    @property
    def history(self) -> list[tuple[int, float]]:
        """(global step, value) of every validation the schedule counted in the current or last fit."""
        return self.schedule.history

    @property
    def reductions(self) -> list[dict[str, Any]]:
        """One entry per reduction of the current or last fit: step, epoch, old and new lrs, recent values."""
        return self.schedule.reductions


class GreedyLR(ReduceLROnPlateau):
    """transformers' ``GreedyLR`` (``lr_scheduler_type="greedy"``): up while the metric improves, down when it stalls.

    Holds a :class:`lightning_lrsched.core.GreedyLR`: its arguments, then those of every callback.

    Example::

        >>> callback = GreedyLR(monitor="val_loss", patience=2, min_lr=1e-5, max_lr=1e-3)
        >>> callback.mode
        'min'
    """

    schedule_type = greedy.GreedyLR


class _Composite(LRSchedulerCallback):
    """A callback whose phases are callbacks: the composite alone picks the optimizer and the logged tags."""

    schedule: composite.SequentialLR | composite.ChainedScheduler

    @property
    def parts(self) -> list[Schedule]:
        """The schedules of the phases (each with its ``history``, ``scheduler``, ... of the current or last fit)."""
        return self.schedule.parts

    def _check_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        phases = args[0] if args else kwargs.get("schedulers", ())
        for i, phase in enumerate(phases if isinstance(phases, (list, tuple)) else ()):
            if isinstance(phase, LRSchedulerCallback) and not phase.target.default:
                raise ValueError(
                    f"`schedulers[{i}]` of `{type(self).__name__}` sets `optimizer` or `name`; set them on the"
                    f" `{type(self).__name__}` itself, which decides the optimizer and the logged tags for all of"
                    " its schedules."
                )


class SequentialLR(_Composite):
    """Run schedules one after the other, switching at ``milestones`` (durations; ints count optimizer steps).

    Holds a :class:`lightning_lrsched.core.SequentialLR`: its arguments, then those of every callback.

    Example::

        >>> from lightning_lrsched import CosineAnnealingLR, LinearLR, ReduceLROnPlateau
        >>> callback = SequentialLR(
        ...     [LinearLR(0.01, 1.0, total_iters="100%", interval="step"), CosineAnnealingLR(), ReduceLROnPlateau()],
        ...     milestones=["5%", "80%"],
        ... )
    """

    schedule_type = composite.SequentialLR


class ChainedScheduler(_Composite):
    """Run several schedules at once on one optimizer; their factors multiply, as with torch's ChainedScheduler.

    Holds a :class:`lightning_lrsched.core.ChainedScheduler`: its arguments, then those of every callback.

    Example::

        >>> from lightning_lrsched import ConstantLR, ExponentialLR
        >>> callback = ChainedScheduler([ConstantLR(0.1, total_iters=2), ExponentialLR(0.9)])
    """

    schedule_type = composite.ChainedScheduler


class TransformersLR(LRSchedulerCallback):
    """One of transformers' schedules, by its ``lr_scheduler_type`` name and with its arguments, step for step.

    Holds a :class:`lightning_lrsched.core.TransformersLR`: its arguments, then those of every callback.

    Example::

        >>> callback = TransformersLR("cosine_with_restarts", num_warmup_steps="5%", num_cycles=3)
        >>> callback.interval
        'step'
    """

    schedule_type = hf_schedules.TransformersLR


class TimmLR(LRSchedulerCallback):
    """One of timm's schedulers (``cosine``, ``tanh``, ``poly``, ``step``, ``multistep``) with timm's arguments.

    Holds a :class:`lightning_lrsched.core.TimmLR`: its arguments, then those of every callback.

    Example::

        >>> callback = TimmLR("cosine", warmup_t=2, warmup_lr_init=1e-6, lr_min=1e-5)
        >>> callback.interval
        'epoch'
    """

    schedule_type = timm_schedules.TimmLR
