"""The strict validator on one point per pattern, in one batched float64 simulation.

:meth:`Pattern.check <jaxplaus.patterns.base.Pattern.check>` judges one candidate of one
pattern: its full float64 traces (protocol and control runs), their features, every criterion.
Called once per pattern it costs a compilation and a few hundred milliseconds of eager work
each. :func:`strict_verdicts` gives the same verdicts for one point per pattern from one
simulation of all the patterns' protocols, padded to the longest (the padding is never scored,
and the finiteness flag covers each protocol's own samples only) and one compiled reduction of
the traces to features; only the verdicts, which read a handful of numbers, stay per pattern.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus import models as _models
from jaxplaus._precision import precision
from jaxplaus.patterns import runs
from jaxplaus.patterns.base import Verdict
from jaxplaus.patterns.suite import stacked_inputs
from jaxplaus.simulate import simulate


@functools.partial(jax.jit, static_argnums=(0, 1))
def _features(patterns: tuple, warmup: int, v, spikes, control_v, control_spikes):
    """``Features [P]`` of the recorded runs ``[P, L]`` of the ``patterns`` (``warmup`` static)."""
    _, _, specs, _ = stacked_inputs(patterns, warmup)
    return jax.vmap(lambda *a: runs.recorded(a[0], a[1], (a[2], a[3]), a[4]))(v, spikes, control_v, control_spikes,
                                                                               specs)


def protocol_traces(model, patterns: Sequence, params: Mapping[str, Sequence[float]], warmup: int):
    """``Trace [P, L]``: each pattern's point simulated in float64 on its protocol after ``warmup``
    samples, the protocols padded to the longest (``finite`` covers each one's own samples): the
    protocol runs :func:`strict_verdicts` judges (``params`` as there)."""
    stimuli, _, specs, _ = stacked_inputs(tuple(patterns), warmup)
    gained = _models.with_input_gain(_models.get(model))
    points = {k: np.asarray(v, np.float64) for k, v in params.items()}
    return simulate(gained, points, stimulus=stimuli, dtype="float64", finite_until=specs.warmup + specs.n_samples)


def strict_verdicts(model, patterns: Sequence, params: Mapping[str, Sequence[float]], warmup: int,
                    tasks: Sequence[int] | None = None) -> list[Verdict]:
    """The strict float64 verdict of each pattern's point: ``patterns[t].check(model, params_t,
    gain_t, warmup=warmup, dtype="float64")`` for every ``t`` of ``tasks``, from one batched
    simulation (of every pattern's point: one compiled size).

    Args:
        model: a Model or a registered name. patterns: the ``P`` patterns.
        params: ``name -> [P]`` each pattern's point (every model parameter and ``"gain"``).
        warmup: samples of the first input held before each protocol.
        tasks: the indices of the patterns to judge, in the order of the verdicts returned
            (default: all; the verdicts, a few hundred eager operations each, cost more than
            the simulation).
    """
    patterns = tuple(patterns)
    _, controls, _, ranges = stacked_inputs(patterns, warmup)
    gained = _models.with_input_gain(_models.get(model))
    points = {k: np.asarray(v, np.float64) for k, v in params.items()}
    trace = protocol_traces(model, patterns, points, warmup)
    with precision("float64") as dt:
        control = simulate(gained, points, stimulus=controls, dtype=dt, finite_until=ranges[:, 1])
        features = _features(patterns, int(warmup), trace.v, trace.spikes, control.v, control.spikes)
        features = jax.tree.map(np.asarray, features)
        finite = np.asarray(trace.finite & control.finite)
        return [
            patterns[t].verdict(jax.tree.map(lambda a, t=t: jnp.asarray(a[t]), features), bool(finite[t]))
            ._replace(controlled=True)
            for t in (range(len(patterns)) if tasks is None else tasks)
        ]


__all__ = ["protocol_traces", "strict_verdicts"]
