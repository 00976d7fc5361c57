"""Checks of single option values: each ``check(name, value) -> value`` returns the value as a
plain Python number (or string) or raises a ValueError/TypeError naming it and what is allowed.

:class:`~jaxplaus.assess.config.Settings` fields name their check; :func:`jaxplaus.assess.plan.plan`
applies them all before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Check = Callable[[str, object], object]


def int_at_least(name: str, value, minimum: int) -> int:
    """``value`` as an int ``>= minimum`` (a bool is not an int here)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def at_least(minimum: int) -> Check:
    return lambda name, value: int_at_least(name, value, minimum)


def int_in(lo: int, hi: int, note: str = "") -> Check:
    """An int in ``[lo, hi]`` (a bool is not an int here)."""

    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an int in [{lo}, {hi}]{note}, got {value!r}")
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be an int in [{lo}, {hi}]{note}, got {value!r}")
        return int(value)

    return check


def number_in(lo: float, hi: float, *, open_interval: bool = False, note: str = "") -> Check:
    """A float in ``[lo, hi]``, or in ``(lo, hi)`` with ``open_interval``."""

    def check(name, value):
        interval = f"({lo:g}, {hi:g})" if open_interval else f"[{lo:g}, {hi:g}]"
        message = f"{name} must be a number in {interval}{note}, got {value!r}"
        if isinstance(value, bool):
            raise TypeError(message)
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise TypeError(message) from None
        inside = lo < x < hi if open_interval else lo <= x <= hi
        if not (math.isfinite(x) and inside):
            raise ValueError(message)
        return x

    return check


def one_of(options: tuple[str, ...], what: str = "") -> Check:
    def check(name, value):
        if value not in options:
            raise ValueError(f"{name}{what} must be one of {', '.join(map(repr, options))}, got {value!r}")
        return value

    return check


def boolean(name: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def seed(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an int in [0, 2**32), got {value!r}")
    return int(value)


__all__ = ["at_least", "boolean", "int_at_least", "int_in", "number_in", "one_of", "seed"]
