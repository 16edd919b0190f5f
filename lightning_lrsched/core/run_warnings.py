"""RunWarnings: where one timeline's warnings go, each kind of warning once per run."""

from __future__ import annotations

from lightning_lrsched.core.warmup import Warn


class RunWarnings:
    """A warning sink that says each kind of warning (its key) once.

    Args:
        sink: where warnings go (the callback passes Lightning's rank-zero warning).

    Example::

        >>> said = []
        >>> warnings = RunWarnings(said.append)
        >>> for _ in range(3):
        ...     warnings.once("plan-end", "the run went past the plan")
        >>> warnings("a warning without a key")
        >>> said
        ['the run went past the plan', 'a warning without a key']
    """

    def __init__(self, sink: Warn) -> None:
        self.sink = sink
        self.said: set[str] = set()
        """The keys warned about so far."""

    def __call__(self, message: str) -> None:
        """Warn with ``message``."""
        self.sink(message)

    def once(self, key: str, message: str) -> None:
        """Warn with ``message`` the first time ``key`` comes up."""
        if key not in self.said:
            self.said.add(key)
            self.sink(message)
