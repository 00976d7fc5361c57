"""The search state: one pytree of arrays, its per-lane part a field; checkpoints of it.

``T`` tasks, ``R`` lanes per task (``SearchConfig.lanes_per_task``), ``D`` dimensions, ``G``
generations in all. Save a
state with ``np.savez(path, **state_to_arrays(state))`` and resume with
``run_search(..., initial_state=dict(np.load(path)))``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus.search import strategies
from jaxplaus.search.config import SearchConfig


class _Replace:
    def replace(self, **changes):
        """A copy with the given fields replaced."""
        return dataclasses.replace(self, **changes)


def _pytree(cls):
    """A frozen, keyword-only dataclass registered as a pytree (its fields are its children)."""
    cls = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
    fields = [f.name for f in dataclasses.fields(cls)]
    return jax.tree_util.register_dataclass(cls, data_fields=fields, meta_fields=[])


@_pytree
class LaneState(_Replace):
    """The per-lane part of a search state; every leaf has leading axes ``[T, R]`` in a
    :class:`SearchState` (none inside the lanes' ``vmap``).

    Attributes:
        strategy: the evosax state; every leaf ``[T, R, ...]``. Zeros (placeholders) in the
            lanes marked ``fresh``.
        fresh: ``[T, R]`` bool, the lane starts a fresh strategy state (new random mean) at its
            next generation: all lanes at first, then those the restart rule restarted.
        best_z: ``[T, R, D]`` the lane's best point so far (over its in-place restarts); the
            cube's centre until a finite loss was seen.
        best_loss: ``[T, R]`` its loss (inf until a finite loss was seen).
        best_generation: ``[T, R]`` int32, the generation (0-based) it was found at, -1 if none.
        zero_generation: ``[T, R]`` int32, the generation the lane first reached loss <= 0, or -1.
        run_best_loss: ``[T, R]`` the best loss since the lane's last (re)start.
        stall: ``[T, R]`` int32, generations since ``run_best_loss`` last improved.
        restarts_done: ``[T, R]`` int32, in-place restarts of the lane so far.
        generations_used: ``[T, R]`` int32, generations the lane evaluated a population.
        first_generation: ``[T, R]`` int32, the generation the lane first evaluated one, -1 if
            none yet. A lane runs every generation from then until its task is solved, so it
            evaluated in generations ``[first_generation, first_generation + generations_used)``.
        generations_simulated: ``[T, R]`` int32, generations the lane's population was simulated:
            those it evaluated, and those in which it was frozen (its task solved) while its task
            stayed in the simulated batch (the batch is vmapped: its frozen lanes cost the same).
    """

    strategy: Any
    fresh: jax.Array
    best_z: jax.Array
    best_loss: jax.Array
    best_generation: jax.Array
    zero_generation: jax.Array
    run_best_loss: jax.Array
    stall: jax.Array
    restarts_done: jax.Array
    generations_used: jax.Array
    first_generation: jax.Array
    generations_simulated: jax.Array


@_pytree
class SearchState(_Replace):
    """Everything a search carries from one generation to the next; a pytree of arrays.

    Attributes:
        lanes: the :class:`LaneState` of every lane, leaves ``[T, R, ...]``.
        history: ``[T, R, G]`` each lane's best loss after each generation (inf where not run).
        batch: ``[T, R]`` bool, the lanes simulated in the current period (set at the period's
            start, see :func:`jaxplaus.search.batch.rebatch`; a period ends after a generation
            that solved a task of the batch, or after ``rebatch_every`` generations).
        accepted: ``[T]`` bool, the tasks whose zero ``run_search(accept=...)`` accepted (a
            rejected zero is no zero: its task searches on).
        donors: ``[T]`` bool, the solved tasks whose solutions restarts may start from in the
            current period (``run_search(share=...)``).
        key: ``[2]`` uint32, the search's threefry key (``jax.random.PRNGKey(seed)`` at first).
        generation: ``[]`` int32, generations done.
    """

    lanes: LaneState
    history: jax.Array
    batch: jax.Array
    accepted: jax.Array
    donors: jax.Array
    key: jax.Array
    generation: jax.Array


def initial_state(config: SearchConfig, seed: int) -> SearchState:
    """The state before the first generation, built without compiling anything.

    Every lane is marked ``fresh``, so its first generation starts its strategy; the key is
    ``jax.random.PRNGKey(seed)``, i.e. the threefry key ``(0, seed)``. Call it under the
    search's precision.
    """
    t, r, d, dtype = config.n_tasks, config.lanes_per_task, config.space.num_dims, config.np_dtype
    alg = strategies.build(config.strategy, config.population_size, d, dtype)
    shapes = jax.eval_shape(
        lambda u, k: strategies.fresh_state(alg, u, k, False),
        jax.ShapeDtypeStruct(strategies.fresh_shape(alg), dtype),
        jax.ShapeDtypeStruct((2,), jnp.uint32),
    )
    i32 = lambda v: np.full((t, r), v, np.int32)  # noqa: E731
    lanes = LaneState(
        strategy=jax.tree.map(lambda s: np.zeros((t, r, *s.shape), s.dtype), shapes),
        fresh=np.ones((t, r), bool),
        best_z=np.full((t, r, d), 0.5, dtype),
        best_loss=np.full((t, r), np.inf, dtype),
        best_generation=i32(-1),
        zero_generation=i32(-1),
        run_best_loss=np.full((t, r), np.inf, dtype),
        stall=i32(0),
        restarts_done=i32(0),
        generations_used=i32(0),
        first_generation=i32(-1),
        generations_simulated=i32(0),
    )
    state = SearchState(
        lanes=lanes,
        history=np.full((t, r, config.generations), np.inf, dtype),
        batch=np.arange(r)[None, :] < np.full((t, 1), config.restarts),
        accepted=np.zeros((t,), bool),
        donors=np.zeros((t,), bool),
        key=np.array([0, seed], np.uint32),
        generation=np.asarray(0, np.int32),
    )
    return jax.tree.map(jnp.asarray, state)


def state_to_arrays(state: SearchState) -> dict[str, np.ndarray]:
    """The state as ``path -> numpy array`` (e.g. ``".lanes.best_loss"``,
    ``".lanes.strategy.mean"``, ``".history"``), for ``np.savez``."""
    leaves = jax.tree_util.tree_leaves_with_path(state)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


_LANE_FIELDS = frozenset(f.name for f in dataclasses.fields(LaneState))


def _lanes_key(name: str) -> str:
    """A checkpoint key of the flat layout written before :class:`LaneState` existed
    (``".best_loss"``, ``".strategy.mean"``) as its key now (``".lanes.best_loss"``, ...);
    any other key (``".history"``, ``".lanes.stall"``) as it is."""
    head = name[1:].split(".", 1)[0].split("[", 1)[0] if name.startswith(".") else ""
    return ".lanes" + name if head in _LANE_FIELDS else name


def _upgraded(arrays: Mapping[str, Any]) -> dict[str, Any]:
    """Checkpoint entries of earlier layouts as they are kept now: the flat keys under
    ``".lanes"``; ``generations_simulated`` (not kept then) at ``generations_used``, its lower
    bound; ``first_generation`` at 0 for a lane that ran (lanes ran from the first generation
    then), else -1; a ``[T]`` batch of tasks as the ``[T, R]`` batch of their lanes; every
    solved task accepted (nothing was checked then)."""
    arrays = {_lanes_key(k): v for k, v in arrays.items()}
    used = arrays.get(".lanes.generations_used")
    if used is not None:
        used = np.asarray(used)
        arrays.setdefault(".lanes.generations_simulated", used)
        arrays.setdefault(".lanes.first_generation", np.where(used > 0, 0, -1).astype(np.int32))
        batch = np.asarray(arrays.get(".batch", np.ones(0, bool)))
        if batch.ndim == 1 and used.ndim == 2:
            arrays[".batch"] = np.broadcast_to(batch[:, None], used.shape).copy()
    loss = arrays.get(".lanes.best_loss")
    if loss is not None:
        arrays.setdefault(".accepted", np.any(np.asarray(loss) <= 0, axis=1))
    return arrays


def state_from_arrays(arrays: Mapping[str, Any], like: SearchState) -> SearchState:
    """Rebuild a state from :func:`state_to_arrays` output, with the structure of ``like``.

    Checkpoints of the earlier flat layout (keys ``".best_loss"``, ``".strategy.mean"``, ...,
    with no ``".lanes"``) are read too (:func:`_upgraded`).

    Raises:
        ValueError: when an entry is missing, extra, or of another shape or dtype than in
            ``like`` (the checkpoint is of another search).
    """
    arrays = _upgraded(arrays)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(like)
    want = {jax.tree_util.keystr(path): leaf for path, leaf in leaves}
    missing, extra = sorted(set(want) - set(arrays)), sorted(set(arrays) - set(want))
    if missing or extra:
        raise ValueError(
            "The saved search state does not match this search "
            f"(strategy, population, tasks, restarts, generations or dimensions differ): missing {missing}, "
            f"unexpected {extra}"
        )
    out = []
    for name, ref in want.items():
        a = np.asarray(arrays[name])
        if a.shape != ref.shape or a.dtype != ref.dtype:
            raise ValueError(
                f"The saved search state does not match this search: {name} has shape {a.shape} and dtype "
                f"{a.dtype}, expected {ref.shape} and {ref.dtype}"
            )
        out.append(jnp.asarray(a))
    return jax.tree_util.tree_unflatten(treedef, out)
