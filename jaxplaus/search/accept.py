"""Accepting a task's zero by an outside judge: a rejected zero is no zero, the task searches on.

A search in one precision can reach loss 0 where a stricter judge (for an assessment: the
float64 validator) disagrees, for example a spike that float32 rounding lets cross its
threshold. With ``run_search(accept=judge)``, at every setting of the batch (after a generation
that solved a task of the batch, and every ``rebatch_every`` generations; before the solved
tasks leave the batch) each solved task not yet accepted has its zero judged: ``judge(params,
todo) -> (ok [T], loss [T])``, ``params`` each task's point (its first lane at loss <= 0;
physical values ``name -> [T]``), ``todo [T]`` bool the tasks to judge (the verdicts of the
others are ignored). An accepted task is solved for good. A rejected lane keeps its point with
the judge's loss and restarts (fresh strategy state, new random start), and its task is judged
again at the next setting if another of its lanes holds a zero. Everything is decided from the
state alone, so chunking and resuming do not change a result.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus.search.config import SearchConfig
from jaxplaus.search.space import to_physical
from jaxplaus.search.state import SearchState


def _first_zero_lanes(state: SearchState) -> tuple[np.ndarray, np.ndarray]:
    """``(todo [T], lane [T])``: the solved tasks not yet accepted, and each task's first lane
    at loss <= 0 (0 where it has none)."""
    zero = np.asarray(state.lanes.best_loss) <= 0
    return zero.any(axis=1) & ~np.asarray(state.accepted), np.argmax(zero, axis=1)


def _rejected(state: SearchState, tasks: np.ndarray, lanes: np.ndarray, loss: np.ndarray) -> SearchState:
    """``state`` with lane ``lanes[k]`` of task ``tasks[k]`` rejected: its point kept at ``loss``
    (> 0), its zero forgotten, and the lane restarted."""
    lns = state.lanes
    at = (jnp.asarray(tasks), jnp.asarray(lanes))
    loss = np.maximum(np.asarray(loss, np.float64), np.finfo(np.float32).tiny)  # a rejected zero scores > 0
    return state.replace(lanes=lns.replace(
        best_loss=lns.best_loss.at[at].set(jnp.asarray(loss, lns.best_loss.dtype)),
        zero_generation=lns.zero_generation.at[at].set(-1),
        fresh=lns.fresh.at[at].set(True),
        strategy=jax.tree.map(lambda x: x.at[at].set(0), lns.strategy),
        run_best_loss=lns.run_best_loss.at[at].set(jnp.inf),
        stall=lns.stall.at[at].set(0),
        restarts_done=lns.restarts_done.at[at].add(1),
    ))


def accepted(config: SearchConfig, state: SearchState, judge: Callable) -> SearchState:
    """``state`` after judging every solved task's zero not yet accepted (see the module
    docstring), until each is accepted or has no zero left."""
    while True:
        todo, lane = _first_zero_lanes(state)
        if not todo.any():
            return state
        tasks = np.arange(todo.size)
        z = np.asarray(state.lanes.best_z)[tasks, lane]
        ok, loss = judge({k: np.asarray(v) for k, v in to_physical(config.space, jnp.asarray(z)).items()}, todo)
        ok, loss = np.asarray(ok, bool) & todo, np.asarray(loss, np.float64)
        bad = todo & ~ok
        state = state.replace(accepted=jnp.asarray(np.asarray(state.accepted) | ok))
        if bad.any():
            state = _rejected(state, tasks[bad], lane[bad], loss[bad])


__all__ = ["accepted"]
