"""SavedState: a callback's schedule state between a checkpoint and the fit that resumes from it."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightning_lrsched.core.timeline import Timeline
    from lightning_lrsched.lightning.range_test import RangeResult


class SavedState:
    """The checkpoint side of a schedule callback: what a checkpoint holds for it, kept until its fit starts.

    Lightning restores a callback's state before ``on_fit_start`` (most strategies), when there is no timeline yet:
    the state waits here, checked, and the fit's fresh timeline continues from it.

    Args:
        state_key: the callback's key in a checkpoint's ``callbacks``.
        label: the schedule's label (``TransformersLR[cosine]``), which a checkpoint's state must have.
        owner: the callback's class name, for messages.

    Example::

        >>> saved = SavedState("StepLR{'optimizer': 0, 'name': None}", "StepLR", "StepLR")
        >>> saved.checkpoint_loaded({"callbacks": {}, "global_step": 40})
        >>> saved.take()  # no state of ours in a checkpoint at step 40: the fit starts at its position
        (None, True)
    """

    def __init__(self, state_key: str, label: str, owner: str) -> None:
        self.state_key, self.label, self.owner = state_key, label, owner
        self.pending: dict[str, Any] | None = None
        """Checkpoint state loaded before the fit started, applied to its fresh timeline."""
        self.catch_up = False
        """The fit resumes from a checkpoint without this schedule's state: start at the checkpoint's position."""

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles (of the callback) hold nothing that waits for a fit."""
        return {**self.__dict__, "pending": None, "catch_up": False}

    def checkpoint_loaded(self, checkpoint: dict[str, Any]) -> None:
        """A checkpoint is being restored: one with schedule state must hold this callback's.

        Raises:
            ValueError: when it holds schedule state under other keys only (another type, optimizer or name).
        """
        states = checkpoint.get("callbacks") or {}
        found = [key for key, state in states.items() if _looks_like_ours(state)]
        if found and self.state_key not in states:
            raise ValueError(
                f"The checkpoint holds learning-rate schedule state under {found}, but none for this"
                f" `{self.owner}` (state key {self.state_key!r}). Resume with the same schedule"
                " callback and the same `optimizer`/`name` arguments, or, to start a new schedule from those"
                " weights, load them with `YourModule.load_from_checkpoint(path)` instead of `ckpt_path`."
            )
        self.catch_up = not states.get(self.state_key) and checkpoint.get("global_step", 0) > 0

    def check(self, state: dict[str, Any]) -> None:
        """Checkpoint state written by this kind of callback, with the keys every version has.

        Raises:
            ValueError: naming the schedule that wrote it, or the keys that are missing.
        """
        kind = state.get("type")
        label = state.get("label", kind)  # (no label before 0.3: the type)
        if kind != self.owner or label != self.label:
            raise ValueError(
                f"The checkpoint's schedule state under {self.state_key!r} was written by `{label}`, but this"
                f" callback is `{self.label}`. Resume with the same schedule type, or start a new"
                " schedule from the weights with `YourModule.load_from_checkpoint(path)` instead of `ckpt_path`."
            )
        required = {"scheduler": dict, "steps": int, "epochs": int, "interval": str, "resolved": dict}
        broken = [key for key, kind_ in required.items() if not isinstance(state.get(key), kind_)]
        if broken:
            raise ValueError(
                f"The checkpoint's schedule state for `{self.owner}` is corrupted: keys {broken} are"
                f" missing or of the wrong type (found keys {sorted(state)}). Resume from another checkpoint."
            )

    def state_dict(self, timeline: Timeline | None, found: RangeResult | None) -> dict[str, Any]:
        """The callback's checkpoint state: the one waiting for a fit, the last fit's, or nothing before any fit.

        The last fit's is its timeline's state with the range test's pick, if one was made.
        """
        if self.pending is not None:
            return copy.deepcopy(self.pending)
        if timeline is None:
            return {}
        return {**timeline.state_dict(), **({"lr_range": found.state()} if found is not None else {})}

    def load(self, state: dict[str, Any], running: Timeline | None, *, replan: bool) -> None:
        """A checkpoint's state for the callback: kept for the fit to come, or loaded into the ``running`` fit's.

        Most strategies restore before fit start; those that restore after it load into the running timeline,
        re-planned if ``replan``.
        """
        if not state:
            return
        if running is None:
            self.keep(state)
        else:
            self.check(state)
            running.load_state_dict(state, replan=replan)

    def keep(self, state: dict[str, Any]) -> None:
        """Keep ``state`` (checked) for the fit to come."""
        self.check(state)
        self.pending = copy.deepcopy(state)

    def take(self) -> tuple[dict[str, Any] | None, bool]:
        """What the starting fit resumes from (the state, or whether to catch up); consumed even if it fails."""
        taken = (self.pending, self.catch_up)
        self.forget()
        return taken

    def forget(self) -> None:
        """A fit ended or failed: nothing waits for the next one."""
        self.pending, self.catch_up = None, False


def _looks_like_ours(state: Any) -> bool:
    return isinstance(state, dict) and "scheduler" in state and "resolved" in state and "type" in state
