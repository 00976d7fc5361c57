"""The strict validator on one point per pattern, in one batched float64 simulation.

:meth:`Pattern.check <jaxplaus.patterns.base.Pattern.check>` judges one candidate of one
pattern: its full float64 traces (protocol and control runs), their features, every criterion.
Called once per pattern it costs a compilation and a few hundred milliseconds of eager work
each. :func:`strict_verdicts` gives the same verdicts for one point per pattern from one
simulation of all the patterns' protocols, padded to the longest (the padding is never scored,
and the finiteness flag covers each protocol's own samples only) and one compiled reduction of
the traces to features, misses and losses (a program stored like the search's loop,
:mod:`jaxplaus.search.stored`); only the verdicts' words stay per pattern.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus import models as _models
from jaxplaus import patterns as _patterns
from jaxplaus._precision import precision
from jaxplaus.patterns import features as F
from jaxplaus.patterns import runs
from jaxplaus.patterns.base import Verdict
from jaxplaus.patterns.suite import stacked_inputs
from jaxplaus.search import stored
from jaxplaus.simulate import simulate


@functools.lru_cache(maxsize=8)
def _inputs(patterns: tuple, warmup: int):
    """:func:`stacked_inputs`, kept (read-only): a search's judge asks for the same ones many times."""
    inputs = stacked_inputs(patterns, warmup)
    for a in jax.tree.leaves(inputs):
        a.flags.writeable = False
    return inputs


@functools.partial(jax.jit, static_argnums=(0, 1))
def _judged(patterns: tuple, warmup: int, v, spikes, control_v, control_spikes, finite):
    """``(Features [P], misses [P, C], loss [P])`` of the recorded runs ``[P, L]`` of the
    ``patterns`` (``warmup`` static; ``finite [P]``): each pattern's features, its criteria's
    misses (:meth:`Pattern.misses`, padded with zeros to the most criteria ``C``) and its loss
    (:meth:`Pattern.loss`), in one program rather than eager operations pattern by pattern."""
    _, _, specs, _ = stacked_inputs(patterns, warmup)
    features = jax.vmap(lambda *a: runs.recorded(a[0], a[1], (a[2], a[3]), a[4]))(v, spikes, control_v,
                                                                                   control_spikes, specs)
    width = max(len(p.all_criteria) for p in patterns)
    misses, loss = [], []
    for t, p in enumerate(patterns):
        f = jax.tree.map(lambda a, t=t: a[t], features)
        m = p.misses(f)
        misses.append(jnp.pad(m, (0, width - m.shape[-1])))
        loss.append(p.loss(f, finite[t]))  # from the same misses (one computation after XLA's CSE)
    return features, jnp.stack(misses), jnp.stack(loss)


_JUDGED_TREE = jax.tree.structure(
    (F.Features(F.Window(*[0] * len(F.Window._fields)), *[0] * (len(F.Features._fields) - 1)), 0, 0)
)  # what _judged returns


def _program_key(patterns: tuple, warmup: int) -> str | None:
    """The key of :func:`_judged`'s stored program (:mod:`jaxplaus.search.stored`): the patterns
    by name and the warm-up; None unless every pattern is the registered one (the code of any
    other is unknown)."""
    if not _patterns.shipped(patterns):
        return None
    return f"strict._judged({','.join(p.name for p in patterns)}; warmup={int(warmup)})"


def protocol_traces(model, patterns: Sequence, params: Mapping[str, Sequence[float]], warmup: int):
    """``Trace [P, L]``: each pattern's point simulated in float64 on its protocol after ``warmup``
    samples, the protocols padded to the longest (``finite`` covers each one's own samples): the
    protocol runs :func:`strict_verdicts` judges (``params`` as there)."""
    stimuli, _, specs, _ = _inputs(tuple(patterns), int(warmup))
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
            (default: all).
    """
    patterns = tuple(patterns)
    _, controls, _, ranges = _inputs(patterns, int(warmup))
    gained = _models.with_input_gain(_models.get(model))
    points = {k: np.asarray(v, np.float64) for k, v in params.items()}
    trace = protocol_traces(model, patterns, points, warmup)
    with precision("float64") as dt:
        control = simulate(gained, points, stimulus=controls, dtype=dt, finite_until=ranges[:, 1])
        finite = np.asarray(trace.finite & control.finite)
        judged = stored.call(_judged, (patterns, int(warmup)), _program_key(patterns, warmup),
                             (trace.v, trace.spikes, control.v, control.spikes, finite), out_tree=_JUDGED_TREE)
        features, misses, loss = jax.tree.map(np.asarray, judged)
        return [
            patterns[t].verdict(jax.tree.map(lambda a, t=t: a[t], features), bool(finite[t]),
                                judged=(misses[t, :len(patterns[t].all_criteria)], loss[t]))._replace(controlled=True)
            for t in (range(len(patterns)) if tasks is None else tasks)
        ]


__all__ = ["protocol_traces", "strict_verdicts"]
