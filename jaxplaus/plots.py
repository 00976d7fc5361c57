"""Figures of a finished run directory (matplotlib, Agg backend).

Every function reads a run directory (its ``results.json``); none reruns the search. The voltage
and ISI figures show each pattern's stored best parameters simulated again (:mod:`jaxplaus.replay`:
float64, the run's warm-up, all patterns in one batched call, once per run and process). The
grids of panels have fixed margins (no layout engine: measuring every label at each draw was
half of their rendering time).

    group_figure(run_dir, group)   voltage + input of each pattern of an input group
    isi_figure(run_dir, group)     inter-spike intervals against spike time
    profile_figure(run_dirs)       runs x 20 patterns: passed or not, robustness as shading; a model's
                                   wide run ("expressive") and physiological run ("plausible") side by side
    convergence_figure(run_dir)    best search loss against evaluations, per pattern
    save_all(run_dir, out_dir)     all of them as PNGs in run_dir/figures
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from jaxplaus import replay  # noqa: E402
from jaxplaus import results as _results  # noqa: E402
from jaxplaus.assess.plausibility import (  # noqa: E402
    EXPRESSIVE,
    PLAUSIBLE,
    ROBUST_ENOUGH,
    counts_as_plausible,
    row_kind,
)
from jaxplaus.patterns.protocol import GROUPS  # noqa: E402

PASS_COLOR = "#1a9641"  # green
FAIL_COLOR = "#d7191c"  # red
MISSING_COLOR = "#d9d9d9"  # not assessed
FRAGILE_COLOR = "#fdae61"  # passed in a physiological run, but not robust enough to count
TRACE_COLOR = "#2b5d8a"
INPUT_COLOR = "#555555"
SPIKE_COLOR = "#e66101"
VOLTAGE_LABEL = "v (model units)"
INPUT_LABEL = "input (x gain)"
TIME_LABEL = "time (ms)"


# ============================================================================ reading


def _results_path(run_dir) -> Path:
    p = Path(run_dir)
    return p if p.is_file() else p / _results.RESULTS


def read(run_dir) -> dict:
    """The ``results.json`` data of a run directory (plain data)."""
    return _results.read_results(_results_path(run_dir))


def verdict_title(p: dict) -> str:
    """``"<letter> <name>: passed"`` or ``"<letter> <name>: FAILED (best found)"``."""
    return f"{p['letter']} {p['name']}: " + ("passed" if p["passed"] else "FAILED (best found)")


def verdict_color(p: dict) -> str:
    return PASS_COLOR if p["passed"] else FAIL_COLOR


def pattern_trace(run_dir, name: str, res: dict | None = None):
    """Pattern ``name``'s stored best parameters, simulated again (float64, the run's warm-up).

    Returns ``(times_ms [T], v [T], spikes [T] bool, stimulus [T] unit gain, finite)``, the
    warm-up samples dropped. Every pattern of the run is simulated in one batched call, the
    float64 validator's own (:func:`jaxplaus.replay.run_traces`), once per run and process.
    """
    return replay.run_traces(_results_path(run_dir), res)[name]


def _group_patterns(res: dict, group: str) -> list[dict]:
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
    return [p for p in res["patterns"] if p["group"] == group]


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(n, max_cols))
    return max(1, math.ceil(n / cols)), cols


def _group_layout(run_dir, group: str, panel_inches: tuple[float, float], caption):
    """A run's patterns of ``group`` and a titled figure sized for a grid of their panels.

    Returns ``(results, patterns, figure, (rows, cols))``; ``caption(patterns)`` ends the title.
    """
    res = read(run_dir)
    pats = _group_patterns(res, group)
    rows, cols = _grid(len(pats))
    fig = Figure(figsize=(panel_inches[0] * cols, panel_inches[1] * rows))
    fig.suptitle(f"{res['model']}: {group} patterns{caption(pats)}")
    _grid_margins(fig, rows, cols)
    return res, pats, fig, (rows, cols)


PANEL_RIGHT = 0.2  # inches right of the last column (more where a panel title needs it)


def _grid_margins(fig: Figure, rows: int, cols: int, right: float = PANEL_RIGHT) -> None:
    """Fixed margins and gaps (inches) around a grid of panels, room for the title, each panel's
    title, tick labels and axis labels. A layout engine measures every label at each draw: for
    these grids that was half of a figure's rendering time, and the report draws eight of them."""
    left, top, bottom, wgap, hgap = 0.85, 0.8, 0.55, 0.9, 1.0
    w, h = fig.get_size_inches()
    panel_w = (w - left - right - wgap * (cols - 1)) / cols
    panel_h = (h - top - bottom - hgap * (rows - 1)) / rows
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h,
                        wspace=wgap / panel_w, hspace=hgap / panel_h)


def _fit_titles(fig: Figure, titles: list, rows: int, cols: int) -> Figure:
    """``fig`` widened (its panels as they are) where one of the panel ``titles`` (Text artists)
    runs past its right edge: a long "FAILED (best found)" title over a narrow last column."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    over = (max((t.get_window_extent(renderer).x1 for t in titles), default=0.0) - fig.bbox.width) / fig.dpi
    if over > 0:
        w, h = fig.get_size_inches()
        fig.set_size_inches(w + over + 0.1, h)
        _grid_margins(fig, rows, cols, right=PANEL_RIGHT + over + 0.1)
    return fig


def _empty(fig: Figure, text: str) -> Figure:
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=12)
    return fig


def _style_title(ax, p: dict):
    """The panel's verdict title (the Text artist)."""
    return ax.set_title(verdict_title(p), color=verdict_color(p), fontsize=10, fontweight="bold", loc="left")


# ============================================================================ figures


def group_figure(run_dir, group: str) -> Figure:
    """One panel per pattern of input ``group``: voltage with spikes marked, the input below."""
    res, pats, fig, (rows, cols) = _group_layout(
        run_dir, group, (5.2, 3.6), lambda ps: f" ({sum(p['passed'] for p in ps)}/{len(ps)} passed)"
    )
    if not pats:
        return _empty(fig, f"no {group} pattern was assessed")
    outer = fig.add_gridspec(rows, cols)
    titles = []
    for i, p in enumerate(pats):
        inner = outer[i // cols, i % cols].subgridspec(2, 1, height_ratios=(3, 1), hspace=0.05)
        ax = fig.add_subplot(inner[0])
        axi = fig.add_subplot(inner[1], sharex=ax)
        ax.set_gid("voltage")
        axi.set_gid("input")
        t, v, spikes, x, finite = pattern_trace(run_dir, p["name"], res)
        ax.plot(t, v, color=TRACE_COLOR, lw=0.8)
        vf = v[np.isfinite(v)]
        if spikes.any() and vf.size:
            top = vf.max() + 0.05 * max(np.ptp(vf), 1e-9)
            ax.plot(t[spikes], np.full(spikes.sum(), top), "|", color=SPIKE_COLOR, ms=6, mew=1.2, label="spike")
        titles.append(_style_title(ax, p))
        ax.set_ylabel(VOLTAGE_LABEL, fontsize=8)
        ax.tick_params(labelbottom=False, labelsize=7)
        note = f"{int(spikes.sum())} spike{'' if spikes.sum() == 1 else 's'}" + ("" if finite else ", NOT finite")
        ax.text(0.99, 0.03, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.3")
        axi.plot(t, x, color=INPUT_COLOR, lw=0.9)
        axi.set_ylabel(INPUT_LABEL, fontsize=8)
        axi.set_xlabel(TIME_LABEL, fontsize=8)
        axi.tick_params(labelsize=7)
        axi.text(0.99, 0.9, f"gain {p['params'].get('gain', 1.0):.3g}", transform=axi.transAxes, ha="right",
                 va="top", fontsize=7, color="0.3")
        ax.set_xlim(t[0], t[-1])
    return _fit_titles(fig, titles, rows, cols)


def isi_figure(run_dir, group: str) -> Figure:
    """Per pattern of ``group``: each inter-spike interval (ms) against the time of its second spike."""
    res, pats, fig, (rows, cols) = _group_layout(run_dir, group, (4.6, 3.0), lambda ps: ", inter-spike intervals")
    if not pats:
        return _empty(fig, f"no {group} pattern was assessed")
    titles = []
    for i, p in enumerate(pats):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.set_gid("isi")
        t, v, spikes, x, finite = pattern_trace(run_dir, p["name"], res)
        st = t[spikes]
        isi = np.diff(st)
        if isi.size:
            ax.plot(st[1:], isi, "o-", color=verdict_color(p), ms=3.5, lw=0.8)
        else:
            ax.text(0.5, 0.5, f"{st.size} spike{'s' if st.size != 1 else ''}: no interval", transform=ax.transAxes,
                    ha="center", va="center", fontsize=9, color="0.4")
        ax.set_xlim(t[0], t[-1])
        titles.append(_style_title(ax, p))
        ax.set_xlabel(TIME_LABEL, fontsize=8)
        ax.set_ylabel("ISI (ms)", fontsize=8)
        ax.tick_params(labelsize=7)
    return _fit_titles(fig, titles, rows, cols)


def _labels(resses: Sequence[dict], dirs: Sequence) -> list[str]:
    """A row's label: the model (with its run directory where a model has several runs of one
    kind), the row's kind (expressive: wide bounds; plausible: physiological bounds, robust
    passes only) and its score."""
    keys = [(r["model"], row_kind(r)) for r in resses]
    out = []
    for r, d, key in zip(resses, dirs, keys):
        name = key[0] if keys.count(key) == 1 else f"{key[0]} ({Path(d).name})"
        if key[1] == PLAUSIBLE:
            passed = sum(counts_as_plausible(p) for p in r["patterns"])
            out.append(f"{name}, {PLAUSIBLE} (physiological)  {passed}/{len(r['patterns'])}")
        else:
            s = r.get("score", {})
            out.append(f"{name}, {EXPRESSIVE} (wide)  {s.get('passed', '?')}/{s.get('assessed', '?')}")
    return out


def in_model_order(run_dirs: list, resses: list[dict]) -> tuple[list, list[dict]]:
    """The runs with each model's rows together (in order of first appearance), its expressive
    row before its plausible one."""
    first = {}
    for r in resses:
        first.setdefault(r["model"], len(first))
    order = sorted(range(len(resses)), key=lambda i: (first[resses[i]["model"]], row_kind(resses[i]) == PLAUSIBLE))
    return [run_dirs[i] for i in order], [resses[i] for i in order]


def _cell(p: dict | None, plausible_row: bool, cmap, lo: float) -> tuple[tuple, str]:
    """``(rgba, text)`` of one profile cell: grey not assessed, red failed ("x"), green passed
    (shade and text: robustness), orange a pass a plausible row does not count (robustness below
    what :func:`~jaxplaus.assess.plausibility.counts_as_plausible` needs)."""
    if p is None:
        return to_rgba(MISSING_COLOR), ""
    if not p["passed"]:
        return to_rgba(FAIL_COLOR, 0.85), "x"
    rob = 1.0 if p.get("robustness") is None else float(p["robustness"])
    text = "" if p.get("robustness") is None else f"{rob:.2f}".lstrip("0") if rob < 1 else "1"
    if plausible_row and not counts_as_plausible(p):
        return to_rgba(FRAGILE_COLOR), text or "?"
    return cmap(lo + (1 - lo) * rob), text


def profile_figure(run_dirs) -> Figure:
    """Runs (rows) by the 20 patterns (columns): green passed (shade = robustness), red failed,
    grey not assessed. Accepts one run directory or several. A model's rows are kept together: its
    wide-bounds run is its "expressive" row, its physiological-bounds run its "plausible" row,
    where a pass counts only as robust as :func:`~jaxplaus.assess.plausibility.counts_as_plausible` asks
    (orange otherwise)."""
    from jaxplaus import patterns

    if isinstance(run_dirs, str | os.PathLike):
        run_dirs = [run_dirs]
    run_dirs, resses = in_model_order(list(run_dirs), [read(d) for d in run_dirs])
    names = list(patterns.names())
    letters = [patterns.get(n).letter for n in names]
    cmap = plt.get_cmap("Greens")
    lo = 0.3  # robustness 0 still a visible green
    img = np.zeros((len(resses), len(names), 4))
    text = [[""] * len(names) for _ in resses]
    for i, r in enumerate(resses):
        by = {p["name"]: p for p in r["patterns"]}
        for j, n in enumerate(names):
            img[i, j], text[i][j] = _cell(by.get(n), row_kind(r) == PLAUSIBLE, cmap, lo)
    fig = Figure(figsize=(max(8.0, 0.5 * len(names) + 5.5), 2.8 + 0.45 * len(resses)), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.set_gid("profile")
    ax.imshow(img, aspect="auto", interpolation="nearest")
    for i in range(len(resses)):
        for j in range(len(names)):
            if text[i][j]:
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7,
                        color="white" if text[i][j] in ("x", "1") else "black")
    ax.set_xticks(range(len(names)), [f"{a} {n}" for a, n in zip(letters, names)], rotation=60, ha="right",
                  fontsize=7)
    ax.set_yticks(range(len(resses)), _labels(resses, run_dirs), fontsize=8)
    ax.set_xticks(np.arange(-0.5, len(names)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(resses)), minor=True)
    ax.grid(which="minor", color="white", lw=1.5)
    ax.tick_params(which="minor", length=0)
    groups = [patterns.get(n).group for n in names]
    for j in range(1, len(names)):  # group boundaries
        if groups[j] != groups[j - 1]:
            ax.axvline(j - 0.5, color="k", lw=1.2)
    for i in range(1, len(resses)):  # model boundaries
        if resses[i]["model"] != resses[i - 1]["model"]:
            ax.axhline(i - 0.5, color="k", lw=1.2)
    ax.set_title("Firing-pattern profile (number in a cell: robustness of a passed pattern)", fontsize=10)
    sm = matplotlib.cm.ScalarMappable(cmap=matplotlib.colors.ListedColormap(cmap(np.linspace(lo, 1, 256))),
                                      norm=matplotlib.colors.Normalize(0, 1))
    cb = fig.colorbar(sm, ax=ax, fraction=0.03, pad=0.01)
    cb.set_label("robustness (passed)", fontsize=8)
    fig.legend(handles=[Patch(color=PASS_COLOR, label="passed"), Patch(color=FAIL_COLOR, label="failed (x)"),
                        Patch(color=FRAGILE_COLOR,
                              label=f"passed, robustness < {ROBUST_ENOUGH:g} and < figure1.m's own: not plausible"),
                        Patch(color=MISSING_COLOR, label="not assessed")],
               loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def convergence_figure(run_dir) -> Figure:
    """Each pattern's best search loss against evaluations spent (symlog y; a solved pattern ends at 0)."""
    res = read(run_dir)
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.set_gid("convergence")
    cmap = plt.get_cmap("tab20")
    positive = []
    for k, p in enumerate(res["patterns"]):
        h = p.get("history") or {}
        ev, loss = list(h.get("evaluations") or []), list(h.get("best_loss") or [])
        pts = [(e, l) for e, l in zip(ev, loss) if l is not None]
        if not pts:
            continue
        e, l = (np.asarray(a, float) for a in zip(*pts))
        if e[-1] < p.get("evaluations", e[-1]):  # the history stops where the best last changed
            e, l = np.append(e, p["evaluations"]), np.append(l, l[-1])
        positive.extend(l[l > 0])
        label = f"{p['letter']} {p['name']}" + ("" if p["passed"] else " (failed)")
        ax.step(e, l, where="post", color=cmap(k % 20), lw=1.4, ls="-" if p["passed"] else "--", label=label)
        ax.plot(e[-1:], l[-1:], "o", color=cmap(k % 20), ms=4)
    linthresh = 10 ** math.floor(math.log10(min(positive))) if positive else 1e-2
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("objective evaluations")
    ax.set_ylabel(f"best search loss (symlog, linear below {linthresh:g})")
    ax.set_title(f"{res['model']}: search convergence (solid: passed, dashed: failed)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False)
    return fig


# ============================================================================ saving


def save(fig: Figure, path, dpi: int = 110) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def groups_of(run_dir) -> list[str]:
    """The input groups of the run's patterns, in GROUPS order."""
    present = {p["group"] for p in read(run_dir)["patterns"]}
    return [g for g in GROUPS if g in present]


def save_all(run_dir, out_dir=None) -> list[Path]:
    """Write group_<group>.png, isi_<group>.png (for each group assessed), profile.png and
    convergence.png into ``out_dir`` (default ``run_dir/figures``). Returns the paths."""
    out = Path(run_dir) / "figures" if out_dir is None else Path(out_dir)
    paths = []
    for g in groups_of(run_dir):
        paths.append(save(group_figure(run_dir, g), out / f"group_{g}.png"))
        paths.append(save(isi_figure(run_dir, g), out / f"isi_{g}.png"))
    paths.append(save(profile_figure([run_dir]), out / "profile.png"))
    paths.append(save(convergence_figure(run_dir), out / "convergence.png"))
    return paths


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


__all__: Iterable[str] = (
    "group_figure", "in_model_order", "isi_figure", "profile_figure", "convergence_figure", "save_all", "pattern_trace",
    "verdict_title", "figure_png", "groups_of",
)
