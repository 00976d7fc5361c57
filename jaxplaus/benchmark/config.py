"""The options of a benchmark: one frozen object with its defaults, and its command-line options.

:class:`BenchmarkSettings` declares every option that determines a benchmark's result, once
(default, help, how the command line parses it); ``jaxplaus benchmark``'s options are made from
its fields (:func:`add_arguments`, :func:`given_options`) and ``settings.json`` of a benchmark
directory records the checked settings (:func:`checked`). The search options a benchmark does
not name (warm-up, jitter, precision, lane pool, ...) are the assessment's defaults
(:class:`jaxplaus.assess.Settings`), the same for every strategy.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxplaus import models as _models
from jaxplaus import search as S
from jaxplaus.assess import checks, plan
from jaxplaus.benchmark.optuna_strategies import SAMPLERS, require_optuna


def _option(default, help: str, **cli):
    return dataclasses.field(default=default, metadata={"help": help, "cli": cli})


def _names(items) -> tuple[str, ...]:
    return tuple(s.strip() for item in items for s in str(item).split(",") if s.strip())


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """Everything that determines a benchmark's result, with its default (None: from the model
    or the strategy, as in :class:`jaxplaus.assess.Settings`)."""

    model: str = _option("izhikevich2004", "a registered model (see `jaxplaus list models`)")
    patterns: tuple[str, ...] | None = _option(None, "pattern names or letters A-T (default: all 20)",
                                               nargs="+", metavar="P")
    strategies: tuple[str, ...] = _option(
        ("cma_es", "sep_cma_es", "de", "pso", "optuna_tpe", "optuna_random"),
        "strategies, comma-separated: evosax ones (`jaxplaus list strategies`) and " + ", ".join(SAMPLERS),
        nargs="+", metavar="S",
    )
    seeds: int = _option(5, "seeds per strategy (0 .. seeds-1, offset by --first-seed)", type=int)
    first_seed: int = _option(0, "the first seed", type=int)
    budget: int = _option(2000, "objective evaluations per pattern and run (an upper bound)", type=int)
    restarts: int = _option(4, "evosax: restart lanes per pattern", type=int)
    population_size: int | None = _option(
        None, "evosax: candidates per lane and generation (default: the strategy's for the dimensions)", type=int)
    optuna_batch: int | None = _option(
        None, "Optuna: trials asked per pattern and generation, evaluated in one device call (default: "
        "population x restarts, the evaluations an evosax generation spends)", type=int)

    def record(self) -> dict[str, Any]:
        """The settings as plain JSON data (``settings.json``)."""
        return {f.name: (list(v) if isinstance(v, tuple) else v)
                for f in dataclasses.fields(self) for v in [getattr(self, f.name)]}


def evosax_names() -> tuple[str, ...]:
    return S.strategy_names()


def checked(settings: BenchmarkSettings | None = None, **options) -> BenchmarkSettings:
    """``settings`` (default :class:`BenchmarkSettings`) with ``options`` replaced, checked.

    Raises:
        TypeError: an unknown option. ValueError: an unknown strategy or model, seeds < 1, a
            budget < 1, ... (naming the value and what is allowed).
        :class:`~jaxplaus.benchmark.optuna_strategies.OptunaMissingError`: an Optuna strategy
            without Optuna installed.
    """
    known = {f.name for f in dataclasses.fields(BenchmarkSettings)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown benchmark options {unknown}; the options are {sorted(known)}")
    s = dataclasses.replace(settings or BenchmarkSettings(), **options)
    strategies = _names([s.strategies] if isinstance(s.strategies, str) else s.strategies)
    allowed = evosax_names() + tuple(SAMPLERS)
    bad = [n for n in strategies if n not in allowed]
    if bad or not strategies:
        raise ValueError(f"strategies: unknown {bad or 'none given'}; the strategies are {', '.join(allowed)}")
    if len(set(strategies)) != len(strategies):
        raise ValueError(f"strategies: {strategies} names one more than once")
    if any(n in SAMPLERS for n in strategies):
        require_optuna()
    _models.get(s.model)  # a ValueError naming the registered models
    patterns = None if s.patterns is None else _names([s.patterns] if isinstance(s.patterns, str) else s.patterns)
    seeds = checks.int_at_least("seeds", s.seeds, 1)
    first = checks.int_at_least("first_seed", s.first_seed, 0)
    checks.int_at_least("budget", s.budget, 1)
    if s.optuna_batch is not None:
        checks.int_at_least("optuna_batch", s.optuna_batch, 1)
    s = dataclasses.replace(s, strategies=strategies, patterns=patterns, seeds=seeds, first_seed=first)
    _check_searches(s)
    return s


PLAN_BUDGET = 1 << 16  # the nominal budget of optuna_plan (any budget >= one evosax generation)


def optuna_plan(s: BenchmarkSettings, seed: int):
    """The assessment plan whose model, patterns, search space and search options (warm-up,
    jitter, precision, ...) an Optuna search uses. Its evosax shape is not used: it is planned
    with one lane and a nominal budget, so that a small Optuna batch is never refused."""
    return plan(model=s.model, patterns=s.patterns, budget=PLAN_BUDGET, restarts=1, seed=seed, robustness_copies=0)


def optuna_batch(s: BenchmarkSettings, p) -> int:
    """Trials per pattern and generation: ``optuna_batch``, or the evaluations of one evosax
    generation (population x restarts), the population the strategy's default for ``p``'s space."""
    return s.optuna_batch or (s.population_size or p.settings.population_size) * s.restarts


def _check_searches(s: BenchmarkSettings) -> None:
    """Every search's own checks (model, patterns, budget against a generation, sizes), before any runs."""
    for name in s.strategies:
        if name in SAMPLERS:
            batch = optuna_batch(s, optuna_plan(s, s.first_seed))
            if s.budget < batch:
                raise ValueError(f"budget {s.budget} is less than one Optuna generation of {batch} trials per "
                                 f"pattern; give a budget >= {batch} or a smaller optuna_batch")
        else:
            plan(model=s.model, patterns=s.patterns, strategy=name, budget=s.budget, restarts=s.restarts,
                 population_size=s.population_size, seed=s.first_seed, robustness_copies=0)


def add_arguments(parser) -> None:
    """One ``--option-name`` per :class:`BenchmarkSettings` field (default None: "not given")."""
    for f in dataclasses.fields(BenchmarkSettings):
        default = ",".join(f.default) if isinstance(f.default, tuple) else f.default
        shown = "" if default is None else f" (default {default})"
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=None,
                            help=f.metadata["help"] + shown, **f.metadata["cli"])


def given_options(args) -> dict[str, Any]:
    """The :class:`BenchmarkSettings` options given on the command line (absent ones left out)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(BenchmarkSettings)
            if getattr(args, f.name, None) is not None}


__all__ = ["BenchmarkSettings", "add_arguments", "checked", "evosax_names", "given_options", "optuna_batch",
           "optuna_plan"]
