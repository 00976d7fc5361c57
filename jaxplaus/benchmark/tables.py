"""The benchmark's tables: aRT per pattern and strategy, success rates with Wilson intervals.

Made from the runs' rows (:data:`jaxplaus.benchmark.runs.ROW_COLUMNS`) with the functions of
:mod:`~jaxplaus.benchmark.stats`; plain data for ``summary.json`` and a Markdown table for a README.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from jaxplaus.benchmark.stats import average_runtime, wilson_interval


def patterns_of(runs: list[dict]) -> list[str]:
    """The patterns of ``runs``, in their first appearance's order (Figure 1's)."""
    return list(dict.fromkeys(r["pattern"] for r in runs))


def select(runs: list[dict], **where) -> list[dict]:
    """The rows whose fields equal ``where``'s values."""
    return [r for r in runs if all(r[k] == v for k, v in where.items())]


def runtimes(runs: list[dict], unit: str = "evaluations") -> tuple[np.ndarray, np.ndarray]:
    """``(runtime [N], solved [N])`` of ``runs`` in ``unit`` ("evaluations" or "seconds")."""
    return (np.array([r[unit] for r in runs], np.float64), np.array([r["solved"] for r in runs], bool))


def _art(runs: list[dict], unit: str) -> float | None:
    """aRT of ``runs`` (None: no run; inf: no success)."""
    return average_runtime(*runtimes(runs, unit)) if runs else None


def success(runs: list[dict]) -> dict[str, Any]:
    """``{"solved", "runs", "rate", "wilson95": [lo, hi]}`` of ``runs``."""
    k, n = sum(bool(r["solved"]) for r in runs), len(runs)
    lo, hi = wilson_interval(k, n)
    return {"solved": k, "runs": n, "rate": k / n if n else None, "wilson95": [lo, hi]}


def summary(runs: list[dict], strategies) -> dict[str, Any]:
    """The benchmark's numbers as plain data.

    ``art_evaluations`` / ``art_seconds``: ``pattern -> strategy -> aRT`` (evaluations or search
    seconds over the seeds; ``None`` in JSON: no successful run, an infinite aRT), and ``"all"``
    the aRT over every (pattern, seed) run. ``success``: ``strategy -> success(...)`` over all
    (pattern, seed) runs; ``success_per_pattern``: ``pattern -> strategy -> "solved/runs"``.
    """
    pats, strategies = patterns_of(runs), list(strategies)
    out: dict[str, Any] = {"patterns": pats, "strategies": strategies}
    for unit in ("evaluations", "seconds"):
        table = {p: {s: _art(select(runs, pattern=p, strategy=s), unit) for s in strategies} for p in pats}
        table["all"] = {s: _art(select(runs, strategy=s), unit) for s in strategies}
        out[f"art_{unit}"] = {p: {s: (None if v is None or math.isinf(v) else v) for s, v in row.items()}
                              for p, row in table.items()}
    out["success"] = {s: success(select(runs, strategy=s)) for s in strategies}
    out["success_per_pattern"] = {
        p: {s: "{solved}/{runs}".format(**success(select(runs, pattern=p, strategy=s))) for s in strategies}
        for p in pats
    }
    return out


def _cell(value, solved: str) -> str:
    if value is None:
        return f"inf ({solved})"
    return f"{value:,.0f} ({solved})" if value >= 100 else f"{value:.3g} ({solved})"


def art_markdown(summ: dict[str, Any], unit: str = "evaluations") -> str:
    """The aRT table (``unit``: evaluations or seconds) as Markdown: a row per pattern (and
    "all"), a column per strategy, each cell ``aRT (solved/runs)``; ``inf``: never solved."""
    strategies = summ["strategies"]
    lines = ["| pattern | " + " | ".join(strategies) + " |", "|---" * (len(strategies) + 1) + "|"]
    art = summ[f"art_{unit}"]
    for p in summ["patterns"] + ["all"]:
        counts = summ["success_per_pattern"].get(p) or {
            s: "{solved}/{runs}".format(**summ["success"][s]) for s in strategies}
        lines.append(f"| {p} | " + " | ".join(_cell(art[p][s], counts[s]) for s in strategies) + " |")
    rates = [f"{100 * v['rate']:.0f}% [{100 * v['wilson95'][0]:.0f}, {100 * v['wilson95'][1]:.0f}]"
             for v in (summ["success"][s] for s in strategies)]
    lines.append("| success (95% Wilson) | " + " | ".join(rates) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["art_markdown", "patterns_of", "runtimes", "select", "success", "summary"]
