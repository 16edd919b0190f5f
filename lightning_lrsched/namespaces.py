"""Lightning's classes under both of its names: ``lightning.pytorch`` and the standalone ``pytorch_lightning``.

The two packages hold the same code as different classes, so a ``pytorch_lightning`` Trainer's loggers, checkpoint
callbacks and modules are not instances of ``lightning.pytorch``'s. Where this package asks what kind of object a
user's is, it asks for both; ``pytorch_lightning`` is only looked at when it is imported already (a program using it
has imported it), so a program on ``lightning`` alone never pays for its import.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


def classes(module: str, name: str) -> tuple[type[Any], ...]:
    """The class ``name`` of ``lightning.pytorch.<module>``, and of ``pytorch_lightning.<module>`` when imported.

    Example::

        >>> [cls.__module__ for cls in classes("loggers", "TensorBoardLogger")][0]
        'lightning.pytorch.loggers.tensorboard'
    """
    roots = ["lightning.pytorch", *(["pytorch_lightning"] if "pytorch_lightning" in sys.modules else [])]
    return tuple(getattr(importlib.import_module(f"{root}.{module}"), name) for root in roots)


def overrides(pl_module: Any, method: str) -> bool:
    """Whether ``pl_module``'s class overrides LightningModule's ``method`` (under either name of Lightning)."""
    base = next((cls for cls in classes("core.module", "LightningModule") if isinstance(pl_module, cls)), None)
    if base is None:
        return callable(getattr(pl_module, method, None))
    mine = getattr(type(pl_module), method, None)
    return mine is not None and getattr(mine, "__wrapped__", mine) is not getattr(base, method)
