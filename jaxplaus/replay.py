"""A finished run's winners simulated again: the traces its figures show.

Nothing is searched again: each pattern's stored best parameters (``results.json``) are
simulated once more in float64 after the run's warm-up, every pattern of the run in one batched
call, the strict validator's own protocol runs (:func:`~jaxplaus.assess.strict.protocol_traces`:
the protocols padded to the longest, each pattern's finiteness over its own samples), so a
figure shows the traces the validator judged.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from jaxplaus.patterns.base import DEFAULT_WARMUP
from jaxplaus.results import read_results

# (results.json path, modification time) -> {pattern: (times, v, spikes, stimulus, finite)}
_TRACES: dict = {}


def run_traces(results_path: Path, res: dict | None = None) -> dict[str, tuple]:
    """``name -> (times_ms [T], v [T], spikes [T] bool, stimulus [T] unit gain, finite)`` for every
    pattern of the run whose ``results.json`` is at ``results_path`` (``res``: its data, if read
    already), the warm-up samples dropped. Computed once per file version and process."""
    key = (str(Path(results_path).resolve()), os.path.getmtime(results_path))
    if key not in _TRACES:
        _TRACES[key] = _simulated(read_results(results_path) if res is None else res)
    return _TRACES[key]


def _simulated(res: dict) -> dict[str, tuple]:
    from jaxplaus import patterns
    from jaxplaus.assess.strict import protocol_traces

    if not res["patterns"]:
        return {}
    warmup = res.get("settings", {}).get("warmup")
    warmup = DEFAULT_WARMUP if warmup is None else int(warmup)
    pats = [patterns.get(p["name"]) for p in res["patterns"]]
    points = {k: [float(p["params"][k]) for p in res["patterns"]] for k in res["patterns"][0]["params"]}
    points.setdefault("gain", [1.0] * len(pats))
    trace = protocol_traces(res["model"], pats, points, warmup)
    v, spikes, finite = np.asarray(trace.v, float), np.asarray(trace.spikes, bool), np.asarray(trace.finite)
    out = {}
    for t, pattern in enumerate(pats):
        own = slice(warmup, warmup + pattern.n_samples)
        out[pattern.name] = (pattern.times(), v[t, own], spikes[t, own], np.asarray(pattern.stimulus(1.0), float),
                             bool(finite[t]))
    return out


__all__ = ["run_traces"]
