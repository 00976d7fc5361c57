"""Running a search: the compiled generation loop and :func:`run_search` (the batch of lanes it
simulates is :mod:`jaxplaus.search.batch`).

Everything runs in one compiled program: the generations are an on-device loop
(``lax.while_loop`` up to a traced count, so chunks of any length share it), and the
strategy states of the batch's lanes (of ``n_tasks`` tasks, e.g. the firing patterns a caller
asks for) are vmapped. Python only sees the state between chunks of generations, to report
progress and write checkpoints, and at the end of each period (a generation that solved a task
of the batch, or ``rebatch_every`` generations), to set the lanes the next generations
simulate: solved tasks' lanes leave the batch, unsolved tasks' may join it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxplaus._precision import canonical_dtype, precision
from jaxplaus.search import state as _state
from jaxplaus.search import stored, strategies
from jaxplaus.search.config import (
    SearchConfig,
    check_objective,
    check_seed,
    positive_int,
    search_config,
    with_run_options,
)
from jaxplaus.search.accept import accepted
from jaxplaus.search.batch import Batch, batch_of, rebatch
from jaxplaus.search.devices import Placement, placement as _placement
from jaxplaus.search.lane import run_lanes
from jaxplaus.search.result import SearchResult, search_result
from jaxplaus.search.space import SearchSpace
from jaxplaus.search.state import LaneState, SearchState, state_from_arrays, state_to_arrays
from jaxplaus.search.strategies import Strategy

REBATCH_EVERY = 20  # generations: the longest period between two settings of the batch and the donor pool


def _rng():
    """The PRNG setting searches trace under.

    Vmapped threefry compiles several times faster on XLA:CPU in its original (non-
    partitionable) form, so a search uses that. The numbers drawn do not depend on how the
    lanes are split over devices (each lane draws from its own folded key; the split only
    decides where that runs). Random streams differ from those of the default setting, which
    only matters for comparing bits across settings.
    """
    manager = getattr(jax, "threefry_partitionable", None)
    return manager(False) if manager is not None else contextlib.nullcontext()


def _as_caller(fn: Callable | None) -> Callable | None:
    """``fn`` (a caller's judge or callback) run under the PRNG setting in force where this is
    called, not the search's own (:func:`_rng`).

    The setting is part of every compiled program's cache key: a judge that ran under the
    search's setting would compile its programs for that setting, and the caller's next use of
    them (an assessment's validation of the winners) would compile them all again.
    """
    manager = getattr(jax, "threefry_partitionable", None)
    if fn is None or manager is None:
        return fn
    setting = bool(jax.config.jax_threefry_partitionable)

    def call(*args, **kwargs):
        with manager(setting):
            return fn(*args, **kwargs)

    return call


# ============================================================================ the compiled loop


class Carry(NamedTuple):
    """What the compiled loop carries: the batch's lanes (leaves ``[S, ...]``), their history
    ``[S, G]``, the search's key and the generation (see :class:`SearchState`)."""

    lanes: LaneState
    history: jax.Array
    key: jax.Array
    generation: jax.Array


def _frozen(config: SearchConfig, lanes: LaneState, batch: Batch) -> jax.Array:
    """``[S]`` the lanes that keep their state this generation: padding, and with
    ``config.stop_at_zero`` the lanes of solved tasks."""
    if not config.stop_at_zero:
        return batch.padding
    zero = (lanes.best_loss <= 0).astype(jnp.int32)
    solved = jnp.zeros(config.n_tasks, jnp.int32).at[batch.tasks].max(zero) > 0
    return batch.padding | solved[batch.tasks]


def generation(
    config: SearchConfig, alg: strategies.Algorithm, objectives: tuple, carry: Carry, batch: Batch, pool_z, pool_ok
) -> Carry:
    """One generation of the batch's lanes. When every lane is frozen (solved or padding) the
    simulation is skipped altogether (the history is still written). ``objectives``: the
    search's objective and the one confirming its zeros (or None; see :func:`run_search`)."""
    g = carry.generation
    key, k_gen = jax.random.split(carry.key)
    frozen = _frozen(config, carry.lanes, batch)
    step = functools.partial(run_lanes, config, alg, objectives)

    def run(lanes: LaneState) -> LaneState:
        lanes = step(lanes, batch.tasks, batch.lane_ids, g, frozen, k_gen, pool_z, pool_ok)
        return lanes.replace(generations_simulated=lanes.generations_simulated + 1)  # frozen ones too

    lanes = lax.cond(jnp.all(frozen), lambda ls: ls, run, carry.lanes)
    history = lax.dynamic_update_index_in_dim(carry.history, lanes.best_loss, g, axis=1)
    return Carry(lanes, history, key, g + 1)


def solved_in_batch(config: SearchConfig, best_loss, batch_lanes) -> Any:
    """Whether a lane of the batch holds a zero (``best_loss``, ``batch_lanes``: the batch's lanes,
    or the state's ``[T, R]`` lanes and its batch mask), so the period ends: with
    ``config.stop_at_zero``, a solved task leaves the batch after the generation that solved it."""
    return config.stop_at_zero & (batch_lanes & (best_loss <= 0)).any()


def _loop(config: SearchConfig, objectives: tuple, carry: Carry, batch: Batch, n, pool_z, pool_ok) -> Carry:
    """Up to ``n`` generations of the batch (a traced int32: chunks of any length share one
    program): at least one, and none after the first that gives a lane of the batch a zero
    (:func:`solved_in_batch`), so no solved task's lanes are simulated, frozen, while the
    unsolved ones wait for them.

    Args:
        carry: the batch's lanes and their history. batch: which lanes they are.
        pool_z: ``[T, D]`` each task's solution; pool_ok: ``[T]`` bool, the donors.
    """
    alg = strategies.build(config.strategy, config.population_size, config.space.num_dims, config.np_dtype)
    start, end = carry.generation, carry.generation + n

    def more(c: Carry):
        return (c.generation < end) & ((c.generation == start) | ~solved_in_batch(config, c.lanes.best_loss,
                                                                                   ~batch.padding))

    return lax.while_loop(more, lambda c: generation(config, alg, objectives, c, batch, pool_z, pool_ok), carry)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def advance(
    config: SearchConfig, objectives: tuple, placement: Placement, state: SearchState, gather, batch: Batch, n, pool_z,
) -> Carry:
    """The batch's lanes after ``n`` generations: gathered from ``state`` and advanced on the
    devices, split over them along the lane axis (leaves ``[S, ...]``, ``S / devices`` on each).

    ``config``, ``objectives`` and ``placement`` are static: equal ones reuse the compiled
    program (one per batch size, see :func:`batch_of`). The only communication between devices
    is inside the generation loop (which tasks are solved, whether every lane is frozen), one
    chain of reductions per generation; :func:`written_back` puts the lanes back in the state.

    Args:
        state: replicated on the placement. gather: ``[S]`` int32 flat indices (into the ``T x R``
            lanes) of the batch's lanes. batch: their tasks. n: int32 scalar, generations.
        pool_z: ``[T, D]`` each task's solution (the donors: ``state.donors``).
    """
    split = lambda x: lax.with_sharding_constraint(x, placement.lanes)  # noqa: E731
    take = lambda x: split(_flat(x)[gather])  # noqa: E731
    carry = Carry(jax.tree.map(take, state.lanes), take(state.history), state.key, state.generation)
    out = _loop(config, objectives, carry, jax.tree.map(split, batch), n, pool_z, state.donors)
    return out._replace(lanes=jax.tree.map(split, out.lanes), history=split(out.history))


@jax.jit
def written_back(state: SearchState, carry: Carry, scatter) -> SearchState:
    """``state`` with the batch's lanes ``carry`` (from :func:`advance`, replicated) put back at
    ``scatter [S]`` (out of range: dropped); the history of the lanes left out records their
    (unchanging) best loss over the generations ``carry`` ran. Everything replicated: no
    communication."""
    steps = jnp.arange(state.history.shape[2])
    written = (steps >= state.generation) & (steps < carry.generation)
    history = jnp.where(written, state.lanes.best_loss[..., None], state.history)
    back = lambda x, y: _flat(x).at[scatter].set(y, mode="drop").reshape(x.shape)  # noqa: E731
    return state.replace(lanes=jax.tree.map(back, state.lanes, carry.lanes), history=back(history, carry.history),
                         key=carry.key, generation=carry.generation)


def _donor_pool(state: SearchState) -> np.ndarray:
    """``[T, D]`` each task's solution: the best point of its first lane to reach loss 0 (that
    point stays put), or of lane 0."""
    lanes = state.lanes
    n_tasks = lanes.best_loss.shape[0]
    zero = np.asarray(lanes.zero_generation)
    first_zero = np.argmin(np.where(zero >= 0, zero, np.iinfo(np.int32).max), axis=1)
    return np.asarray(lanes.best_z)[np.arange(n_tasks), first_zero]


def _carry_tree(state: SearchState):
    """The structure of what :func:`advance` returns for ``state``."""
    return jax.tree.structure(Carry(state.lanes, state.history, state.key, state.generation))


def _flat(x: jax.Array) -> jax.Array:
    """``[T, R, ...]`` as ``[T x R, ...]``."""
    return x.reshape((-1,) + x.shape[2:])


def advance_batch(config: SearchConfig, objectives: tuple, state: SearchState, n: int,
                  placement: Placement) -> SearchState:
    """Run up to ``n`` generations of the lanes in ``state.batch`` only (fewer when one gives a
    lane of the batch a zero: :func:`_loop`); the others keep their state.

    The batch's lanes and history rows are gathered and advanced on the devices
    (:func:`advance`, from its stored program where there is one: :mod:`jaxplaus.search.stored`),
    then copied to every device (one transfer a leaf,
    :meth:`~jaxplaus.search.devices.Placement.gathered`) and put back (:func:`written_back`).
    With no lane in the batch (every task solved) nothing runs. ``state``: replicated on
    ``placement`` (see :meth:`~jaxplaus.search.devices.Placement.put`), as is the state returned.
    """
    g0 = int(state.generation)
    if not np.any(np.asarray(state.batch)):
        steps = np.arange(state.history.shape[2])
        written = (steps >= g0) & (steps < g0 + n)
        history = np.where(written, np.asarray(state.lanes.best_loss)[..., None], np.asarray(state.history))
        return placement.put(state.replace(history=history, generation=np.asarray(g0 + n, np.int32)))
    gather, scatter, batch = batch_of(config, np.asarray(state.batch), placement.size)
    gather, scatter, batch, n_dev, pool_z = placement.put((gather, scatter, batch, np.asarray(n, np.int32),
                                                           _donor_pool(state)))
    carry = placement.gathered(stored.call(
        advance, (config, objectives, placement), stored.static_key(config, *objectives, placement),
        (state, gather, batch, n_dev, pool_z), out_tree=_carry_tree(state),
    ))
    return written_back(state, carry, scatter)


# ============================================================================ running a search


def init_state(
    space: SearchSpace,
    strategy: str | Strategy = "cma_es",
    *,
    population_size: int | None = None,
    generations: int,
    restarts: int = 1,
    n_tasks: int = 1,
    seed: int = 0,
    start: str = "uniform",
    dtype=jnp.float32,
    lane_pool: int = 1,
) -> SearchState:
    """The state a :func:`run_search` with these arguments starts from (no evaluations).

    Also the template :func:`~jaxplaus.search.state.state_from_arrays` needs to read a
    checkpoint back. Built under the search's PRNG setting (:func:`_rng`), as :func:`run_search`
    builds it: the eager work of the strategy's parameters is then compiled once per process.
    """
    with precision(canonical_dtype(dtype)), _rng():
        config = search_config(space, strategy, population_size, generations, restarts, n_tasks, start, dtype,
                               lane_pool)
        return _state.initial_state(config, check_seed(seed))


def _start_state(config: SearchConfig, seed: int, initial: SearchState | Mapping[str, Any] | None) -> SearchState:
    """The state to start from: the initial one, or ``initial`` (a state or its arrays) checked
    against it."""
    template = _state.initial_state(config, seed)
    if initial is None:
        return template
    arrays = initial if isinstance(initial, Mapping) else state_to_arrays(initial)
    state = state_from_arrays(arrays, template)
    done = int(state.generation)
    if done > config.generations:
        raise ValueError(
            f"initial_state has already run {done} generations, more than generations={config.generations}"
        )
    return state


def _run(config: SearchConfig, objectives: tuple, state: SearchState, chunk: int, on_chunk, every: int, judge,
         placement: Placement):
    """Run ``state`` to ``config.generations``, in chunks of ``chunk`` generations, calling
    ``on_chunk(state, generations_done)`` after each. Each chunk runs in periods: the batch is
    set again (after ``judge`` judged the new zeros) every ``every`` generations and after a
    generation that solved a task of the batch (which ends the period). Both are decided from
    the state alone, so the chunks change no result. Once the batch is empty (every task
    solved), the generations left are one step and one last chunk. The state stays on
    ``placement``'s devices, replicated; what the host sets between periods is placed there."""
    state = placement.put(state)
    done = int(state.generation)
    while done < config.generations:
        end = min(done + chunk, config.generations)
        while done < end:
            if done % every == 0 or solved_in_batch(config, np.asarray(state.lanes.best_loss), np.asarray(state.batch)):
                state = rebatch(config, state if judge is None else accepted(config, state, judge))
            idle = not np.any(np.asarray(state.batch))  # every task solved: nothing left to simulate
            if idle:
                end = config.generations
            n = end - done if idle else min(end - done, every - done % every)
            state = advance_batch(config, objectives, placement.put(state), n, placement)
            done = int(state.generation)
        if on_chunk is not None:
            on_chunk(state, done)
    return state if judge is None else placement.put(accepted(config, state, judge))  # the last generations' zeros


def _configured(space, strategy, population_size, generations, restarts, n_tasks, start, dtype, lane_pool,
                run_options: Mapping[str, Any]) -> SearchConfig:
    """The checked :class:`SearchConfig` of :func:`run_search`'s arguments."""
    with precision(canonical_dtype(dtype)):
        config = search_config(space, strategy, population_size, generations, restarts, n_tasks, start, dtype,
                               lane_pool)
    return with_run_options(config, **run_options)


def run_search(
    objective: Callable[[dict[str, jax.Array], jax.Array], jax.Array],
    space: SearchSpace,
    strategy: str | Strategy = "cma_es",
    *,
    population_size: int | None = None, generations: int, restarts: int = 1, n_tasks: int = 1, seed: int = 0,
    chunk: int | None = None, on_chunk: Callable[[SearchState, int], Any] | None = None,
    initial_state: SearchState | Mapping[str, Any] | None = None, dtype=jnp.float32,
    x_tol: float = 1e-6, patience: int | None = None, stop_at_zero: bool = True, start: str = "uniform",
    share: float = 0.0, pin: Mapping[str, float] | None = None, pinned_lanes: int = 0,
    rebatch_every: int = REBATCH_EVERY, confirm_jitter: float = 0.0, confirm_objective: Callable | None = None,
    lane_pool: int = 1, accept: Callable | None = None, devices: int | Placement | None = None,
) -> SearchResult:
    """Minimise ``objective`` over ``space`` for ``n_tasks`` tasks, ``restarts`` lanes each.

    ``n_tasks x restarts`` lanes run in one compiled program: ``generations`` generations of
    ask / evaluate / tell in an on-device loop, vmapped over lanes. Each lane starts from a
    uniformly random mean (or population) in the unit cube and restarts in place, keeping its
    best-so-far, when its spread collapses, it stagnates or its state turns non-finite
    (:mod:`jaxplaus.search.lane`). With ``stop_at_zero`` a solved task's lanes leave the batch
    after the generation that solved it, where unsolved
    tasks' next lanes take their places (:func:`~jaxplaus.search.batch.active_lanes`). Each lane draws its own random
    numbers (the key folded with its task and its own index), whichever lanes share its batch.
    The objectives are static arguments: equal (hashable) objectives reuse the compiled program.

    Args:
        objective: ``(params, task) -> loss [n]``, pure JAX, minimised, hashable, scoring each
            candidate on its own: ``params`` maps each name of ``space.order`` (physical units,
            ``"gain"`` too) to ``[n]``, the candidates of ``SearchConfig.lane_group`` lanes of the
            task ``task`` (int32 scalar). NaN or inf is told as ``strategies.FAILED_LOSS``.
        space: from :func:`~jaxplaus.search.space.search_space`. strategy: a name of
            :data:`~jaxplaus.search.strategies.STRATEGIES` or a ``Strategy``.
        population_size: candidates per lane and generation; default ``default_population_size``.
        generations: total generations (a resumed run counts the ones already done).
        restarts: lanes per task at first. n_tasks: tasks; the objective gets the task index.
        seed: the random seed; the same seed gives the same result, bit for bit.
        chunk: generations per compiled call (default: all). Between chunks, ``on_chunk(state,
            generations_done)`` is called (also after the last).
        initial_state: a :class:`SearchState`, or its ``state_to_arrays`` dict, to resume from
            (the other arguments those of the interrupted run): the uninterrupted run's result.
        dtype: float32 or float64. x_tol: the spread below which a lane restarts (unit cube).
        patience: generations without improvement before a lane restarts; default
            ``50 + ceil(30 D / population_size)``.
        stop_at_zero: freeze a task's lanes once it reaches loss <= 0. start: ``"uniform"``
            (random initial means) or ``"center"`` (each lane's first start at the centre).
        share: the probability that a lane's (re)start begins at a solved task's best point
            (picked at random; population-based strategies: one member of the population).
        pin: ``name -> value`` (physical units) held (clipped to the bounds) in the pinned
            lanes, the last ``pinned_lanes`` (0 to ``restarts``) of every ``restarts`` lanes.
        rebatch_every: the longest period between two settings of the batch and the donor pool
            (default :data:`REBATCH_EVERY`); a generation that solves a task also ends one.
        confirm_jitter: a loss of 0 counts only if two copies moved by ``x (1 +- confirm_jitter)``
            score 0 too (:mod:`jaxplaus.search.confirm`); 0 turns this off.
        confirm_objective: a loss of 0 counts only if this (hashable) objective scores the point
            and its jittered copies 0 too, e.g. the complete loss ``objective`` screens for.
        lane_pool: each task holds ``restarts x lane_pool`` lanes; with ``stop_at_zero`` solved tasks'
            lanes go to unsolved tasks' next lanes, ``n_tasks x restarts`` in all (1: no hand-over).
        accept: ``(params {name: [T]}, todo [T]) -> (ok [T], loss [T])``, a judge of the zeros of
            the tasks ``todo`` (:mod:`jaxplaus.search.accept`); a rejected zero is no zero. None: no judge.
        devices: what the lanes are split over (:mod:`~jaxplaus.search.devices`): None (every device),
            an int or a ``Placement``; the result is unchanged (to float rounding; ``docs/scaling.md``).

    Returns: a :class:`~jaxplaus.search.result.SearchResult`.
    """
    if not callable(objective):
        raise TypeError(f"objective must be a callable (params, task) -> loss [pop], got {type(objective).__name__}")
    config = _configured(space, strategy, population_size, generations, restarts, n_tasks, start, dtype, lane_pool,
                         dict(x_tol=x_tol, patience=patience, stop_at_zero=stop_at_zero, share=share, pin=pin,
                              pinned_lanes=pinned_lanes, confirm_jitter=confirm_jitter))
    chunk = positive_int("chunk", chunk, allow_none=True) or config.generations
    placement = devices if isinstance(devices, Placement) else _placement(devices)
    rebatch_every, seed = positive_int("rebatch_every", rebatch_every), check_seed(seed)
    on_chunk, accept = _as_caller(on_chunk), _as_caller(accept)
    with precision(config.dtype), _rng():
        check_objective(objective)
        check_objective(confirm_objective)  # None (no confirming objective) passes
        state = _start_state(config, seed, initial_state)
        state = _run(config, (objective, confirm_objective), state, chunk, on_chunk, rebatch_every, accept,
                     placement)
        return search_result(config, state)
