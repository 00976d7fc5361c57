"""The cross-check of an automatic port (:mod:`norse_bridge.autoport`) against Norse 1.1.0 itself.

The reference is Norse's own module ``norse.torch.module.snn.SNN`` (the time loop of Norse's
``LIF``, ``LIFEx``, ``LSNN``, ... layers) over the cell's Norse step, in torch float32 under
``torch.no_grad()``, with input ``[T, N]`` and ``record_states=True``. The port runs in
``jaxplaus.simulate(..., dtype=float32)``. Both start from the cell's initial state of the same
float32 parameters. Two comparisons, as for the hand ports (:mod:`norse_bridge.crosscheck`):

- whole runs: spike trains, voltages and final states, candidate by candidate;
- one step (``local_*``): the port fed Norse's recorded state before every step, against Norse's
  next state, for every state leaf. Where a result is not bit-exact, the step is run again with
  torch's ``exp`` of each exp node's argument (on the same ``[N]`` row) in place of XLA's: a
  candidate whose results are then all exact differs from Norse only by ``exp`` (as AdEx's hand
  port does; the replacement, rather than a comparison of the two exps, because XLA's exp is not
  always bit-identical between two differently fused programs).

:func:`verify` is the small check that decides whether a port is used (:func:`autoport.port_status`);
:func:`crosscheck_cell_protocols` is the full one, the 20 protocols times ``n`` random draws.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np

from norse_bridge import autoport
from norse_bridge._deps import require
from norse_bridge.cell import NorseCell, getter
from norse_bridge.floats import SMALLEST_NORMAL, abs_diff, bits_same
from norse_bridge.runs import Batch, JaxRun, NorseRun

EXP = "aten.exp.default"
GAIN_RANGE = (1e-3, 1.0)  # the lif port's cross-check gains: every built-in cell is of the LIF family
VERIFY_TOLERANCE = 1e-4  # largest relative one-step |dv| of a verified port (AdEx's hand port: 3.2e-5 with FMA)


class PortDiffers(ValueError):
    """An automatic port whose results differ from Norse's (the message says where and how)."""


@functools.cache
def port_model(cell: NorseCell):
    """The port as a plain jaxplaus Model, NOT verified (what the checks run; see :func:`norse_bridge.norse_model`)."""
    from jaxplaus.models.base import Model

    return Model(
        name=f"norse.{cell.name}[port]", parameters=dict(cell.parameters), initial_state=cell.checked_initial_state,
        step=autoport.jax_step(cell), gain_bounds=tuple(cell.gain_bounds),
    )


def initial_states(cell: NorseCell, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The cell's float32 initial state of ``[N]`` parameters, ``{dotted path: [N]}``."""
    import jax

    return {k: np.array(v, np.float32) for k, v in jax.vmap(cell.checked_initial_state)(dict(params)).items()}


def norse_loop(cell: NorseCell, b: Batch, flush_denormal: bool = False) -> NorseRun:
    """Norse's ``SNN`` loop over the cell's step on ``b`` (torch float32): spikes ``[N, T]``, the
    recorded states ``{dotted path: [T, N]}`` (plus ``"v"``, the voltage, if named otherwise).
    ``flush_denormal``: with ``torch.set_flush_denormal(True)`` (restored to off afterwards)."""
    torch, _ = require()
    from norse.torch.module.snn import SNN

    p = cell.norse_parameters({k: torch.from_numpy(b.params[k]) for k in cell.parameters})
    s0 = cell.norse_state({k: torch.from_numpy(v) for k, v in b.state0.items()})
    loop = SNN(activation=cell.norse_step(), state_fallback=None, p=p, dt=cell.dt, record_states=True)
    try:
        torch.set_flush_denormal(flush_denormal)
        with torch.no_grad():
            z, states = loop(torch.from_numpy(np.ascontiguousarray(b.stim.T)), s0)
    finally:
        torch.set_flush_denormal(False)
    traces = {f: getter(f)(states).numpy() for f in cell.state_fields()}
    traces.setdefault("v", traces[cell.voltage])
    return NorseRun(p, z.numpy().T != 0, traces)


def run_port(cell: NorseCell, b: Batch) -> JaxRun:
    import jaxplaus

    tr = jaxplaus.simulate(port_model(cell), b.params, b.stim, b.state0, dtype=np.float32)
    return JaxRun(np.asarray(tr.spikes), np.asarray(tr.v), {k: np.asarray(v) for k, v in tr.state.items()},
                  np.asarray(tr.finite))


@functools.cache
def _one_step_fn(cell: NorseCell):
    """jit: ``(params [T, N], leaves before each step [T, N] each, x [T, N], exp overrides) ->
    ((z, *leaves'), arguments of the exp nodes)``; ``overrides``: exp node name -> ``[T, N]``
    values used in place of XLA's exp (``{}``: none). The parameters come materialized ``[T, N]``:
    XLA rewrites ``a / broadcast(b)`` as ``a * broadcast(1 / b)``, which is not torch's division
    (measured: 1-ulp differences in 30% of quotients), and a parameter vmapped with ``in_axes=None``
    is such a broadcast. The engine's scan steps ``[N]`` parameters with an ``[N]`` state: no broadcast."""
    import jax

    prog, names = autoport.program(cell, "float32"), tuple(cell.parameters)

    def one(p, leaves, x, overrides):
        outs, taps = prog(x, *leaves, *(p[k] for k in names), taps=(EXP,), overrides=overrides)
        return outs, {name: arg for name, arg, _ in taps}

    return jax.jit(jax.vmap(jax.vmap(one)))


def _torch_exp(args: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Torch's exp of each exp node's arguments ``[T, N]``, row by row (on the same ``[N]`` row
    as in Norse's step: torch's vectorised and scalar exp can round differently)."""
    torch, _ = require()
    return {k: np.stack([torch.exp(torch.from_numpy(np.array(row))).numpy() for row in np.asarray(a)])
            for k, a in args.items()}


def _inexact(fields, prev, nxt, norse_run: NorseRun, agree: np.ndarray):
    """``[T, N]`` one-step results not bit-exact (all leaves; differences below float32's smallest
    normal aside: XLA flushes subnormals, torch does not), and the largest relative ``|dv|``."""
    tr = norse_run.traces
    inexact, rel = ~agree, np.zeros(agree.shape)
    for f, before, mine in zip(fields, prev, nxt, strict=True):
        d = abs_diff(mine, tr[f])
        inexact = inexact | (agree & ~(bits_same(mine, tr[f]) | (d < SMALLEST_NORMAL)))
        with np.errstate(invalid="ignore", over="ignore"):
            scale = np.maximum(np.maximum(np.abs(before), np.abs(tr[f])).astype(np.float64), 1.0)
            r = d / np.where(np.isfinite(scale), scale, np.inf)
        rel = np.maximum(rel, np.where(agree & (d >= SMALLEST_NORMAL), np.nan_to_num(r, nan=0.0, posinf=np.inf), 0.0))
    return inexact, rel


def one_step(cell: NorseCell, b: Batch, norse_run: NorseRun) -> dict[str, np.ndarray]:
    """The one-step fields of :class:`~norse_bridge.report.CrosscheckReport` (each ``[N]``).

    Every one-step spike difference counts as unexplained (a generic cell has no pre-reset
    voltage). ``local_exp_only``: the step's results are Norse's bit for bit once torch's ``exp``
    of each exp node's argument replaces XLA's (exact candidates included)."""
    fields = cell.state_fields()
    prev = [np.concatenate([b.state0[f][None], norse_run.traces[f][:-1]], axis=0) for f in fields]  # [T, N] each
    x = np.ascontiguousarray(b.stim.T)
    params = {k: np.ascontiguousarray(np.broadcast_to(v, x.shape)) for k, v in b.params.items()}  # [T, N]
    outs, exp_args = _one_step_fn(cell)(params, prev, x, {})
    z = np.asarray(outs[0]) != 0
    spike_diff = z != norse_run.z.T
    inexact, rel = _inexact(fields, prev, [np.asarray(o) for o in outs[1:]], norse_run, ~spike_diff)
    exp_only = ~inexact.any(axis=0)
    if exp_args and inexact.any():
        outs, _ = _one_step_fn(cell)(params, prev, x, _torch_exp(exp_args))
        spike_diff_t = (np.asarray(outs[0]) != 0) != norse_run.z.T
        inexact_t, _ = _inexact(fields, prev, [np.asarray(o) for o in outs[1:]], norse_run, ~spike_diff_t)
        exp_only = ~inexact_t.any(axis=0)
    return {
        "local_spike_diffs": spike_diff.sum(axis=0),
        "local_spike_unexplained": spike_diff.sum(axis=0),
        "local_max_dv": rel.max(axis=0),
        "local_exact": ~inexact.any(axis=0),
        "local_exp_only": exp_only,
    }


def batch(cell: NorseCell, params: Mapping[str, np.ndarray], stim: np.ndarray) -> Batch:
    """float32 ``[N]`` parameters (missing ones: the defaults), ``stim [N, T]``, the cell's initial state."""
    n = stim.shape[0]
    full = {k: np.broadcast_to(np.float32(params.get(k, p.default)), (n,)).copy() for k, p in cell.parameters.items()}
    return Batch(full, np.asarray(stim, np.float32), initial_states(cell, full))


def crosscheck_cell(cell: NorseCell, params, stim, *, labels: Sequence[str] | None = None, flush_denormal=False):
    """One batch: the port against Norse's loop, a :class:`~norse_bridge.report.CrosscheckReport`
    (no threshold diagnosis: ``mismatches`` is empty, ``first_diff`` says where spikes differ)."""
    from norse_bridge.crosscheck import _labels, _whole_runs
    from norse_bridge.fma import mode
    from norse_bridge.report import CrosscheckReport

    b = batch(cell, params, stim)
    jax_run, norse_run = run_port(cell, b), norse_loop(cell, b, flush_denormal)
    whole = _whole_runs(b, jax_run, norse_run)
    whole.pop("dv")
    return CrosscheckReport(
        model=f"norse.{cell.name} (automatic port)", mode=mode(), n_steps=b.n_steps, labels=_labels(labels, b.n),
        mismatches=(), **whole, **one_step(cell, b, norse_run),
    )


def crosscheck_cell_protocols(
    cell: NorseCell, n: int = 1000, seed: int = 0, protocols=None, *, gain_range=GAIN_RANGE, flush_denormal=False
):
    """``n`` random draws (within the cell's bounds, :func:`~norse_bridge.candidates.random_parameters`)
    on each protocol, a fresh log-uniform gain per draw and protocol: a
    :class:`~norse_bridge.table.ProtocolTable`, as for the hand ports."""
    from jaxplaus import patterns
    from norse_bridge.candidates import random_gains, random_parameters
    from norse_bridge.fma import mode
    from norse_bridge.table import ProtocolRow, ProtocolTable

    m = port_model(cell)
    cands = random_parameters(m, n, seed, gain_range=gain_range)
    rows = []
    for j, pat in enumerate(patterns.resolve(protocols)):
        rng = np.random.default_rng([seed, j + 1])
        stim = pat.stimulus(random_gains(m, n, rng, gain_range))
        report = crosscheck_cell(cell, cands.params, stim, flush_denormal=flush_denormal)
        rows.append(ProtocolRow(pat.name, pat.letter, report))
    return ProtocolTable(f"norse.{cell.name} (automatic port)", mode(), seed, tuple(rows))


def verify(cell: NorseCell, n: int = 64, seed: int = 0, protocols=("tonic_spiking",)) -> str:
    """The check before a port is used: ``n`` random draws on ``protocols``, the port fed Norse's
    state before every step. Returns what was checked; raises :class:`PortDiffers` when a spike
    decision differs or a state leaf differs by more than :data:`VERIFY_TOLERANCE` relative to
    ``max(1, |before|, |after|)``. About 1 s (mostly compiling); the full check is
    :func:`crosscheck_cell_protocols`."""
    table = crosscheck_cell_protocols(cell, n, seed, protocols)
    diffs, dv = table.local_spike_diffs, table.max_local_dv
    if diffs or not dv <= VERIFY_TOLERANCE:
        worst = max(table.rows, key=lambda r: (int(r.report.local_spike_diffs.sum()), r.report.max_local_dv))
        raise PortDiffers(
            f"the automatic port of {cell.name!r} differs from Norse's step: fed Norse's state, {diffs} spike "
            f"decisions differ and the largest relative one-step |dv| is {dv:.3g} (tolerance {VERIFY_TOLERANCE:g}); "
            f"worst protocol {worst.protocol!r}"
        )
    return (
        f"verified against Norse 1.1.0 ({table.candidates} runs on {', '.join(protocols)}): every one-step spike "
        f"decision equal, max relative one-step |dv| {dv:.3g}, whole-run spike trains identical "
        f"{table.identical}/{table.candidates}"
    )


__all__ = ["GAIN_RANGE", "PortDiffers", "crosscheck_cell", "crosscheck_cell_protocols", "norse_loop", "one_step",
           "port_model", "verify"]
