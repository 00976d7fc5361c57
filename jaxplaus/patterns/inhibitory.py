"""Inhibitory-input patterns: rebound spike and burst, inhibition-induced spiking and bursting
(M, N, S, T).

Reference: Izhikevich (2004), Figure 1 panels M, N, S and T, and figure1.m
(``shared/spec/patterns.md``). Panels S and T lower a high baseline input for 200 ms.
"""

from __future__ import annotations

from jaxplaus.patterns.base import Pattern
from jaxplaus.patterns.protocol import Protocol, Reference, in_open


def _inhibitory_pulse(t):
    return -15.0 if in_open(t, 20, 5) else 0.0


def _lowered_baseline(t):
    return 80.0 if (t < 50 or t > 250) else 75.0


PATTERNS = (
    Pattern(
        "rebound_spike", "M", "inhibitory",
        "no spike during an inhibitory pulse; a single spike after its release",
        Protocol(200, 0.2, _inhibitory_pulse), Reference(0.03, 0.25, -60, 4, v0=-64, tau=0.2),
    ),
    Pattern(
        "rebound_burst", "N", "inhibitory",
        "no spike during an inhibitory pulse; a burst after its release",
        Protocol(200, 0.2, _inhibitory_pulse), Reference(0.03, 0.25, -52, 0, v0=-64, tau=0.2),
    ),
    Pattern(
        "inhibition_induced_spiking", "S", "inhibitory",
        "quiescent at a high baseline input; fires tonically while the input is lowered; stops after it returns",
        Protocol(350, 0.5, _lowered_baseline), Reference(-0.02, -1, -60, 8, v0=-63.8, tau=0.5),
    ),
    Pattern(
        "inhibition_induced_bursting", "T", "inhibitory",
        "as inhibition-induced spiking, but the activity during the lowered input comes in bursts",
        Protocol(350, 0.5, _lowered_baseline), Reference(-0.026, -1, -45, -2, v0=-63.8, tau=0.5),
    ),
)
