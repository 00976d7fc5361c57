"""DC-step patterns: tonic and phasic spiking and bursting, mixed mode, adaptation (A-F).

Reference: Izhikevich (2004), Figure 1 panels A-F, and figure1.m (``shared/spec/patterns.md``).
Each protocol holds the input at 0 and steps it up to a constant at ``T / 10``.
"""

from __future__ import annotations

from jaxplaus.patterns.base import Pattern
from jaxplaus.patterns.protocol import Protocol, Reference, exact


def dc_step(duration, tau, onset, amplitude) -> Protocol:
    """``amplitude`` for ``t > onset``, else 0."""
    onset = exact(onset)
    return Protocol(duration, tau, lambda t: amplitude if t > onset else 0.0)


PATTERNS = (
    Pattern(
        "tonic_spiking", "A", "DC",
        "fires repeatedly for as long as the input is on; the late inter-spike intervals are regular",
        dc_step(100, 0.25, 10, 14.0), Reference(0.02, 0.2, -65, 6, v0=-70, tau=0.25),
    ),
    Pattern(
        "phasic_spiking", "B", "DC",
        "a single spike near input onset, then silence while the input stays on",
        dc_step(200, 0.25, 20, 0.5), Reference(0.02, 0.25, -65, 6, v0=-64, tau=0.25),
    ),
    Pattern(
        "tonic_bursting", "C", "DC",
        "repeated bursts (closely spaced spikes separated by much longer silences) while the input is on",
        dc_step(220, 0.25, 22, 15.0), Reference(0.02, 0.2, -50, 2, v0=-70, tau=0.25),
    ),
    Pattern(
        "phasic_bursting", "D", "DC",
        "one burst near input onset, then silence",
        dc_step(200, 0.2, 20, 0.6), Reference(0.02, 0.25, -55, 0.05, v0=-64, tau=0.2),
    ),
    Pattern(
        "mixed_mode", "E", "DC",
        "an initial burst, then single spikes at clearly longer intervals",
        dc_step(160, 0.25, 16, 10.0), Reference(0.02, 0.2, -55, 4, v0=-70, tau=0.25),
    ),
    Pattern(
        "spike_frequency_adaptation", "F", "DC",
        "continued firing with inter-spike intervals that lengthen markedly",
        dc_step(85, 0.25, 8.5, 30.0), Reference(0.01, 0.2, -65, 8, v0=-70, tau=0.25),
    ),
)
