"""A self-contained HTML report of one or more run directories (figures embedded as base64 PNG).

    write_report(run_dirs, out_path) -> Path

The file needs no server and no other file: the profile figure and table over all runs, then for
each run its settings and versions, each pattern's verdict, failed criteria and parameters, and
its figures (voltage and ISI per input group, convergence). Nothing is rerun except one float64
simulation of each pattern's stored best parameters (see :mod:`jaxplaus.plots`).
"""

from __future__ import annotations

import base64
import html
import json
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt

from jaxplaus import plots
from jaxplaus.assess.plausibility import PLAUSIBLE, ROBUST_ENOUGH, counts_as_plausible, row_kind
from jaxplaus.files import write_atomic

_CSS = """
body { font-family: sans-serif; margin: 1.5em; max-width: 1800px; color: #222; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em 0; font-size: 0.85em; }
th small, th.pattern { font-weight: normal; }
th.pattern { font-size: 0.8em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.pass { background: #c7e9c0; } td.fail { background: #fcbba1; } td.na { background: #eee; }
td.fragile { background: #fdd49e; }
.passed { color: #1a9641; font-weight: bold; } .failed { color: #d7191c; font-weight: bold; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.3em 0; }
pre { background: #f7f7f7; padding: 0.5em; font-size: 0.8em; overflow-x: auto; }
"""


def _esc(x) -> str:
    return html.escape(str(x))


def _img(fig, alt: str) -> str:
    data = base64.b64encode(plots.figure_png(fig)).decode("ascii")
    plt.close(fig)
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _num(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.6g}"
    return _esc(x)


def _profile_cell(p, plausible_row: bool) -> str:
    if p is None:
        return "<td class='na'>-</td>"
    if not p["passed"]:
        return "<td class='fail'>failed</td>"
    rob = "" if p.get("robustness") is None else f"<br>{p['robustness']:.2f}"
    if plausible_row and not counts_as_plausible(p):
        return f"<td class='fragile'>passed, not robust{rob}</td>"
    return f"<td class='pass'>passed{rob}</td>"


def _profile_table(resses, dirs) -> str:
    from jaxplaus import patterns

    names = list(patterns.names())
    head = "".join(f"<th class='pattern' title='{_esc(n)}'><b>{_esc(patterns.get(n).letter)}</b><br>"
                   f"{_esc(n).replace('_', '_<wbr>')}</th>" for n in names)
    rows = []
    for r, d in zip(resses, dirs):
        by = {p["name"]: p for p in r["patterns"]}
        plausible_row = row_kind(r) == PLAUSIBLE
        cells = "".join(_profile_cell(by.get(n), plausible_row) for n in names)
        passed = sum(counts_as_plausible(p) for p in r["patterns"]) if plausible_row else r["score"]["passed"]
        kind = f"{row_kind(r)} ({'physiological' if plausible_row else 'wide'} bounds)"
        rows.append(f"<tr><th>{_esc(r['model'])}<br>{_esc(kind)}<br><small>{_esc(d)}</small></th>"
                    f"<td>{passed}/{len(r['patterns'])}</td>{cells}</tr>")
    return (f"<div class='scroll'><table><tr><th>model, row</th><th>score</th>{head}</tr>{''.join(rows)}</table></div>"
            "<p>Cells: verdict of the float64 validation, and for a passed pattern its robustness "
            "(share of perturbed copies that still pass). An <i>expressive</i> row is a run in the model's wide "
            "search bounds; a <i>plausible</i> row a run in its physiological box, where a pass counts only with "
            f"robustness &ge; {ROBUST_ENOUGH:g}, or &ge; that of figure1.m's own setting of the pattern where "
            "that is lower (docs/plausibility.md).</p>")


_FIGURES = (("peak_rate_hz", "peak rate (Hz)"), ("isi_min_ms", "shortest ISI (ms)"), ("time_base", "time base"),
            ("v_rest", "v rest"), ("v_above_rest", "v_hi - v_rest"), ("v_below_rest", "v_lo - v_rest"),
            ("below_share", "(v_lo - v_rest) / (v_hi - v_rest)"), ("inside_physiological", "inside the box"))


def _plausibility_table(res) -> str:
    """The plausibility figures of each passed pattern (``PatternResult.plausibility``)."""
    passed = [p for p in res["patterns"] if p["passed"] and p.get("plausibility")]
    if not passed:
        return "<p>No passed pattern with plausibility figures.</p>"
    head = "<tr><th></th><th>pattern</th><th>robustness</th>" + "".join(f"<th>{_esc(t)}</th>" for _, t in _FIGURES)
    rows = [f"<tr><td>{_esc(p['letter'])}</td><td>{_esc(p['name'])}</td><td>{_num(p.get('robustness'))}</td>"
            + "".join(f"<td>{_num(p['plausibility'].get(k))}</td>" for k, _ in _FIGURES) + "</tr>" for p in passed]
    return (f"<div class='scroll'><table>{head}</tr>{''.join(rows)}</table></div><p>Peak rate: 1000 / the shortest "
            "inter-spike interval of the pattern's windows, in the model's own time (time base 'model') or, for a "
            "model without a time unit, on the protocol's grid ('protocol'). Voltages in the model's units, "
            "relative to its rest at the end of the warm-up (docs/plausibility.md).</p>")


def _patterns_table(res) -> str:
    params = list(res["patterns"][0]["params"]) if res["patterns"] else []
    head = ("<tr><th></th><th>pattern</th><th>group</th><th>verdict</th><th>loss</th><th>robustness</th>"
            "<th>evaluations</th><th>failed criteria</th>" + "".join(f"<th>{_esc(k)}</th>" for k in params) + "</tr>")
    rows = []
    for p in res["patterns"]:
        verdict = "<span class='passed'>passed</span>" if p["passed"] else "<span class='failed'>FAILED</span>"
        failed = "<br>".join(_esc(f) for f in p["failed"]) or "-"
        vals = "".join(f"<td>{_num(p['params'].get(k))}</td>" for k in params)
        rows.append(f"<tr><td>{_esc(p['letter'])}</td><td>{_esc(p['name'])}</td><td>{_esc(p['group'])}</td>"
                    f"<td>{verdict}</td><td>{_num(p['loss'])}</td><td>{_num(p.get('robustness'))}</td>"
                    f"<td>{_num(p.get('evaluations'))}</td><td>{failed}</td>{vals}</tr>")
    return f"<div class='scroll'><table>{head}{''.join(rows)}</table></div>"


def _run_section(run_dir, res, k: int) -> str:
    s = res["score"]
    by_group = ", ".join(f"{g} {v['passed']}/{v['assessed']}" for g, v in s.get("by_group", {}).items())
    bounds = res["settings"].get("bounds", "wide")
    out = [f"<h2 id='run{k}'>{_esc(res['model'])} ({_esc(bounds)} bounds): {s['passed']}/{s['assessed']} passed "
           f"<small>({_esc(by_group)})</small></h2>",
           f"<p>Run directory: <code>{_esc(run_dir)}</code></p>"]
    for name in res["settings"].get("validators", []):  # extra validations of the winners (assess validators=)
        ok = sum(bool(p.get("validations", {}).get(name, {}).get("passed")) for p in res["patterns"])
        out.append(f"<p>Also validated in <b>{_esc(name)}</b>: {ok}/{len(res['patterns'])} winners passed there "
                   "(a pattern passes only if the float64 validation and this one pass).</p>")
    out += ["<h3>Patterns: verdicts, failed criteria, parameters</h3>", _patterns_table(res),
            "<h3>Plausibility figures of the passed patterns</h3>", _plausibility_table(res)]
    for g in plots.groups_of(run_dir):
        out.append(f"<h3>{_esc(g)} patterns</h3>")
        out.append(_img(plots.group_figure(run_dir, g), f"{res['model']} {g} voltage traces"))
        out.append(_img(plots.isi_figure(run_dir, g), f"{res['model']} {g} inter-spike intervals"))
    out.append("<h3>Search convergence</h3>")
    out.append(_img(plots.convergence_figure(run_dir), f"{res['model']} convergence"))
    out.append("<h3>Settings</h3>")
    out.append(f"<pre>{html.escape(json.dumps(res['settings'], indent=1), quote=False)}</pre>")
    out.append("<h3>Versions and timing</h3>")
    extra = {"versions": res.get("versions"), "search": res.get("search"), "timing": res.get("timing")}
    out.append(f"<pre>{html.escape(json.dumps(extra, indent=1), quote=False)}</pre>")
    return "\n".join(out)


def write_report(run_dirs, out_path) -> Path:
    """Write a self-contained HTML report of ``run_dirs`` (one or several run directories) to
    ``out_path``, atomically (:func:`jaxplaus.files.write_atomic`: a failure leaves the old
    report, if any, as it was). Returns the path."""
    if isinstance(run_dirs, str | os.PathLike):
        run_dirs = [run_dirs]
    run_dirs = [str(d) for d in run_dirs]
    if not run_dirs:
        raise ValueError("write_report: no run directory given")
    run_dirs, resses = plots.in_model_order(run_dirs, [plots.read(d) for d in run_dirs])
    models = ", ".join(r["model"] for r in resses)
    body = [f"<h1>jaxplaus report: {_esc(models)}</h1>",
            f"<p>Generated {_esc(time.strftime('%Y-%m-%d %H:%M:%S'))} from "
            + ", ".join(f"<a href='#run{k}'><code>{_esc(d)}</code></a>" for k, d in enumerate(run_dirs)) + ".</p>",
            "<h2>Profile</h2>", _img(plots.profile_figure(run_dirs), "profile"), _profile_table(resses, run_dirs)]
    for k, (d, r) in enumerate(zip(run_dirs, resses)):
        body.append(_run_section(d, r, k))
    doc = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
           f"<title>jaxplaus report: {_esc(models)}</title><style>{_CSS}</style></head>\n<body>\n"
           + "\n".join(body) + "\n</body></html>\n")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(out, doc)  # never a torn report; the mode of every other jaxplaus file
