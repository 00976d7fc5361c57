"""A pattern: one of Izhikevich's 20 firing patterns, as a protocol plus criteria.

Reference: E. M. Izhikevich, "Which model to use for cortical spiking neurons?", IEEE Trans.
Neural Networks 15(5), 2004, Figure 1 (``shared/spec/patterns.md``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxplaus.patterns.protocol import GROUPS, Protocol, Reference


@dataclasses.dataclass(frozen=True, eq=False)
class Pattern:
    """One firing pattern: its protocol, its figure1.m reference and (see criteria) its test.

    Attributes:
        name: e.g. ``"tonic_spiking"``; letter: its panel in Figure 1, ``"A"`` to ``"T"``.
        group: the input kind, one of ``GROUPS`` (DC, ramp, pulse, inhibitory).
        description: what defines the pattern, in words.
        protocol: the sampled input; reference: the figure1.m parameters and state.
    """

    name: str
    letter: str
    group: str
    description: str
    protocol: Protocol
    reference: Reference

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(f"group must be one of {GROUPS}, got {self.group!r}")

    @property
    def n_samples(self) -> int:
        return self.protocol.n_samples

    def times(self) -> np.ndarray:
        """``[T]`` sample times in ms on the reference grid."""
        return self.protocol.times()

    def stimulus(self, gain=1.0) -> np.ndarray:
        """The protocol's input times a positive ``gain``: ``[T]``, or ``[..., T]`` for an array of gains."""
        return self.protocol.stimulus(gain)

    def reference_trace(self, dtype="float64"):
        """The izhikevich2004 trace of this protocol from the figure1.m parameters and state."""
        from jaxplaus.simulate import simulate

        ref = self.reference
        return simulate(ref.model(), ref.params(), self.stimulus(), ref.state0(), dtype=dtype)

    def __repr__(self) -> str:
        return f"Pattern({self.letter}: {self.name!r}, group={self.group!r})"
