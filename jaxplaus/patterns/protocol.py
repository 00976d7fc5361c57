"""Stimulus protocols and their figure1.m references.

Reference: E. M. Izhikevich, "Which model to use for cortical spiking neurons?", IEEE Trans.
Neural Networks 15(5), 2004, and its script ``figure1.m`` (``shared/spec/patterns.md``).

A protocol is a sampled input sequence on the grid ``t_k = k * tau``, ``k = 0 .. T / tau``
(``T / tau + 1`` samples). One sample is one simulation step, for every model: the time course
is never rescaled, only the amplitude (by an input gain). Times are kept exact (rationals), so
the script's strict comparisons (``t > 10`` first holds at ``10 + tau``) hold exactly.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from fractions import Fraction

import numpy as np

GROUPS = ("DC", "ramp", "pulse", "inhibitory")


def exact(x: float | str | Fraction) -> Fraction:
    """A decimal number as an exact rational (``exact(0.2) == Fraction(1, 5)``)."""
    return x if isinstance(x, Fraction) else Fraction(str(x))


def in_open(t: Fraction, start, length) -> bool:
    """``start < t < start + length``, exactly (figure1.m's pulse windows are open)."""
    start = exact(start)
    return start < t < start + exact(length)


@dataclasses.dataclass(frozen=True)
class Reference:
    """The figure1.m setting of one panel: izhikevich2004 parameters and initial state.

    Attributes:
        a, b, c, d: the panel's parameters.
        v0: initial V (mV); u0: initial u (``None``: ``b * v0``, as the script does).
        tau: the integration step (ms per sample), which also sets the protocol's grid.
        mn, bias: the linear and constant terms (4.1 and 108 in panels G and L).
        accommodation: panel R's form of u' (``u' = a b (V + 65)``).
    """

    a: float
    b: float
    c: float
    d: float
    v0: float
    tau: float
    u0: float | None = None
    mn: float = 5.0
    bias: float = 140.0
    accommodation: bool = False

    def params(self) -> dict[str, float]:
        """The izhikevich2004 parameter dict of this panel."""
        return {"a": self.a, "b": self.b, "c": self.c, "d": self.d, "mn": self.mn, "bias": self.bias, "tau": self.tau}

    def state0(self) -> dict[str, float]:
        """The panel's initial state ``{"v": V0, "u": u0}``."""
        return {"v": self.v0, "u": self.b * self.v0 if self.u0 is None else self.u0}

    def model(self):
        """The izhikevich2004 model, in the accommodation form where the panel uses it."""
        from jaxplaus.models.izhikevich2004 import make

        return make(self.accommodation)


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A sampled input protocol.

    Attributes:
        duration: ``T`` in ms; the grid is ``t_k = k * tau`` for ``k = 0 .. T / tau``.
        tau: ms per sample.
        current: ``I(t)`` at an exact time ``t`` (a Fraction, ms), in the reference's units.
    """

    duration: float
    tau: float
    current: Callable[[Fraction], float]

    @property
    def n_samples(self) -> int:
        n = exact(self.duration) / exact(self.tau)
        if n.denominator != 1:
            raise ValueError(f"duration {self.duration} is not a whole number of steps of {self.tau}")
        return int(n) + 1

    def exact_times(self) -> list[Fraction]:
        tau = exact(self.tau)
        return [k * tau for k in range(self.n_samples)]

    def times(self) -> np.ndarray:
        """``[T]`` sample times in ms (float64)."""
        return np.array([float(t) for t in self.exact_times()])

    def step_of(self, t_ms) -> int:
        """The first sample index whose time is strictly after ``t_ms`` (the script's ``t > t_ms``)."""
        return int(np.floor(exact(t_ms) / exact(self.tau))) + 1

    @functools.cached_property
    def _current(self) -> np.ndarray:
        return np.array([float(self.current(t)) for t in self.exact_times()], dtype=np.float64)

    def stimulus(self, gain=1.0) -> np.ndarray:
        """``[..., T]`` input: the protocol's current times ``gain`` (``gain`` broadcasts).

        A scalar gain gives a ``[T]`` float64 array; an array of gains ``[...]`` gives ``[..., T]``.
        """
        gain = np.asarray(gain, dtype=np.float64)
        if np.any(~np.isfinite(gain)) or np.any(gain <= 0):
            raise ValueError(f"input gain must be positive and finite, got {gain}")
        return gain[..., None] * self._current if gain.ndim else float(gain) * self._current
