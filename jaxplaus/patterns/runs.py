"""A pattern's features from its two runs: simulated (search, evaluation) or recorded (validation).

A candidate's features come from two runs, the protocol run and the control run, each reduced
by its reducer with the pattern's FeatureSpec as context, and joined by
:func:`~jaxplaus.patterns.features.finish`. The runs are either simulated (the reducers carried
through the engine's scan: search and evaluation) or recorded (the same reducers scanned over
the traces: validation).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxplaus.patterns import features as F
from jaxplaus.simulate import Reducer, Sample, simulate_summary


def simulated(
    model, params, stimulus, control, spec: F.FeatureSpec, *, state0=None, dtype, lag: bool = False,
    by_window: bool = False,
) -> tuple[F.Features, jax.Array]:
    """Features of simulated candidates, never keeping their traces.

    Args:
        model: a :class:`~jaxplaus.models.Model` (or a registered name).
        params: every model parameter, arrays broadcasting over the batch ``[...]``.
        stimulus: ``[..., L]`` the protocol run's input, warm-up first; a stimulus padded to a
            common length serves too: each run stops at the end of its protocol,
            ``spec.warmup + spec.n_samples`` (a traced spec: a ``while`` loop to the batch's
            longest, the others frozen), and neither the features nor the finite flag see the
            padding.
        control: ``[..., L']`` the control run's input: the protocol's first input, held (it
            stops at ``spec.control_end``); or None: no control run (its spike count is 0: the
            control criterion holds unchecked).
        spec: the pattern's :class:`~jaxplaus.patterns.features.FeatureSpec` (concrete, or traced:
            one kernel serves every pattern).
        state0, dtype: as :func:`~jaxplaus.simulate.simulate_summary`; lag: its ``lag`` for the
            protocol run (the feature reducer one sample behind the step: faster).
        by_window: the feature reducer's phases by window (``feature_reducer(by_window)``):
            faster for one pattern's candidates, slower vmapped over patterns.

    Returns:
        ``(Features [...], finite [...])``; ``finite`` is False where either run blew up.
    """
    run = simulate_summary(
        model, params, stimulus, F.feature_reducer(by_window), state0, context=spec, dtype=dtype, unroll=1, lag=lag,
        length=_length(spec.warmup + spec.n_samples),
    )
    if control is None:
        return F.finish(run.values, jnp.zeros_like(run.values.rest_spikes), spec), run.finite
    ctl = simulate_summary(model, params, control, F.control_reducer(), state0, context=spec, dtype=dtype,
                           length=_length(spec.control_end))
    return F.finish(run.values, ctl.values, spec), run.finite & ctl.finite


def _length(n):
    """A run's length as :func:`~jaxplaus.simulate.simulate_summary` takes it: an int when known."""
    return n if isinstance(n, jax.core.Tracer) else int(n)


@jax.jit
def recorded(v, spikes, control, spec: F.FeatureSpec) -> F.Features:
    """Features of recorded traces: the reducers of :func:`simulated`, scanned over the recording
    (one compiled program per shape and dtype, whichever pattern's ``spec``).

    Args:
        v, spikes: ``[..., L]`` the protocol run's voltage (model units) and spikes (bool), warm-up first.
        control: ``(v, spikes)`` of the control run, ``[..., L']``, or None where there is none
            (``control_spikes`` is then 0: the control criterion goes unchecked).
        spec: the pattern's :class:`~jaxplaus.patterns.features.FeatureSpec`.
    """
    record = reduce_recorded(F.feature_reducer(), v, spikes, spec)
    if control is None:
        count = jnp.zeros_like(record.rest_spikes)
    else:
        count = reduce_recorded(F.control_reducer(), *control, spec)
    return F.finish(record, count, spec)


def reduce_recorded(reducer: Reducer, v, spikes, context=None):
    """``reducer``'s summary of recorded traces ``v, spikes: [..., L]`` (leading shape ``[...]``):
    what :func:`~jaxplaus.simulate.simulate_summary` computes in its scan, the sample's input
    ``x`` being ``v`` (no input is recorded) and its state None."""
    batch, n = v.shape[:-1], v.shape[-1]

    def one(vs, ss):
        def body(c, inp):
            k, vk, sk = inp
            return reducer.update(c, Sample(k, vk, vk, sk, None, context)), None

        c, _ = jax.lax.scan(body, reducer.init(vs.dtype), (jnp.arange(n, dtype=jnp.int32), vs, ss))
        return reducer.finish(c)

    out = jax.vmap(one)(v.reshape((-1, n)), spikes.reshape((-1, n)).astype(bool))
    return jax.tree.map(lambda a: a.reshape(batch + a.shape[1:]), out)


__all__ = ["recorded", "reduce_recorded", "simulated"]
