"""One generation of one lane: ask, evaluate, tell, keep the best, restart in place when due.

A lane is one independent run of a strategy (a restart of a task). Per generation, the
strategy's samples are clipped to the cube (the clipped points are both evaluated and told:
boundary handling by repair); a NaN or infinite loss is told as
:data:`~jaxplaus.search.strategies.FAILED_LOSS`, so no NaN reaches the strategy state. Then the
lane is restarted in place (fresh state, new uniformly random mean, best-so-far kept) when

- the sampling spread collapsed: the largest per-dimension standard deviation of the
  population is below ``x_tol`` (Hansen's TolX; this also keeps CMA-ES's step size from
  shrinking into float32 underflow and NaN), or
- its best loss since its last (re)start has not improved for ``patience`` generations, or
- its strategy state or samples became non-finite.

References:
    N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016): a uniformly
    random initial mean, restarts on TolX / stagnation (appendix B.3), boundaries by repair.
    A. Auger and N. Hansen, "A Restart CMA Evolution Strategy With Increasing Population Size",
    IEEE CEC 2005: independent restarts of a converged CMA-ES.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus.search.config import SearchConfig, scored
from jaxplaus.search.confirm import confirmed
from jaxplaus.search.space import to_physical
from jaxplaus.search.state import LaneState
from jaxplaus.search.strategies import FAILED_LOSS, Algorithm, cast, fresh_shape, fresh_state


def all_finite(tree) -> jax.Array:
    """Whether every inexact leaf of ``tree`` is finite everywhere (a bool scalar)."""
    ok = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(ok)) if ok else jnp.asarray(True)


def tree_where(cond, a, b):
    """``jnp.where(cond, a, b)`` leaf by leaf."""
    return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)


def is_pinned(config: SearchConfig, lane) -> jax.Array:
    """Whether lane ``lane`` (an index into a task's lanes, int array) is pinned: the last
    ``config.pins.lanes`` of every ``config.restarts`` consecutive lanes."""
    if config.pins is None:
        return jnp.zeros(jnp.shape(lane), bool)
    return lane % config.restarts >= config.restarts - config.pins.lanes


def lane_randoms(config: SearchConfig, alg: Algorithm, key, task, lane, pool_z, pool_ok):
    """The random numbers of one lane for one generation.

    Each lane draws from the generation's ``key`` folded with its task's index and its own, so
    its random numbers do not depend on which other lanes share the batch.

    Args:
        key: ``[2]`` the generation's key. task, lane: int32 scalars.
        pool_z: ``[T, D]`` each task's solution; pool_ok: ``[T]`` bool, the donors.

    Returns:
        ``keys [3, 2]`` (ask, tell, init) and ``u [*fresh_shape]`` uniform in the cube (with
        ``config.share > 0``: the draw may be another task's solution).
    """
    dtype = config.np_dtype
    k_lane, k_u = jax.random.split(jax.random.fold_in(jax.random.fold_in(key, task), lane))
    u = jax.random.uniform(k_u, fresh_shape(alg), dtype)
    if config.share > 0:  # a restart may start from another task's solution (see run_search)
        k_coin, k_pick = jax.random.split(jax.random.fold_in(k_u, 1))
        ok = pool_ok & (jnp.arange(pool_ok.shape[0]) != task)
        pick = jax.random.categorical(k_pick, jnp.where(ok, 0.0, -jnp.inf))
        use = (jax.random.uniform(k_coin) < config.share) & jnp.any(ok)
        donor = pool_z[pick].astype(dtype)  # [D]
        if config.strategy.population_based:  # the donor joins a random population
            u = u.at[0].set(jnp.where(use, donor, u[0]))
        else:
            u = jnp.where(use, donor, u)
    return jax.random.split(k_lane, 3), u


def ask(config: SearchConfig, alg: Algorithm, lane: LaneState, keys, u, pinned):
    """The first half of one lane's generation (unbatched; the caller vmaps it over lanes): start
    the lane's strategy if it is fresh, and ask it. Returns ``(sampled [pop, D], z [pop, D],
    state)``, ``z`` the points to evaluate (clipped to the cube; pinned coordinates held in a
    pinned lane).

    Args:
        lane: the lane's state, no leading axes. keys: ``[3, 2]`` the ask, tell and init keys.
        u: the uniform draw a fresh start begins from (see :func:`lane_randoms`). pinned: bool
            scalar, the lane is pinned.
    """
    k_ask, _, k_init = keys
    center = (config.start == "center") & (lane.restarts_done == 0)
    state = tree_where(lane.fresh, fresh_state(alg, u, k_init, center), lane.strategy)
    sampled, state = alg.evosax.ask(k_ask, state, alg.params)
    sampled = sampled.astype(alg.dtype)  # [pop, D]
    z = jnp.clip(sampled, 0.0, 1.0)  # evaluate, and tell, the repaired points
    if config.pins is not None:  # a pinned lane searches the subspace: the pinned coordinates held
        pin_mask, pin_z = np.asarray(config.pins.mask, bool), np.asarray(config.pins.z, alg.dtype)
        z = jnp.where(pinned & pin_mask, pin_z, z)
    return sampled, z, state


def evaluate(config: SearchConfig, objective: Callable, z, tasks) -> jax.Array:
    """``[S, pop]`` the objective at the batch's points ``z [S, pop, D]`` (lanes of tasks ``tasks [S]``).

    The batch keeps its lanes in groups of ``config.lane_group``, each of one task
    (:func:`~jaxplaus.search.batch.active_lanes`), so each group's populations are scored in one
    call of ``[lane_group x pop]`` candidates: an objective vmapped over many lanes of a few
    candidates each runs at a fraction of its speed on a CPU. (A batch whose size the group does
    not divide, filled for several devices, is scored lane by lane.) The objective scores each
    candidate on its own, so the grouping changes no loss.
    """
    s, pop, d = z.shape
    group = config.lane_group if s % config.lane_group == 0 else 1
    params = to_physical(config.space, z.reshape(s // group, group * pop, d))
    return scored(objective, params, tasks[::group]).reshape(s, pop)


def _tell(alg: Algorithm, z, loss, state, k_tell):
    """``(loss [pop], finite [pop], state)``: the lane's losses at ``z`` and where they are
    finite; the strategy ``state`` after it was told them (NaN and inf as :data:`FAILED_LOSS`)."""
    loss = loss.astype(alg.dtype)
    finite = jnp.isfinite(loss)
    told = jnp.where(finite, jnp.minimum(loss, FAILED_LOSS), FAILED_LOSS)
    state, _ = alg.evosax.tell(k_tell, z, told, state, alg.params)
    return loss, finite, cast(state, alg.dtype)


def _restart_due(config: SearchConfig, state, sampled, stall) -> jax.Array:
    """The restart rule (see the module docstring): a bool scalar."""
    spread = jnp.max(jnp.std(sampled, axis=0))
    degenerate = ~(all_finite(state) & jnp.all(jnp.isfinite(sampled)))
    return degenerate | ~(spread >= config.x_tol) | (stall >= config.patience)


def _update(config: SearchConfig, lane: LaneState, state, sampled, z, loss, finite, g) -> LaneState:
    """The lane after a generation that evaluated ``z`` (its strategy ``state`` told)."""
    raw = jnp.where(finite, loss, jnp.inf)
    i = jnp.argmin(raw)
    gen_best = raw[i]
    improved = gen_best < lane.best_loss
    best_loss = jnp.where(improved, gen_best, lane.best_loss)
    run_improved = gen_best < lane.run_best_loss
    stall = jnp.where(run_improved, 0, lane.stall + 1)
    restart = _restart_due(config, state, sampled, stall)
    return LaneState(
        strategy=jax.tree.map(lambda x: jnp.where(restart, jnp.zeros_like(x), x), state),
        fresh=restart,
        best_z=jnp.where(improved, z[i], lane.best_z),
        best_loss=best_loss,
        best_generation=jnp.where(improved, g, lane.best_generation),
        zero_generation=jnp.where((lane.zero_generation < 0) & (best_loss <= 0), g, lane.zero_generation),
        run_best_loss=jnp.where(restart, jnp.inf, jnp.minimum(gen_best, lane.run_best_loss)),
        stall=jnp.where(restart, 0, stall),
        restarts_done=lane.restarts_done + restart.astype(jnp.int32),
        generations_used=lane.generations_used + 1,
        first_generation=jnp.where(lane.first_generation < 0, g, lane.first_generation),
        generations_simulated=lane.generations_simulated,  # counted by the generation, frozen or not
    )


def tell(config: SearchConfig, alg: Algorithm, lane: LaneState, asked, loss, keys, g, frozen) -> LaneState:
    """The second half: the lane after its points were scored ``loss [pop]`` (unbatched).

    Args:
        asked: what :func:`ask` returned. g: int32 scalar, the generation. frozen: bool
            scalar, the lane keeps its state (its task is solved).
    """
    sampled, z, state = asked
    loss, finite, state = _tell(alg, z, loss, state, keys[1])
    new = _update(config, lane, state, sampled, z, loss, finite, g)
    return tree_where(frozen, lane, new)


def run_lanes(
    config: SearchConfig, alg: Algorithm, objectives: tuple, lanes: LaneState, tasks, lane_ids, g, frozen, key,
    pool_z, pool_ok,
) -> LaneState:
    """One generation of the batch's lanes: ask, evaluate, confirm the zeros
    (:func:`~jaxplaus.search.confirm.confirmed`), tell.

    Args:
        objectives: the search's objective and the one confirming its zeros (or None).
        lanes: leaves ``[S, ...]``, the ``S`` lanes of the batch; tasks, lane_ids: ``[S]`` int32,
            each lane's task and its index among the task's lanes. g: int32 scalar, the
            generation. frozen: ``[S]`` bool. key: ``[2]`` the generation's key.
        pool_z, pool_ok: the donors' solutions (see :func:`lane_randoms`).
    """
    # the random numbers are drawn outside the lanes' vmap: unbatched threefry compiles faster
    draw = jax.vmap(functools.partial(lane_randoms, config, alg), in_axes=(None, 0, 0, None, None))
    keys, u = draw(key, tasks, lane_ids, pool_z, pool_ok)
    asked = jax.vmap(functools.partial(ask, config, alg))(lanes, keys, u, is_pinned(config, lane_ids))
    loss = evaluate(config, objectives[0], asked[1], tasks)
    loss = confirmed(config, objectives, lanes, asked[1], loss, tasks, frozen)
    return jax.vmap(functools.partial(tell, config, alg), in_axes=(0, 0, 0, 0, None, 0))(lanes, asked, loss, keys, g,
                                                                                          frozen)
