"""LRDiagnostics: findings about the learning-rate strategy, read from the training and validation curves.

``findings.py`` holds one plain function per finding; ``callback.py`` feeds them from Lightning's hooks and reports.
"""

from lightning_lrsched.diagnostics.callback import LRDiagnostics

__all__ = ["LRDiagnostics"]
