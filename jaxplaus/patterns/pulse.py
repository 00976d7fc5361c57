"""Pulse ("spiked input") patterns: latency, oscillations, resonator, integrator, threshold
variability, bistability, depolarizing after-potential (I-L, O-Q).

Reference: Izhikevich (2004), Figure 1 panels I-L and O-Q, and figure1.m
(``shared/spec/patterns.md``). Pulse windows are open intervals (``start < t < start + width``).
Panel L uses ``4.1 V + 108`` in place of ``5 V + 140``.

A response to a pulse is transient (K, O): a train that goes on to the protocol's end (no silence
of 1.5 times its longest interval before it) is a switch into tonic firing, bistability's
business, not a resonance or a lowered threshold; the references fire one spike.

Voltage criteria never assume millivolts: they compare voltages of the same candidate, relative
to its own voltage span over the protocol (``v_span``) and its rest (the voltage at the end of
the warm-up).
"""

from __future__ import annotations

from fractions import Fraction

from jaxplaus.patterns.base import Pattern
from jaxplaus.patterns.criteria import (
    count_measure, longer_than_its_intervals, quiet, ratio_measure, regular_late_intervals, safe_ratio, silence_after,
    spike_count, time_measure,
)
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


def settled(window, share=0.1):
    """The voltage is back near rest when a window starts (the earlier input has worn off)."""
    return ratio_measure(
        "the voltage is {value:.0%} of its span away from rest at the next stimulus", "settled",
        lambda f: safe_ratio(abs(f.v_start[..., window] - f.v_rest), f.v_span), "<=", share,
    )


_T1_INTEGRATOR = Fraction(100, 11)

PATTERNS = (
    Pattern(
        "spike_latency", "I", "pulse",
        "a brief, barely suprathreshold pulse gives one spike long after the pulse",
        pulses(100, 0.2, [10], 3, 7.04), Reference(0.02, 0.2, -65, 6, v0=-70, tau=0.2),
        windows=((None, 10), (10, None)),
        criteria=(
            quiet(0, "before the pulse"),
            spike_count(1, "after pulse onset", "==", 1),
            time_measure(
                "the spike comes {value:g} ms after pulse onset", "latency",
                lambda f: f.first[..., 1] - f.window_start[..., 1], ">=", 10.0, scale_ms=5.0,
            ),
        ),
    ),
    Pattern(
        "subthreshold_oscillations", "J", "pulse",
        "after a brief pulse the membrane potential oscillates with decaying amplitude (at least two "
        "cycles) without further spikes",
        pulses(200, 0.25, [20], 5, 2.0), Reference(0.05, 0.26, -60, 0, v0=-62, tau=0.25),
        windows=((None, 20), (20, None)),
        post_start_ms=25.0,
        criteria=(
            quiet(0, "before the pulse"),
            spike_count(1, "after pulse onset", "<=", 1),
            count_measure(
                "{value:g} turning points of the voltage after the pulse (and its spike)", "oscillates",
                lambda f: f.n_turns, ">=", 4,
            ),
            ratio_measure(
                "the last swing is {value:.2f} of the first", "decays",
                lambda f: safe_ratio(f.last_swing, f.first_swing), "<=", 0.9,
            ),
        ),
    ),
    Pattern(
        "resonator", "K", "pulse",
        "a pulse doublet at the resonant spacing (40 ms) evokes a spike; the closer doublet (20 ms) does not",
        pulses(400, 0.25, [40, 60, 280, 320], 4, 0.65), Reference(0.1, 0.26, -60, -1, v0=-62, tau=0.25),
        windows=((None, 280), (280, 320), (320, None)),
        criteria=(
            quiet(0, "before and after the 20 ms doublet"),
            settled(1),
            quiet(1, "after the first pulse of the 40 ms doublet"),
            spike_count(2, "after the 40 ms doublet", ">=", 1),
            silence_after(2, longer_than_its_intervals(2), "the response"),
        ),
    ),
    Pattern(
        "integrator", "L", "pulse",
        "a close pair of pulses (5 ms apart) evokes a spike; the distant pair (10 ms apart) does not",
        pulses(100, 0.25, [_T1_INTEGRATOR, _T1_INTEGRATOR + 5, 70, 80], 2, 9.0),
        Reference(0.02, -0.1, -55, 6, v0=-60, tau=0.25, mn=4.1, bias=108),
        windows=((None, _T1_INTEGRATOR + 5), (_T1_INTEGRATOR + 5, 70), (70, None)),
        criteria=(
            quiet(0, "before the second pulse of the close pair"),
            spike_count(1, "after the close pair", ">=", 1),
            quiet(2, "after the distant pair"),
        ),
    ),
    Pattern(
        "threshold_variability", "O", "pulse",
        "an excitatory pulse alone does not fire; the same pulse right after an inhibitory pulse does",
        Protocol(100, 0.25, _threshold_variability), Reference(0.03, 0.25, -60, 4, v0=-64, tau=0.25),
        windows=((None, 70), (70, 80), (80, None)),
        criteria=(
            quiet(0, "before and after the lone excitatory pulse"),
            quiet(1, "during the inhibitory pulse"),
            spike_count(2, "after the excitatory pulse that follows inhibition", ">=", 1),
            silence_after(2, longer_than_its_intervals(2), "the response"),
        ),
    ),
    Pattern(
        "bistability", "P", "pulse",
        "a pulse switches rest into sustained firing; a second, identical pulse switches it off",
        pulses(300, 0.25, [37.5, 216], 5, 1.24, baseline=0.24), Reference(0.1, 0.26, -60, 0, v0=-61, tau=0.25),
        # the switch is the firing AFTER the first pulse ends (42.5 ms): spikes the pulse itself
        # drives are no switch (an AdEx winner fired 3 during the pulse and 1 in the 170 ms after)
        windows=((None, 37.5), (42.5, 216), (221, None)),
        criteria=(
            quiet(0, "before the first pulse"),
            spike_count(1, "between the pulses", ">=", 3),
            regular_late_intervals(1),
            time_measure(
                "{value:g} ms of silence before the second pulse", "sustained",
                lambda f: f.window_end[..., 1] - f.last[..., 1], "<=",
                lambda f: 1.5 * f.isi_max[..., 1], scale_ms=10.0,
            ),
            quiet(2, "after the second pulse"),
        ),
    ),
    Pattern(
        "depolarizing_after_potential", "Q", "pulse",
        "a single spike followed by a depolarizing after-potential: after the reset the voltage rises "
        "again to a local maximum above the reset value before decaying to rest",
        Protocol(50, 0.1, _dap), Reference(1, 0.2, -60, -21, v0=-70, tau=0.1),
        windows=((None, 9), (9, None)),
        post_start_ms=9.0,
        criteria=(
            quiet(0, "before the pulse"),
            spike_count(1, "after pulse onset", "==", 1),
            ratio_measure(
                "after the reset the voltage rises by {value:.1%} of its span", "rises_after_reset",
                lambda f: safe_ratio(f.post_v_max - f.post_v0, f.v_span), ">=", 0.02, scale=0.01,
            ),
            count_measure(
                "{value:g} turning points after the spike", "peaks", lambda f: f.n_turns, ">=", 1,
            ),
            ratio_measure(
                "the after-potential then decays by {value:.1%} of the span", "decays",
                lambda f: safe_ratio(f.post_v_max - f.v_end, f.v_span), ">=", 0.02, scale=0.01,
            ),
        ),
    ),
)
