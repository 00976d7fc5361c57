"""Confirming a loss of 0: the point, and two jittered copies of it, must score 0 by a check.

Where a task's dynamics are chaotic, a loss of 0 can be an accident of rounding: the loss then
changes under relative moves of 1e-15, and nearby points "pass" by chance. With
``run_search(confirm_jitter=j)``, a lane whose best reached loss <= 0 in a generation keeps it
only if two copies of that point, every searched value moved by ``x (1 + j s)`` and
``x (1 - j s)`` (``s`` +1, -1, +1, ... over the searched dimensions), score <= 0 as well. With
``run_search(confirm_objective=f)`` the point itself must also score <= 0 by ``f``: the search
can then screen candidates with a cheaper objective and confirm its zeros by the complete one.
A rejected point counts with the worst of the checked losses: it stays the lane's best only if
that beats the lane's previous best, which is restored otherwise. The checks are simulated only
in generations where some lane reached a new zero, and only for those lanes,
:data:`CHECKED_AT_ONCE` at a time, so the search pays for them rarely.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

from jaxplaus.search.config import SearchConfig, scored
from jaxplaus.search.space import to_physical
from jaxplaus.search.state import LaneState

CHECKED_AT_ONCE = 8  # lanes whose new zeros one simulation checks (more: several, in turn)


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


def confirm(
    config: SearchConfig, objective: Callable, point: bool, before: LaneState, after: LaneState, tasks, g
) -> LaneState:
    """``after`` (the lanes ``[S]`` of tasks ``tasks [S]`` after generation ``g``) with every zero
    reached in ``g`` confirmed or rejected by ``objective`` (see the module docstring; ``point``:
    the point itself is checked too); ``before`` the lanes before it."""
    new_zero = (after.zero_generation == g) & (before.zero_generation < 0)

    def check(lanes: LaneState) -> LaneState:
        worst = _new_zeros_checked(config, objective, point, new_zero, lanes.best_z, tasks)
        reject = new_zero & ~(worst <= 0)
        keep = reject & (worst < before.best_loss)  # the point, with its confirmed loss
        restore = reject & ~keep  # the lane's previous best
        return lanes.replace(
            best_loss=jnp.where(keep, worst, jnp.where(restore, before.best_loss, lanes.best_loss)),
            best_z=jnp.where(restore[..., None], before.best_z, lanes.best_z),
            best_generation=jnp.where(restore, before.best_generation, lanes.best_generation),
            zero_generation=jnp.where(reject, before.zero_generation, lanes.zero_generation),
        )

    return lax.cond(jnp.any(new_zero), check, lambda lanes: lanes, after)


def _new_zeros_checked(config: SearchConfig, objective: Callable, point: bool, new_zero, z, tasks) -> jax.Array:
    """``[S]`` the worst checked loss of each lane with a new zero (``new_zero [S]``; the other
    lanes' entries are meaningless), :data:`CHECKED_AT_ONCE` lanes per simulation."""
    at_once = min(CHECKED_AT_ONCE, new_zero.shape[0])
    order = jnp.argsort(~new_zero, stable=True)  # the lanes with a new zero first
    order = jnp.concatenate([order, order[:at_once]])  # a last turn may run past the end
    rounds = (jnp.sum(new_zero) + at_once - 1) // at_once

    def turn(i, worst):
        lanes = lax.dynamic_slice_in_dim(order, i * at_once, at_once)
        return worst.at[lanes].set(_checked_loss(config, objective, point, z[lanes], tasks[lanes]))

    return lax.fori_loop(0, rounds, turn, jnp.full(new_zero.shape, jnp.inf, z.dtype))


__all__ = ["confirm", "jittered_copies"]
