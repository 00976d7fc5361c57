"""The pattern suite: Izhikevich's 20 firing patterns, one home per input group.

``names()`` gives the 20 names in the order of Figure 1 (A to T); ``get(name)`` a pattern.
"""

from __future__ import annotations

from jaxplaus.patterns import dc, inhibitory, pulse, ramp
from jaxplaus.patterns.base import Pattern
from jaxplaus.patterns.protocol import GROUPS, Protocol, Reference

_PATTERNS: dict[str, Pattern] = {
    p.name: p for p in sorted(dc.PATTERNS + ramp.PATTERNS + pulse.PATTERNS + inhibitory.PATTERNS, key=lambda p: p.letter)
}


def names() -> tuple[str, ...]:
    """The 20 pattern names, in Figure 1's order (A to T)."""
    return tuple(_PATTERNS)


def get(name: str | Pattern) -> Pattern:
    """The pattern called ``name`` (or its letter, ``"A"`` to ``"T"``); a Pattern is returned as is."""
    if isinstance(name, Pattern):
        return name
    if isinstance(name, str):
        if name in _PATTERNS:
            return _PATTERNS[name]
        for p in _PATTERNS.values():
            if p.letter == name:
                return p
    raise ValueError(f"Unknown pattern {name!r}; known patterns: {', '.join(_PATTERNS)}")


def shipped(patterns) -> bool:
    """Whether each of ``patterns`` is the registered pattern of its name (code jaxplaus ships, so
    a program traced from it may be stored under the names: :mod:`jaxplaus.search.stored`)."""
    return all(_PATTERNS.get(p.name) is p for p in patterns)


def resolve(names_or_none) -> tuple[Pattern, ...]:
    """A list of pattern names (or None for all 20) as Pattern objects, with clear errors."""
    if names_or_none is None:
        return tuple(_PATTERNS.values())
    if isinstance(names_or_none, str | Pattern):
        names_or_none = [names_or_none]
    out = tuple(get(n) for n in names_or_none)
    if not out:
        raise ValueError("No patterns given; pass None for all 20")
    return out


__all__ = ["GROUPS", "Pattern", "Protocol", "Reference", "get", "names", "resolve", "shipped"]
