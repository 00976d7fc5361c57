"""Running a search: the compiled generation loop, the batch of unsolved tasks, :func:`run_search`.

Everything runs in one compiled program: the generations are an on-device loop
(``lax.fori_loop`` with a traced trip count, so chunks of any length share it), and every lane's
strategy state is vmapped over ``n_tasks`` tasks (e.g. the firing patterns a caller asks for)
times ``restarts`` lanes. Python only sees the state between chunks of generations, to report
progress and write checkpoints, and every :data:`REBATCH_EVERY` generations, to leave solved
tasks out of the simulated batch.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxplaus._precision import canonical_dtype, precision
from jaxplaus.search import state as _state
from jaxplaus.search import strategies
from jaxplaus.search.config import (
    SearchConfig,
    check_objective,
    check_seed,
    positive_int,
    search_config,
    with_run_options,
)
from jaxplaus.search.confirm import confirm
from jaxplaus.search.lane import run_lanes
from jaxplaus.search.result import SearchResult, search_result
from jaxplaus.search.space import SearchSpace
from jaxplaus.search.state import LaneState, SearchState, state_from_arrays, state_to_arrays
from jaxplaus.search.strategies import Strategy

REBATCH_EVERY = 20  # generations: how often the simulated batch and the donor pool are set


def _rng():
    """The PRNG setting searches trace under.

    Vmapped threefry compiles several times faster on XLA:CPU in its original (non-
    partitionable) form; a search is never sharded, so it uses that. Random streams differ
    from those of the default setting, which only matters for comparing bits across settings.
    """
    manager = getattr(jax, "threefry_partitionable", None)
    return manager(False) if manager is not None else contextlib.nullcontext()


# ============================================================================ the compiled loop


def generation(
    config: SearchConfig, alg: strategies.Algorithm, objective: Callable, state: SearchState, tasks, pool_z, pool_ok
) -> SearchState:
    """One generation of the tasks ``tasks [B]`` (int32), whose lanes and history ``state`` holds.

    With ``config.stop_at_zero`` a solved task's lanes are frozen, and when every task of the
    batch is solved the generation is skipped altogether (its history is still written).
    """
    g = state.generation
    key, k_gen = jax.random.split(state.key)
    lanes = state.lanes
    run = functools.partial(_simulated, functools.partial(run_lanes, config, alg, objective))
    if config.stop_at_zero:
        solved = jnp.any(lanes.best_loss <= 0, axis=1)  # [B]
        frozen = jnp.broadcast_to(solved[:, None], lanes.best_loss.shape)
        lanes = lax.cond(
            jnp.all(solved), lambda ls: ls, lambda ls: run(ls, tasks, g, frozen, k_gen, pool_z, pool_ok), lanes
        )
    else:
        lanes = run(lanes, tasks, g, jnp.zeros(lanes.best_loss.shape, bool), k_gen, pool_z, pool_ok)
    if config.confirm_jitter > 0:
        lanes = confirm(config, objective, state.lanes, lanes, tasks, g)
    history = lax.dynamic_update_index_in_dim(state.history, lanes.best_loss, g, axis=2)
    return state.replace(lanes=lanes, history=history, key=key, generation=g + 1)


def _simulated(run: Callable, lanes: LaneState, *args) -> LaneState:
    """``run(lanes, *args)``, every lane (frozen ones too) counted as simulated once more."""
    lanes = run(lanes, *args)
    return lanes.replace(generations_simulated=lanes.generations_simulated + 1)


@functools.partial(jax.jit, static_argnums=(0, 1))
def advance(config: SearchConfig, objective: Callable, state: SearchState, tasks, n, pool_z, pool_ok) -> SearchState:
    """``n`` generations (a traced int32: chunks of any length share one compiled program).

    ``config`` and ``objective`` are static: an equal configuration and an equal objective reuse
    the compiled program (one per number of tasks in the batch, see :func:`rebatch`).

    Args:
        state: the state of the batch's tasks (its per-task leaves ``[B, ...]``).
        tasks: ``[B]`` int32, their indices. pool_z: ``[T, D]`` each task's solution;
        pool_ok: ``[T]`` bool, the donors.
    """
    alg = strategies.build(config.strategy, config.population_size, config.space.num_dims, config.np_dtype)
    return lax.fori_loop(0, n, lambda _, s: generation(config, alg, objective, s, tasks, pool_z, pool_ok), state)


# ============================================================================ the batch of tasks


def rebatch(state: SearchState, stop_at_zero: bool) -> SearchState:
    """Set the batch and the donors for the next :data:`REBATCH_EVERY` generations.

    The batch: all tasks, or with ``stop_at_zero`` the unsolved ones (a solved task's lanes are
    frozen, so simulating them would be pure waste), padded up to a power of two (capped at the
    number of tasks) with solved tasks, which stay frozen: at most ``log2(T) + 2`` batch shapes
    are ever compiled. The donors: the solved tasks. Both are decided on fixed generations and
    kept in the state, so neither chunking nor a resume changes a result, although XLA may
    round the same task differently in batches of different shapes.
    """
    solved = np.any(np.asarray(state.lanes.best_loss) <= 0, axis=1)
    n_tasks = solved.shape[0]
    batch = np.ones(n_tasks, bool)
    if stop_at_zero:
        open_tasks = np.flatnonzero(~solved)
        size = min(n_tasks, 1 << max(len(open_tasks) - 1, 0).bit_length())
        batch = ~solved
        batch[np.flatnonzero(solved)[: size - len(open_tasks)]] = True
    return state.replace(batch=jnp.asarray(batch), donors=jnp.asarray(solved))


def _donor_pool(state: SearchState) -> np.ndarray:
    """``[T, D]`` each task's solution: the best point of its first lane to reach loss 0 (that
    point stays put), or of lane 0."""
    lanes = state.lanes
    n_tasks = lanes.best_loss.shape[0]
    zero = np.asarray(lanes.zero_generation)
    first_zero = np.argmin(np.where(zero >= 0, zero, np.iinfo(np.int32).max), axis=1)
    return np.asarray(lanes.best_z)[np.arange(n_tasks), first_zero]


def _take_tasks(state: SearchState, index: jax.Array) -> SearchState:
    """The state of the tasks ``index [B]`` only: every leaf with a leading task axis (lanes,
    history, batch, donors) gathered."""
    return state.replace(
        lanes=jax.tree.map(lambda x: x[index], state.lanes),
        history=state.history[index],
        batch=state.batch[index],
        donors=state.donors[index],
    )


def advance_tasks(config: SearchConfig, objective: Callable, state: SearchState, n: int) -> SearchState:
    """Run ``n`` generations of the tasks in ``state.batch`` only; the others keep their state.

    The leaves with a leading task axis (lanes, history, batch, donors) are gathered, advanced
    and scattered back; the tasks left out are all solved and frozen, and their history records
    their (unchanging) best loss.
    """
    tasks = np.flatnonzero(np.asarray(state.batch)).astype(np.int32)
    full = len(tasks) == state.lanes.best_loss.shape[0]
    index = jnp.asarray(tasks)
    pool_z = _donor_pool(state)
    sub = state if full else _take_tasks(state, index)
    g0 = int(state.generation)
    out = advance(config, objective, sub, index, jnp.asarray(n, jnp.int32), jnp.asarray(pool_z), state.donors)
    if full:
        return out
    lanes = jax.tree.map(lambda x, y: x.at[index].set(y), state.lanes, out.lanes)
    steps = jnp.arange(state.history.shape[2])
    written = (steps >= g0) & (steps < g0 + n)
    history = jnp.where(written, lanes.best_loss[..., None], state.history).at[index].set(out.history)
    return state.replace(lanes=lanes, history=history, key=out.key, generation=out.generation)


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
) -> SearchState:
    """The state a :func:`run_search` with these arguments starts from (no evaluations).

    Also the template :func:`~jaxplaus.search.state.state_from_arrays` needs to read a
    checkpoint back.
    """
    with precision(canonical_dtype(dtype)):
        config = search_config(space, strategy, population_size, generations, restarts, n_tasks, start, dtype)
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


def _run(config: SearchConfig, objective: Callable, state: SearchState, chunk: int, on_chunk, every: int):
    """Run ``state`` to ``config.generations``, in chunks of ``chunk`` generations (each cut
    where the batch is set again, every ``every`` generations), calling ``on_chunk(state,
    generations_done)`` after each."""
    done = int(state.generation)
    while done < config.generations:
        end = min(done + chunk, config.generations)
        while done < end:
            if done % every == 0:
                state = rebatch(state, config.stop_at_zero)
            n = min(end - done, every - done % every)
            state = advance_tasks(config, objective, state, n)
            done += n
        if on_chunk is not None:
            on_chunk(state, done)
    return state


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
    rebatch_every: int = REBATCH_EVERY, confirm_jitter: float = 0.0,
) -> SearchResult:
    """Minimise ``objective`` over ``space`` for ``n_tasks`` tasks, ``restarts`` lanes each.

    All ``n_tasks x restarts`` lanes run in one compiled program: ``generations`` generations of
    ask / evaluate / tell in an on-device loop, vmapped over lanes. Each lane starts from a
    uniformly random mean (or population) in the unit cube and restarts in place, keeping its
    best-so-far, when its spread collapses, it stagnates or its state turns non-finite
    (:mod:`jaxplaus.search.lane`). With ``stop_at_zero``, once any lane of a task reaches loss
    <= 0, the task's lanes are frozen (no more evaluations); every :data:`REBATCH_EVERY`
    generations the solved tasks leave the simulated batch, and when every task is solved the
    remaining generations are skipped. Each task draws its own random numbers (the generation's
    key folded with the task's index), whichever tasks share its batch.

    The objective is a static argument: pass the same (or an equal, hashable) objective to reuse
    the compiled program, e.g. a module-level function or a frozen dataclass with ``__call__``.

    Args:
        objective: ``(params, task) -> loss [pop]``, pure JAX, minimised, hashable. ``params`` maps
            each name of ``space.order`` (physical units; fixed ones and ``"gain"`` included) to a
            ``[pop]`` array; ``task`` is an int32 scalar in ``[0, n_tasks)``. A NaN or infinite
            loss is told to the strategy as :data:`~jaxplaus.search.strategies.FAILED_LOSS`.
        space: from :func:`~jaxplaus.search.space.search_space`.
        strategy: a name of :data:`~jaxplaus.search.strategies.STRATEGIES` or a ``Strategy``.
        population_size: candidates per lane and generation; default ``default_population_size``.
        generations: total generations (a resumed run counts the ones already done).
        restarts: independent lanes per task. n_tasks: tasks; the objective gets the task index.
        seed: the random seed; the same seed gives the same result, bit for bit.
        chunk: generations per compiled call (default: all). Between chunks, ``on_chunk(state,
            generations_done)`` is called (also after the last).
        initial_state: a :class:`SearchState`, or its ``state_to_arrays`` dict (e.g.
            ``dict(np.load(path))``), to resume from; the other arguments must be those of the
            interrupted run. The result equals that of an uninterrupted run.
        dtype: float32 or float64.
        x_tol: the spread below which a lane restarts, in unit-cube coordinates.
        patience: generations without improvement before a lane restarts; default
            ``50 + ceil(30 D / population_size)``.
        stop_at_zero: freeze a task's lanes once it reaches loss <= 0.
        start: ``"uniform"`` (random initial means) or ``"center"`` (the first start of every
            lane at the cube's centre; distribution-based strategies only).
        share: the probability that a lane's (re)start begins at a solved task's best point
            (picked at random; population-based strategies: one member of the population).
        pin: ``name -> value`` (physical units) for some searched dimensions, held at these
            values (a value outside its bounds at the nearer bound) in the last ``pinned_lanes``
            lanes of every task: those lanes search the subspace of the other dimensions.
        pinned_lanes: how many of the ``restarts`` lanes are pinned (0 to ``restarts``).
        rebatch_every: solved tasks leave the simulated batch (and join the donor pool) at the
            next multiple of this many generations (default :data:`REBATCH_EVERY`).
        confirm_jitter: a loss of 0 counts only if two copies moved by ``x (1 +- confirm_jitter)``
            score 0 too (:mod:`jaxplaus.search.confirm`); 0 turns this off.

    Returns:
        A :class:`~jaxplaus.search.result.SearchResult`.
    """
    if not callable(objective):
        raise TypeError(f"objective must be a callable (params, task) -> loss [pop], got {type(objective).__name__}")
    with precision(canonical_dtype(dtype)):
        config = search_config(space, strategy, population_size, generations, restarts, n_tasks, start, dtype)
    chunk = positive_int("chunk", chunk, allow_none=True) or config.generations
    rebatch_every = positive_int("rebatch_every", rebatch_every)
    config = with_run_options(
        config, x_tol=x_tol, patience=patience, stop_at_zero=stop_at_zero, share=share, pin=pin,
        pinned_lanes=pinned_lanes, confirm_jitter=confirm_jitter,
    )
    seed = check_seed(seed)
    with precision(config.dtype), _rng():
        check_objective(objective, config)
        state = _start_state(config, seed, initial_state)
        state = _run(config, objective, state, chunk, on_chunk, rebatch_every)
        return search_result(config, state)
