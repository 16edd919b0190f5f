"""OptimizerTarget: which optimizer of a Trainer a schedule callback schedules, and the tag it is logged under."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torch.optim import Optimizer

from lightning_lrsched.lightning.lr_logging import prefixes

if TYPE_CHECKING:
    import lightning.pytorch as pl


@dataclass(frozen=True, eq=False)  # (each callback's own: compared by identity)
class OptimizerTarget:
    """A callback's ``optimizer`` and ``name`` arguments: an index or class name, and the tag prefix to log under.

    Args:
        ref: an index into ``trainer.optimizers``, or an optimizer's class name (``"AdamW"``) when unique.
        name: the logged tag prefix instead of ``lr-<OptimizerClass>``.
        owner: the callback's class name, for messages.

    Example::

        >>> OptimizerTarget("AdamW", owner="OneCycleLR").ref
        'AdamW'
    """

    ref: int | str = 0
    name: str | None = None
    owner: str = "LRSchedulerCallback"

    def __post_init__(self) -> None:
        ref = self.ref
        if isinstance(ref, bool) or not isinstance(ref, (int, str)) or (isinstance(ref, int) and ref < 0):
            raise ValueError(
                f"Expected argument `optimizer` to be an index >= 0 into `trainer.optimizers` or an optimizer"
                f" class name such as 'AdamW', but got {ref!r}."
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ValueError(f"Expected argument `name` to be a non-empty string or None, but got {self.name!r}.")

    @property
    def default(self) -> bool:
        """Whether both arguments were left as they are (what a composite's phases must do)."""
        return self.ref == 0 and self.name is None

    def resolve(self, trainer: pl.Trainer, targets: Sequence[OptimizerTarget]) -> tuple[Optimizer, str]:
        """At fit start: the optimizer ``ref`` names, scheduled by nothing else, and its tag prefix.

        ``targets`` are those of every schedule callback of the Trainer (this one among them).
        """
        optimizer = self.select(trainer)
        self.check_conflicts(trainer, optimizer, targets)
        return optimizer, self.tag_prefix(trainer, targets)

    def select(self, trainer: pl.Trainer) -> Optimizer:
        """The optimizer of ``trainer.optimizers`` that ``ref`` names.

        Raises:
            ValueError: naming the optimizers there are, when ``ref`` names none (or several), or when the optimizer
                is not a torch optimizer whose steps can be hooked (DeepSpeed's ZeRO wrapper).
        """
        optimizers = trainer.optimizers
        listed = ", ".join(f"{i}: {type(opt).__name__}" for i, opt in enumerate(optimizers)) or "none"
        ref, owner = self.ref, self.owner
        if isinstance(ref, int):
            if ref >= len(optimizers):
                raise ValueError(
                    f"`{owner}(optimizer={ref})` is out of range: `configure_optimizers` returned"
                    f" {len(optimizers)} optimizer(s) ({listed}). Use an index below {len(optimizers)}."
                    if optimizers
                    else f"`{owner}` has no optimizer to schedule: `configure_optimizers` returned"
                    " none. Return an optimizer from `LightningModule.configure_optimizers`."
                )
            return self._hookable(optimizers[ref])
        matches = [opt for opt in optimizers if type(opt).__name__ == ref]
        if len(matches) != 1:
            problem = "matches no optimizer" if not matches else f"matches {len(matches)} optimizers"
            raise ValueError(
                f"`{owner}(optimizer={ref!r})` {problem} of `trainer.optimizers` ({listed})."
                " Use the optimizer's index instead."
            )
        return self._hookable(matches[0])

    def tag_prefix(self, trainer: pl.Trainer, targets: Sequence[OptimizerTarget]) -> str:
        """This target's tag prefix, named as ``LearningRateMonitor`` names scheduled optimizers.

        The scheduled optimizers are counted in its order: the module's own schedulers first, then the ``targets``
        of this package's callbacks (this one among them) by optimizer index, so the only scheduled Adam is
        ``lr-Adam`` whatever its index.
        """
        listed: list[tuple[Optimizer, str | None]] = [
            (config.scheduler.optimizer, config.name) for config in trainer.lr_scheduler_configs
        ]
        ours: list[tuple[int, int, OptimizerTarget]] = []
        for i, target in enumerate(targets):
            with contextlib.suppress(ValueError):  # a callback naming no optimizer raises at its own fit start
                ours.append((trainer.optimizers.index(target.select(trainer)), i, target))
        ours.sort(key=lambda item: item[:2])
        listed += [(trainer.optimizers[index], target.name) for index, _, target in ours]
        mine = [target for _, _, target in ours].index(self)
        return prefixes(listed)[len(trainer.lr_scheduler_configs) + mine]

    def check_conflicts(self, trainer: pl.Trainer, optimizer: Optimizer, others: Sequence[Any]) -> None:
        """No scheduler of the module, nor another callback (``others``: their targets and names), schedules it.

        Raises:
            ValueError: naming both schedulers and how to combine them.
        """
        for config in trainer.lr_scheduler_configs:
            if config.scheduler.optimizer is optimizer:
                raise ValueError(
                    f"`configure_optimizers` returns its own scheduler ({type(config.scheduler).__name__}) for"
                    f" {type(optimizer).__name__}, which `{self.owner}` also schedules. Return only the"
                    " optimizer from `configure_optimizers` and let the callback schedule it, or drop the"
                    " callback. To combine two schedules use `lightning_lrsched.SequentialLR` or"
                    " `ChainedScheduler`."
                )
        for other in others:
            if other is not self and other.select(trainer) is optimizer:
                raise ValueError(
                    f"Two schedule callbacks, `{self.owner}` and `{other.owner}`, schedule the"
                    f" same optimizer ({type(optimizer).__name__}). Keep one, or compose them into one callback"
                    " with `lightning_lrsched.SequentialLR` (one after the other) or `ChainedScheduler`"
                    " (both at once)."
                )

    def _hookable(self, optimizer: Any) -> Optimizer:
        """A torch optimizer, whose steps the callback can hook (DeepSpeed's ZeRO wrapper is not one)."""
        if not isinstance(optimizer, Optimizer):
            raise ValueError(
                f"`{self.owner}` schedules torch optimizers, whose steps it hooks, but this Trainer's"
                f" optimizer is a {type(optimizer).__name__} (DeepSpeed's ZeRO optimizer wraps yours like this)."
                " Use DeepSpeed's own scheduler configuration with DeepSpeed, or the FSDP strategy with this"
                " callback."
            )
        return optimizer
