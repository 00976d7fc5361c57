"""Confirming a loss of 0: two jittered copies of the point must score 0 too.

Where a task's dynamics are chaotic, a loss of 0 can be an accident of rounding: the loss then
changes under relative moves of 1e-15, and nearby points "pass" by chance. With
``run_search(confirm_jitter=j)``, a lane whose best reached loss <= 0 in a generation keeps it
only if two copies of that point, every searched value moved by ``x (1 + j s)`` and
``x (1 - j s)`` (``s`` +1, -1, +1, ... over the searched dimensions), score <= 0 as well. A
rejected point counts with the worst of the copies' losses: it stays the lane's best only if
that beats the lane's previous best, which is restored otherwise. The copies are simulated only
in generations where some lane reached a new zero (a ``lax.cond`` outside the lanes' ``vmap``),
so the search pays for them rarely, where scoring every candidate by its worst of three copies
would triple every generation's simulation.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

from jaxplaus.search.config import SearchConfig
from jaxplaus.search.space import to_physical
from jaxplaus.search.state import LaneState


def jittered_copies(config: SearchConfig, z) -> dict[str, jax.Array]:
    """``name -> [..., 2]``: the two jittered copies (physical values) of the points ``z [..., D]``."""
    names = config.space.names
    signs = {name: (1.0 if i % 2 == 0 else -1.0) for i, name in enumerate(names)}
    out = {}
    for name, v in to_physical(config.space, z).items():
        d = v * (config.confirm_jitter * signs[name]) if name in signs else jnp.zeros_like(v)
        out[name] = jnp.stack([v + d, v - d], axis=-1)
    return out


def _copies_loss(config: SearchConfig, objective: Callable, z, tasks) -> jax.Array:
    """``[B, R]`` the worst loss of the two copies of each lane's point ``z [B, R, D]`` (inf if
    either is not finite)."""
    per_task = jax.vmap(objective, in_axes=(0, None))  # over a task's lanes: params [R, 2]
    loss = jax.vmap(per_task, in_axes=(0, 0))(jittered_copies(config, z), tasks)  # [B, R, 2]
    loss = jnp.where(jnp.isfinite(loss), loss, jnp.inf).astype(z.dtype)
    return jnp.max(loss, axis=-1)


def confirm(config: SearchConfig, objective: Callable, before: LaneState, after: LaneState, tasks, g) -> LaneState:
    """``after`` (the lanes after generation ``g``) with every zero reached in ``g`` confirmed or
    rejected (see the module docstring); ``before`` the lanes before it."""
    new_zero = (after.zero_generation == g) & (before.zero_generation < 0)

    def check(lanes: LaneState) -> LaneState:
        worst = _copies_loss(config, objective, lanes.best_z, tasks)
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


__all__ = ["confirm", "jittered_copies"]
