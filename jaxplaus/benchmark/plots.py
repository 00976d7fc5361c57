"""The benchmark's figures (matplotlib, Agg backend), each from a finished :class:`Benchmark`.

    ecdf_figure(bench, "evaluations")  fraction of (pattern, seed) runs solved against evaluations (log x)
    ecdf_figure(bench, "seconds")      the same against the search's wall-clock seconds
    target_figure(bench)               fraction of (run, loss target) pairs reached against evaluations
    art_figure(bench)                  aRT per pattern and strategy (log colour), "x" never solved
    success_figure(bench)              success rate per strategy with its 95 % Wilson interval
    save_all(bench, out_dir)           all of them as PNGs
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from jaxplaus import plots as _plots  # sets the Agg backend
from jaxplaus.benchmark import stats, tables

import matplotlib.pyplot as plt  # noqa: E402  (after the Agg backend)
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

LOSS_TARGETS = (10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.0)  # search-loss targets of target_figure
UNITS = {"evaluations": "objective evaluations per pattern", "seconds": "search wall-clock seconds (s)"}


def _colors(strategies) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10")
    return {s: cmap(k % 10) for k, s in enumerate(strategies)}


def _title(bench) -> str:
    s = bench.settings
    return f"{s['model']}: {len(tables.patterns_of(bench.runs))} patterns x {s['seeds']} seeds, budget {s['budget']}"


def ecdf_figure(bench, unit: str = "evaluations") -> Figure:
    """The empirical runtime distribution per strategy: the fraction of all its (pattern, seed)
    runs with a validated pass within x ``unit`` (log scale); a censored run never counts.
    The marker on each line's right is its aRT over all runs."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {list(UNITS)}, got {unit!r}")
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    colors = _colors(bench.settings["strategies"])
    lo, hi = math.inf, 0.0
    for s in bench.settings["strategies"]:
        t, ok = tables.runtimes(tables.select(bench.runs, strategy=s), unit)
        if t.size == 0:
            continue
        x, y = stats.ecdf_steps(t, ok)
        own = max(float(t.max()), 1e-9)  # the line ends at this strategy's largest cost (censored runs')
        lo, hi = min(lo, *(x[x > 0] if x.size else [math.inf])), max(hi, own)
        art = stats.average_runtime(t, ok)
        label = f"{s} (aRT {art:,.3g})" if math.isfinite(art) else f"{s} (aRT inf)"
        ax.step(np.r_[x[:1] if x.size else [own], x, [own]], np.r_[0.0, y, y[-1:] if y.size else [0.0]],
                where="post", color=colors[s], label=label)
    ax.set_xscale("log")
    if math.isfinite(lo) and hi > 0:
        ax.set_xlim(lo / 1.5, hi * 1.5)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(UNITS[unit])
    ax.set_ylabel("fraction of (pattern, seed) runs passed")
    ax.set_title(_title(bench), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    return fig


def _loss_grid(runs: list[dict], budgets: np.ndarray) -> np.ndarray:
    """``[N, B]`` each run's best search loss after each budget (its history)."""
    return np.stack([stats.loss_at(r["history"]["evaluations"], r["history"]["best_loss"], budgets) for r in runs])


def target_figure(bench, targets=LOSS_TARGETS) -> Figure:
    """COCO's aggregation over targets: the fraction of (run, search-loss target) pairs reached
    against evaluations, per strategy (the search's loss, before validation)."""
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    colors = _colors(bench.settings["strategies"])
    budgets = np.unique(np.geomspace(1, max(int(bench.settings["budget"]), 2), 200).round())
    for s in bench.settings["strategies"]:
        runs = tables.select(bench.runs, strategy=s)
        if runs:
            frac = stats.target_ecdf(_loss_grid(runs, budgets), targets).mean(axis=1)
            ax.step(budgets, frac, where="post", color=colors[s], label=s)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(UNITS["evaluations"])
    ax.set_ylabel("fraction of (run, target) pairs")
    ax.set_title(f"{_title(bench)}; search-loss targets {', '.join(f'{t:g}' for t in targets)}", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    return fig


def art_figure(bench, unit: str = "evaluations") -> Figure:
    """aRT per pattern (rows) and strategy (columns), log colour; "x": never solved (aRT inf)."""
    summ = tables.summary(bench.runs, bench.settings["strategies"])
    pats, strategies = summ["patterns"], summ["strategies"]
    art = np.array([[np.nan if summ[f"art_{unit}"][p][s] is None else summ[f"art_{unit}"][p][s] for s in strategies]
                    for p in pats], np.float64)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(strategies), 1.2 + 0.3 * len(pats)), layout="constrained")
    finite = art[np.isfinite(art) & (art > 0)]
    norm = LogNorm(finite.min(), max(finite.max(), finite.min() * 1.01)) if finite.size else None
    image = ax.imshow(np.where(np.isfinite(art) & (art > 0), art, np.nan), cmap="viridis_r", norm=norm, aspect="auto")
    for i, j in zip(*np.nonzero(~np.isfinite(art))):
        ax.text(j, i, "x", ha="center", va="center", color="#d7191c", fontsize=9)
    ax.set_xticks(range(len(strategies)), strategies, rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(len(pats)), pats, fontsize=7)
    if norm is not None:
        fig.colorbar(image, ax=ax, label=f"aRT ({UNITS[unit]})")
    ax.set_title(_title(bench), fontsize=8)
    return fig


def success_figure(bench) -> Figure:
    """The share of (pattern, seed) runs passed per strategy, with its 95 % Wilson interval."""
    summ = tables.summary(bench.runs, bench.settings["strategies"])
    strategies = summ["strategies"]
    rate = np.array([summ["success"][s]["rate"] or 0.0 for s in strategies])
    lo = np.array([summ["success"][s]["wilson95"][0] for s in strategies])
    hi = np.array([summ["success"][s]["wilson95"][1] for s in strategies])
    fig, ax = plt.subplots(figsize=(1.5 + 0.8 * len(strategies), 3.6), layout="constrained")
    colors = _colors(strategies)
    ax.bar(range(len(strategies)), rate, color=[colors[s] for s in strategies], alpha=0.8)
    ax.errorbar(range(len(strategies)), rate, yerr=[rate - lo, hi - rate], fmt="none", ecolor="k", capsize=3)
    ax.set_xticks(range(len(strategies)), strategies, rotation=40, ha="right", fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("success rate (95 % Wilson)")
    ax.set_title(_title(bench), fontsize=8)
    return fig


FIGURES = {
    "ecdf_evaluations": lambda b: ecdf_figure(b, "evaluations"),
    "ecdf_seconds": lambda b: ecdf_figure(b, "seconds"),
    "ecdf_targets": target_figure,
    "art": art_figure,
    "success": success_figure,
}


def save_all(bench, out_dir) -> list[Path]:
    """Every figure of :data:`FIGURES` as ``<name>.png`` in ``out_dir``; returns the paths."""
    paths = []
    for name, make in FIGURES.items():
        fig = make(bench)
        paths.append(_plots.save(fig, Path(out_dir) / f"{name}.png"))
        plt.close(fig)
    return paths


__all__ = ["FIGURES", "LOSS_TARGETS", "art_figure", "ecdf_figure", "save_all", "success_figure", "target_figure"]
