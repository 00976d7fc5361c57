"""The batch of lanes: which of the state's ``T x R`` lanes a period of generations simulates.

Solved tasks' lanes leave the batch and unsolved tasks' join it (the lane pool) when a period
ends (after a generation that solved a task of the batch, or ``rebatch_every`` generations),
decided from the state alone, so neither chunking nor a resume changes a result. The batch is
padded to a power of two (few compiled sizes) and, split over devices, filled so each device
holds an equal share (:func:`per_device`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus.search.config import SearchConfig
from jaxplaus.search.state import SearchState


class Batch(NamedTuple):
    """The lanes a period of generations simulates: ``S`` of the state's ``T x R``, task by task,
    each group of ``lane_group`` consecutive lanes of one task (a group of padding lanes aside).

    Attributes:
        tasks, lane_ids: ``[S]`` int32, each lane's task and its index among the task's lanes.
        padding: ``[S]`` bool, lanes only there to fill the batch to its size (kept frozen).
    """

    tasks: jax.Array
    lane_ids: jax.Array
    padding: jax.Array



def active_lanes(config: SearchConfig, solved: np.ndarray) -> np.ndarray:
    """``[T, R]`` bool, the lanes to simulate given the solved tasks ``solved [T]``.

    Without ``stop_at_zero``, each task's first ``restarts`` lanes. With it, each unsolved task's
    first lanes, in groups of ``g = config.lane_group``: the ``n_tasks x restarts / g`` groups
    are shared out among the ``u`` unsolved tasks, ``n_tasks x restarts / g // u`` each and one
    more for the first ``n_tasks x restarts / g % u`` of them (in task order), at most
    ``lanes_per_task / g``: the lanes solved tasks leave go to the unsolved ones. A task's share
    only grows as tasks are solved, so a lane runs every generation from its first until its task
    is solved; and each group of ``g`` consecutive lanes of the batch belongs to one task.
    """
    lanes = np.arange(config.lanes_per_task)
    if not config.stop_at_zero:
        return np.broadcast_to(lanes < config.restarts, (config.n_tasks, lanes.size)).copy()
    g = config.lane_group
    unsolved = ~np.asarray(solved, bool)
    u, groups = max(int(unsolved.sum()), 1), config.slots // g
    rank = np.cumsum(unsolved) - 1  # each unsolved task's place among the unsolved
    share = np.minimum(config.lanes_per_task // g, groups // u + (rank < groups % u))
    return unsolved[:, None] & (lanes[None, :] < (share * g)[:, None])


def rebatch(config: SearchConfig, state: SearchState) -> SearchState:
    """Set the batch (:func:`active_lanes`) and the donors (the solved tasks) for the next
    period. Both are decided from the state alone and kept in it, so neither chunking nor a
    resume changes a result."""
    solved = np.any(np.asarray(state.lanes.best_loss) <= 0, axis=1)
    return state.replace(batch=jnp.asarray(active_lanes(config, solved)), donors=jnp.asarray(solved))


def per_device(size: int, devices: int, group: int = 1) -> int:
    """The lanes each of ``devices`` devices holds of a batch of ``size``: an equal share,
    rounded up to whole groups of ``group`` lanes (a group is scored in one call), and at least
    2 unless the batch is a single lane. (A device's share of one lane compiles to a program
    without the lane axis, which XLA:CPU measurably rounds differently from the same lanes in a
    batch; with 2 or more a device computes each lane bit for bit as one device does. A
    single-lane batch is one lane on one device too.)"""
    if size < 2:
        return size
    share = max(-(-size // devices), 2)
    return -(-share // group) * group


def batch_of(config: SearchConfig, mask: np.ndarray, devices: int = 1) -> tuple[np.ndarray, np.ndarray, Batch]:
    """``(gather [S], scatter [S], Batch)``: the lanes of ``mask [T, R]`` as flat indices into the
    ``T x R`` lanes, padded with frozen lanes up to a power of two (capped at ``n_tasks x
    restarts``): at most ``log2(n_tasks x restarts) + 1`` batch sizes are ever compiled, and with
    a lane pool of ``n_tasks`` or more, one. Split over ``devices``, frozen copies of the
    batch's first lane fill it up to :func:`per_device` lanes on each device (whole groups of
    ``config.lane_group``); ``scatter`` sends them out of range, so nothing of them is kept and
    the result is that of the unfilled batch."""
    flat = np.asarray(mask, bool).ravel()
    active = np.flatnonzero(flat)
    size = min(config.slots, 1 << max(active.size - 1, 0).bit_length())
    slots = np.concatenate([active, np.flatnonzero(~flat)[: size - active.size]]).astype(np.int32)
    fill = per_device(size, devices, config.lane_group) * devices - size
    gather = np.concatenate([slots, np.full(fill, slots[0], np.int32)])
    scatter = np.concatenate([slots, np.full(fill, flat.size, np.int32)])
    r = config.lanes_per_task
    batch = Batch(gather // r, gather % r, np.arange(size + fill) >= active.size)
    return gather, scatter, batch


__all__ = ["Batch", "active_lanes", "batch_of", "per_device", "rebatch"]
