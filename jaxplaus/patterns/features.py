"""Spike-train and voltage features, computed inside the simulation scan.

Every criterion of the suite reads a :class:`Features` record, and every record is made by ONE
function, :func:`finish`, from two reduced runs: the protocol run (:func:`feature_reducer`) and
the control run, the protocol shrunk towards its initial input (:func:`control_reducer`). The reducers are
carried through the engine's scan (:func:`simulated`: search and evaluation), so a population's
loss never needs its ``[batch, T]`` traces, or scanned over recorded traces (:func:`recorded`:
validation). What differs between patterns is data, a :class:`FeatureSpec` (the windows, the
burst gap, where the post-spike analysis starts), so the same compiled kernel serves all 20
patterns, vmapped over them. How a sample is folded into the carry, in one loop or in phases
(``feature_reducer(by_window=True)``), is :mod:`jaxplaus.patterns.fold`.

Times are sample indices inside the scan; :func:`finish` converts them to ms on the pattern's
reference grid (``(k - warmup) * tau``), which is how criteria state their thresholds (time is
never rescaled: one sample is one step for every model). Voltages stay in the model's own units;
criteria only compare voltages with each other, relative to the model's own voltage span.

Per window ``w`` (``start_w <= k < end_w``) the reducer keeps:

- ``count``, ``first``, ``last``: the number of spikes, first and last spike times;
- ``isi_first``, ``isi_prev``, ``isi_last``, ``isi_max``, ``isi_min``: inter-spike intervals between spikes
  of the window (the first, the one before the last, the last, the longest);
- bursts: a spike more than ``gap`` after the previous one of the window starts a new burst.
  ``intra_max`` and ``gap_min``: the longest interval within a burst, the shortest between two;
  ``n_bursts``, ``first_burst`` (spikes in the first burst), ``rest_burst_min`` and
  ``rest_burst_max`` (smallest and largest of the later bursts);
- ``v_max``, ``v_start``: the voltage maximum in the window and its first sample.

Globally: ``rest_spikes`` (spikes in the warm-up after its first tenth: a model at rest has
none), ``control_spikes`` (spikes of the control run, the protocol shrunk to a hundredth of its
departure from the initial input and watched for twice its length: a response must be caused
by the stimulus, not by slow intrinsic firing or a divergence from an unstable rest),
``v_rest`` (the voltage on the last warm-up sample, or the first sample if there is no warm-up),
``rest_swing`` (over the warm-up's last ``REST_TAIL`` samples, from ``warmup / REST_CHECK_FROM`` on:
how far the voltage swings beyond its net drift, ``hi - lo - |last - first|``; 0 for a voltage at
rest or drifting monotonically towards it, large for one that rings around it),
``v_hi``/``v_lo`` (the highest and lowest voltage of the protocol; ``v_span`` their difference),
``v_end`` (the last sample), and the post-spike record, restarted at every spike at or after
``post_start`` (and started at ``post_start`` itself): ``post_v0`` (the first voltage after the
spike), ``post_v_max``, and the voltage's turning points (``n_turns``; ``first_swing``/``last_swing``, the first and last
excursions between turning points; turns smaller than ``TURN_FLOOR`` of the first swing are
rounding noise at rest and are not counted).
"""

from __future__ import annotations

import operator
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus.simulate import Reducer

N_WINDOWS = 3
REST_CHECK_FROM = 2  # spikes in the warm-up count from warmup / 2 on (the start is a transient)
REST_TAIL = 10  # samples: the warm-up's last samples whose swing rest_swing measures
TURN_FLOOR = 0.01  # a turning point counts if its swing exceeds this share of the first swing
_BIG = 1e9


class FeatureSpec(NamedTuple):
    """A pattern's feature set-up, as arrays (so patterns can be vmapped).

    Attributes:
        start, end: ``[N_WINDOWS]`` int32 sample indices of each window, ``start <= k < end``
            (in the scan, warm-up included); an unused window has ``start == end``.
        gap: float, burst gap in samples (a longer inter-spike interval starts a new burst).
        post_start: int32, sample from which the post-spike record runs.
        warmup: int32, number of warm-up samples before the protocol (not scored).
        n_samples: int32, the protocol's number of samples (the scan may be padded past it).
        tau: float, ms per sample on the pattern's reference grid.
        control_end: int32, the control run counts its spikes in ``warmup <= k < control_end``.
    """

    start: jax.Array
    end: jax.Array
    gap: jax.Array
    post_start: jax.Array
    warmup: jax.Array
    n_samples: jax.Array
    tau: jax.Array
    control_end: jax.Array


class Window(NamedTuple):
    """Spike statistics of the windows (counts are floats holding integers).

    In the scan's :class:`Record`, one Window of scalars per window: times are sample indices and
    the window's last burst is still open (its size is in ``Record.current_burst``). In
    :class:`Features` (after :func:`finish`), one Window whose fields are ``[..., N_WINDOWS]``:
    times are ms from the protocol start, every burst is closed, and a window without (enough)
    spikes holds NaN-free sentinels: ``first`` is the window's end, ``last`` its start, intervals 0.
    """

    count: jax.Array
    first: jax.Array
    last: jax.Array
    isi_first: jax.Array
    isi_prev: jax.Array
    isi_last: jax.Array
    isi_max: jax.Array
    isi_min: jax.Array  # _BIG (in samples, then ms) when the window has fewer than two spikes
    intra_max: jax.Array  # the longest interval within a burst (<= gap), 0 if none
    gap_min: jax.Array  # the shortest interval between bursts (> gap), _BIG if none
    n_bursts: jax.Array
    first_burst: jax.Array  # spikes in the first burst (in the record: once a second one starts)
    rest_burst_min: jax.Array  # the smallest and largest later burst (in the record: closed ones)
    rest_burst_max: jax.Array
    v_max: jax.Array
    v_start: jax.Array


NOT_STARTED, AWAITING = 3.0, 2.0  # Post.direction before the record starts, and after a restart


class Post(NamedTuple):
    """The running post-spike record (scalars)."""

    v0: jax.Array
    v_max: jax.Array
    # NOT_STARTED; AWAITING the first sample after a restart; 0: undecided; +1/-1: rising/falling
    direction: jax.Array
    extreme: jax.Array  # running extreme in the current direction
    last_turn: jax.Array
    n_turns: jax.Array
    first_swing: jax.Array
    last_swing: jax.Array


class Record(NamedTuple):
    """The feature reducer's carry for one candidate (see :func:`jaxplaus.patterns.fold.update`): scalars only.

    Each window is its own :class:`Window` of scalars, not one record of ``[N_WINDOWS]``
    arrays: the engine vmaps the carry over candidates, and a ``[B]`` leaf is one contiguous,
    vectorised loop per sample (see :mod:`jaxplaus.packed_scan`), where a ``[B, N_WINDOWS]``
    leaf broadcasts every per-candidate input over the windows inside the loop.
    """

    windows: tuple[Window, ...]  # N_WINDOWS windows, each field a scalar
    current_burst: tuple[jax.Array, ...]  # N_WINDOWS scalars: spikes in each window's open (last) burst
    post: Post
    rest_spikes: jax.Array
    v_rest: jax.Array
    tail_first: jax.Array  # the voltage on the first sample of the warm-up's tail (see rest_tail_start)
    tail_hi: jax.Array  # the highest and lowest voltage of the tail (-_BIG, _BIG if it is empty)
    tail_lo: jax.Array
    v_hi: jax.Array
    v_lo: jax.Array
    v_end: jax.Array


class Features(NamedTuple):
    """What criteria read, for candidates of batch shape ``[...]``; times in ms from protocol start.

    ``window`` holds the spike statistics of the windows (a :class:`Window`, each field
    ``[..., N_WINDOWS]``), which read through as attributes: ``f.count`` is ``f.window.count``.
    ``window_start`` and ``window_end`` are ``[..., N_WINDOWS]`` too; every other field is ``[...]``.
    :meth:`flat` gives every feature by name.
    """

    window: Window
    window_start: jax.Array  # ms
    window_end: jax.Array  # ms
    rest_spikes: jax.Array  # spikes in the warm-up after its first 1/REST_CHECK_FROM
    control_spikes: jax.Array  # spikes of the control run after its warm-up (see Pattern.control_stimulus)
    v_rest: jax.Array
    rest_swing: jax.Array  # the voltage's swing beyond its net drift over the warm-up's tail (0: steady)
    v_hi: jax.Array  # the highest and lowest voltage of the protocol
    v_lo: jax.Array
    v_span: jax.Array  # v_hi - v_lo over the protocol, > 0
    v_end: jax.Array
    post_v0: jax.Array
    post_v_max: jax.Array
    n_turns: jax.Array
    first_swing: jax.Array
    last_swing: jax.Array
    burst_gap: jax.Array  # ms: a longer inter-spike interval separates bursts

    def flat(self) -> dict[str, jax.Array]:
        """``name -> array`` for every feature: the window statistics, then the other fields."""
        rest = self._asdict()
        return {**rest.pop("window")._asdict(), **rest}


for _name in Window._fields:  # f.count reads f.window.count (and shadows tuple.count)
    setattr(Features, _name, property(operator.attrgetter(f"window.{_name}"), doc=f"``window.{_name}``"))
del _name


def init(dtype) -> Record:
    """The initial carry of one candidate."""
    z = jnp.zeros((), dtype)
    window = Window(
        count=z, first=z, last=z, isi_first=z, isi_prev=z, isi_last=z, isi_max=z, isi_min=z + _BIG,
        intra_max=z, gap_min=z + _BIG,
        n_bursts=z, first_burst=z, rest_burst_min=z + _BIG, rest_burst_max=z,
        v_max=z - _BIG, v_start=z,
    )
    post = Post(
        v0=z, v_max=z - _BIG, direction=z + NOT_STARTED, extreme=z, last_turn=z, n_turns=z, first_swing=z, last_swing=z
    )
    return Record((window,) * N_WINDOWS, (z,) * N_WINDOWS, post, rest_spikes=z, v_rest=z,
                  tail_first=z, tail_hi=z - _BIG, tail_lo=z + _BIG, v_hi=z - _BIG, v_lo=z + _BIG, v_end=z)


def _update_window(w: Window, current_burst, k, v, spike, start, end, gap) -> tuple[Window, jax.Array]:
    """Fold one sample into one window's statistics and its open burst's size."""
    kf = k.astype(w.first.dtype)
    inside = (k >= start) & (k < end)
    fired = inside & spike
    has_prev = w.count > 0
    isi = jnp.where(has_prev, kf - w.last, 0)
    new_burst = fired & (~has_prev | (isi > gap))
    continues = fired & has_prev & (isi <= gap)
    # closing the current burst when a new one starts (only if there was one)
    closing = new_burst & (w.n_bursts > 0)
    closing_first = closing & (w.n_bursts == 1)
    closing_rest = closing & (w.n_bursts > 1)
    with_isi = fired & has_prev
    window = Window(
        count=w.count + fired,
        first=jnp.where(fired & ~has_prev, kf, w.first),
        last=jnp.where(fired, kf, w.last),
        isi_first=jnp.where(with_isi & (w.count == 1), isi, w.isi_first),
        isi_prev=jnp.where(with_isi, w.isi_last, w.isi_prev),
        isi_last=jnp.where(with_isi, isi, w.isi_last),
        isi_max=jnp.where(with_isi, jnp.maximum(w.isi_max, isi), w.isi_max),
        isi_min=jnp.where(with_isi, jnp.minimum(w.isi_min, isi), w.isi_min),
        intra_max=jnp.where(continues, jnp.maximum(w.intra_max, isi), w.intra_max),
        gap_min=jnp.where(with_isi & new_burst, jnp.minimum(w.gap_min, isi), w.gap_min),
        n_bursts=w.n_bursts + new_burst,
        first_burst=jnp.where(closing_first, current_burst, w.first_burst),
        rest_burst_min=jnp.where(closing_rest, jnp.minimum(w.rest_burst_min, current_burst), w.rest_burst_min),
        rest_burst_max=jnp.where(closing_rest, jnp.maximum(w.rest_burst_max, current_burst), w.rest_burst_max),
        v_max=jnp.where(inside, jnp.maximum(w.v_max, v), w.v_max),
        v_start=jnp.where(inside & (k == start), v, w.v_start),
    )
    return window, jnp.where(new_burst, 1, current_burst + continues)


def _update_post(p: Post, k, v, spike, spec: FeatureSpec) -> Post:
    """Turning points and after-potential since the last spike (or since ``post_start``).

    A turning point is confirmed with hysteresis: once the voltage has come back from its
    running extreme by more than ``TURN_FLOOR`` of the first swing (any amount for the first
    turn), so rounding noise around a resting potential never counts as an oscillation.
    """
    active = (k >= spec.post_start) & (k < spec.warmup + spec.n_samples)
    restart = active & (spike | (k == spec.post_start))
    running = active & (p.direction != NOT_STARTED) & ~restart
    first = running & (p.direction == AWAITING)
    undecided = running & (p.direction == 0)
    turning = running & (jnp.abs(p.direction) == 1)  # rising (+1) or falling (-1)
    h = jnp.where(p.n_turns > 0, TURN_FLOOR * p.first_swing, 0)
    leaving = jnp.sign(v - p.last_turn)
    further = turning & (p.direction * (v - p.extreme) > 0)
    turn = turning & (p.direction * (p.extreme - v) > h)  # h >= 0: never also further
    swing = jnp.abs(p.extreme - p.last_turn)
    return Post(
        v0=jnp.where(first, v, p.v0),
        v_max=jnp.where(restart, -_BIG, jnp.where(running, jnp.maximum(p.v_max, v), p.v_max)),
        direction=jnp.where(restart, AWAITING, jnp.where(
            first, 0, jnp.where(undecided, leaving, jnp.where(turn, -p.direction, p.direction)))),
        extreme=jnp.where(first | further | turn | (undecided & (leaving != 0)), v, p.extreme),
        last_turn=jnp.where(first, v, jnp.where(turn, p.extreme, p.last_turn)),
        n_turns=jnp.where(restart, 0, p.n_turns + turn),
        first_swing=jnp.where(restart, 0, jnp.where(turn & (p.n_turns == 0), swing, p.first_swing)),
        last_swing=jnp.where(restart, 0, jnp.where(turn, swing, p.last_swing)),
    )


def rest_tail_start(spec: FeatureSpec):
    """The first sample of the warm-up's tail, whose swing ``rest_swing`` measures: ``REST_TAIL``
    samples before the protocol, but not before ``warmup / REST_CHECK_FROM`` (the start is a
    transient); the tail is empty without a warm-up."""
    return jnp.maximum(spec.warmup - REST_TAIL, spec.warmup // REST_CHECK_FROM)


def _in_protocol(k, spec: FeatureSpec):
    """Whether sample ``k`` lies in the protocol (after the warm-up, before any padding)."""
    return (k >= spec.warmup) & (k < spec.warmup + spec.n_samples)


def finish(r: Record, control, spec: FeatureSpec) -> Features:
    """A pattern's :class:`Features` from its two reduced runs (the one place they are made).

    Closes the last bursts and converts sample indices to ms from the protocol start.

    Args:
        r: the protocol run's :class:`Record` (:func:`feature_reducer`'s summary), any leading
            batch shape ``[...]`` (window fields ``[..., N_WINDOWS]``).
        control: ``[...]`` the control run's spike count (:func:`control_reducer`'s summary).
        spec: the pattern's :class:`FeatureSpec`, as given to both reducers.
    """
    w = jax.tree.map(lambda *a: jnp.stack(a, axis=-1), *r.windows)  # fields [..., N_WINDOWS]
    current_burst = jnp.stack(r.current_burst, axis=-1)
    dtype = w.first.dtype
    tau = jnp.asarray(spec.tau).astype(dtype)
    first_burst = jnp.where(w.n_bursts == 1, current_burst, w.first_burst)
    rest_min = jnp.where(w.n_bursts > 1, jnp.minimum(w.rest_burst_min, current_burst), 0)
    rest_max = jnp.where(w.n_bursts > 1, jnp.maximum(w.rest_burst_max, current_burst), 0)
    origin = jnp.asarray(spec.warmup).astype(dtype)
    start_ms = (jnp.asarray(spec.start).astype(dtype) - origin) * tau
    end_ms = (jnp.asarray(spec.end).astype(dtype) - origin) * tau
    has = w.count > 0
    window = Window(
        count=w.count,
        first=jnp.where(has, (w.first - origin) * tau, end_ms),
        last=jnp.where(has, (w.last - origin) * tau, start_ms),
        isi_first=w.isi_first * tau,
        isi_prev=w.isi_prev * tau,
        isi_last=w.isi_last * tau,
        isi_max=w.isi_max * tau,
        isi_min=w.isi_min * tau,
        intra_max=w.intra_max * tau,
        gap_min=w.gap_min * tau,
        n_bursts=w.n_bursts,
        first_burst=first_burst,
        rest_burst_min=rest_min,
        rest_burst_max=rest_max,
        v_max=w.v_max,
        v_start=w.v_start,
    )
    return Features(
        window=window,
        window_start=jnp.broadcast_to(start_ms, w.count.shape),
        window_end=jnp.broadcast_to(end_ms, w.count.shape),
        rest_spikes=r.rest_spikes,
        control_spikes=control,
        v_rest=r.v_rest,
        rest_swing=jnp.where(r.tail_hi >= r.tail_lo,
                             jnp.maximum(r.tail_hi - r.tail_lo - jnp.abs(r.v_rest - r.tail_first), 0), 0),
        v_hi=r.v_hi,
        v_lo=r.v_lo,
        v_span=jnp.maximum(r.v_hi - r.v_lo, jnp.finfo(dtype).tiny),
        v_end=r.v_end,
        post_v0=r.post.v0,
        post_v_max=r.post.v_max,
        n_turns=r.post.n_turns,
        first_swing=r.post.first_swing,
        last_swing=r.post.last_swing,
        burst_gap=jnp.broadcast_to(jnp.asarray(spec.gap).astype(dtype) * tau, r.rest_spikes.shape),
    )


def feature_reducer(by_window: bool = False) -> Reducer:
    """The reducer whose carry :func:`finish` turns into :class:`Features`: one loop folding
    every sample, or, ``by_window``, its phases (:mod:`jaxplaus.patterns.fold`: the warm-up,
    each window, the rest of the protocol, each in a loop of its own carrying only what it
    changes). The features are the same either way. ``by_window`` runs a batch of one pattern's
    candidates 1.5 to 1.8 times as fast, but compiles about twice as long, and in a batch of
    several patterns (the suite's objective, vmapped over them) its phases run in step, each as
    long as its longest member, which makes it the slower.

    The pattern's :class:`FeatureSpec` reaches ``update`` as the scan's context
    (``simulate_summary(..., context=spec)``), so one compiled kernel serves every pattern.
    """
    from jaxplaus.patterns.fold import FEATURE_REDUCERS  # the fold builds on this module

    return FEATURE_REDUCERS[bool(by_window)]


def control_reducer() -> Reducer:
    """The control run's only feature: its spikes after the warm-up, ``warmup <= k <
    control_end``, read from the pattern's :class:`FeatureSpec`, the scan's context as for
    :func:`feature_reducer`."""
    return _CONTROL


def _in_control(k, spec: FeatureSpec):
    return (k >= spec.warmup) & (k < spec.control_end)


_CONTROL = Reducer(
    init=lambda dtype: jnp.zeros((), dtype),
    update=lambda c, s: c + (s.spike & _in_control(s.k, s.context)).astype(c.dtype),
)


def make_spec(windows_samples, gap, post_start, warmup, n_samples, tau, control_end) -> FeatureSpec:
    """A FeatureSpec from Python numbers (windows as up to N_WINDOWS ``(start, end)`` pairs)."""
    start = np.zeros(N_WINDOWS, np.int32)
    end = np.zeros(N_WINDOWS, np.int32)
    if len(windows_samples) > N_WINDOWS:
        raise ValueError(f"at most {N_WINDOWS} windows, got {len(windows_samples)}")
    bounds = [warmup] + [b for window in windows_samples for b in window] + [warmup + n_samples]
    if any(a > b for a, b in zip(bounds, bounds[1:])):
        raise ValueError(f"windows must lie in the protocol (samples {warmup} .. {warmup + n_samples}), in time order "
                         f"and not overlapping (start <= end <= the next one's start), got "
                         f"{list(map(tuple, windows_samples))}")
    for i, (a, b) in enumerate(windows_samples):
        start[i], end[i] = a, b
    return FeatureSpec(
        start=start, end=end, gap=np.float64(gap), post_start=np.int32(post_start),
        warmup=np.int32(warmup), n_samples=np.int32(n_samples), tau=np.float64(tau),
        control_end=np.int32(control_end),
    )
