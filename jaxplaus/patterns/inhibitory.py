"""Inhibitory-input patterns: rebound spike and burst, inhibition-induced spiking and bursting
(M, N, S, T).

Reference: Izhikevich (2004), Figure 1 panels M, N, S and T, and figure1.m
(``shared/spec/patterns.md``). Panels S and T lower a high baseline input for 200 ms.

Rebound patterns: no spike before or during the inhibitory pulse (window 0), then one spike
(M) or one burst (N: 3 to 20 spikes within 50 ms) after release (window 1). Inhibition-induced
patterns: quiet at the high baseline (window 0), firing while the input is lowered (window 1)
as single spikes (S) or in at least 2 bursts of 3 to 20 spikes (T), quiet again after the
input returns (window 2). Bursts: a gap longer than 10 ms starts a new one
(:mod:`~jaxplaus.patterns.criteria` gives the burst sizes' reasons).
"""

from __future__ import annotations

from jaxplaus.patterns.base import Pattern
from jaxplaus.patterns.criteria import (
    MIN_BURST_SPIKES, burst_contrast, burst_count, burst_size_at_most, count_measure, first_burst_size,
    later_burst_size, quiet, silence_after, single_burst_lasts_at_most, spike_count,
)
from jaxplaus.patterns.protocol import Protocol, Reference, in_open

BEFORE, AFTER = 0, 1
HIGH, LOWERED, RETURNED = 0, 1, 2


def _inhibitory_pulse(t):
    return -15.0 if in_open(t, 20, 5) else 0.0


def _lowered_baseline(t):
    return 80.0 if (t < 50 or t > 250) else 75.0


PATTERNS = (
    Pattern(
        "rebound_spike", "M", "inhibitory",
        "no spike during an inhibitory pulse; a single spike after its release",
        Protocol(200, 0.2, _inhibitory_pulse), Reference(0.03, 0.25, -60, 4, v0=-64, tau=0.2),
        windows=((None, 25), (25, None)),
        criteria=(quiet(BEFORE, "before and during the pulse"), spike_count(AFTER, "after release", "==", 1)),
    ),
    Pattern(
        "rebound_burst", "N", "inhibitory",
        "no spike during an inhibitory pulse; a burst after its release",
        Protocol(200, 0.2, _inhibitory_pulse), Reference(0.03, 0.25, -52, 0, v0=-64, tau=0.2),
        windows=((None, 25), (25, None)),
        criteria=(
            quiet(BEFORE, "before and during the pulse"),
            spike_count(AFTER, "after release", ">=", MIN_BURST_SPIKES),
            burst_count(AFTER, "==", 1),
            first_burst_size(AFTER),
            burst_size_at_most(AFTER),
            single_burst_lasts_at_most(AFTER),
            silence_after(AFTER, 50.0),
        ),
    ),
    Pattern(
        "inhibition_induced_spiking", "S", "inhibitory",
        "quiescent at a high baseline input; fires tonically while the input is lowered; stops after it returns",
        Protocol(350, 0.5, _lowered_baseline), Reference(-0.02, -1, -60, 8, v0=-63.8, tau=0.5),
        windows=((None, 50), (50, 250), (250, None)),
        criteria=(
            quiet(HIGH, "at the high baseline"),
            spike_count(LOWERED, "while the input is lowered", ">=", 2),
            count_measure(
                "{value:g} spikes in the first group", "single_spikes",
                lambda f: f.first_burst[..., LOWERED], "<=", 1,
            ),
            count_measure(
                "{value:g} spikes in the largest later group", "later_single_spikes",
                lambda f: f.rest_burst_max[..., LOWERED], "<=", 1,
            ),
            quiet(RETURNED, "after the input returns"),
        ),
    ),
    Pattern(
        "inhibition_induced_bursting", "T", "inhibitory",
        "as inhibition-induced spiking, but the activity during the lowered input comes in bursts",
        Protocol(350, 0.5, _lowered_baseline), Reference(-0.026, -1, -45, -2, v0=-63.8, tau=0.5),
        windows=((None, 50), (50, 250), (250, None)),
        criteria=(
            quiet(HIGH, "at the high baseline"),
            # implied by the burst criteria below (2 bursts of 3); it is here for its graded credit,
            # as in S: a silent candidate scores better the closer it comes to firing while the
            # input is lowered (without it, every silent candidate scored the same)
            spike_count(LOWERED, "while the input is lowered", ">=", 2 * MIN_BURST_SPIKES),
            burst_count(LOWERED, ">=", 2),
            first_burst_size(LOWERED),
            later_burst_size(LOWERED),
            burst_size_at_most(LOWERED),
            burst_contrast(LOWERED),
            quiet(RETURNED, "after the input returns"),
        ),
    ),
)
