"""Pulse ("spiked input") patterns: latency, oscillations, resonator, integrator, threshold
variability, bistability, depolarizing after-potential (I-L, O-Q).

Reference: Izhikevich (2004), Figure 1 panels I-L and O-Q, and figure1.m
(``shared/spec/patterns.md``). Pulse windows are open intervals (``start < t < start + width``).
Panel L uses ``4.1 V + 108`` in place of ``5 V + 140``.
"""

from __future__ import annotations

from fractions import Fraction

from jaxplaus.patterns.base import Pattern
from jaxplaus.patterns.protocol import Protocol, Reference, exact, in_open


def pulses(duration, tau, starts, width, amplitude, baseline=0.0) -> Protocol:
    """``amplitude`` inside the open windows ``(s, s + width)``, ``baseline`` elsewhere."""
    starts = tuple(exact(s) for s in starts)
    return Protocol(
        duration, tau, lambda t: amplitude if any(in_open(t, s, width) for s in starts) else baseline
    )


def _threshold_variability(t):
    if in_open(t, 10, 5) or in_open(t, 80, 5):
        return 1.0
    if in_open(t, 70, 5):
        return -6.0
    return 0.0


def _dap(t):
    return 20.0 if abs(t - 10) < 1 else 0.0


_T1_INTEGRATOR = Fraction(100, 11)

PATTERNS = (
    Pattern(
        "spike_latency", "I", "pulse",
        "a brief, barely suprathreshold pulse gives one spike long after the pulse",
        pulses(100, 0.2, [10], 3, 7.04), Reference(0.02, 0.2, -65, 6, v0=-70, tau=0.2),
    ),
    Pattern(
        "subthreshold_oscillations", "J", "pulse",
        "after a brief pulse the membrane potential oscillates with decaying amplitude (at least two "
        "cycles) without further spikes",
        pulses(200, 0.25, [20], 5, 2.0), Reference(0.05, 0.26, -60, 0, v0=-62, tau=0.25),
    ),
    Pattern(
        "resonator", "K", "pulse",
        "a pulse doublet at the resonant spacing evokes a spike; the closer doublet does not",
        pulses(400, 0.25, [40, 60, 280, 320], 4, 0.65), Reference(0.1, 0.26, -60, -1, v0=-62, tau=0.25),
    ),
    Pattern(
        "integrator", "L", "pulse",
        "a close pair of pulses evokes a spike; the distant pair does not",
        pulses(100, 0.25, [_T1_INTEGRATOR, _T1_INTEGRATOR + 5, 70, 80], 2, 9.0),
        Reference(0.02, -0.1, -55, 6, v0=-60, tau=0.25, mn=4.1, bias=108),
    ),
    Pattern(
        "threshold_variability", "O", "pulse",
        "an excitatory pulse alone does not fire; the same pulse right after an inhibitory pulse does",
        Protocol(100, 0.25, _threshold_variability), Reference(0.03, 0.25, -60, 4, v0=-64, tau=0.25),
    ),
    Pattern(
        "bistability", "P", "pulse",
        "a pulse switches rest into sustained firing; a second, identical pulse switches it off",
        pulses(300, 0.25, [37.5, 216], 5, 1.24, baseline=0.24), Reference(0.1, 0.26, -60, 0, v0=-61, tau=0.25),
    ),
    Pattern(
        "depolarizing_after_potential", "Q", "pulse",
        "a single spike followed by a depolarizing after-potential: after the reset the voltage rises "
        "again to a local maximum above the reset value before decaying to rest",
        Protocol(50, 0.1, _dap), Reference(1, 0.2, -60, -21, v0=-70, tau=0.1),
    ),
)
