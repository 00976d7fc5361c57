"""The benchmark's runs: one search per (strategy, seed), every pattern at once, each winner validated.

A *run* is one (strategy, seed, pattern): its runtime is the objective evaluations (and the
search's wall-clock seconds) spent until its first validated pass: the search's first confirmed
zero whose point the strict float64 validator passes. A run without one is right-censored at
what it spent in all. The evosax strategies run through :func:`jaxplaus.assess.assess` (the
patterns as tasks, ``restarts`` lanes each, no lane pool: each pattern spends its own budget);
the Optuna samplers through :func:`~jaxplaus.benchmark.optuna_strategies.optuna_search` with the
same objectives, budget and validation (:func:`jaxplaus.assess.validation.first_verdicts`).
Seeds of one strategy share its compiled programs (equal objectives and shapes); every Optuna
sampler shares one loss kernel.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from jaxplaus.assess import assess
from jaxplaus.assess.objective import search_objectives
from jaxplaus.assess.records import loss_steps as history_steps
from jaxplaus.assess.validation import first_verdicts, physical
from jaxplaus.benchmark.config import BenchmarkSettings, optuna_batch, optuna_plan
from jaxplaus.benchmark.optuna_strategies import SAMPLERS, optuna_search

ROW_COLUMNS = (
    "strategy", "seed", "pattern", "letter", "solved", "evaluations", "seconds", "evaluations_spent",
    "seconds_spent", "search_loss", "validation_loss", "validation_s",
)  # a run's row (runs.csv); runs.json adds its "history"


def _finite(x) -> float | None:
    x = None if x is None else float(x)
    return x if x is not None and math.isfinite(x) else None


def run_row(strategy: str, seed: int, pattern, *, passed: bool, zero_evaluations: int | None, spent: int,
            solved_s: float | None, search_s: float, search_loss, validation_loss, validation_s: float,
            history: dict) -> dict[str, Any]:
    """One run's record. ``evaluations``/``seconds``: the runtime to the validated pass when
    ``solved``, else the censored cost (all it spent). A pass the search did not reach as a
    confirmed zero (the validator passed a nonzero best) counts at the full cost spent."""
    solved = bool(passed)
    to_pass = solved and zero_evaluations is not None and zero_evaluations >= 0
    return {
        "strategy": strategy, "seed": int(seed), "pattern": pattern.name, "letter": pattern.letter,
        "solved": solved, "evaluations": int(zero_evaluations if to_pass else spent),
        "seconds": round(float(solved_s if to_pass and solved_s is not None else search_s), 4),
        "evaluations_spent": int(spent), "seconds_spent": round(float(search_s), 4),
        "search_loss": _finite(search_loss), "validation_loss": _finite(validation_loss),
        "validation_s": round(float(validation_s), 4), "history": history,
    }


def _evosax_runs(s: BenchmarkSettings, strategy: str, seed: int) -> tuple[list[dict], dict]:
    """The runs of an evosax strategy: one :func:`~jaxplaus.assess.assess` of every pattern."""
    # lane_pool=1: each pattern an independent run on its own budget (no lanes handed over by solved ones)
    a = assess(s.model, s.patterns, strategy=strategy, seed=seed, budget=s.budget, restarts=s.restarts,
               population_size=s.population_size, robustness_copies=0, chunk=1, lane_pool=1)
    search_s = a.timing["search_s"]
    rows = [
        run_row(strategy, seed, p, passed=p.passed, zero_evaluations=p.evaluations_to_solve, spent=p.evaluations,
                solved_s=p.timing["search_s"] if p.evaluations_to_solve is not None else None, search_s=search_s,
                search_loss=p.search_loss, validation_loss=p.loss, validation_s=p.timing["validation_s"],
                history=p.history)
        for p in a.patterns
    ]
    return rows, {"search_s": search_s, "validation_s": a.timing["validation_s"], "wall_s": a.timing["wall_s"],
                  "evaluations": a.search["evaluations"]}


def _optuna_runs(s: BenchmarkSettings, strategy: str, seed: int) -> tuple[list[dict], dict]:
    """The runs of an Optuna sampler: one :func:`optuna_search` of every pattern, validated."""
    t0 = time.perf_counter()
    p = optuna_plan(s, seed)
    r = p.settings
    batch = optuna_batch(s, p)
    objectives = search_objectives(p.model, p.patterns, r.warmup, p.space, r.jitter, r.lagged_features, r.full_loss,
                                   s.budget // batch)
    out = optuna_search(objectives, p.space, strategy, n_tasks=len(p.patterns), batch=batch,
                        generations=s.budget // batch, seed=seed, dtype=r.search_dtype)
    tv = time.perf_counter()
    z = np.where(np.isfinite(out.best_z), out.best_z, 0.5)  # never finite: the centre
    verdicts = first_verdicts(p, [physical(p.space, z[t], r.search_dtype) for t in range(len(p.patterns))])
    validation_s = time.perf_counter() - tv  # one batched call: each pattern's share is its time
    seconds = validation_s / len(p.patterns)
    rows = []
    for t, (pattern, verdict) in enumerate(zip(p.patterns, verdicts)):
        zero = int(out.task_zero_evaluations[t])
        rows.append(run_row(
            strategy, seed, pattern, passed=verdict.passed, zero_evaluations=zero if zero >= 0 else None,
            spent=int(out.task_evaluations[t, -1]), solved_s=float(out.solved_at_s[t]) if zero >= 0 else None,
            search_s=out.seconds, search_loss=out.best_loss[t], validation_loss=verdict.loss,
            validation_s=seconds, history=history_steps(out.task_evaluations[t], out.history[t])))
    return rows, {"search_s": round(out.seconds, 3), "validation_s": round(validation_s, 3),
                  "wall_s": round(time.perf_counter() - t0, 3), "evaluations": int(out.task_evaluations[:, -1].sum()),
                  "batch": batch}


def search_runs(s: BenchmarkSettings, strategy: str, seed: int) -> dict[str, Any]:
    """One (strategy, seed) search of every pattern: ``{"strategy", "seed", "runs": [row per
    pattern], "timing": {search_s, validation_s, wall_s}, "evaluations"}`` (plain data)."""
    rows, timing = (_optuna_runs if strategy in SAMPLERS else _evosax_runs)(s, strategy, seed)
    evaluations = timing.pop("evaluations")
    return {"strategy": strategy, "seed": int(seed), "runs": rows, "timing": timing, "evaluations": evaluations}


__all__ = ["ROW_COLUMNS", "history_steps", "optuna_plan", "run_row", "search_runs"]
