"""The strategies: evosax algorithms with defaults for a unit-cube problem, and a fresh lane of one.

A :class:`Strategy` names an evosax algorithm and how to configure it for the unit cube
(``sigma0 = 0.3``, Hansen's rule of about 0.3 of the domain width); :data:`STRATEGIES` is the
registry. :func:`build` instantiates one for a population size, dimension and dtype, and
:func:`fresh_state` starts the state of one lane from a point (or a population) of the cube.

References:
    N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016): sigma0 about
    0.3 of the domain width, the default population size ``4 + floor(3 ln D)``.
    R. T. Lange, "evosax: JAX-based Evolution Strategies", GECCO 2023 Companion,
    arXiv:2212.04180, https://github.com/RobertTLange/evosax (version 0.3.2 is wrapped here).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

# What a strategy is told for a candidate whose loss is NaN or infinite (and for the not yet
# evaluated members of a fresh population-based state). Every shipped strategy uses losses only
# through ranks or comparisons, so all that matters is that it is finite and worse than any loss.
FAILED_LOSS = 1e30


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


# ============================================================================ an instance of a strategy


def cast(tree, dtype):
    """Floating leaves to ``dtype``, every leaf a strongly typed array (stable loop carries)."""

    def cast_leaf(x):
        x = jnp.asarray(x)
        return lax.convert_element_type(x, dtype if jnp.issubdtype(x.dtype, jnp.floating) else x.dtype)

    return jax.tree.map(cast_leaf, tree)


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class Algorithm:
    """A strategy's evosax algorithm for one population size, dimension and dtype; see :func:`build`.

    Attributes:
        strategy: the :class:`Strategy`.
        evosax: the evosax algorithm (its ``init``, ``ask`` and ``tell``).
        params: its parameters, configured by the strategy, floating leaves in ``dtype``.
        population_size: candidates per generation.
        num_dims: ``D``, the dimensions of the cube.
        dtype: the floating dtype of the search.
    """

    strategy: Strategy
    evosax: Any
    params: Any
    population_size: int
    num_dims: int
    dtype: np.dtype


def build(strategy: Strategy, population_size: int, num_dims: int, dtype) -> Algorithm:
    """The evosax algorithm of ``strategy`` and its configured parameters.

    Runs eagerly even inside a trace (``jax.ensure_compile_time_eval``): the parameters are
    concrete arrays, constants of any program that uses them. Call it under the search's
    precision (``jaxplaus._precision.precision(dtype)``).
    """
    dtype = np.dtype(dtype)
    with jax.ensure_compile_time_eval():
        evosax = strategy.build(population_size, jnp.zeros((num_dims,), dtype))
        params = cast(strategy.configure(evosax.default_params), dtype)
    return Algorithm(
        strategy=strategy, evosax=evosax, params=params, population_size=population_size, num_dims=num_dims, dtype=dtype
    )


def fresh_shape(alg: Algorithm) -> tuple[int, ...]:
    """The shape of the uniform draw :func:`fresh_state` starts from: ``[pop, D]`` for a
    population-based strategy, ``[D]`` (a mean) otherwise."""
    d = alg.num_dims
    return (alg.population_size, d) if alg.strategy.population_based else (d,)


def fresh_state(alg: Algorithm, u: jax.Array, key: jax.Array, center) -> Any:
    """A fresh strategy state for one lane, every floating leaf in ``alg.dtype`` and finite.

    Args:
        alg: from :func:`build`.
        u: ``fresh_shape(alg)``, uniform in the cube: the new mean ``[D]``, or for a
            population-based strategy the new population ``[pop, D]`` (told :data:`FAILED_LOSS`).
        key: ``[2]`` uint32, evosax's ``init`` key.
        center: bool scalar; a mean-based strategy starts at the cube's centre instead of ``u``.
    """
    evosax, pop, dtype = alg.evosax, alg.population_size, alg.dtype
    if alg.strategy.population_based:
        state = evosax.init(key, u, jnp.full((pop,), FAILED_LOSS, dtype), alg.params)
    else:
        mean = jnp.where(center, jnp.full_like(u, 0.5), u)
        state = evosax.init(key, mean, alg.params)
        # evosax starts its archive at NaN / inf; keep the whole state finite
        state = state.replace(best_solution=mean, best_fitness=jnp.asarray(FAILED_LOSS, dtype))
    return cast(alg.strategy.post_init(cast(state, dtype)), dtype)
