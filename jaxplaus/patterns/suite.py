"""Several patterns as one vmappable objective: the bridge from the pattern suite to search.

Patterns differ only in data (stimulus, windows, control length) and in their criteria, so a
set of patterns becomes one function ``loss(params, task)`` that a search can vmap over tasks:
stimuli are padded to a common length (the padding is never scored), feature specs are stacked,
and every pattern's criteria are applied to the features, the task's loss selected
(``lax.select_n``: what ``lax.switch`` becomes under vmap, traced in a fraction of the time; the
criteria only read the features, which cost nothing next to the simulation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus.models import get as get_model
from jaxplaus.models.base import GAIN, with_input_gain
from jaxplaus.patterns import runs
from jaxplaus.patterns.base import DEFAULT_WARMUP, Pattern


def stacked_inputs(patterns: Sequence[Pattern], warmup: int = DEFAULT_WARMUP):
    """``(stimuli [P, L], controls [P, Lc], specs [P, ...], control_ranges [P, 2])`` at unit gain.

    ``L`` is the longest ``warmup + T``, ``Lc`` the longest control run
    (:meth:`Pattern.control_length`); ``control_ranges`` holds each pattern's scored samples of
    the control run, ``[warmup, control_end)`` (which the control reducer reads from the spec).
    """
    length = warmup + max(p.n_samples for p in patterns)
    control_length = max(p.control_length(warmup) for p in patterns)
    stimuli = np.stack([p.run_stimulus(warmup, length) for p in patterns])
    controls = np.stack([p.control_stimulus(warmup, control_length) for p in patterns])
    specs = jax.tree.map(lambda *a: np.stack(a), *[p.spec(warmup) for p in patterns])
    ranges = np.stack([np.asarray(specs.warmup), np.asarray(specs.control_end)], axis=-1).astype(np.int32)
    return stimuli, controls, specs, ranges


def suite_loss(
    model, patterns: Sequence[Pattern], warmup: int = DEFAULT_WARMUP, *, lag: bool = False, control: bool = True,
    by_window: bool = False,
) -> Callable:
    """``loss(params, task) -> [...]``: the graded loss of candidates on pattern ``patterns[task]``.

    ``params`` holds every model parameter plus ``"gain"`` (arrays broadcasting over a batch);
    ``task`` is an int32 scalar (traced or not). The verdicts of ``patterns[task].evaluate(...)``,
    its losses to float32 rounding (there the criteria run eagerly, here compiled with the run).
    Pure and traceable: a search vmaps it over tasks and jit-compiles it once for all patterns.
    ``lag``: the feature reducer one sample behind the step (see :meth:`Pattern.features`).
    ``control=False``: no control run (half the simulation); the control criterion then holds
    unchecked, so the loss is a lower bound of the complete one, equal where the control run
    stays silent. Each candidate's runs stop at its own pattern's end (a batch of several
    patterns loops to its longest, the others frozen; a blow-up in another pattern's longer
    protocol is none of its business). ``by_window``: the features folded in phases by window
    (``features.feature_reducer(by_window=True)``; the same losses): faster to run, about a
    quarter longer to compile; a search's hot objective pays for it, a rarely called one does not.
    """
    stimuli, controls, specs, _ = stacked_inputs(patterns, warmup)
    branches = [lambda f, ok, p=p: p.loss(f, ok) for p in patterns]

    gained = with_input_gain(get_model(model))

    def loss(params, task):
        dtype = jnp.result_type(jnp.asarray(params[GAIN]).dtype, jnp.float32)
        spec = jax.tree.map(lambda a: jnp.asarray(a)[task], specs)
        x = jnp.asarray(stimuli, dtype)[task]  # shared by the population; the gain acts in the step
        xc = jnp.asarray(controls, dtype)[task] if control else None
        f, ok = runs.simulated(gained, params, x, xc, spec, dtype=dtype, lag=lag, by_window=by_window)
        losses = [branch(f, ok) for branch in branches]
        if len(losses) == 1:
            return losses[0]
        return jax.lax.select_n(jnp.broadcast_to(task, losses[0].shape), *losses)

    return loss
