"""From settings to a plan: every option checked and resolved once, computing nothing.

:func:`plan` turns :class:`~jaxplaus.assess.config.Settings` into a :class:`Plan`: the model and
patterns looked up, the search space built, the defaults that depend on the model filled in
(population, gain bounds, core lanes) and the recorded settings (``settings.json``, the
``settings`` of ``results.json``) made. Bad input is a ValueError or TypeError naming the value
and what is allowed, raised before anything runs or is written.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from jaxplaus import models as _models
from jaxplaus import patterns as _patterns
from jaxplaus import results as _results
from jaxplaus import search as S
from jaxplaus.assess import checks, config
from jaxplaus.assess.config import Settings

VALIDATION_DTYPE = "float64"
BUDGET_UNIT = "objective evaluations per pattern on average (upper bound: patterns x budget in all)"
PERTURBATION = (
    "each searched dimension x (1 + s * delta), s = +-1 with equal odds, independently per copy and dimension"
)
MAX_HISTORY = 2**26  # entries of the search's loss history, patterns x restarts x generations (512 MiB in float64)
MAX_BATCH = 2**22  # candidates simulated in one batch (search or robustness)


@dataclasses.dataclass(frozen=True)
class Plan:
    """An assessment's resolved set-up.

    Attributes:
        settings: the resolved :class:`Settings` (no option left None but ``fixed``, ``bounds``
            and, when the gain is fixed, ``gain``).
        model: the :class:`~jaxplaus.models.Model`; patterns: the :class:`Pattern` objects, in
            Figure 1's order.
        space: the search space (model parameters within bounds, plus the gain).
        generations: ``budget // (population_size * restarts)``.
        pins: ``name -> value`` held in the core lanes (empty without core lanes).
        record: the recorded settings (plain JSON data).
    """

    settings: Settings
    model: Any
    patterns: tuple
    space: S.SearchSpace
    generations: int
    pins: dict[str, float]
    record: dict[str, Any]


def default_gain_bounds(model) -> tuple[float, float]:
    """The default ``(lo, hi)`` of the input gain: the model's own :attr:`Model.gain_bounds`."""
    return tuple(float(g) for g in _models.get(model).gain_bounds)


def _box(model, s: Settings) -> dict[str, Any]:
    """The search space's ``bounds``, ``fixed`` and ``gain`` (:func:`jaxplaus.search.search_space`
    keywords) for the settings' box: the model's search bounds (``bounds`` None or ``"wide"``),
    narrowed by a mapping, or the model's physiological box (``"physiological"``: its ranges,
    the parameters it holds fixed at their values, its gain range unless ``gain`` is given; a
    parameter in ``fixed`` must lie in its physiological range)."""
    gain = default_gain_bounds(model) if s.gain is None else s.gain
    if config.box(s.bounds) != config.PHYSIOLOGICAL:
        return {"bounds": None if isinstance(s.bounds, str) else s.bounds, "fixed": s.fixed, "gain": gain}
    phys = model.physiology
    if phys is None:
        raise ValueError(f"bounds: model {model.name!r} declares no physiological box (Model.physiology); pass "
                         f"{config.WIDE!r} or NAME=LO,HI pairs")
    fixed = dict(s.fixed or {})
    outside = {n: v for n, v in fixed.items() if n in phys.ranges and not phys.contains({n: v})}
    if outside:
        raise ValueError(f"fixed: {outside} outside the physiological box of {model.name!r} "
                         f"({ {n: phys.ranges[n] for n in outside} }); fix them inside it, or search them")
    held = {n: v for n, v in phys.held().items() if n not in fixed}
    bounds = {n: r for n, r in phys.searched().items() if n not in fixed}
    if s.gain is None and phys.gain is not None:
        gain = phys.gain
    return {"bounds": bounds, "fixed": {**held, **fixed}, "gain": gain}


def _patterns_of(names) -> tuple:
    if isinstance(names, str) and "," in names:
        names = [s.strip() for s in names.split(",") if s.strip()]
    pats = _patterns.resolve(names)
    seen = [p.name for p in pats]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise ValueError(f"patterns: {twice} given more than once")
    order = {n: i for i, n in enumerate(_patterns.names())}  # Figure 1's order, whatever the given order
    return tuple(sorted(pats, key=lambda p: order.get(p.name, len(order))))


def _core_lanes(model, space: S.SearchSpace, core_lanes, restarts: int) -> tuple[int, dict]:
    """``(lanes, pins)``: how many restart lanes search the model's core parameters, and the
    values the other searched dimensions are held at there (the default, the gain 1, each
    moved into its searched bounds, so that the record holds the value actually used)."""
    pins = {
        n: min(max(1.0 if n == S.GAIN else float(model.parameters[n].default), lo), hi)
        for n, lo, hi in zip(space.names, space.lo, space.hi)
        if n not in model.core
    }
    if not model.core or not pins or len(pins) == space.num_dims:
        if core_lanes not in (None, 0):
            raise ValueError(
                f"core_lanes: model {model.name!r} has no core parameters to search on their own here "
                f"(its core: {list(model.core)}; searched: {list(space.names)}); pass 0 or None"
            )
        return 0, {}
    if core_lanes is None:
        core_lanes = restarts // 2
    if isinstance(core_lanes, bool) or not isinstance(core_lanes, int | np.integer) or not 0 <= core_lanes <= restarts:
        raise ValueError(f"core_lanes must be an int in [0, restarts={restarts}], got {core_lanes!r}")
    return int(core_lanes), (pins if core_lanes else {})


def _search_shape(s: Settings, space: S.SearchSpace) -> tuple[int, int, int]:
    """``(restarts, population_size, generations)`` checked against the strategy and budget."""
    strategy = S.get_strategy(s.strategy)
    if strategy is not S.STRATEGIES.get(strategy.name):
        raise ValueError(f"strategy: pass a registered strategy name, one of {', '.join(S.STRATEGIES)}")
    restarts = checks.int_at_least("restarts", s.restarts, 1)
    population = S.default_population_size(space.num_dims) if s.population_size is None else s.population_size
    population = checks.int_at_least("population_size", population, 1)
    strategy.check(population, space.num_dims)
    budget = checks.int_at_least("budget (evaluations per pattern)", s.budget, 1)
    generations = budget // (population * restarts)
    if generations < 1:
        raise ValueError(
            f"budget {budget} is less than one generation: population_size x restarts = {population} x "
            f"{restarts} = {population * restarts} evaluations per pattern per generation; give a budget >= "
            f"{population * restarts}"
        )
    return restarts, population, generations


def _check_sizes(
    n_patterns: int, restarts: int, lane_pool: int, population: int, generations: int, numbers: dict
) -> None:
    """Refuse a run whose arrays would not fit: the search's loss history, its simulated batch
    (jittered copies included) and the robustness batch, each against its limit."""
    copies = 3 if numbers["full_loss"] == "every" and numbers["jitter"] > 0 else 1
    sizes = (
        ("the search's loss history", "patterns x restarts x lane_pool x generations",
         (n_patterns, restarts, lane_pool, generations), MAX_HISTORY, "budget (--budget), restarts or lane_pool"),
        ("the search's batch", "patterns x restarts x population_size x jitter copies",
         (n_patterns, restarts, population, copies), MAX_BATCH, "restarts or population_size"),
        ("the robustness batch", "patterns x (robustness_copies + 1)", (n_patterns, numbers["robustness_copies"] + 1),
         MAX_BATCH, "robustness_copies"),
    )
    for what, formula, factors, limit, lower in sizes:
        n = math.prod(factors)
        if n > limit:
            raise ValueError(f"{what} would hold {formula} = {' x '.join(map(str, factors))} = {n:,} entries, over "
                             f"the limit of {limit:,}; lower {lower}")


def _checked_options(s: Settings) -> dict[str, Any]:
    """Every option that has a check of its own (:class:`Settings` field metadata), checked."""
    return {
        f.name: f.metadata["check"](f.name, getattr(s, f.name))
        for f in dataclasses.fields(Settings) if f.metadata["check"] is not None
    }


def plan(settings: Settings | None = None, **options) -> Plan:
    """Check and resolve ``settings`` (default :class:`Settings`; ``options`` replace fields).

    Raises:
        ValueError / TypeError: naming the bad value and what is allowed.
    """
    s = config.settings(settings, **options)
    model = _models.get(s.model)
    pats = _patterns_of(s.patterns)
    numbers = _checked_options(s)
    box = _box(model, s)
    space = S.search_space(model, **box)
    restarts, population, generations = _search_shape(s, space)
    lane_pool = checks.int_at_least("lane_pool", len(pats) if s.lane_pool is None else s.lane_pool, 1)
    _check_sizes(len(pats), restarts, lane_pool, population, generations, numbers)
    core_lanes, pins = _core_lanes(model, space, s.core_lanes, restarts)
    # the search's own checks (strategy and population, dtype, ...) without compiling anything
    S.init_state(space, s.strategy, population_size=population, generations=generations, restarts=restarts,
                 n_tasks=len(pats), seed=numbers["seed"], dtype=s.search_dtype, lane_pool=lane_pool)
    resolved = dataclasses.replace(
        s, model=model.name if isinstance(s.model, str) else model, patterns=tuple(p.name for p in pats),
        strategy=S.get_strategy(s.strategy).name, budget=int(s.budget), restarts=restarts, population_size=population,
        gain=None if S.GAIN in dict(space.fixed) else tuple(float(g) for g in box["gain"]), core_lanes=core_lanes,
        lane_pool=lane_pool, **numbers,
    )
    return Plan(resolved, model, pats, space, generations, pins, _record(resolved, space, generations, pins))


def _record(resolved: Settings, space: S.SearchSpace, generations: int, pins: dict) -> dict[str, Any]:
    """The recorded settings: the options, and what the plan derives from them."""
    record = config.to_record(resolved)
    record.update(
        budget_unit=BUDGET_UNIT,
        generations=generations,
        space={"names": list(space.names), "lo": list(space.lo), "hi": list(space.hi), "log": list(space.log),
               "symlog": list(space.symlog), "fixed": dict(space.fixed)},
        core_pins=pins,
        validation_dtype=VALIDATION_DTYPE,
    )
    record["robustness"]["perturbation"] = PERTURBATION
    return _results.plain(record)


__all__ = ["MAX_BATCH", "MAX_HISTORY", "PERTURBATION", "VALIDATION_DTYPE", "Plan", "default_gain_bounds", "plan"]
