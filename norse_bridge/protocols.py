"""The cross-check on the 20 protocols (:func:`crosscheck_protocols`) and on Norse's presets
(:func:`crosscheck_presets`).

:func:`crosscheck_protocols` runs ``n`` random candidates (:func:`~norse_bridge.candidates.random_parameters`,
drawn within the model's search bounds, plus an input gain) on each of the 20 jaxplaus protocols,
one batch per protocol; for a port with Norse presets (``izhikevich``) each batch also holds the
preset of that protocol, with its own initial state and the protocol's figure1.m input (gain 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from norse_bridge import mapping, ports
from norse_bridge.candidates import random_gains, random_parameters
from norse_bridge.crosscheck import crosscheck
from norse_bridge.fma import mode
from norse_bridge.report import CrosscheckReport
from norse_bridge.table import ProtocolRow, ProtocolTable


def _with_preset(params, state0, stim, labels, preset: mapping.Preset, pattern):
    """The batch with ``preset`` appended as one more candidate (its own state, gain 1)."""
    params = {k: np.concatenate([v, preset.params[k].reshape(1)]) for k, v in params.items()}
    state0 = {k: np.concatenate([v, preset.state[k].reshape(1)]) for k, v in state0.items()}
    stim = np.concatenate([stim, pattern.stimulus(1.0)[None]], axis=0)
    return params, state0, stim, [*labels, preset.name]


def crosscheck_protocols(
    model,
    n: int = 1000,
    seed: int = 0,
    protocols: Sequence[str] | None = None,
    *,
    presets: bool = True,
    gain_range: tuple[float, float] | None = None,
    max_diagnosed: int = 20,
    flush_denormal: bool = False,
) -> ProtocolTable:
    """``n`` random candidates on each protocol (one batch of both engines per protocol).

    ``model``: a port (``"lif"``, ``"adex"``, ``"izhikevich"``), or ``"norse.<cell>"``, a built-in
    cell's automatic port (:func:`norse_bridge.autocheck.crosscheck_cell_protocols`; no presets).

    The parameter sets are drawn once (:func:`random_parameters` with ``seed``) and reused on every
    protocol; the input gain is drawn afresh per candidate and protocol. With ``presets=True``,
    each protocol's batch also holds the port's Norse preset driven by that protocol (izhikevich's),
    with Norse's initial state and the protocol's own (gain 1) input, labelled with its name.
    """
    from jaxplaus import patterns

    if isinstance(model, str) and model.startswith("norse."):  # a built-in cell's automatic port
        from norse_bridge import autocheck
        from norse_bridge.cells import CELLS

        name = model.removeprefix("norse.")
        if name not in CELLS:
            raise ValueError(f"unknown Norse cell {model!r}; built-in cells: {', '.join(CELLS)}")
        return autocheck.crosscheck_cell_protocols(
            CELLS[name], n, seed, protocols, gain_range=gain_range or autocheck.GAIN_RANGE,
            flush_denormal=flush_denormal,
        )
    port = ports.get(model)
    m = port.jaxplaus_model()
    cands = random_parameters(m, n, seed, gain_range=gain_range)
    base_state = mapping.initial_state(m, cands.params)
    by_pattern = {pre.pattern: pre for pre in mapping.presets(port.model).values()} if presets else {}
    rows = []
    for j, pat in enumerate(patterns.resolve(protocols)):
        rng = np.random.default_rng([seed, j + 1])
        params, state0, labels = dict(cands.params), dict(base_state), [""] * n
        stim = pat.stimulus(random_gains(m, n, rng, gain_range))
        if pat.name in by_pattern:
            params, state0, stim, labels = _with_preset(params, state0, stim, labels, by_pattern[pat.name], pat)
        report = crosscheck(
            m, params, stim, state0, labels=labels, max_diagnosed=max_diagnosed, flush_denormal=flush_denormal
        )
        rows.append(ProtocolRow(pat.name, pat.letter, report))
    return ProtocolTable(m.name, mode(), seed, tuple(rows))


def crosscheck_presets(model="izhikevich", *, as_shipped: bool = False) -> dict[str, CrosscheckReport]:
    """Norse's presets of ``model``'s port (izhikevich's 20), each on its own protocol (figure1.m
    input, gain 1).

    Both engines start from the preset's state. ``as_shipped=False`` gives Norse the presets'
    parameters as float32 tensors (the bridge's mapping); ``as_shipped=True`` runs Norse with the
    preset's own parameters of Python floats, in which ``tau_inv*dt*a`` is rounded from double
    precision (see :mod:`norse_bridge.mapping`). Returns ``preset name -> report``.
    """
    from jaxplaus import patterns

    out = {}
    for name, pre in mapping.presets(model).items():
        pat = patterns.get(pre.pattern)
        out[name] = crosscheck(
            model, pre.params, pat.stimulus(1.0), pre.state, labels=[name],
            norse_params=pre.behavior.p if as_shipped else None,
        )
    return out


__all__ = ["crosscheck_presets", "crosscheck_protocols"]
