"""``lightning_lrsched`` for programs on the standalone ``pytorch_lightning`` package (``import pytorch_lightning``).

The schedule callbacks, ``LRDiagnostics`` and the rest work under either name of Lightning as they are. A
``pytorch_lightning`` Trainer takes only its own ``LightningModule``, though, so the one module of this package
comes here a second time, on ``pytorch_lightning.LightningModule``::

    import pytorch_lightning as pl
    from lightning_lrsched import CosineAnnealingLR
    from lightning_lrsched.pytorch_lightning import ClassifierModule
"""

from __future__ import annotations

import pytorch_lightning

from lightning_lrsched.lightning.module import ClassifierMethods


class ClassifierModule(ClassifierMethods, pytorch_lightning.LightningModule):  # type: ignore[misc]
    """:class:`lightning_lrsched.ClassifierModule` on ``pytorch_lightning.LightningModule``: the same arguments.

    Example::

        >>> from torch import nn
        >>> module = ClassifierModule(nn.Linear(64, 10), num_classes=10, lr=1e-3)
        >>> isinstance(module, pytorch_lightning.LightningModule)
        True
    """
