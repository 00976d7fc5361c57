"""Criteria: named, documented comparisons on :class:`~jaxplaus.patterns.features.Features`.

A pattern is met when every one of its criteria holds. The same criteria give both the graded
loss an optimizer minimises and the strict verdict, so the two can never disagree:

- ``miss(features) >= 0`` is exactly 0 when the criterion holds, and grows with how far it is
  missed (in units of ``scale``: one spike for counts, ``scale`` ms for times);
- for spike-count criteria, an optional ``approach`` in ``[0, 1)`` (for example a voltage that
  approaches firing) scales the miss down by up to half, so partial progress scores better than
  none without ever reaching 0;
- the loss is the sum of the misses; the verdict lists every criterion whose miss is not 0, in
  words (``"3 spikes after release, expected 1"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax.numpy as jnp

from jaxplaus.patterns.features import Features

Measure = Callable[[Features], "jnp.ndarray"]
SENSES = (">=", "<=", "==")


@dataclasses.dataclass(frozen=True)
class Criterion:
    """One requirement of a pattern.

    Attributes:
        name: a short identifier, unique within the pattern.
        text: the measured value in words, formatted with ``value`` and ``target``, e.g.
            ``"{value:g} spikes after release"``; the verdict appends ``", expected <sense> <target>"``.
        value: ``Features -> array``, the measured quantity.
        sense: ``">="``, ``"<="`` or ``"=="``.
        target: the threshold, a number or ``Features -> array`` (for relative criteria).
        scale: the size of a miss that costs 1 in the loss.
        approach: optional ``Features -> [0, 1)``, graded credit while the criterion is missed.
    """

    name: str
    text: str
    value: Measure
    sense: str
    target: float | Measure
    scale: float = 1.0
    approach: Measure | None = None

    def __post_init__(self):
        if self.sense not in SENSES:
            raise ValueError(f"sense must be one of {SENSES}, got {self.sense!r}")
        if not self.scale > 0:
            raise ValueError(f"scale must be positive, got {self.scale}")

    def target_of(self, f: Features):
        return self.target(f) if callable(self.target) else self.target

    def miss(self, f: Features):
        """``>= 0``, exactly 0 when the criterion holds; NaN-free for finite features."""
        value = jnp.asarray(self.value(f))
        target = self.target_of(f)
        if self.sense == ">=":
            m = jnp.maximum(target - value, 0)
        elif self.sense == "<=":
            m = jnp.maximum(value - target, 0)
        else:
            m = jnp.abs(value - target)
        m = m / self.scale
        if self.approach is not None:
            m = m * (1 - 0.5 * jnp.clip(self.approach(f), 0.0, 0.999))
        return m

    def describe(self, f: Features) -> str:
        """The criterion in words for one candidate (``f`` holds scalars)."""
        value = float(jnp.asarray(self.value(f)))
        target = float(jnp.asarray(self.target_of(f)))
        expected = {">=": "at least", "<=": "at most", "==": "exactly"}[self.sense]
        return f"{self.text.format(value=value, target=target)}, expected {expected} {target:g}"


def rising(d):
    """A monotone squash of a voltage excursion ``d`` (model units) into ``[0, 1)``.

    Used only as an ``approach`` tie-breaker between candidates that miss a spike count: any
    monotone map ranks them the same, whatever the model's units.
    """
    d = jnp.maximum(d, 0)
    return d / (1 + d)


# ----------------------------------------------------------------------------- building blocks


def spike_count(window: int, where: str, sense: str, n: int) -> Criterion:
    """The number of spikes in a window compared with ``n``.

    A "too few spikes" miss gets graded credit for the window's voltage peak above rest.
    """
    approach = None
    if sense in (">=", "=="):
        approach = lambda f: jnp.where(f.count[..., window] < n, rising(f.v_max[..., window] - f.v_rest), 0.0)  # noqa: E731
    return Criterion(
        name=f"spikes_{where.replace(' ', '_')}",
        text="{value:g} spikes " + where,
        value=lambda f: f.count[..., window],
        sense=sense,
        target=float(n),
        approach=approach,
    )


def quiet(window: int, where: str) -> Criterion:
    """No spike in a window."""
    return spike_count(window, where, "<=", 0)


def time_measure(text: str, name: str, value: Measure, sense: str, target: float | Measure, scale_ms: float) -> Criterion:
    """A time (ms) compared with a target; a miss of ``scale_ms`` costs 1."""
    return Criterion(name=name, text=text, value=value, sense=sense, target=target, scale=scale_ms)


def count_measure(text: str, name: str, value: Measure, sense: str, target: float) -> Criterion:
    """An integer feature (bursts, spikes per burst, turning points) compared with a target."""
    return Criterion(name=name, text=text, value=value, sense=sense, target=target)


def ratio_measure(text: str, name: str, value: Measure, sense: str, target: float, scale: float = 0.1) -> Criterion:
    """A dimensionless ratio compared with a target; a miss of ``scale`` costs 1."""
    return Criterion(name=name, text=text, value=value, sense=sense, target=target, scale=scale)


def burst_count(window: int, sense: str, n: int) -> Criterion:
    """The number of bursts in a window compared with ``n``."""
    return count_measure("{value:g} bursts", "bursts", lambda f: f.n_bursts[..., window], sense, n)


def _toward_gap(interval):
    """Graded credit ``gap / interval`` for a spike interval that is too long to join a burst."""

    def approach(f):
        isi = interval(f)
        return jnp.where(isi > 0, f.burst_gap / jnp.maximum(isi, 1e-9), 0.0)

    return approach


# A burst is a short cluster of at least MIN_BURST_SPIKES spikes: the smallest burst of the
# figure1.m references is mixed mode's initial burst of 3 (the others have 5 to 10); a doublet is
# not a burst. It has at most MAX_BURST_SPIKES spikes, twice the largest reference burst (tonic
# bursting's first, 10 spikes), and a pattern of ONE burst (phasic and rebound bursting) lasts at
# most MAX_BURST_MS from its first spike to its last, 1.8 times the longest reference burst
# (phasic bursting's, 28.2 ms): a train of 50 spikes pinned at the refractory floor is not a burst.
MIN_BURST_SPIKES = 3
MAX_BURST_SPIKES = 20
MAX_BURST_MS = 50.0


def regular_late_intervals(window: int) -> Criterion:
    """Regular firing: the window's last two intervals differ by at most 20% of the last."""
    return ratio_measure(
        "the last two intervals differ by {value:.0%} of the last", "regular_late_intervals",
        lambda f: safe_ratio(abs(f.isi_last[..., window] - f.isi_prev[..., window]), f.isi_last[..., window]),
        "<=", 0.2,
    )


def first_burst_size(window: int, n: int = MIN_BURST_SPIKES) -> Criterion:
    """At least ``n`` spikes in the window's first burst.

    While missed, graded credit for a first interval approaching the burst gap (``gap / first
    interval``, < 1 when the first two spikes are too far apart to form a burst): single spikes
    drawing closer score better than far-apart ones.
    """
    return Criterion(
        name="first_burst_size",
        text="{value:g} spikes in the first burst",
        value=lambda f: f.first_burst[..., window],
        sense=">=",
        target=float(n),
        approach=_toward_gap(lambda f: f.isi_first[..., window]),
    )


def later_burst_size(window: int, n: int = MIN_BURST_SPIKES) -> Criterion:
    """At least ``n`` spikes in every later burst of the window (0 when there is none).

    While missed, graded credit for the window's last interval approaching the burst gap (a
    train often ends on the burst that is too small).
    """
    return Criterion(
        name="later_burst_size",
        text="{value:g} spikes in the smallest later burst",
        value=lambda f: f.rest_burst_min[..., window],
        sense=">=",
        target=float(n),
        approach=_toward_gap(lambda f: f.isi_last[..., window]),
    )


def burst_size_at_most(window: int, n: int = MAX_BURST_SPIKES) -> Criterion:
    """No burst of the window has more than ``n`` spikes (the first and every later one)."""
    return count_measure(
        "{value:g} spikes in the largest burst", "burst_at_most",
        lambda f: jnp.maximum(f.first_burst[..., window], f.rest_burst_max[..., window]), "<=", n,
    )


def single_burst_lasts_at_most(window: int, ms: float = MAX_BURST_MS) -> Criterion:
    """The window's spikes, one burst, span at most ``ms`` from the first to the last (0 with
    fewer than two spikes). For patterns that also require exactly one burst in the window."""
    return time_measure(
        "the burst lasts {value:g} ms", "burst_duration",
        lambda f: jnp.maximum(f.last[..., window] - f.first[..., window], 0.0), "<=", ms, scale_ms=10.0,
    )


def burst_contrast(window: int, factor: float = 3.0) -> Criterion:
    """Bursts stand apart: the shortest silence between two bursts of the window is at least
    ``factor`` times the longest interval within one. Without it an adapting train whose
    intervals hover around the burst gap would count as a train of bursts. (Holds trivially
    with fewer than two bursts or no burst of two spikes.)"""
    return ratio_measure(
        "the shortest gap between bursts is {value:.2f} times the longest interval within one",
        "burst_contrast",
        lambda f: safe_ratio(f.gap_min[..., window], f.intra_max[..., window]),
        ">=",
        factor,
        scale=0.5,
    )


def silence_after(window: int, ms: float | Measure, what: str = "the burst") -> Criterion:
    """Activity that stops: at least ``ms`` of silence from the window's last spike to its end
    (``ms`` a number, or a measure such as :func:`longer_than_its_intervals`)."""
    return time_measure(
        "{value:g} ms of silence after " + what, "stops",
        lambda f: f.window_end[..., window] - f.last[..., window], ">=", ms, scale_ms=10.0,
    )


def longer_than_its_intervals(window: int) -> Measure:
    """1.5 times the window's longest interval (0 for a single spike): a silence that long means
    the train has stopped (the complement of a sustained train's criterion)."""
    return lambda f: 1.5 * f.isi_max[..., window]


def safe_ratio(a, b):
    """``a / b`` with ``b`` kept away from 0 (for ratios of intervals or voltage swings)."""
    return a / jnp.maximum(b, 1e-9)
