"""How one sample is folded into the feature carry of :mod:`jaxplaus.patterns.features`: the
full update, and the phases (:class:`jaxplaus.simulate.Phase`) that fold runs of samples
changing only part of the carry, each in a loop of its own.

The warm-up changes the rest checks alone: the windows and the post-spike record start in the
protocol. Before its tail (``features.rest_tail_start``) only the spikes at rest can change; in
the tail, the tail's voltages and ``v_rest`` too. The protocol, up to each window's end in
turn, changes that window and the extremes (and ``v_rest``, the first sample's voltage when
there is no warm-up); its samples after the last window, the extremes. Each of these is split
at ``post_start``: from there on, the post-spike record changes too (most patterns have none:
their ``post_start`` is the protocol's end). Windows are in time order and do not overlap
(``make_spec``), so a window's samples all lie in its own phases; an unused window (``start ==
end == 0``) has none. Past the protocol (the padding of a stimulus padded to a suite's longest)
nothing changes: that phase's loop carries the step alone.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxplaus.patterns.features import (
    N_WINDOWS,
    REST_CHECK_FROM,
    FeatureSpec,
    Record,
    _in_protocol,
    _update_post,
    _update_window,
    init,
    rest_tail_start,
)
from jaxplaus.simulate import Phase, Reducer


def update(r: Record, sample, spec: FeatureSpec) -> Record:
    """Fold one sample into one candidate's carry."""
    k, v, spike = sample.k, sample.v, sample.spike
    start, end = jnp.asarray(spec.start), jnp.asarray(spec.end)
    windows, current_burst = zip(*(
        _update_window(w, b, k, v, spike, start[i], end[i], spec.gap)
        for i, (w, b) in enumerate(zip(r.windows, r.current_burst, strict=True))
    ), strict=True)
    return r._replace(windows=windows, current_burst=current_burst, **_rest_checks(r, sample, spec),
                      **_protocol_extremes(r, sample, spec), **_post(r, sample, spec))


def _rest_spikes(r: Record, sample, spec: FeatureSpec) -> dict:
    """The carry's spikes at rest after ``sample``."""
    k = sample.k
    in_check = (k >= spec.warmup // REST_CHECK_FROM) & (k < spec.warmup)
    return {"rest_spikes": r.rest_spikes + (sample.spike & in_check)}


def _v_rest(r: Record, sample, spec: FeatureSpec) -> dict:
    """The carry's ``v_rest`` after ``sample``: the last warm-up sample's voltage (the first
    sample's without a warm-up)."""
    return {"v_rest": jnp.where(sample.k == jnp.maximum(spec.warmup - 1, 0), sample.v, r.v_rest)}


def _rest_checks(r: Record, sample, spec: FeatureSpec) -> dict:
    """The carry's rest checks after ``sample``: the spikes at rest, the warm-up tail's
    voltages and ``v_rest``."""
    k, v = sample.k, sample.v
    tail_start = rest_tail_start(spec)
    in_tail = (k >= tail_start) & (k < spec.warmup)
    return {**_rest_spikes(r, sample, spec), **_v_rest(r, sample, spec),
            "tail_first": jnp.where(in_tail & (k == tail_start), v, r.tail_first),
            "tail_hi": jnp.where(in_tail, jnp.maximum(r.tail_hi, v), r.tail_hi),
            "tail_lo": jnp.where(in_tail, jnp.minimum(r.tail_lo, v), r.tail_lo)}


def _protocol_extremes(r: Record, sample, spec: FeatureSpec) -> dict:
    """The carry's voltage extremes and last voltage of the protocol after ``sample``."""
    k, v = sample.k, sample.v
    in_protocol = _in_protocol(k, spec)
    return {"v_hi": jnp.where(in_protocol, jnp.maximum(r.v_hi, v), r.v_hi),
            "v_lo": jnp.where(in_protocol, jnp.minimum(r.v_lo, v), r.v_lo),
            "v_end": jnp.where(k == spec.warmup + spec.n_samples - 1, v, r.v_end)}


def _post(r: Record, sample, spec: FeatureSpec) -> dict:
    return {"post": _update_post(r.post, sample.k, sample.v, sample.spike, spec)}


def _phase_update(window: int | None, post: bool):
    """The update of the protocol's samples up to window ``window``'s end (None: after the
    last window), with the post-spike record when ``post``."""

    def phase_update(r: Record, sample, spec: FeatureSpec) -> Record:
        changed = {**_v_rest(r, sample, spec), **_protocol_extremes(r, sample, spec)}
        if post:
            changed.update(_post(r, sample, spec))
        if window is not None:
            i = window
            w, b = _update_window(r.windows[i], r.current_burst[i], sample.k, sample.v, sample.spike,
                                  jnp.asarray(spec.start)[i], jnp.asarray(spec.end)[i], spec.gap)
            changed.update(windows=r.windows[:i] + (w,) + r.windows[i + 1:],
                           current_burst=r.current_burst[:i] + (b,) + r.current_burst[i + 1:])
        return r._replace(**changed)

    return phase_update


def _warmup_update(r: Record, sample, spec: FeatureSpec) -> Record:
    return r._replace(**_rest_checks(r, sample, spec))


def _before_tail_update(r: Record, sample, spec: FeatureSpec) -> Record:
    return r._replace(**_rest_spikes(r, sample, spec))


def _phase(end, fold) -> Phase:
    return Phase(end=end, update=lambda c, s: fold(c, s, s.context))


def phases() -> tuple[Phase, ...]:
    """The feature reducer's phases by window: the warm-up before its tail, and its tail; each
    window up to its end, then the rest of the protocol, each first without the post-spike
    record (up to ``post_start``), then with it; then the samples past the protocol, where a
    padded stimulus runs on and nothing changes."""
    phase = _phase
    out = [phase(rest_tail_start, _before_tail_update), phase(lambda spec: spec.warmup, _warmup_update)]
    ends = [lambda spec, i=i: jnp.asarray(spec.end)[i] for i in range(N_WINDOWS)]
    for window, end in enumerate(ends):
        out.append(phase(lambda spec, end=end: jnp.minimum(end(spec), spec.post_start), _phase_update(window, False)))
        out.append(phase(end, _phase_update(window, True)))
    out.append(phase(lambda spec: spec.post_start, _phase_update(None, False)))
    out.append(phase(lambda spec: spec.warmup + spec.n_samples, _phase_update(None, True)))
    out.append(Phase(end=None, update=lambda c, s: c))  # past the protocol (a padded stimulus): nothing changes
    return tuple(out)


# One reducer of each kind, built once: reducers hash by identity (their compiled kernels too).
FEATURE_REDUCERS = {by_window: Reducer(init=init, update=lambda c, s: update(c, s, s.context),
                                       phases=phases() if by_window else ())
                    for by_window in (False, True)}

__all__ = ["FEATURE_REDUCERS", "phases", "update"]
