"""The one-step check: the JAX step fed Norse's own state before every step, against Norse's next state.

This tests the equations step by step, free of the chaotic growth that turns last-bit differences
(XLA's fused multiply-add, ``exp``) into different spike trains over a long run. Where the port's
step has an ``exp`` (:attr:`~norse_bridge.ports.Port.exp_argument`: AdEx), every inexact result
is checked against whether XLA's and torch's ``exp`` of the same argument differ at that step.
"""

from __future__ import annotations

import functools

import numpy as np

from norse_bridge._deps import require
from norse_bridge.floats import SMALLEST_NORMAL, abs_diff, bits_same, near
from norse_bridge.ports import Port
from norse_bridge.runs import Batch, NorseRun


@functools.cache
def _step_fn(port: Port):
    """jit: ``(params [N], states before each step [T, N], x [T, N]) -> (state', z, pre-reset v,
    exp of the port's exp argument (0 where it has none))``, one JAX step of each."""
    import jax
    import jax.numpy as jnp

    m = port.jaxplaus_model()
    pre, exp_arg = port.jax_pre_reset, port.exp_argument

    def one(p, s, x):
        s_new, _, z = m.step(p, s, x)
        e = jnp.exp(exp_arg(p, s)) if exp_arg is not None else jnp.zeros((), s["v"].dtype)
        return s_new, z, pre(m, p, s, x), e

    return jax.jit(jax.vmap(jax.vmap(one), in_axes=(None, 0, 0)))


def _exp_differs(port: Port, params, prev_v: np.ndarray, e_jax: np.ndarray, steps) -> np.ndarray:
    """``[T, N]``: at ``steps``, torch's exp of the port's exp argument differs from XLA's ``e_jax``.

    Torch's exp is evaluated on the same ``[N]`` row as in Norse's own step: torch's vectorised
    and scalar exp can round differently, so the layout matters.
    """
    torch, _ = require()
    out = np.zeros(e_jax.shape, bool)
    pt = {k: torch.from_numpy(v) for k, v in params.items()}
    for t in steps:
        e_torch = torch.exp(port.exp_argument(pt, {"v": torch.from_numpy(prev_v[t])}))
        out[t] = ~bits_same(e_torch.numpy(), e_jax[t])
    return out


def check(port: Port, b: Batch, norse_run: NorseRun) -> dict[str, np.ndarray]:
    """The one-step fields of :class:`~norse_bridge.report.CrosscheckReport` (each ``[N]``)."""
    traces = norse_run.traces
    prev = {k: np.concatenate([b.state0[k][None], traces[k][:-1]], axis=0) for k in traces}  # [T, N]
    nxt, z, v_pre, e_jax = _step_fn(port)(b.params, prev, np.ascontiguousarray(b.stim.T))
    nxt = {k: np.asarray(v) for k, v in nxt.items()}
    spike_diff = np.asarray(z).astype(bool) != norse_run.z.T
    unexplained = spike_diff & ~near(v_pre, b.params["v_th"][None])
    agree = ~spike_diff
    with np.errstate(invalid="ignore", over="ignore"):
        scale = np.maximum(np.maximum(np.abs(prev["v"]), np.abs(traces["v"])).astype(np.float64), 1.0)
        rel = abs_diff(nxt["v"], traces["v"]) / np.where(np.isfinite(scale), scale, np.inf)
    dv = np.where(agree, np.nan_to_num(rel, nan=0.0), 0.0)
    inexact = spike_diff.copy()
    for k in traces:
        below_normal = abs_diff(nxt[k], traces[k]) < SMALLEST_NORMAL  # XLA flushes subnormals, torch does not
        inexact |= agree & ~(bits_same(nxt[k], traces[k]) | below_normal)
    exp_only = ~inexact.any(axis=0)
    if port.exp_argument is not None and inexact.any():
        steps = np.flatnonzero(inexact.any(axis=1))
        exp_only = ~(inexact & ~_exp_differs(port, b.params, prev["v"], np.asarray(e_jax), steps)).any(axis=0)
    return {
        "local_spike_diffs": spike_diff.sum(axis=0),
        "local_spike_unexplained": unexplained.sum(axis=0),
        "local_max_dv": dv.max(axis=0),
        "local_exact": ~inexact.any(axis=0),
        "local_exp_only": exp_only,
    }


__all__ = ["check"]
