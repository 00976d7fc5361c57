"""Optuna's samplers as search strategies, with the device doing the evaluations.

Each pattern (task) has its own Optuna study over the search's unit cube ``[0, 1]^D`` (the
same normalised space the evosax strategies search, mapped to parameters by
:func:`jaxplaus.search.to_physical`). A generation asks every unsolved task's study for
``batch`` trials, evaluates all of them on the device in one call of the search's objective
(:func:`jaxplaus.assess.objective.batched_loss`), and tells each study its losses. A loss of
0 counts only when the confirming objective (``SearchObjectives.confirming``, with its
jittered copies) scores it 0 too, as in the evosax search; a task stops asking once solved.

Optuna is an optional dependency (``pip install jaxplaus[optuna]``): it is imported when a
search runs, and :func:`require_optuna` says how to install it when it is missing.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
import warnings
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from jaxplaus import search as S
from jaxplaus._precision import precision
from jaxplaus.assess.objective import JitteredLoss, SearchObjectives, batched_loss
from jaxplaus.errors import EnvironmentFailure

SAMPLERS = {  # strategy name -> Optuna sampler class name
    "optuna_random": "RandomSampler",
    "optuna_tpe": "TPESampler",
    "optuna_cmaes": "CmaEsSampler",
    "optuna_qmc": "QMCSampler",
}


class OptunaMissingError(EnvironmentFailure):
    """An Optuna strategy was asked for and Optuna cannot be imported (exit 1)."""


def require_optuna():
    """The ``optuna`` module, or an :class:`OptunaMissingError` saying how to install it."""
    try:
        return importlib.import_module("optuna")
    except ImportError as err:
        raise OptunaMissingError(
            f"the Optuna strategies ({', '.join(SAMPLERS)}) need Optuna, which cannot be imported ({err}); "
            "install it with `pip install jaxplaus[optuna]` (optuna, cmaes, scipy)"
        ) from None


def make_sampler(name: str, seed: int):
    """A fresh Optuna sampler for strategy ``name`` (a key of :data:`SAMPLERS`), seeded."""
    optuna = require_optuna()
    cls = getattr(optuna.samplers, SAMPLERS[name])
    if name == "optuna_cmaes":
        return cls(seed=seed, warn_independent_sampling=False)
    if name == "optuna_tpe":  # a batch is asked before any of it is told: the running trials as "lies"
        return cls(seed=seed, constant_liar=True)
    with warnings.catch_warnings():  # QMCSampler is "experimental" in Optuna 5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(seed=seed)


@dataclasses.dataclass(frozen=True)
class OptunaOutcome:
    """An Optuna search of ``T`` tasks over ``G`` generations (numpy arrays).

    Attributes:
        best_loss: ``[T]`` each task's best (confirmed) loss; best_z: ``[T, D]`` its point.
        history: ``[T, G]`` each task's best loss after each generation.
        task_evaluations: ``[T, G]`` int64 evaluations each task had spent after each generation.
        task_zero_evaluations: ``[T]`` evaluations when the task first had a confirmed 0, -1 never.
        solved_at_s: ``[T]`` seconds from the start when it did, -1 never.
        seconds: the search's wall-clock seconds in all.
    """

    best_loss: np.ndarray
    best_z: np.ndarray
    history: np.ndarray
    task_evaluations: np.ndarray
    task_zero_evaluations: np.ndarray
    solved_at_s: np.ndarray
    seconds: float


def _ask(studies, tasks, batch: int, dims: int):
    """``(trials [A][batch], z [A, batch, D])`` asked of the studies of ``tasks``."""
    trials = [[studies[t].ask() for _ in range(batch)] for t in tasks]
    z = np.array([[[tr.suggest_float(f"z{i}", 0.0, 1.0) for i in range(dims)] for tr in row] for row in trials])
    return trials, z


def _evaluate(loss_fn, space: S.SearchSpace, z: np.ndarray, tasks: np.ndarray, dtype: str) -> np.ndarray:
    """``[A, n]`` float64 losses of the points ``z [A, n, D]`` of ``tasks [A]``, in one device call
    (the rows padded to a power of two by repeating the first, so few shapes are compiled)."""
    a = z.shape[0]
    size = 1 << max(a - 1, 0).bit_length()
    z_pad = np.concatenate([z, np.repeat(z[:1], size - a, axis=0)])
    t_pad = np.concatenate([tasks, np.repeat(tasks[:1], size - a)]).astype(np.int32)
    with precision(dtype) as dt:
        params = S.to_physical(space, jnp.asarray(z_pad, dt))
        loss = np.asarray(batched_loss(loss_fn, params, jnp.asarray(t_pad)), np.float64)[:a]
    return np.where(np.isfinite(loss), loss, np.inf)


def _confirmed(objectives: SearchObjectives, space, z, tasks, loss: np.ndarray, dtype: str) -> np.ndarray:
    """``loss [A, n]`` with each 0 replaced by the worst loss the confirming objective (and its
    jittered copies) gives that point: a 0 stays only when confirmed."""
    if objectives.confirming is None:
        return loss
    check = objectives.confirming
    if objectives.confirm_jitter > 0:
        check = JitteredLoss(check, space, objectives.confirm_jitter)
    rows, cols = np.nonzero(loss <= 0)
    if rows.size == 0:
        return loss
    worst = _evaluate(check, space, z[rows, cols][:, None, :], np.asarray(tasks)[rows], dtype)[:, 0]
    out = loss.copy()
    out[rows, cols] = np.maximum(worst, 0.0)
    return out


def optuna_search(
    objectives: SearchObjectives, space: S.SearchSpace, strategy: str, *, n_tasks: int, batch: int,
    generations: int, seed: int, dtype: str = "float64", on_generation: Callable[[int, np.ndarray], None] | None = None,
) -> OptunaOutcome:
    """Minimise ``objectives.objective`` for ``n_tasks`` tasks with Optuna sampler ``strategy``.

    Args:
        objectives: the search's objectives (:func:`jaxplaus.assess.objective.search_objectives`).
        space: the search space; the studies sample its unit cube.
        strategy: a key of :data:`SAMPLERS`.
        batch: trials asked per task and generation (all evaluated in one device call).
        generations: generations at most; a task stops once it has a confirmed 0.
        seed: the seed; task ``t``'s sampler gets ``SeedSequence([seed, t])``'s first word.
        on_generation: called with ``(generations_done, best_loss [T])`` after each generation.
    """
    optuna = require_optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dims, t0 = space.num_dims, time.perf_counter()
    studies = [optuna.create_study(sampler=make_sampler(strategy, int(np.random.SeedSequence([seed, t])
                                                                      .generate_state(1)[0]))) for t in range(n_tasks)]
    best, best_z = np.full(n_tasks, np.inf), np.full((n_tasks, dims), np.nan)
    history, spent = np.full((n_tasks, generations), np.inf), np.zeros((n_tasks, generations), np.int64)
    zero_evals, solved_at, used = np.full(n_tasks, -1, np.int64), np.full(n_tasks, -1.0), np.zeros(n_tasks, np.int64)
    for g in range(generations):
        tasks = np.flatnonzero(best > 0)
        if tasks.size:
            trials, z = _ask(studies, tasks, batch, dims)
            loss = _evaluate(objectives.objective, space, z, tasks, dtype)
            loss = _confirmed(objectives, space, z, tasks, loss, dtype)
            for row, t in enumerate(tasks):
                for trial, value in zip(trials[row], loss[row]):
                    studies[t].tell(trial, float(value) if np.isfinite(value) else float(S.FAILED_LOSS))
                k = int(np.argmin(loss[row]))
                if loss[row, k] < best[t]:
                    best[t], best_z[t] = loss[row, k], z[row, k]
            used[tasks] += batch
            newly = tasks[best[tasks] <= 0]
            zero_evals[newly], solved_at[newly] = used[newly], time.perf_counter() - t0
        history[:, g], spent[:, g] = best, used
        if on_generation is not None:
            on_generation(g + 1, best.copy())
    return OptunaOutcome(best, best_z, history, spent, zero_evals, solved_at, time.perf_counter() - t0)


__all__ = ["SAMPLERS", "OptunaMissingError", "OptunaOutcome", "make_sampler", "optuna_search", "require_optuna"]
