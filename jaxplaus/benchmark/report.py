"""A self-contained HTML report of a finished benchmark (figures embedded as base64 PNG).

    write_report(bench, out_path) -> Path

The settings and versions, the aRT tables (evaluations and seconds; a cell ``aRT
(solved/runs)``), the success rates with their Wilson intervals, every figure of
:mod:`jaxplaus.benchmark.plots` and the searches' timings. Nothing is rerun.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

from jaxplaus.benchmark import plots, tables
from jaxplaus.files import write_atomic
from jaxplaus.report import _CSS, _esc, _img

CAPTIONS = {
    "ecdf_evaluations": "Empirical runtime distribution: the fraction of (pattern, seed) runs with a validated pass "
                        "within x evaluations (censored runs never count).",
    "ecdf_seconds": "The same against the search's wall-clock seconds (batching changes what an evaluation costs; "
                    "a strategy's first seed includes compiling its programs).",
    "ecdf_targets": "Fraction of (run, search-loss target) pairs reached against evaluations (before validation).",
    "art": "aRT per pattern and strategy (evaluations; x: never solved).",
    "success": "Success rate over (pattern, seed) runs with its 95 % Wilson interval.",
}


def _art_table(summ: dict, unit: str) -> str:
    strategies = summ["strategies"]
    head = "<tr><th>pattern</th>" + "".join(f"<th>{_esc(s)}</th>" for s in strategies) + "</tr>"
    rows = []
    for p in summ["patterns"] + ["all"]:
        cells = []
        for s in strategies:
            v = summ[f"art_{unit}"][p][s]
            counts = (summ["success_per_pattern"].get(p) or {}).get(s) or "{solved}/{runs}".format(**summ["success"][s])
            text = "inf" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.3g}")
            cells.append(f"<td class='{'fail' if v is None else 'pass'}'>{text} <small>({counts})</small></td>")
        rows.append(f"<tr><th class='pattern'>{_esc(p)}</th>" + "".join(cells) + "</tr>")
    return f"<div class='scroll'><table>{head}{''.join(rows)}</table></div>"


def _success_table(summ: dict) -> str:
    rows = "".join(
        f"<tr><th>{_esc(s)}</th><td>{v['solved']}/{v['runs']}</td><td>{100 * (v['rate'] or 0):.1f} %</td>"
        f"<td>[{100 * v['wilson95'][0]:.1f}, {100 * v['wilson95'][1]:.1f}] %</td></tr>"
        for s, v in summ["success"].items())
    return ("<table><tr><th>strategy</th><th>passed</th><th>rate</th><th>95 % Wilson</th></tr>"
            f"{rows}</table>")


def write_report(bench, out_path) -> Path:
    """Write the HTML report of ``bench`` (a :class:`~jaxplaus.benchmark.suite.Benchmark`) to
    ``out_path`` atomically; returns the path."""
    summ = tables.summary(bench.runs, bench.settings["strategies"])
    s = bench.settings
    title = f"jaxplaus benchmark: {s['model']}"
    body = [f"<h1>{_esc(title)}</h1>",
            f"<p>Generated {_esc(time.strftime('%Y-%m-%d %H:%M:%S'))} from <code>{_esc(bench.out)}</code>. A run is "
            "one (strategy, seed, pattern); its runtime is the evaluations (or search seconds) until its first "
            "validated pass (float64), censored at what it spent when it has none. aRT = all evaluations spent "
            "/ successful runs (Hansen et al., arXiv:1605.03560).</p>",
            f"<pre>{html.escape(json.dumps(s, indent=1), quote=False)}</pre>",
            "<h2>aRT (evaluations)</h2>", _art_table(summ, "evaluations"),
            "<h2>aRT (search seconds)</h2>", _art_table(summ, "seconds"),
            "<h2>Success rates</h2>", _success_table(summ), "<h2>Figures</h2>"]
    for name, make in plots.FIGURES.items():
        body += [f"<h3>{_esc(name)}</h3><p>{_esc(CAPTIONS[name])}</p>", _img(make(bench), name)]
    body += ["<h2>Timings per search</h2>",
             f"<pre>{html.escape(json.dumps(bench.timings, indent=1), quote=False)}</pre>"]
    doc = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
           f"<title>{_esc(title)}</title><style>{_CSS}</style></head>\n<body>\n"
           + "\n".join(body) + "\n</body></html>\n")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(out, doc)


__all__ = ["write_report"]
