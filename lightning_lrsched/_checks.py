"""Argument checks shared by the callbacks: each error names the argument, the value, and the fix."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any


class UnknownArgumentError(TypeError):
    """An argument that no parameter takes, named with the closest valid one.

    The schedule raises it; the callback holding the schedule adds its own arguments to ``valid`` and raises again.

    Example::

        >>> print(UnknownArgumentError("StepLR", "gama", 0.5, ["gamma", "step_size"]))
        `StepLR` got an unknown argument `gama`=0.5. Did you mean `gamma`? Valid arguments: gamma, step_size.
    """

    def __init__(self, owner: str, key: str, value: Any, valid: Iterable[str], advice: str = "") -> None:
        self.owner, self.key, self.value, self.valid, self.advice = owner, key, value, sorted(set(valid)), advice
        close = difflib.get_close_matches(key, self.valid, n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        super().__init__(
            f"`{owner}` got an unknown argument `{key}`={value!r}.{hint} Valid arguments: {', '.join(self.valid)}."
            f"{advice}"
        )

    def also(self, names: Iterable[str] = (), advice: str = "") -> UnknownArgumentError:
        """The same error with ``names`` among the valid arguments too, and ``advice`` added."""
        return UnknownArgumentError(self.owner, self.key, self.value, [*self.valid, *names], self.advice + advice)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers(name: str, value: Any) -> list[float]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values or not all(_is_number(v) and math.isfinite(v) for v in values):
        raise TypeError(
            f"Expected argument `{name}` to be a finite float or a list of them (one per param group),"
            f" but got {value!r}."
        )
    return [float(v) for v in values]


def positive(name: str, value: Any, fix: str = "") -> None:
    """Raise unless ``value`` (or every item of a list) is a number > 0."""
    if any(v <= 0 for v in _numbers(name, value)):
        raise ValueError(f"Expected argument `{name}` to be positive, but got {value!r}.{_fix(fix)}")


def non_negative(name: str, value: Any, fix: str = "") -> None:
    """Raise unless ``value`` (or every item of a list) is a number >= 0."""
    if any(v < 0 for v in _numbers(name, value)):
        raise ValueError(f"Expected argument `{name}` to be non-negative, but got {value!r}.{_fix(fix)}")


def in_range(
    name: str, value: Any, low: float, high: float, *, closed_low: bool, closed_high: bool, fix: str = ""
) -> None:
    """Raise unless ``value`` lies between ``low`` and ``high`` (inclusive where asked)."""
    if not (_is_number(value) and math.isfinite(value)):
        raise TypeError(f"Expected argument `{name}` to be a finite float, but got {value!r}.")
    number = float(value)
    above = number >= low if closed_low else number > low
    below = number <= high if closed_high else number < high
    if not (above and below):
        interval = f"{'[' if closed_low else '('}{low:g}, {high:g}{']' if closed_high else ')'}"
        raise ValueError(f"Expected argument `{name}` to be in the {interval} range, but got {value!r}.{_fix(fix)}")


def fractions(name: str, value: Any) -> None:
    """Raise unless ``value`` (or every item of a list) lies in [0, 1], as momentum and beta1 must."""
    if any(not 0 <= v <= 1 for v in _numbers(name, value)):
        raise ValueError(f"Expected argument `{name}` to be in the [0, 1] range, but got {value!r}.")


def not_above(low_name: str, low: Any, high_name: str, high: Any) -> None:
    """Raise unless ``low`` <= ``high`` (item by item where lists, which must then have the same length)."""
    lows, highs = _numbers(low_name, low), _numbers(high_name, high)
    if len(lows) > 1 and len(highs) > 1 and len(lows) != len(highs):
        raise ValueError(
            f"Arguments `{low_name}` and `{high_name}` give {len(lows)} and {len(highs)} values; give one per"
            " param group in both, or a single float."
        )
    count = max(len(lows), len(highs))
    pairs = zip(lows * count if len(lows) == 1 else lows, highs * count if len(highs) == 1 else highs, strict=True)
    if any(a > b for a, b in pairs):
        raise ValueError(
            f"Expected argument `{low_name}`={low!r} to be at most `{high_name}`={high!r}. Swap them, or lower"
            f" `{low_name}`."
        )


def integer(name: str, value: Any, minimum: int, fix: str = "") -> None:
    """Raise unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"Expected argument `{name}` to be an int >= {minimum}, but got {value!r}.{_fix(fix)}")


def one_of(name: str, value: Any, options: Iterable[Any]) -> None:
    """Raise unless ``value`` is one of ``options``."""
    options = tuple(options)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"Expected argument `{name}` to be one of {listed}, but got {value!r}.")


def callable_or_list(name: str, value: Any) -> None:
    """Raise unless ``value`` is a callable or a non-empty list of callables."""
    items: Sequence[Any] = value if isinstance(value, (list, tuple)) else [value]
    if not items or not all(callable(v) for v in items):
        raise TypeError(
            f"Expected argument `{name}` to be a function of the step count (or a list of them, one per param"
            f" group), but got {value!r}. Example: `{name}=lambda n: 0.95 ** n`."
        )


def names(name: str, value: Any, example: str) -> None:
    """Raise unless ``value`` is a list or tuple of strings."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TypeError(
            f"Expected argument `{name}` to be a list of argument names, but got {value!r}."
            f" Example: `{name}={example}`."
        )


def boolean(name: str, value: Any) -> None:
    """Raise unless ``value`` is a bool."""
    if not isinstance(value, bool):
        raise TypeError(f"Expected argument `{name}` to be True or False, but got {value!r}.")


def _fix(fix: str) -> str:
    return f" {fix}" if fix else ""
