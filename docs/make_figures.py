"""Regenerate the README's figures from finished run directories (nothing is searched again).

    python docs/make_figures.py RUNS_DIR           # the figures
    python docs/make_figures.py RUNS_DIR --table   # the README's profile table (markdown)

``RUNS_DIR`` holds one run directory per model, named ``default-MODEL`` (``jaxplaus assess --model
MODEL --out RUNS_DIR/default-MODEL``), and, for the plausible row, ``physiological-MODEL``
(``--bounds physiological``) where present. Writes into ``docs/``:

- ``profile.png``: the profile of every run found (jaxplaus.plots.profile_figure);
- ``group_<model>_<group>.png``: the group figures the README shows (GROUP_FIGURES);
- ``lif_mechanisms.png``: the LIF winners of spike latency, depolarizing after-potential and class 2
  excitability with their synaptic current, the argument of docs/patterns.md ("What a LIF shows").
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus import models, patterns, plots
from jaxplaus._precision import precision
from jaxplaus.assess.plausibility import counts_as_plausible
from jaxplaus.patterns.base import DEFAULT_WARMUP

DOCS = Path(__file__).resolve().parent
MODELS = ("izhikevich2004", "izhikevich", "adex", "lif", "n2d2")
GROUP_FIGURES = (("n2d2", "DC"), ("izhikevich", "ramp"), ("adex", "pulse"), ("izhikevich2004", "inhibitory"))
LIF_PATTERNS = ("spike_latency", "depolarizing_after_potential", "class2_excitability")


def _lif_states(params: dict, gain: float, x: np.ndarray):
    """``(v [T], i [T], spikes [T])`` of the LIF in float64: its voltage and synaptic current."""
    lif = models.get("lif")

    def body(state, xk):
        state, v, spike = lif.step(p, state, gain * xk)
        return state, (v, state["i"], spike)

    with precision("float64"):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        _, (v, i, s) = jax.lax.scan(body, lif.initial_state(p), jnp.asarray(x, jnp.float64))
    return np.asarray(v), np.asarray(i), np.asarray(s)


def lif_mechanisms_figure(run_dir):
    """Voltage (threshold dashed) and synaptic current of the LIF's winners of LIF_PATTERNS."""
    res = plots.read(run_dir)
    by_name = {p["name"]: p for p in res["patterns"]}
    fig = plots.plt.figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, len(LIF_PATTERNS))
    for ax, name in zip(axes, LIF_PATTERNS, strict=True):
        rec = by_name.get(name)
        if rec is None or not rec["passed"]:
            ax.set_title(f"{name}: not passed", fontsize=9)
            continue
        pat = patterns.get(name)
        params = dict(rec["params"])
        gain = params.pop("gain")
        v, i, s = _lif_states(params, gain, pat.run_stimulus(DEFAULT_WARMUP))
        t = pat.times()
        v, i, s = v[DEFAULT_WARMUP:], i[DEFAULT_WARMUP:], s[DEFAULT_WARMUP:]
        ax.plot(t, v, color="k", lw=1)
        ax.axhline(params["v_th"], color="k", ls="--", lw=0.6)
        ax.plot(t[s], np.full(s.sum(), params["v_th"]), "v", color="crimson", ms=4)
        ax.set_xlabel("ms")
        ax.set_ylabel("v (dimensionless)")
        twin = ax.twinx()
        twin.plot(t, i, color="tab:blue", lw=0.8)
        twin.set_ylabel("synaptic current i", color="tab:blue")
        ms = 1000 / np.asarray(params["tau_mem_inv"]) * float(pat.protocol.tau)
        ss = 1000 / np.asarray(params["tau_syn_inv"]) * float(pat.protocol.tau)
        ax.set_title(f"{pat.letter} {name}\ntau_mem {ms:.1f} ms, tau_syn {ss:.1f} ms (reference grid)", fontsize=9)
    fig.suptitle(f"lif winners ({run_dir}): voltage (black, threshold dashed) and synaptic current (blue)",
                 fontsize=10)
    return fig


def _row(res: dict, kind: str) -> str:
    """One markdown row: ✓ a pass the row counts, ○ a pass a plausible row does not, · a failure."""
    cells, groups = [], {}
    for p in res["patterns"]:
        counted = p["passed"] if kind == "default" else counts_as_plausible(p)
        cells.append("✓" if counted else "○" if p["passed"] else "·")
        g = groups.setdefault(p["group"], [0, 0])
        g[0], g[1] = g[0] + counted, g[1] + 1
    label = "expressive (wide)" if kind == "default" else "plausible (physiological box, robust)"
    score = sum(a for a, _ in groups.values())
    return (f"| `{res['model']}` | {label} | {score}/{len(cells)} | " + " | ".join(cells) + " | "
            + ", ".join(f"{a}/{b}" for a, b in groups.values()) + f" | {res['timing']['wall_s']:.0f} s |")


def profile_table(runs_dir) -> str:
    """The README's profile table: a row per run directory found (see the module docstring)."""
    runs = Path(runs_dir)
    head = "| model | row | score | " + " | ".join(patterns.get(n).letter for n in patterns.names())
    rows = [head + " | DC, ramp, pulse, inhibitory | wall |", "|" + "---|" * 25]
    for m in MODELS:
        for kind in ("default", "physiological"):
            if (runs / f"{kind}-{m}" / "results.json").exists():
                rows.append(_row(plots.read(runs / f"{kind}-{m}"), kind))
    return "\n".join(rows)


def main(runs_dir: str) -> None:
    runs = Path(runs_dir)
    found = [runs / f"{kind}-{m}" for m in MODELS for kind in ("default", "physiological")
             if (runs / f"{kind}-{m}" / "results.json").exists()]
    plots.save(plots.profile_figure(found), DOCS / "profile.png")
    for model, group in GROUP_FIGURES:
        plots.save(plots.group_figure(runs / f"default-{model}", group), DOCS / f"group_{model}_{group}.png")
    plots.save(lif_mechanisms_figure(runs / "default-lif"), DOCS / "lif_mechanisms.png")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--table"]
    runs_dir = args[0] if args else "runs"
    print(profile_table(runs_dir)) if "--table" in sys.argv else main(runs_dir)
