"""DC-step patterns: tonic and phasic spiking and bursting, mixed mode, adaptation (A-F).

Reference: Izhikevich (2004), Figure 1 panels A-F, and figure1.m (``shared/spec/patterns.md``).
Each protocol holds the input at 0 and steps it up to a constant at ``T / 10``. Window 0 is
before the step (the model must be quiet there), window 1 while the input is on.

Thresholds (ms on the reference grid; docs/patterns.md gives the reasons):
- "sustained" firing: the silence after the last spike is at most 1.5 times the longest
  interval of the window (1.5 x the last interval for single spikes);
- "regular" late intervals: the last two differ by at most 20% of the last;
- bursts: a gap longer than ``gap_ms`` (10 ms; 15 ms in phasic bursting, whose reference burst
  slows to 9.6 ms intervals) starts a new burst; a burst has 3 to 20 spikes, and phasic
  bursting's one burst lasts at most 50 ms (:mod:`~jaxplaus.patterns.criteria` gives why).
"""

from __future__ import annotations

from jaxplaus.patterns.base import Pattern
from jaxplaus.patterns.criteria import (
    MIN_BURST_SPIKES, burst_contrast, burst_count, burst_size_at_most, count_measure, first_burst_size,
    later_burst_size, quiet, ratio_measure, regular_late_intervals, safe_ratio, silence_after,
    single_burst_lasts_at_most, spike_count, time_measure,
)
from jaxplaus.patterns.protocol import Protocol, Reference, exact

PRE, ON = 0, 1


def dc_step(duration, tau, onset, amplitude) -> Protocol:
    """``amplitude`` for ``t > onset``, else 0."""
    onset = exact(onset)
    return Protocol(duration, tau, lambda t: amplitude if t > onset else 0.0)


def windows(onset):
    return ((None, onset), (onset, None))


def sustained(window=ON, by="isi_max"):
    """Firing lasts to the end of the window: the final silence is short."""
    return time_measure(
        "{value:g} ms of silence after the last spike", "sustained",
        lambda f: f.window_end[..., window] - f.last[..., window], "<=",
        lambda f: 1.5 * getattr(f, by)[..., window], scale_ms=10.0,
    )


def first_spike_within(ms, window=ON):
    return time_measure(
        "first spike {value:g} ms after onset", "near_onset",
        lambda f: f.first[..., window] - f.window_start[..., window], "<=", ms, scale_ms=10.0,
    )


PATTERNS = (
    Pattern(
        "tonic_spiking", "A", "DC",
        "fires repeatedly for as long as the input is on; the late inter-spike intervals are regular",
        dc_step(100, 0.25, 10, 14.0), Reference(0.02, 0.2, -65, 6, v0=-70, tau=0.25),
        windows=windows(10),
        criteria=(
            quiet(PRE, "before onset"),
            spike_count(ON, "while the input is on", ">=", 4),
            sustained(ON, by="isi_last"),
            regular_late_intervals(ON),
            ratio_measure(  # no bursting: the late interval is as long as any
                "the last interval is {value:.0%} of the longest", "not_bursting",
                lambda f: safe_ratio(f.isi_last[..., ON], f.isi_max[..., ON]), ">=", 0.5,
            ),
        ),
    ),
    Pattern(
        "phasic_spiking", "B", "DC",
        "a single spike near input onset, then silence while the input stays on",
        dc_step(200, 0.25, 20, 0.5), Reference(0.02, 0.25, -65, 6, v0=-64, tau=0.25),
        windows=windows(20),
        criteria=(
            quiet(PRE, "before onset"),
            spike_count(ON, "after onset", "==", 1),
            first_spike_within(50.0),
        ),
    ),
    Pattern(
        "tonic_bursting", "C", "DC",
        "repeated bursts (closely spaced spikes separated by much longer silences) while the input is on",
        dc_step(220, 0.25, 22, 15.0), Reference(0.02, 0.2, -50, 2, v0=-70, tau=0.25),
        windows=windows(22),
        criteria=(
            quiet(PRE, "before onset"),
            burst_count(ON, ">=", 3),
            first_burst_size(ON),
            later_burst_size(ON),
            burst_size_at_most(ON),
            burst_contrast(ON),
            sustained(ON, by="isi_max"),
        ),
    ),
    Pattern(
        "phasic_bursting", "D", "DC",
        "one burst near input onset, then silence",
        dc_step(200, 0.2, 20, 0.6), Reference(0.02, 0.25, -55, 0.05, v0=-64, tau=0.2),
        windows=windows(20),
        gap_ms=15.0,
        criteria=(
            quiet(PRE, "before onset"),
            spike_count(ON, "after onset", ">=", MIN_BURST_SPIKES),
            burst_count(ON, "==", 1),
            first_burst_size(ON),
            burst_size_at_most(ON),
            single_burst_lasts_at_most(ON),
            first_spike_within(50.0),
            silence_after(ON, 50.0),
        ),
    ),
    Pattern(
        "mixed_mode", "E", "DC",
        "an initial burst, then single spikes at clearly longer intervals",
        dc_step(160, 0.25, 16, 10.0), Reference(0.02, 0.2, -55, 4, v0=-70, tau=0.25),
        windows=windows(16),
        criteria=(
            quiet(PRE, "before onset"),
            first_burst_size(ON),
            burst_size_at_most(ON),
            burst_count(ON, ">=", 3),
            count_measure(
                "{value:g} spikes in the largest later burst", "later_single_spikes",
                lambda f: f.rest_burst_max[..., ON], "<=", 1,
            ),
            burst_contrast(ON),
            regular_late_intervals(ON),
            sustained(ON, by="isi_last"),
        ),
    ),
    Pattern(
        "spike_frequency_adaptation", "F", "DC",
        "continued firing with inter-spike intervals that lengthen markedly",
        dc_step(85, 0.25, 8.5, 30.0), Reference(0.01, 0.2, -65, 8, v0=-70, tau=0.25),
        windows=windows(8.5),
        criteria=(
            quiet(PRE, "before onset"),
            spike_count(ON, "while the input is on", ">=", 4),
            ratio_measure(
                "the last interval is {value:.1f} times the first", "intervals_lengthen",
                lambda f: safe_ratio(f.isi_last[..., ON], f.isi_first[..., ON]), ">=", 3.0, scale=0.5,
            ),
            ratio_measure(  # still lengthening at the end, not a burst followed by tonic firing
                "the last interval is {value:.2f} times the one before", "still_lengthening",
                lambda f: safe_ratio(f.isi_last[..., ON], f.isi_prev[..., ON]), ">=", 1.0,
            ),
            sustained(ON, by="isi_last"),
        ),
    ),
)
