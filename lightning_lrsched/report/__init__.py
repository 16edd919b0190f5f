"""Reporting on the core: summaries, TensorBoard I/O, plots, and previews of a schedule without a Trainer."""
