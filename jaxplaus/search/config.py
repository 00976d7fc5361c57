"""The static configuration of a search: everything that shapes its compiled program.

A :class:`SearchConfig` is a frozen dataclass of hashable values (the space, the strategy, the
sizes, the dtype's name, the restart rule's settings, the pinned lanes). It is a static argument
of the compiled generation loop, so two searches with equal configurations (and the same
objective) share one compiled program. The functions here check a caller's arguments and build
one, naming the bad argument when there is one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus._precision import canonical_dtype
from jaxplaus.search.space import SearchSpace, to_unit
from jaxplaus.search.strategies import Strategy, default_population_size, get_strategy


GROUP_CANDIDATES = 64  # candidates of one objective call the lane groups aim at, at most (benchmarks/README.md)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pins:
    """Searched dimensions held at fixed values in the last ``lanes`` of every ``restarts``
    consecutive lanes of a task.

    Attributes:
        mask: ``[D]`` whether each free dimension is held.
        z: ``[D]`` the held values in unit-cube coordinates, in ``[0, 1]`` (ignored where not held).
        lanes: how many of every ``restarts`` lanes are pinned, ``1 <= lanes <= restarts``.
    """

    mask: tuple[bool, ...]
    z: tuple[float, ...]
    lanes: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """The static configuration of a search (see :func:`jaxplaus.search.run_search` for each).

    Hashable and compared by value, so it can be a static argument of ``jax.jit``.

    Attributes:
        space: the :class:`~jaxplaus.search.space.SearchSpace`.
        strategy: the :class:`~jaxplaus.search.strategies.Strategy` (registered ones are
            module constants, compared by identity).
        population_size, n_tasks, restarts, generations: positive ints; ``restarts`` lanes of
            each task are simulated from the start, ``n_tasks x restarts`` lanes in all.
        lane_pool: each task holds ``restarts x lane_pool`` lanes (:attr:`lanes_per_task`): with
            ``stop_at_zero``, the lanes a solved task leaves go to the unsolved tasks' next
            lanes, up to that many each (1: a task keeps its ``restarts`` lanes).
        dtype: ``"float32"`` or ``"float64"``.
        start: ``"uniform"`` or ``"center"``.
        x_tol: the sampling spread below which a lane restarts (unit-cube coordinates).
        patience: generations without improvement before a lane restarts.
        stop_at_zero: freeze a task's lanes once it reaches loss <= 0.
        share: the probability that a (re)start begins at another task's solution.
        confirm_jitter: a loss of 0 is accepted only when two copies of the point moved by
            ``x (1 +- confirm_jitter s)`` score 0 too (0: off; see :mod:`jaxplaus.search.confirm`).
        pins: the pinned lanes, or None.
    """

    space: SearchSpace
    strategy: Strategy
    population_size: int
    n_tasks: int
    restarts: int
    generations: int
    dtype: str
    start: str
    x_tol: float
    patience: int
    stop_at_zero: bool
    share: float
    pins: Pins | None
    confirm_jitter: float = 0.0
    lane_pool: int = 1

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def program_key(self) -> str | None:
        """Its part of a stored program's key (:mod:`jaxplaus.search.stored`): every field, as
        data; None for a strategy that is not a registered one (its code is then unknown)."""
        try:
            registered = get_strategy(self.strategy.name) is self.strategy
        except ValueError:
            registered = False
        return repr(self) if registered else None

    @property
    def lanes_per_task(self) -> int:
        """The lanes each task holds in the state: ``restarts x lane_pool``."""
        return self.restarts * self.lane_pool

    @property
    def slots(self) -> int:
        """The lanes simulated per generation at most: ``n_tasks x restarts``."""
        return self.n_tasks * self.restarts

    @property
    def lane_group(self) -> int:
        """The lanes of one task the batch keeps together, so the objective scores their
        populations in one call (:func:`~jaxplaus.search.lane.evaluate`): the largest power of two
        that divides ``restarts`` and holds at most ``GROUP_CANDIDATES / population_size`` lanes
        (at least one)."""
        most = max(GROUP_CANDIDATES // self.population_size, 1)
        group = self.restarts & -self.restarts  # the largest power of two dividing restarts
        while group > most:
            group //= 2
        return group


def positive_int(name: str, value, allow_none: bool = False) -> int | None:
    """``value`` as an int >= 1 (None passes when ``allow_none``); else a ValueError naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_seed(seed) -> int:
    """``seed`` as an int in ``[0, 2**32)``; else a ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}")
    return int(seed)


def _confirm_jitter(value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if isinstance(value, bool) or not (math.isfinite(x) and 0 <= x <= 0.1):
        raise ValueError(f"confirm_jitter must be a number in [0, 0.1] (0: off), got {value!r}")
    return x


def default_patience(num_dims: int, population_size: int) -> int:
    """``50 + ceil(30 D / population_size)`` generations."""
    return 50 + math.ceil(30 * num_dims / population_size)


def search_config(
    space, strategy, population_size, generations, restarts, n_tasks, start, dtype, lane_pool=1
) -> SearchConfig:
    """Check the arguments that shape a search's state; the run options get their defaults
    (those of :func:`jaxplaus.search.run_search`; set them with :func:`with_run_options`).

    Raises:
        TypeError / ValueError: naming the first bad argument.
    """
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a SearchSpace (see search_space()), got {type(space).__name__}")
    strategy = get_strategy(strategy)
    if population_size is None:
        population_size = default_population_size(space.num_dims)
    strategy.check(population_size, space.num_dims)
    generations = positive_int("generations", generations)
    restarts = positive_int("restarts", restarts)
    n_tasks = positive_int("n_tasks", n_tasks)
    lane_pool = positive_int("lane_pool", lane_pool)
    if start not in ("uniform", "center"):
        raise ValueError(f"start must be 'uniform' or 'center', got {start!r}")
    dtype = canonical_dtype(dtype).name
    pop = int(population_size)
    return SearchConfig(
        space=space,
        strategy=strategy,
        population_size=pop,
        n_tasks=n_tasks,
        restarts=restarts,
        generations=generations,
        dtype=dtype,
        start=start,
        x_tol=1e-6,
        patience=default_patience(space.num_dims, pop),
        stop_at_zero=True,
        share=0.0,
        pins=None,
        lane_pool=lane_pool,
    )


def with_run_options(
    config: SearchConfig, *, x_tol, patience, stop_at_zero, share, pin, pinned_lanes, confirm_jitter=0.0
) -> SearchConfig:
    """``config`` with the restart rule, freezing, sharing and pinning checked and set
    (``patience=None``: :func:`default_patience`)."""
    if patience is None:
        patience = default_patience(config.space.num_dims, config.population_size)
    patience = positive_int("patience", patience)
    x_tol = float(x_tol)
    if not (math.isfinite(x_tol) and x_tol >= 0):
        raise ValueError(f"x_tol must be a finite number >= 0, got {x_tol}")
    share = float(share)
    if not 0 <= share <= 1:
        raise ValueError(f"share must be a probability in [0, 1], got {share}")
    pins = check_pins(config.space, pin, pinned_lanes, config.restarts)
    return dataclasses.replace(
        config, x_tol=x_tol, patience=patience, stop_at_zero=bool(stop_at_zero), share=share, pins=pins,
        confirm_jitter=_confirm_jitter(confirm_jitter),
    )


def check_pins(space: SearchSpace, pin: Mapping[str, float] | None, pinned_lanes, restarts: int) -> Pins | None:
    """The :class:`Pins` of ``run_search(pin=..., pinned_lanes=...)``, or None when nothing is
    pinned. A value outside its bounds is held at the nearer bound."""
    is_int = isinstance(pinned_lanes, int | np.integer) and not isinstance(pinned_lanes, bool)
    if not (is_int and 0 <= pinned_lanes <= restarts):
        raise ValueError(f"pinned_lanes must be an int in [0, restarts={restarts}], got {pinned_lanes!r}")
    pin = dict(pin or {})
    unknown = sorted(set(pin) - set(space.names))
    if unknown:
        raise ValueError(f"pin: {unknown} are not searched dimensions; searched: {list(space.names)}")
    for name, value in pin.items():
        if not (isinstance(value, int | float | np.number) and math.isfinite(value)):
            raise ValueError(f"pin[{name!r}]: expected a finite number, got {value!r}")
    if not pin or pinned_lanes == 0:
        return None
    z = np.asarray(to_unit(space, {**dict(zip(space.names, space.lo)), **pin}), np.float64)
    for name, zi in zip(space.names, z):
        if name in pin and not np.isfinite(zi):
            raise ValueError(f"pin[{name!r}]: {pin[name]!r} has no place on {name!r}'s log scale (it must be > 0)")
    z = np.clip(z, 0.0, 1.0)
    mask = tuple(name in pin for name in space.names)
    return Pins(mask=mask, z=tuple(float(v) for v in z), lanes=int(pinned_lanes))


def check_objective(objective) -> None:
    """``objective`` must be hashable: it is a static argument of the compiled search. What it
    returns is checked where the search traces it (:func:`scored`), not by tracing it once more
    here (a suite loss takes about half a second to trace).

    Raises:
        TypeError: not hashable.
    """
    try:
        hash(objective)
    except TypeError:
        raise TypeError(
            f"objective must be hashable (it is a static argument of the compiled search): pass a function or a "
            f"frozen dataclass with __call__, got an unhashable {type(objective).__name__}"
        ) from None


def scored(objective, params: Mapping[str, jax.Array], tasks) -> jax.Array:
    """``[G, n]``: ``objective`` vmapped over ``params {name: [G, n]}`` and ``tasks [G]`` (each call
    scores the ``n`` candidates of one task), checked as it is traced.

    Raises:
        TypeError: the objective fails on such parameters and an int32 task.
        ValueError: it returns a loss of another shape than ``[n]``.
    """
    n = jnp.shape(next(iter(params.values())))[-1]
    try:
        out = jax.vmap(objective)(params, tasks)
    except Exception as err:
        raise TypeError(
            f"The objective failed on params {{name: [{n}] array for name in {list(params)}}} and an int32 "
            f"task: {type(err).__name__}: {err}"
        ) from err
    if getattr(out, "shape", None) != (jnp.shape(tasks)[0], n):
        what = out.shape[1:] if hasattr(out, "shape") else type(out).__name__  # a call's own shape
        raise ValueError(f"The objective must return one loss per candidate, shape ({n},); got {what}")
    return out
