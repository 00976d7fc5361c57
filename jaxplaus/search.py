"""On-device evolution-strategy search in a normalised parameter space.

A search looks for the parameters (and input gain) of a model that minimise a caller's loss. The
optimiser never sees physical units: it works in the unit cube ``[0, 1]^D``, one coordinate per
free dimension, and :func:`to_physical` maps a point of the cube to parameter values (log scale
where the :class:`~jaxplaus.models.base.Parameter` says so, linear otherwise).

Everything runs in one compiled program: the generations are an on-device loop
(``lax.fori_loop`` with a traced trip count, so chunks of any length share it), and the whole
strategy state is vmapped over ``n_tasks`` tasks (e.g. the firing patterns a caller asks for)
times ``restarts`` independent restarts ("lanes"). Python only sees the state between chunks of
generations, to report progress and write checkpoints.

Restarts follow Hansen's tutorial (termination criteria TolX and stagnation, then a fresh start
from a uniformly random mean with the initial step size): a lane whose sampling spread has
collapsed, whose best loss has stopped improving, or whose strategy state went non-finite is
restarted in place, inside the loop, and keeps its best-so-far.

References:
    N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016): sigma0 about
    0.3 of the domain width, a uniformly random initial mean, restarts on TolX / stagnation
    (appendix B.3), boundaries by repair.
    A. Auger and N. Hansen, "A Restart CMA Evolution Strategy With Increasing Population Size",
    IEEE CEC 2005: independent restarts of a converged CMA-ES.
    R. T. Lange, "evosax: JAX-based Evolution Strategies", GECCO 2023 Companion,
    arXiv:2212.04180, https://github.com/RobertTLange/evosax (version 0.3.2 is wrapped here).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from jaxplaus import models as _models
from jaxplaus._precision import canonical_dtype, precision
from jaxplaus.models.base import Model

GAIN = "gain"
DEFAULT_GAIN_BOUNDS = (1e-3, 1e2)
# What a strategy is told for a candidate whose loss is NaN or infinite (and for the not yet
# evaluated members of a fresh population-based state). Every shipped strategy uses losses only
# through ranks or comparisons, so all that matters is that it is finite and worse than any loss.
FAILED_LOSS = 1e30


# ============================================================================ the search space


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The free dimensions of a search and the map from the unit cube to physical values.

    Build one with :func:`search_space`. Free dimension ``i`` has name ``names[i]``, bounds
    ``lo[i] < hi[i]`` and is searched on a log scale when ``log[i]``, on the signed log scale
    ``asinh(x / symlog[i])`` when ``symlog[i] > 0``, linearly otherwise. Hashable, so it can be
    a static argument of a compiled function.

    Attributes:
        model: the model's name.
        names: the free dimensions, in the model's parameter order, then ``"gain"`` if searched.
        lo, hi, log: per free dimension.
        symlog: per free dimension, the width of the signed log scale (0: none).
        fixed: ``(name, value)`` pairs of the pinned parameters (and gain, if pinned).
        order: every name :func:`to_physical` returns, in the model's order, then ``"gain"``.
    """

    model: str
    names: tuple[str, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    log: tuple[bool, ...]
    fixed: tuple[tuple[str, float], ...]
    order: tuple[str, ...]
    symlog: tuple[float, ...] = ()

    def __post_init__(self):
        if not self.symlog:  # spaces built without it: no signed-log dimension
            object.__setattr__(self, "symlog", (0.0,) * len(self.names))

    @property
    def num_dims(self) -> int:
        return len(self.names)

    def bounds(self) -> dict[str, tuple[float, float]]:
        """``name -> (lo, hi)`` of the free dimensions."""
        return {n: (lo, hi) for n, lo, hi in zip(self.names, self.lo, self.hi)}


def _pair(what: str, value) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a pair (lo, hi) of numbers, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{what}: bounds must be finite, got (lo, hi) = ({lo}, {hi})")
    if not lo < hi:
        raise ValueError(f"{what}: need lo < hi, got (lo, hi) = ({lo}, {hi})")
    return lo, hi


def search_space(
    model: str | Model,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | None = None,
    gain: tuple[float, float] | None = DEFAULT_GAIN_BOUNDS,
) -> SearchSpace:
    """The search space of ``model``: its parameters, minus ``fixed``, plus an input gain.

    Args:
        model: a :class:`Model` or the name of a registered one.
        bounds: ``name -> (lo, hi)`` replacing a parameter's search bounds (e.g. physiological
            ranges). The parameter keeps its scale: a log-scale one needs ``0 < lo``.
        fixed: ``name -> value`` pinning parameters; they are not searched, and :func:`to_physical`
            returns them as constants. ``"gain"`` may be pinned too.
        gain: ``(lo, hi)``, ``0 < lo < hi``, of the input gain, searched on a log scale under the
            name ``"gain"``; ``None`` for no gain dimension (unless ``fixed`` pins one).

    Raises:
        ValueError: naming the bad entry and what is allowed.
    """
    model = _models.get(model)
    params = model.parameters
    bounds = dict(bounds or {})
    fixed = dict(fixed or {})
    known = list(params)
    for what, given in (("bounds", bounds), ("fixed", fixed)):
        if not isinstance(given, dict):
            raise TypeError(f"{what} must be a mapping of parameter name to value, got {type(given).__name__}")
        allowed = known + [GAIN] if what == "fixed" else known
        for name in given:
            if name == GAIN and what == "bounds":
                raise ValueError("bounds: set the bounds of the input gain with gain=(lo, hi), not bounds['gain']")
            if name not in allowed:
                raise ValueError(f"{what}: unknown parameter {name!r} for model {model.name!r}; known: {allowed}")
    both = sorted(set(bounds) & set(fixed))
    if both:
        raise ValueError(f"Parameters {both} are both fixed and given bounds; a parameter is either searched or fixed")
    fixed_values = {}
    for name, value in fixed.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"fixed[{name!r}]: expected a number, got {value!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"fixed[{name!r}]: the value must be finite, got {v}")
        fixed_values[name] = v

    names, lo, hi, log, symlog = [], [], [], [], []
    for name, p in params.items():
        if name in fixed_values:
            continue
        a, b = _pair(f"bounds[{name!r}]", bounds[name]) if name in bounds else (p.lo, p.hi)
        if p.log and a <= 0:
            raise ValueError(
                f"bounds[{name!r}]: {name!r} is searched on a log scale, so lo must be > 0; got (lo, hi) = ({a}, {b})"
            )
        names.append(name), lo.append(a), hi.append(b), log.append(bool(p.log)), symlog.append(float(p.symlog))
    if gain is not None and GAIN not in fixed_values:
        a, b = _pair("gain", gain)
        if a <= 0:
            raise ValueError(f"gain: the gain is searched on a log scale, so lo must be > 0; got (lo, hi) = ({a}, {b})")
        names.append(GAIN), lo.append(a), hi.append(b), log.append(True), symlog.append(0.0)
    if not names:
        raise ValueError(
            f"Nothing to search: every parameter of model {model.name!r} is fixed"
            + (" and the gain is fixed" if GAIN in fixed_values else " and gain=None")
        )
    order = tuple(known) + ((GAIN,) if (gain is not None or GAIN in fixed_values) else ())
    fixed_items = tuple((n, fixed_values[n]) for n in order if n in fixed_values)
    return SearchSpace(model.name, tuple(names), tuple(lo), tuple(hi), tuple(log), fixed_items, order, tuple(symlog))


def _float_dtype(x) -> np.dtype:
    dt = jnp.result_type(x)
    return dt if jnp.issubdtype(dt, jnp.floating) else jnp.result_type(float)


def to_physical(space: SearchSpace, z) -> dict[str, jax.Array]:
    """Map unit-cube coordinates to physical values.

    Args:
        space: the search space.
        z: ``[..., D]`` coordinates, clipped to ``[0, 1]`` first, so any sample of any strategy
            maps to a valid point.

    Returns:
        ``name -> [...]`` array for every name of ``space.order``: free dimensions mapped as
        ``lo + z (hi - lo)``, on a log scale ``lo (hi / lo)^z``, on a signed log scale of width
        ``w`` ``w sinh(asinh(lo / w) + z (asinh(hi / w) - asinh(lo / w)))``; fixed ones broadcast.
    """
    z = jnp.asarray(z)
    z = z.astype(_float_dtype(z))
    if z.ndim < 1 or z.shape[-1] != space.num_dims:
        raise ValueError(f"z must have shape [..., {space.num_dims}] (dimensions {list(space.names)}), got {z.shape}")
    z = jnp.clip(z, 0.0, 1.0)
    lo = jnp.asarray(space.lo, z.dtype)
    hi = jnp.asarray(space.hi, z.dtype)
    log = np.asarray(space.log)
    width = np.asarray(space.symlog, np.float64)
    safe_lo, safe_hi = jnp.where(log, lo, 1.0), jnp.where(log, hi, 1.0)
    log_lo = jnp.log(safe_lo)
    w = jnp.asarray(np.where(width > 0, width, 1.0), z.dtype)
    s_lo, s_hi = jnp.arcsinh(lo / w), jnp.arcsinh(hi / w)
    x = jnp.where(log, jnp.exp(log_lo + z * (jnp.log(safe_hi) - log_lo)), lo + z * (hi - lo))
    x = jnp.where(width > 0, w * jnp.sinh(s_lo + z * (s_hi - s_lo)), x)
    x = jnp.clip(x, lo, hi)  # exp(log(hi)) may round past hi
    free = {name: x[..., i] for i, name in enumerate(space.names)}
    fixed = dict(space.fixed)
    return {name: free[name] if name in free else jnp.full(z.shape[:-1], fixed[name], z.dtype) for name in space.order}


def to_unit(space: SearchSpace, params: Mapping[str, Any]) -> jax.Array:
    """Map physical values to unit-cube coordinates: the inverse of :func:`to_physical`.

    Args:
        space: the search space.
        params: ``name -> [...]`` values of every free dimension (fixed names may be present and
            are ignored); the values broadcast against each other.

    Returns:
        ``[..., D]`` coordinates. Not clipped: a value outside its bounds maps outside ``[0, 1]``
        (and a non-positive value of a log-scale dimension to NaN).
    """
    missing = [n for n in space.names if n not in params]
    unknown = [n for n in params if n not in space.order]
    if missing or unknown:
        raise ValueError(
            f"to_unit: {'missing ' + str(missing) if missing else ''}{'; ' if missing and unknown else ''}"
            f"{'unknown ' + str(unknown) if unknown else ''}; the free dimensions are {list(space.names)}"
        )
    cols = []
    for name, lo, hi, log, w in zip(space.names, space.lo, space.hi, space.log, space.symlog):
        v = jnp.asarray(params[name])
        v = v.astype(_float_dtype(v))
        if w > 0:
            s_lo, s_hi = math.asinh(lo / w), math.asinh(hi / w)
            cols.append((jnp.arcsinh(v / w) - s_lo) / (s_hi - s_lo))
        else:
            cols.append((jnp.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) if log else (v - lo) / (hi - lo))
    cols = jnp.broadcast_arrays(*cols)
    return jnp.stack(cols, axis=-1)


# ============================================================================ the strategies


def _identity(x):
    return x


def _set_std(std):
    return lambda params: params.replace(std_init=jnp.asarray(std))


def _no_limit(population_size: int, num_dims: int) -> str | None:
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class Strategy:
    """An evosax algorithm with defaults for a unit-cube problem.

    Attributes:
        name: the registry name.
        build: ``(population_size, solution [D]) -> evosax algorithm``.
        population_based: True for evosax's population-based algorithms (their ``init`` takes a
            population and its fitness rather than a mean).
        configure: ``default_params -> params``.
        post_init: ``state -> state``, applied to every fresh state.
        even_population: the algorithm samples antithetic pairs.
        min_population: the smallest population it accepts.
        limit: ``(population_size, num_dims) -> message or None``, refusing known-bad settings.
        doc: one line on what it is.
    """

    name: str
    build: Callable[[int, jax.Array], Any]
    population_based: bool = False
    configure: Callable[[Any], Any] = _identity
    post_init: Callable[[Any], Any] = _identity
    even_population: bool = False
    min_population: int = 2
    limit: Callable[[int, int], str | None] = _no_limit
    doc: str = ""

    def check(self, population_size: int, num_dims: int) -> None:
        """Raise a ValueError if this strategy cannot run with this population."""
        if not isinstance(population_size, int | np.integer) or isinstance(population_size, bool):
            raise TypeError(f"population_size must be an int, got {population_size!r}")
        if population_size < self.min_population:
            raise ValueError(
                f"Strategy {self.name!r} needs population_size >= {self.min_population}, got {population_size}"
            )
        if self.even_population and population_size % 2:
            raise ValueError(
                f"Strategy {self.name!r} samples antithetic pairs: population_size must be even, got {population_size}"
            )
        message = self.limit(int(population_size), num_dims)
        if message:
            raise ValueError(message)

    def __repr__(self) -> str:
        return f"Strategy({self.name!r})"


def _algorithms():
    from evosax import algorithms  # imported lazily: evosax pulls in flax

    return algorithms


def _xnes_post_init(state):
    # evosax 0.3.2 xNES samples mean + std * z @ B with BOTH std and B initialised to std_init,
    # i.e. an initial step of std_init**2. Start B at the identity so std_init is the step.
    return state.replace(B=jnp.eye(state.B.shape[-1], dtype=state.B.dtype))


def _lm_ma_es_limit(population_size: int, num_dims: int) -> str | None:
    if population_size > 2 * num_dims:
        return (
            f"Strategy 'lm_ma_es' refuses population_size={population_size} > 2 * num_dims = {2 * num_dims}: in evosax "
            "0.3.2 its path learning rate c_c = population_size / num_dims exceeds 2 and the state turns NaN. "
            f"Use population_size <= {2 * num_dims}, or another strategy (e.g. 'cma_es')."
        )
    return None


def _build(name):
    return lambda population_size, solution: getattr(_algorithms(), name)(population_size, solution)


def _random_search(population_size, solution):
    d, dtype = solution.shape[0], solution.dtype
    return _algorithms().RandomSearch(
        population_size, solution, sampling_fn=lambda key: jax.random.uniform(key, (d,), dtype)
    )


def _open_es(population_size, solution):
    # evosax's defaults (SGD at 1e-3, std 1) are for network weights; in the unit cube use Adam
    # and a step size decaying from 0.3 to 0.01.
    return _algorithms().Open_ES(
        population_size,
        solution,
        optimizer=optax.adam(learning_rate=0.05),
        std_schedule=optax.exponential_decay(0.3, transition_steps=1, decay_rate=0.98, end_value=0.01),
    )


def _pgpe(population_size, solution):
    from evosax.core.optimizer import clipup

    return _algorithms().PGPE(population_size, solution, optimizer=clipup(learning_rate=0.05, max_velocity=0.1))


def _simple_ga(population_size, solution):
    return _algorithms().SimpleGA(
        population_size,
        solution,
        std_schedule=optax.exponential_decay(0.2, transition_steps=1, decay_rate=0.98, end_value=0.005),
    )


def _registry() -> dict[str, Strategy]:
    std = _set_std(0.3)
    specs = [
        Strategy("cma_es", _build("CMA_ES"), configure=std, doc="CMA-ES (Hansen); sigma0 = 0.3"),
        Strategy("sep_cma_es", _build("Sep_CMA_ES"), configure=std, doc="separable (diagonal) CMA-ES; sigma0 = 0.3"),
        Strategy("snes", _build("SNES"), configure=std, doc="separable natural ES; sigma0 = 0.3"),
        Strategy(
            "xnes",
            _build("xNES"),
            configure=std,
            post_init=_xnes_post_init,
            doc="exponential natural ES; sigma0 = 0.3 (evosax's B update is elementwise: B stays diagonal)",
        ),
        Strategy("open_es", _open_es, even_population=True, doc="OpenAI-ES, antithetic; Adam 0.05, std 0.3 -> 0.01"),
        Strategy(
            "pgpe",
            _pgpe,
            configure=lambda p: p.replace(std_init=0.3),
            even_population=True,
            doc="PGPE with ClipUp (lr 0.05, max step 0.1); std0 = 0.3",
        ),
        Strategy(
            "de",
            _build("DifferentialEvolution"),
            population_based=True,
            min_population=4,
            doc="differential evolution, best/1/bin, F = 0.8, CR = 0.9",
        ),
        Strategy("pso", _build("PSO"), population_based=True, doc="particle swarm (w 0.75, c1 1.5, c2 2.0)"),
        Strategy(
            "simple_ga",
            _simple_ga,
            population_based=True,
            doc="truncation-selection GA, Gaussian mutation 0.2 -> 0.005",
        ),
        Strategy("random_search", _random_search, doc="uniform samples in the unit cube (a baseline)"),
        Strategy(
            "lm_ma_es",
            _build("LM_MA_ES"),
            configure=std,
            limit=_lm_ma_es_limit,
            doc="limited-memory MA-ES; only population_size <= 2 * num_dims",
        ),
    ]
    return {s.name: s for s in specs}


STRATEGIES: dict[str, Strategy] = _registry()


def strategy_names() -> tuple[str, ...]:
    """The registered strategy names."""
    return tuple(STRATEGIES)


def get_strategy(strategy: str | Strategy) -> Strategy:
    """The registered strategy called ``strategy`` (a :class:`Strategy` is returned as is)."""
    if isinstance(strategy, Strategy):
        return strategy
    try:
        return STRATEGIES[strategy]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown strategy {strategy!r}; known strategies: {', '.join(STRATEGIES)}") from None


def default_population_size(num_dims: int) -> int:
    """``max(16, 4 + floor(3 ln D))`` rounded up to even (Hansen's default, made roomier)."""
    n = max(16, 4 + int(math.floor(3 * math.log(max(num_dims, 1)))))
    return n + n % 2


# ============================================================================ the search state


class SearchState(NamedTuple):
    """Everything a search carries from one generation to the next; a pytree of arrays.

    ``T`` tasks, ``R`` restart lanes per task, ``D`` dimensions, ``G`` generations in all.
    Save it with ``np.savez(path, **state_to_arrays(state))`` and resume with
    ``run_search(..., initial_state=dict(np.load(path)))``.

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
        history: ``[T, R, G]`` the lane's best loss after each generation (inf where not run).
        batch: ``[T]`` bool, the tasks simulated in the current period of :data:`REBATCH_EVERY`
            generations (set at the period's start; see :func:`_rebatch`).
        donors: ``[T]`` bool, the solved tasks whose solutions restarts may start from in the
            current period (``run_search(share=...)``).
        key: ``[2]`` uint32, the search's threefry key (``jax.random.PRNGKey(seed)`` at first).
        generation: ``[]`` int32, generations done.
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
    history: jax.Array
    batch: jax.Array
    donors: jax.Array
    key: jax.Array
    generation: jax.Array


class _Lane(NamedTuple):
    """The per-lane part of :class:`SearchState` (its first fields), for one lane."""

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


def state_to_arrays(state: SearchState) -> dict[str, np.ndarray]:
    """The state as ``path -> numpy array`` (e.g. ``".strategy.mean"``), for ``np.savez``."""
    leaves = jax.tree_util.tree_leaves_with_path(state)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def state_from_arrays(arrays: Mapping[str, Any], like: SearchState) -> SearchState:
    """Rebuild a state from :func:`state_to_arrays` output, with the structure of ``like``.

    Raises:
        ValueError: when an entry is missing, extra, or of another shape or dtype than in
            ``like`` (the checkpoint is of another search).
    """
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


def _rng():
    """The PRNG setting searches trace under.

    Vmapped threefry compiles several times faster on XLA:CPU in its original (non-
    partitionable) form; a search is never sharded, so it uses that. Random streams differ
    from those of the default setting, which only matters for comparing bits across settings.
    """
    manager = getattr(jax, "threefry_partitionable", None)
    return manager(False) if manager is not None else contextlib.nullcontext()


def _cast(tree, dtype):
    """Floating leaves to ``dtype``, every leaf a strongly typed array (stable loop carries)."""

    def cast(x):
        x = jnp.asarray(x)
        return lax.convert_element_type(x, dtype if jnp.issubdtype(x.dtype, jnp.floating) else x.dtype)

    return jax.tree.map(cast, tree)


def _all_finite(tree) -> jax.Array:
    ok = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(ok)) if ok else jnp.asarray(True)


def _tree_where(cond, a, b):
    return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)


@dataclasses.dataclass(frozen=True, eq=False)
class _Core:
    """What a search needs of its strategy, independent of the objective (hashed by identity)."""

    space: SearchSpace
    strategy: Strategy
    algorithm: Any
    params: Any
    population_size: int
    n_tasks: int
    restarts: int
    generations: int
    dtype: np.dtype
    start: str


def _fresh(core: _Core, u, key, center):
    """A fresh strategy state for one lane.

    ``u`` is uniform in the cube: the new mean ``[D]`` (the centre instead when ``center``), or
    for a population-based strategy the new population ``[pop, D]``; ``key`` goes to evosax's init.
    """
    alg, pop, dtype = core.algorithm, core.population_size, core.dtype
    if core.strategy.population_based:
        state = alg.init(key, u, jnp.full((pop,), FAILED_LOSS, dtype), core.params)
    else:
        mean = jnp.where(center, jnp.full_like(u, 0.5), u)
        state = alg.init(key, mean, core.params)
        # evosax starts its archive at NaN / inf; keep the whole state finite
        state = state.replace(best_solution=mean, best_fitness=jnp.asarray(FAILED_LOSS, dtype))
    return _cast(core.strategy.post_init(_cast(state, dtype)), dtype)


def _fresh_shape(core: _Core) -> tuple[int, ...]:
    d = core.space.num_dims
    return (core.population_size, d) if core.strategy.population_based else (d,)


@functools.lru_cache(maxsize=32)
def _core(space, strategy, population_size, n_tasks, restarts, generations, dtype_name, start) -> _Core:
    dtype = np.dtype(dtype_name)
    algorithm = strategy.build(population_size, jnp.zeros((space.num_dims,), dtype))
    params = _cast(strategy.configure(algorithm.default_params), dtype)
    return _Core(space, strategy, algorithm, params, population_size, n_tasks, restarts, generations, dtype, start)


def _initial_state(core: _Core, seed: int) -> SearchState:
    """The state before the first generation, built without compiling anything.

    Every lane is marked ``fresh``, so its first generation starts its strategy; the key is
    ``jax.random.PRNGKey(seed)``, i.e. the threefry key ``(0, seed)``.
    """
    t, r, d = core.n_tasks, core.restarts, core.space.num_dims
    shapes = jax.eval_shape(
        lambda u, k: _fresh(core, u, k, False),
        jax.ShapeDtypeStruct(_fresh_shape(core), core.dtype),
        jax.ShapeDtypeStruct((2,), jnp.uint32),
    )
    strategy = jax.tree.map(lambda s: np.zeros((t, r, *s.shape), s.dtype), shapes)
    i32 = lambda v: np.full((t, r), v, np.int32)  # noqa: E731
    state = SearchState(
        strategy=strategy,
        fresh=np.ones((t, r), bool),
        best_z=np.full((t, r, d), 0.5, core.dtype),
        best_loss=np.full((t, r), np.inf, core.dtype),
        best_generation=i32(-1),
        zero_generation=i32(-1),
        run_best_loss=np.full((t, r), np.inf, core.dtype),
        stall=i32(0),
        restarts_done=i32(0),
        generations_used=i32(0),
        history=np.full((t, r, core.generations), np.inf, core.dtype),
        batch=np.ones((t,), bool),
        donors=np.zeros((t,), bool),
        key=np.array([0, seed], np.uint32),
        generation=np.asarray(0, np.int32),
    )
    return jax.tree.map(jnp.asarray, state)


@functools.lru_cache(maxsize=16)
def _advance(core: _Core, objective, x_tol: float, patience: int, stop_at_zero: bool, share: float, pin) -> Callable:
    """The compiled ``(state, n) -> state`` running ``n`` generations.

    ``pin``: ``(mask [D], z [D], n_lanes)`` as tuples (see :func:`_pins`), or None.
    """
    space, alg, params, dtype = core.space, core.algorithm, core.params, core.dtype
    r = core.restarts
    if pin is None:
        pinned_lanes = np.zeros(r, bool)
    else:
        pin_mask, pin_z = np.asarray(pin[0], bool), np.asarray(pin[1], dtype)
        pinned_lanes = np.arange(r) >= r - pin[2]  # the last lanes of each task

    def lane_step(lane: _Lane, task, g, frozen, keys, u, pinned):
        k_ask, k_tell, k_init = keys
        center = (core.start == "center") & (lane.restarts_done == 0)
        state = _tree_where(lane.fresh, _fresh(core, u, k_init, center), lane.strategy)
        sampled, state = alg.ask(k_ask, state, params)
        sampled = sampled.astype(dtype)  # [pop, D]
        z = jnp.clip(sampled, 0.0, 1.0)  # evaluate, and tell, the repaired points
        if pin is not None:  # a pinned lane searches the subspace: the pinned coordinates held
            z = jnp.where(pinned & pin_mask, pin_z, z)
        loss = jnp.asarray(objective(to_physical(space, z), task)).astype(dtype)  # [pop]
        finite = jnp.isfinite(loss)
        told = jnp.where(finite, jnp.minimum(loss, FAILED_LOSS), FAILED_LOSS)
        state, _ = alg.tell(k_tell, z, told, state, params)
        state = _cast(state, dtype)

        raw = jnp.where(finite, loss, jnp.inf)
        i = jnp.argmin(raw)
        gen_best = raw[i]
        improved = gen_best < lane.best_loss
        best_loss = jnp.where(improved, gen_best, lane.best_loss)
        run_improved = gen_best < lane.run_best_loss
        stall = jnp.where(run_improved, 0, lane.stall + 1)

        # restart rule: collapsed sampling spread (TolX), stagnation, or a non-finite state
        spread = jnp.max(jnp.std(sampled, axis=0))
        degenerate = ~(_all_finite(state) & jnp.all(jnp.isfinite(sampled)))
        restart = degenerate | ~(spread >= x_tol) | (stall >= patience)
        new = _Lane(
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
        )
        return _tree_where(frozen, lane, new)

    lanes_of_task = jax.vmap(lane_step, in_axes=(0, None, None, 0, 0, 0, 0))
    all_lanes = jax.vmap(lanes_of_task, in_axes=(0, 0, None, 0, 0, 0, None))

    def lane_randoms(key, task, pool_z, pool_ok):
        # each task's lanes draw from the generation key folded with the task's index, so a
        # task's random numbers do not depend on which other tasks share the batch
        k_lanes, k_u = jax.random.split(jax.random.fold_in(key, task))
        u = jax.random.uniform(k_u, (r, *_fresh_shape(core)), dtype)
        if share > 0:  # a restart may start from another task's solution (see run_search)
            k_coin, k_pick = jax.random.split(jax.random.fold_in(k_u, 1))
            ok = pool_ok & (jnp.arange(pool_ok.shape[0]) != task)
            pick = jax.random.categorical(k_pick, jnp.where(ok, 0.0, -jnp.inf), shape=(r,))
            use = (jax.random.uniform(k_coin, (r,)) < share) & jnp.any(ok)
            donor = pool_z[pick].astype(dtype)  # [r, D]
            if core.strategy.population_based:  # the donor joins a random population
                u = u.at[:, 0].set(jnp.where(use[:, None], donor, u[:, 0]))
            else:
                u = jnp.where(use[:, None], donor, u)
        return jax.random.split(k_lanes, r * 3).reshape(r, 3, -1), u

    def run_lanes(lanes, tasks, g, frozen, key, pool_z, pool_ok):
        # the random numbers are drawn outside the lanes' vmap: unbatched threefry compiles faster
        keys, u = jax.vmap(lane_randoms, in_axes=(None, 0, None, None))(key, tasks, pool_z, pool_ok)
        return all_lanes(lanes, tasks, g, frozen, keys, u, jnp.asarray(pinned_lanes))

    def generation(state: SearchState, tasks, pool_z, pool_ok) -> SearchState:
        g = state.generation
        key, k_gen = jax.random.split(state.key)
        lanes = _Lane(*state[: len(_Lane._fields)])
        if stop_at_zero:
            solved = jnp.any(state.best_loss <= 0, axis=1)  # [T]
            frozen = jnp.broadcast_to(solved[:, None], state.best_loss.shape)
            # when every task is solved, skip the generation altogether
            lanes = lax.cond(
                jnp.all(solved), lambda ls: ls, lambda ls: run_lanes(ls, tasks, g, frozen, k_gen, pool_z, pool_ok), lanes
            )
        else:
            lanes = run_lanes(lanes, tasks, g, jnp.zeros(state.best_loss.shape, bool), k_gen, pool_z, pool_ok)
        history = lax.dynamic_update_index_in_dim(state.history, lanes.best_loss, g, axis=2)
        return state._replace(**lanes._asdict(), history=history, key=key, generation=g + 1)

    def advance(state, tasks, n, pool_z, pool_ok):
        # a while loop with a traced trip count: chunks of any length share one compiled program
        # (one per number of tasks in the batch: see _rebatch)
        return lax.fori_loop(0, n, lambda _, s: generation(s, tasks, pool_z, pool_ok), state)

    return jax.jit(advance)


REBATCH_EVERY = 20  # generations: how often the simulated batch and the donor pool are set


def _rebatch(state: SearchState, stop_at_zero: bool) -> SearchState:
    """Set the batch and the donors for the next :data:`REBATCH_EVERY` generations.

    The batch: all tasks, or with ``stop_at_zero`` the unsolved ones (a solved task's lanes are
    frozen, so simulating them would be pure waste), padded up to a power of two (capped at the
    number of tasks) with solved tasks, which stay frozen: at most ``log2(T) + 2`` batch shapes
    are ever compiled. The donors: the solved tasks. Both are decided on fixed generations and
    kept in the state, so neither chunking nor a resume changes a result, although XLA may
    round the same task differently in batches of different shapes.
    """
    solved = np.any(np.asarray(state.best_loss) <= 0, axis=1)
    n_tasks = solved.shape[0]
    batch = np.ones(n_tasks, bool)
    if stop_at_zero:
        open_tasks = np.flatnonzero(~solved)
        size = min(n_tasks, 1 << max(len(open_tasks) - 1, 0).bit_length())
        batch = ~solved
        batch[np.flatnonzero(solved)[: size - len(open_tasks)]] = True
    return state._replace(batch=jnp.asarray(batch), donors=jnp.asarray(solved))


def _advance_tasks(advance, state: SearchState, n: int) -> SearchState:
    """Run ``n`` generations of the tasks in ``state.batch`` only; the others keep their state.

    Leaves with a leading task axis are gathered, advanced and scattered back; the tasks left
    out are all solved and frozen, and their history records their (unchanging) best loss.
    """
    tasks = np.flatnonzero(np.asarray(state.batch)).astype(np.int32)
    n_tasks = state.best_loss.shape[0]
    full = len(tasks) == n_tasks
    index = jnp.asarray(tasks)
    # the donors' solutions: each donor's first lane to reach loss 0 (its best point stays put)
    zero = np.asarray(state.zero_generation)
    first_zero = np.argmin(np.where(zero >= 0, zero, np.iinfo(np.int32).max), axis=1)
    pool_z = np.asarray(state.best_z)[np.arange(n_tasks), first_zero]
    per_task = SearchState(*state[:-2], key=None, generation=None)
    sub = jax.tree.map(lambda x: x if full else x[index], per_task)
    sub = sub._replace(key=state.key, generation=state.generation)
    g0 = int(state.generation)
    out = advance(sub, index, jnp.asarray(n, jnp.int32), jnp.asarray(pool_z), state.donors)
    if full:
        return out
    merged = jax.tree.map(lambda x, y: x.at[index].set(y), per_task, SearchState(*out[:-2], key=None, generation=None))
    steps = jnp.arange(merged.history.shape[2])
    written = (steps >= g0) & (steps < g0 + n)
    history = jnp.where(written, merged.best_loss[..., None], state.history).at[index].set(out.history)
    return merged._replace(history=history, batch=state.batch, donors=state.donors, key=out.key, generation=out.generation)


# ============================================================================ running a search


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """The outcome of :func:`run_search` (numpy arrays; ``T`` tasks, ``R`` restarts).

    Attributes:
        best_params: ``name -> [T]`` physical values of each task's best point (all of
            ``space.order``, fixed ones and gain included).
        best_loss: ``[T]`` each task's best loss over its restarts (inf if no finite loss).
        best_z: ``[T, D]`` each task's best point in the unit cube.
        lane_best_z: ``[T, R, D]``, lane_best_loss: ``[T, R]`` each lane's best.
        lane_best_generation: ``[T, R]`` the generation (0-based) each lane's best was found, -1.
        evaluations: ``[T, R]`` int64 objective evaluations each lane spent (in-place restarts
            included; frozen generations of solved tasks excluded).
        restarts_done: ``[T, R]`` in-place restarts of each lane.
        zero_evaluations: ``[T, R]`` int64 evaluations the lane had spent when it first reached
            loss <= 0, -1 if it never did.
        task_zero_evaluations: ``[T]`` int64 evaluations the task (all its lanes) had spent when
            any of its lanes first reached loss <= 0, -1 if none did.
        history: ``[T, R, G]`` each lane's best loss after each generation.
        generations: generations run in all (resumed ones included).
        space, strategy, population_size: what was searched, how.
        state: the final :class:`SearchState` (on the device).
    """

    best_params: dict[str, np.ndarray]
    best_loss: np.ndarray
    best_z: np.ndarray
    lane_best_z: np.ndarray
    lane_best_loss: np.ndarray
    lane_best_generation: np.ndarray
    evaluations: np.ndarray
    restarts_done: np.ndarray
    zero_evaluations: np.ndarray
    task_zero_evaluations: np.ndarray
    history: np.ndarray
    generations: int
    space: SearchSpace
    strategy: str
    population_size: int
    state: SearchState

    def params(self, task: int = 0) -> dict[str, float]:
        """The best physical parameters of one task, as Python floats."""
        return {k: float(v[task]) for k, v in self.best_params.items()}


def _positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}")
    return int(seed)


def _setup(space, strategy, population_size, generations, restarts, n_tasks, start, dtype) -> _Core:
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a SearchSpace (see search_space()), got {type(space).__name__}")
    strategy = get_strategy(strategy)
    if population_size is None:
        population_size = default_population_size(space.num_dims)
    strategy.check(population_size, space.num_dims)
    generations = _positive_int("generations", generations)
    restarts = _positive_int("restarts", restarts)
    n_tasks = _positive_int("n_tasks", n_tasks)
    if start not in ("uniform", "center"):
        raise ValueError(f"start must be 'uniform' or 'center', got {start!r}")
    dt = canonical_dtype(dtype)
    return _core(space, strategy, int(population_size), n_tasks, restarts, generations, dt.name, start)


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

    Also the template :func:`state_from_arrays` needs to read a checkpoint back.
    """
    with precision(canonical_dtype(dtype)):
        core = _setup(space, strategy, population_size, generations, restarts, n_tasks, start, dtype)
        return _initial_state(core, _seed(seed))


def run_search(
    objective: Callable[[dict[str, jax.Array], jax.Array], jax.Array],
    space: SearchSpace,
    strategy: str | Strategy = "cma_es",
    *,
    population_size: int | None = None,
    generations: int,
    restarts: int = 1,
    n_tasks: int = 1,
    seed: int = 0,
    chunk: int | None = None,
    on_chunk: Callable[[SearchState, int], Any] | None = None,
    initial_state: SearchState | Mapping[str, Any] | None = None,
    dtype=jnp.float32,
    x_tol: float = 1e-6,
    patience: int | None = None,
    stop_at_zero: bool = True,
    start: str = "uniform",
    share: float = 0.0,
    pin: Mapping[str, float] | None = None,
    pinned_lanes: int = 0,
) -> SearchResult:
    """Minimise ``objective`` over ``space`` for ``n_tasks`` tasks, ``restarts`` lanes each.

    All ``n_tasks x restarts`` lanes run in one compiled program: ``generations`` generations of
    ask / evaluate / tell in an on-device loop, the strategy state vmapped over lanes. Each lane
    starts from a uniformly random mean (or population) in the unit cube.

    Per generation and lane: the strategy's samples are clipped to the cube (the clipped points
    are both evaluated and told: boundary handling by repair); a NaN or infinite loss is told as
    :data:`FAILED_LOSS`, so no NaN reaches the strategy state. Then the lane is restarted in place
    (fresh state, new uniformly random mean, best-so-far kept) when

    - the sampling spread collapsed: the largest per-dimension standard deviation of the
      population is below ``x_tol`` (Hansen's TolX; this also keeps CMA-ES's step size from
      shrinking into float32 underflow and NaN), or
    - its best loss since its last (re)start has not improved for ``patience`` generations, or
    - its strategy state or samples became non-finite.

    With ``stop_at_zero``, once any lane of a task reaches loss <= 0 (the caller's loss is
    exactly 0 when a target is met), all lanes of that task are frozen (no more evaluations);
    every :data:`REBATCH_EVERY` generations the solved tasks are left out of the simulated
    batch (so the hard tasks run faster once the easy ones are solved), and when every task is
    solved, the remaining generations are skipped. Each task draws its own random numbers (the
    generation's key folded with the task's index), whichever tasks share its batch.

    Args:
        objective: ``(params, task) -> loss [pop]``, pure JAX, minimised. ``params`` maps each
            name of ``space.order`` (physical units; fixed ones and ``"gain"`` included) to a
            ``[pop]`` array; ``task`` is an int32 scalar in ``[0, n_tasks)``. It is vmapped over
            lanes and traced once.
        space: from :func:`search_space`.
        strategy: a name of :data:`STRATEGIES` or a :class:`Strategy`.
        population_size: candidates per lane and generation; default
            :func:`default_population_size`.
        generations: total generations (a resumed run counts the ones already done).
        restarts: independent lanes per task.
        n_tasks: tasks; the objective gets the task index.
        seed: the random seed; the same seed gives the same result.
        chunk: generations per compiled call (default: all). Between chunks, ``on_chunk(state,
            generations_done)`` is called (also after the last).
        initial_state: a :class:`SearchState`, or its :func:`state_to_arrays` dict (e.g.
            ``dict(np.load(path))``), to resume from; the other arguments must be those of the
            interrupted run. The result equals that of an uninterrupted run.
        dtype: float32 or float64.
        x_tol: the spread below which a lane restarts, in unit-cube coordinates.
        patience: generations without improvement before a lane restarts; default
            ``50 + ceil(30 D / population_size)``.
        stop_at_zero: freeze a task's lanes once it reaches loss <= 0.
        start: ``"uniform"`` (random initial means) or ``"center"`` (the first start of every
            lane at the cube's centre; distribution-based strategies only; in-place restarts
            are always uniform).
        share: the probability that a lane's (re)start begins at another task's solution
            instead of a uniformly random point: the best point of a solved task (not its own),
            picked at random, as the new mean (population-based strategies: one member of the
            random population). Tasks that are related (firing patterns sharing a mechanism)
            help each other. The pool of solutions is refreshed every :data:`REBATCH_EVERY`
            generations (it is empty until a task is solved).
        pin: ``name -> value`` (physical units) for some searched dimensions, held at these
            values in the last ``pinned_lanes`` lanes of every task: those lanes search the
            subspace of the other dimensions (every candidate they evaluate, and their best
            point, has the pinned values). A value outside its bounds is held at the nearer
            bound. Used by :func:`jaxplaus.assess` to search a model's core parameters.
        pinned_lanes: how many of the ``restarts`` lanes are pinned (0 to ``restarts``).

    Returns:
        A :class:`SearchResult`.
    """
    if not callable(objective):
        raise TypeError(f"objective must be a callable (params, task) -> loss [pop], got {type(objective).__name__}")
    with precision(canonical_dtype(dtype)):
        core = _setup(space, strategy, population_size, generations, restarts, n_tasks, start, dtype)
    pop, generations = core.population_size, core.generations
    chunk = _positive_int("chunk", chunk, allow_none=True) or generations
    if patience is None:
        patience = 50 + math.ceil(30 * space.num_dims / pop)
    patience = _positive_int("patience", patience)
    x_tol = float(x_tol)
    if not (math.isfinite(x_tol) and x_tol >= 0):
        raise ValueError(f"x_tol must be a finite number >= 0, got {x_tol}")
    share = float(share)
    if not 0 <= share <= 1:
        raise ValueError(f"share must be a probability in [0, 1], got {share}")
    pins = _pins(space, pin, pinned_lanes, core.restarts)

    seed = _seed(seed)
    with precision(core.dtype), _rng():
        _check_objective(objective, space, pop, core.dtype)
        template = _initial_state(core, seed)
        if initial_state is None:
            state = template
        else:
            arrays = initial_state if isinstance(initial_state, Mapping) else state_to_arrays(initial_state)
            state = state_from_arrays(arrays, template)
        done = int(state.generation)
        if done > generations:
            raise ValueError(f"initial_state has already run {done} generations, more than generations={generations}")
        advance = _advance(core, objective, x_tol, patience, bool(stop_at_zero), share, pins)
        while done < generations:
            end = min(done + chunk, generations)
            while done < end:  # the chunk, cut where the batch is set again
                if done % REBATCH_EVERY == 0:
                    state = _rebatch(state, bool(stop_at_zero))
                n = min(end - done, REBATCH_EVERY - done % REBATCH_EVERY)
                state = _advance_tasks(advance, state, n)
                done += n
            if on_chunk is not None:
                on_chunk(state, done)
        return _result(core, state)


def _pins(space: SearchSpace, pin, pinned_lanes, restarts: int):
    """``(mask [D], z [D], pinned_lanes)`` as hashable tuples, or None when nothing is pinned."""
    if isinstance(pinned_lanes, bool) or not isinstance(pinned_lanes, int | np.integer) or not 0 <= pinned_lanes <= restarts:
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
    return mask, tuple(float(v) for v in z), int(pinned_lanes)


def _check_objective(objective, space, pop, dtype):
    params = {name: jax.ShapeDtypeStruct((pop,), dtype) for name in space.order}
    task = jax.ShapeDtypeStruct((), jnp.int32)
    try:
        out = jax.eval_shape(objective, params, task)
    except Exception as err:
        raise TypeError(
            f"The objective failed on params {{name: [{pop}] array for name in {list(space.order)}}} and an int32 "
            f"task: {type(err).__name__}: {err}"
        ) from err
    if getattr(out, "shape", None) != (pop,):
        what = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"The objective must return one loss per candidate, shape ({pop},); got {what}")


def _result(core: _Core, state: SearchState) -> SearchResult:
    pop = core.population_size
    lane_loss = np.asarray(state.best_loss)
    lane_z = np.asarray(state.best_z)
    pick = np.argmin(lane_loss, axis=1)  # [T]
    tasks = np.arange(lane_loss.shape[0])
    best_z = lane_z[tasks, pick]
    zero_gen = np.asarray(state.zero_generation).astype(np.int64)
    zero_evals = np.where(zero_gen >= 0, (zero_gen + 1) * pop, -1)
    first = np.where(zero_gen >= 0, zero_gen, np.iinfo(np.int64).max).min(axis=1)
    task_zero = np.where(first < np.iinfo(np.int64).max, (first + 1) * pop * core.restarts, -1)
    return SearchResult(
        best_params={k: np.asarray(v) for k, v in to_physical(core.space, jnp.asarray(best_z)).items()},
        best_loss=lane_loss[tasks, pick],
        best_z=best_z,
        lane_best_z=lane_z,
        lane_best_loss=lane_loss,
        lane_best_generation=np.asarray(state.best_generation),
        evaluations=np.asarray(state.generations_used).astype(np.int64) * pop,
        restarts_done=np.asarray(state.restarts_done),
        zero_evaluations=zero_evals,
        task_zero_evaluations=task_zero,
        history=np.asarray(state.history),
        generations=int(state.generation),
        space=core.space,
        strategy=core.strategy.name,
        population_size=pop,
        state=state,
    )


__all__ = [
    "DEFAULT_GAIN_BOUNDS",
    "FAILED_LOSS",
    "GAIN",
    "STRATEGIES",
    "SearchResult",
    "SearchSpace",
    "SearchState",
    "Strategy",
    "default_population_size",
    "get_strategy",
    "init_state",
    "run_search",
    "search_space",
    "state_from_arrays",
    "state_to_arrays",
    "strategy_names",
    "to_physical",
    "to_unit",
]
