"""The numbers COCO/BBOB reads a benchmark by: aRT, the empirical runtime distribution, success rates.

Hansen et al., "COCO: performance assessment" (arXiv:1605.03560). A *run* is one (strategy,
seed, pattern) search; its *runtime* is the evaluations (or seconds) it spent until its first
validated pass, and a run that never passed is right-censored at what it spent in all.

- :func:`average_runtime` (aRT): the evaluations all runs spent (successful ones up to their
  pass, unsuccessful ones in all) divided by the number of successful runs; infinite when none
  succeeded.
- :func:`runtime_ecdf`: the fraction of runs solved within each budget (a step function; a
  censored run never counts).
- :func:`wilson_interval`: the Wilson score interval of a success rate.

All functions are pure numpy and take plain arrays: ``runtime [N]`` (float, the runtime to
success or the censored cost) with ``solved [N]`` (bool).
"""

from __future__ import annotations

import math

import numpy as np


def _runs(runtime, solved) -> tuple[np.ndarray, np.ndarray]:
    runtime, solved = np.asarray(runtime, np.float64).ravel(), np.asarray(solved, bool).ravel()
    if runtime.shape != solved.shape:
        raise ValueError(f"runtime and solved must have the same length, got {runtime.size} and {solved.size}")
    if np.any(~np.isfinite(runtime)) or np.any(runtime < 0):
        raise ValueError("runtime must be finite and >= 0 (a censored run: the cost it spent in all)")
    return runtime, solved


def average_runtime(runtime, solved) -> float:
    """aRT: ``sum(runtime) / sum(solved)``, ``inf`` with no success (``nan`` with no run).

    Args:
        runtime: ``[N]`` evaluations (or seconds) each run spent: until its first validated pass
            when ``solved``, in all (censored) otherwise.
        solved: ``[N]`` bool.
    """
    runtime, solved = _runs(runtime, solved)
    if runtime.size == 0:
        return math.nan
    n = int(solved.sum())
    return float(runtime.sum() / n) if n else math.inf


def runtime_ecdf(runtime, solved, budgets) -> np.ndarray:
    """``[B]`` the fraction of the ``N`` runs solved within each of ``budgets [B]`` (runtime <= budget).

    A censored run (not ``solved``) never counts, whatever its cost. With no run, all zeros.
    """
    runtime, solved = _runs(runtime, solved)
    budgets = np.asarray(budgets, np.float64)
    if runtime.size == 0:
        return np.zeros(budgets.shape)
    hits = np.sort(runtime[solved])
    return np.searchsorted(hits, budgets, side="right") / runtime.size


def ecdf_steps(runtime, solved) -> tuple[np.ndarray, np.ndarray]:
    """``(x [K], y [K])``: the ECDF's jumps, each distinct successful runtime and the fraction of
    all runs solved by then (ascending; empty when nothing was solved)."""
    runtime, solved = _runs(runtime, solved)
    x = np.unique(runtime[solved])
    return x, runtime_ecdf(runtime, solved, x)


def target_ecdf(losses, targets) -> np.ndarray:
    """``[B, K]`` the fraction of (run, target) pairs reached within each budget: COCO's
    aggregation over loss targets.

    Args:
        losses: ``[N, B]`` each run's best loss after each of ``B`` common budgets (non-increasing
            along ``B``; NaN or inf for "nothing finite yet").
        targets: ``[K]`` loss targets (a run reaches a target when its best loss <= it).
    """
    losses = np.asarray(losses, np.float64)
    targets = np.asarray(targets, np.float64)
    if losses.ndim != 2:
        raise ValueError(f"losses must be [runs, budgets], got shape {losses.shape}")
    losses = np.where(np.isnan(losses), np.inf, losses)
    reached = losses[:, :, None] <= targets[None, None, :]  # [N, B, K]
    return reached.mean(axis=0) if losses.shape[0] else np.zeros((losses.shape[1], targets.size))


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval ``(lo, hi)`` of a success rate (95 % with the default ``z``);
    ``(0, 1)`` with no trial."""
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return 0.0, 1.0
    p, n = successes / trials, trials
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def loss_at(evaluations, best_loss, budgets) -> np.ndarray:
    """``[B]`` a run's best loss after each of ``budgets`` from its history step function
    (``evaluations [K]`` ascending, ``best_loss [K]``; None/NaN: no finite loss yet); inf before
    its first entry."""
    evaluations = np.asarray(evaluations, np.float64)
    best = np.asarray([np.inf if v is None else v for v in best_loss], np.float64)
    best = np.where(np.isnan(best), np.inf, best)
    idx = np.searchsorted(evaluations, np.asarray(budgets, np.float64), side="right") - 1
    return np.where(idx >= 0, best[np.clip(idx, 0, max(best.size - 1, 0))] if best.size else np.inf, np.inf)


__all__ = ["average_runtime", "ecdf_steps", "loss_at", "runtime_ecdf", "target_ecdf", "wilson_interval"]
