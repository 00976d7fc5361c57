"""Confirming a loss of 0 before the strategy is told it: the point, and two jittered copies of
it, must score 0 by a check.

Where a task's dynamics are chaotic, a loss of 0 can be an accident of rounding: the loss then
changes under relative moves of 1e-15, and nearby points "pass" by chance. With
``run_search(confirm_jitter=j)``, a lane's zero counts only if two copies of that point, every
searched value moved by ``x (1 + j s)`` and ``x (1 - j s)`` (``s`` +1, -1, +1, ... over the
searched dimensions), score <= 0 as well. With ``run_search(confirm_objective=f)`` the point
itself must also score <= 0 by ``f``: the search can then screen candidates with a cheaper
objective (a lower bound of ``f``) and confirm its zeros by the complete one.

The check runs between a generation's evaluation and its tell, in every lane not yet at 0 whose
population scored a 0: its first candidate at 0 is checked. A zero the check rejects scores the
worst of the checked losses, and so does every other 0 of that population (they stand or fall
with the one checked): the strategy is told that loss, and the lane keeps the point only where
it beats the lane's best. A screen's zero in a region the check refuses therefore pushes the
strategy away from it, as its complete loss would. The checks are simulated only in generations
where some lane scored a 0 it must confirm, and only for those lanes, :data:`CHECKED_AT_ONCE`
at a time, so the search pays for them rarely.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

from jaxplaus.search.config import SearchConfig, scored
from jaxplaus.search.space import to_physical
from jaxplaus.search.state import LaneState

CHECKED_AT_ONCE = 8  # lanes whose zeros one simulation checks (more: several, in turn)


def jittered_copies(config: SearchConfig, z, point: bool = False) -> dict[str, jax.Array]:
    """``name -> [..., C]``: the two jittered copies (physical values) of the points ``z [..., D]``,
    after the point itself when ``point`` (``C`` = 2 or 3; 1, the point alone, without jitter)."""
    names = config.space.names
    signs = {name: (1.0 if i % 2 == 0 else -1.0) for i, name in enumerate(names)}
    out = {}
    for name, v in to_physical(config.space, z).items():
        d = v * (config.confirm_jitter * signs[name]) if name in signs else jnp.zeros_like(v)
        copies = ([v] if point else []) + ([v + d, v - d] if config.confirm_jitter > 0 else [])
        out[name] = jnp.stack(copies, axis=-1)
    return out


def _checked_loss(config: SearchConfig, objective: Callable, point: bool, z, tasks) -> jax.Array:
    """``[S]`` the worst loss of the checked copies of each lane's point ``z [S, D]`` (inf if any
    is not finite)."""
    loss = scored(objective, jittered_copies(config, z, point), tasks)  # [S, C]
    loss = jnp.where(jnp.isfinite(loss), loss, jnp.inf).astype(z.dtype)
    return jnp.max(loss, axis=-1)


def confirmed(config: SearchConfig, objectives: tuple, lanes: LaneState, z, loss, tasks, frozen) -> jax.Array:
    """``[S, pop]`` the losses ``loss`` of the lanes' points ``z [S, pop, D]`` with their zeros
    confirmed or rejected (see the module docstring): what the strategy is told.

    Args:
        objectives: the search's objective and the one confirming its zeros (or None: the
            jittered copies are checked by the search's objective, the point not again).
        lanes: the lanes ``[S]`` before the generation (those at 0 already check nothing).
        tasks: ``[S]`` each lane's task. frozen: ``[S]`` bool, lanes that keep their state.
    """
    objective, confirming = objectives
    if confirming is None and config.confirm_jitter == 0:
        return loss
    zero = loss <= 0
    due = jnp.any(zero, axis=1) & (lanes.zero_generation < 0) & ~frozen

    def check(loss):
        first = jnp.take_along_axis(z, jnp.argmax(zero, axis=1)[:, None, None], axis=1)[:, 0]  # [S, D]
        worst = _checked(config, confirming or objective, confirming is not None, due, first, tasks)
        reject = due & ~(worst <= 0)
        return jnp.where(reject[:, None] & zero, worst[:, None].astype(loss.dtype), loss)

    return lax.cond(jnp.any(due), check, lambda loss: loss, loss)


def _checked(config: SearchConfig, objective: Callable, point: bool, due, z, tasks) -> jax.Array:
    """``[S]`` the worst checked loss of each lane's point ``z [S, D]`` where ``due [S]`` (the
    other lanes' entries are meaningless), :data:`CHECKED_AT_ONCE` lanes per simulation."""
    at_once = min(CHECKED_AT_ONCE, due.shape[0])
    order = jnp.argsort(~due, stable=True)  # the lanes to check first
    order = jnp.concatenate([order, order[:at_once]])  # a last turn may run past the end
    rounds = (jnp.sum(due) + at_once - 1) // at_once

    def turn(i, worst):
        lanes = lax.dynamic_slice_in_dim(order, i * at_once, at_once)
        return worst.at[lanes].set(_checked_loss(config, objective, point, z[lanes], tasks[lanes]))

    return lax.fori_loop(0, rounds, turn, jnp.full(due.shape, jnp.inf, z.dtype))


__all__ = ["confirmed", "jittered_copies"]
