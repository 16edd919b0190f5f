"""LRDiagnostics: findings about the learning-rate strategy, read from the training and validation curves.

``findings.py`` holds one plain function per finding; ``callback.py`` feeds them from Lightning's hooks and reports;
``rewind.py`` recovers from a divergence (``on_divergence="rewind"``).
"""

from lightning_lrsched.diagnostics.callback import LRDiagnostics
from lightning_lrsched.diagnostics.rewind import Rewind

__all__ = ["LRDiagnostics", "Rewind"]
