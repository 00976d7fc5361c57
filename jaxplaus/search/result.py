"""The outcome of a search, read from its final state."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from jaxplaus.search.config import SearchConfig
from jaxplaus.search.space import SearchSpace, to_physical
from jaxplaus.search.state import SearchState


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """The outcome of :func:`~jaxplaus.search.run_search` (numpy arrays; ``T`` tasks, ``R`` lanes each).

    Attributes:
        best_params: ``name -> [T]`` physical values of each task's best point (all of
            ``space.order``, fixed ones and gain included).
        best_loss: ``[T]`` each task's best loss over its lanes (inf if no finite loss).
        best_z: ``[T, D]`` each task's best point in the unit cube.
        lane_best_z: ``[T, R, D]``, lane_best_loss: ``[T, R]`` each lane's best.
        lane_best_generation: ``[T, R]`` the generation (0-based) each lane's best was found, -1.
        evaluations: ``[T, R]`` int64 objective evaluations each lane spent (in-place restarts
            included; frozen generations of solved tasks excluded).
        simulated: ``[T, R]`` int64 candidates of each lane simulated: its evaluations, plus the
            frozen generations in which its solved task stayed in the (vmapped) batch.
        restarts_done: ``[T, R]`` in-place restarts of each lane.
        zero_evaluations: ``[T, R]`` int64 evaluations the lane had spent when it first reached
            loss <= 0, -1 if it never did.
        task_zero_evaluations: ``[T]`` int64 evaluations the task (all its lanes) had spent when
            any of its lanes first reached loss <= 0, -1 if none did.
        history: ``[T, R, G]`` each lane's best loss after each generation.
        task_evaluations: ``[T, G]`` int64 evaluations each task (all its lanes) had spent after
            each generation.
        generations: generations run in all (resumed ones included).
        space, strategy, population_size: what was searched, how.
        state: the final :class:`~jaxplaus.search.state.SearchState` (on the device).
    """

    best_params: dict[str, np.ndarray]
    best_loss: np.ndarray
    best_z: np.ndarray
    lane_best_z: np.ndarray
    lane_best_loss: np.ndarray
    lane_best_generation: np.ndarray
    evaluations: np.ndarray
    simulated: np.ndarray
    restarts_done: np.ndarray
    zero_evaluations: np.ndarray
    task_zero_evaluations: np.ndarray
    history: np.ndarray
    task_evaluations: np.ndarray
    generations: int
    space: SearchSpace
    strategy: str
    population_size: int
    state: SearchState

    def params(self, task: int = 0) -> dict[str, float]:
        """The best physical parameters of one task, as Python floats."""
        return {k: float(v[task]) for k, v in self.best_params.items()}


def task_evaluations(first: np.ndarray, used: np.ndarray, pop: int, generations: int) -> np.ndarray:
    """``[T, G]`` int64 the evaluations of each task's lanes after each generation, from each
    lane's ``first_generation`` and ``generations_used`` ``[T, R]`` (a lane evaluated ``pop``
    candidates in each of the generations ``[first, first + used)``)."""
    g = np.arange(generations)[None, None, :]
    first, used = np.asarray(first, np.int64)[..., None], np.asarray(used, np.int64)[..., None]
    ran = np.where(first >= 0, np.clip(g + 1 - first, 0, used), 0)  # [T, R, G]
    return ran.sum(axis=1) * pop


def search_result(config: SearchConfig, state: SearchState) -> SearchResult:
    """The :class:`SearchResult` of a search with ``config`` that ended in ``state`` (call it
    under the search's precision: the best points are mapped to physical values in its dtype)."""
    pop, lanes = config.population_size, state.lanes
    lane_loss = np.asarray(lanes.best_loss)
    lane_z = np.asarray(lanes.best_z)
    pick = np.argmin(lane_loss, axis=1)  # [T]
    tasks = np.arange(lane_loss.shape[0])
    best_z = lane_z[tasks, pick]
    first_gen = np.asarray(lanes.first_generation).astype(np.int64)
    zero_gen = np.asarray(lanes.zero_generation).astype(np.int64)
    zero_evals = np.where(zero_gen >= 0, (zero_gen + 1 - first_gen) * pop, -1)
    per_task = task_evaluations(first_gen, lanes.generations_used, pop, state.history.shape[2])
    first = np.where(zero_gen >= 0, zero_gen, np.iinfo(np.int64).max).min(axis=1)
    task_zero = np.where(first < per_task.shape[1], per_task[tasks, np.minimum(first, per_task.shape[1] - 1)], -1)
    return SearchResult(
        best_params={k: np.asarray(v) for k, v in to_physical(config.space, jnp.asarray(best_z)).items()},
        best_loss=lane_loss[tasks, pick],
        best_z=best_z,
        lane_best_z=lane_z,
        lane_best_loss=lane_loss,
        lane_best_generation=np.asarray(lanes.best_generation),
        evaluations=np.asarray(lanes.generations_used).astype(np.int64) * pop,
        simulated=np.asarray(lanes.generations_simulated).astype(np.int64) * pop,
        restarts_done=np.asarray(lanes.restarts_done),
        zero_evaluations=zero_evals,
        task_zero_evaluations=task_zero,
        history=np.asarray(state.history),
        task_evaluations=per_task,
        generations=int(state.generation),
        space=config.space,
        strategy=config.strategy.name,
        population_size=pop,
        state=state,
    )
