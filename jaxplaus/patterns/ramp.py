"""Ramp patterns: class 1 and class 2 excitability, accommodation (G, H, R).

Reference: Izhikevich (2004), Figure 1 panels G, H and R, and figure1.m
(``shared/spec/patterns.md``). Panel G uses ``4.1 V + 108`` in place of ``5 V + 140``; panel R
uses ``u' = a b (V + 65)``.

Class 1 and class 2 are told apart by the rate at which firing starts on the ramp: the first
inter-spike interval is long (at least 25 ms, below 40 Hz) in class 1 and short (at most 25 ms,
40 Hz or more) in class 2 (the references: 40.5 ms and 20.75 ms); in both the rate then grows.
In class 2 it grows only a little: "the frequency is relatively insensitive to changes in the
strength of the input" (Izhikevich 2004). The reference's rate grows 1.9-fold (first interval
over last) while the input more than doubles; class 2 allows at most 3-fold, and needs firing
to start in the ramp's first half (by 165 ms; the reference starts at 106 ms), so that the ramp
goes on long enough to show it. A class 1 neuron whose firing starts late on the ramp, from a
membrane still lagging the input, can fire its first interval fast; over the rest of the ramp
its rate then grows several-fold, which these two criteria reject.
"""

from __future__ import annotations

from jaxplaus.patterns.base import Pattern
from jaxplaus.patterns.criteria import (
    longer_than_its_intervals, quiet, ratio_measure, safe_ratio, silence_after, spike_count, time_measure,
)
from jaxplaus.patterns.protocol import Protocol, Reference

PRE, ON = 0, 1


def _class1(t):
    return 0.075 * float(t - 30) if t > 30 else 0.0


def _class2(t):
    return -0.5 + 0.015 * float(t - 30) if t > 30 else -0.5


def _accommodation(t):
    if t < 200:
        return float(t) / 25
    if t < 300:
        return 0.0
    if t < 312.5:
        return float(t - 300) / 12.5 * 4
    return 0.0


def first_interval(sense, ms):
    return time_measure(
        "first interval {value:g} ms", "first_interval", lambda f: f.isi_first[..., ON], sense, ms, scale_ms=5.0
    )


def rate_grows(factor, sense=">="):
    """The first interval over the last compared with ``factor`` (>= : the rate grows at least
    that much; <= : at most)."""
    return ratio_measure(
        "the first interval is {value:.2f} times the last", "rate_grows" if sense == ">=" else "rate_grows_little",
        lambda f: safe_ratio(f.isi_first[..., ON], f.isi_last[..., ON]), sense, factor,
    )


PATTERNS = (
    Pattern(
        "class1_excitability", "G", "ramp",
        "on a slow ramp, firing starts at a low rate (long first interval) and the rate grows with the input",
        Protocol(300, 0.25, _class1), Reference(0.02, -0.1, -55, 6, v0=-60, tau=0.25, mn=4.1, bias=108),
        windows=((None, 30), (30, None)),
        criteria=(
            quiet(PRE, "before the ramp"),
            spike_count(ON, "on the ramp", ">=", 4),
            first_interval(">=", 25.0),
            rate_grows(2.0),
        ),
    ),
    Pattern(
        "class2_excitability", "H", "ramp",
        "on a ramp, firing starts abruptly at a relatively high rate, not from near zero",
        Protocol(300, 0.25, _class2), Reference(0.2, 0.26, -65, 0, v0=-64, tau=0.25),
        windows=((None, 30), (30, None)),
        criteria=(
            quiet(PRE, "before the ramp"),
            spike_count(ON, "on the ramp", ">=", 4),
            first_interval("<=", 25.0),
            rate_grows(1.1),
            rate_grows(3.0, "<="),
            time_measure(
                "first spike {value:g} ms after the ramp starts", "starts_early",
                lambda f: f.first[..., ON] - f.window_start[..., ON], "<=", 135.0, scale_ms=10.0,
            ),
        ),
    ),
    Pattern(
        "accommodation", "R", "ramp",
        "a slow ramp, although it reaches a larger amplitude, evokes no spike; a fast, smaller ramp does",
        Protocol(400, 0.5, _accommodation),
        Reference(0.02, 1, -55, 4, v0=-65, u0=-16, tau=0.5, accommodation=True),
        windows=((None, 300), (300, None)),
        criteria=(
            quiet(0, "during the slow ramp and the pause"),
            spike_count(1, "on the fast ramp", ">=", 1),
            silence_after(1, longer_than_its_intervals(1), "the response"),  # transient, as in pulse.py
        ),
    ),
)
