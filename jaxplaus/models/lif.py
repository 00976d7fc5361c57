"""Leaky integrate-and-fire neuron with a current-based synapse, as Norse 1.1.0 computes it.

Reference: ``norse.torch.functional.lif.lif_feed_forward_step`` (Norse 1.1.0), written out in
``shared/spec/norse-reference.md``. Two linear low-pass stages (synaptic current ``i`` and
membrane ``v``), a strict threshold and a hard reset; no refractory period. One step per sample,
``dt = 0.001``; voltages and currents are dimensionless. The update order and grouping below
are Norse's, so a float32 run agrees with Norse spike for spike (bit for bit without FMA).

This model has no slow variable: it is the negative control of the pattern suite.
"""

from __future__ import annotations

from jaxplaus.models.base import Model, Parameter, spike_reset

DT = 0.001  # Norse's default time step


def initial_state(params):
    """``v = v_leak``, ``i = 0`` (Norse's default state)."""
    v_leak = params["v_leak"]
    return {"v": v_leak, "i": 0 * v_leak}


def step(params, state, x):
    """One Norse LIF step for one neuron; returns ``(state, v, spike)``."""
    v, i = state["v"], state["i"]
    i_new = i + x  # the input is a per-step jump into i
    v_dec = v + (DT * params["tau_mem_inv"]) * ((params["v_leak"] - v) + i_new)
    i_dec = i_new + (-DT * params["tau_syn_inv"]) * i_new
    fired = v_dec - params["v_th"] > 0
    v_new = spike_reset(fired, v_dec, params["v_reset"])
    return {"v": v_new, "i": i_dec}, v_new, fired


lif = Model(
    name="lif",
    parameters={
        "tau_syn_inv": Parameter(200.0, 10.0, 1000.0, log=True, doc="inverse synaptic time constant (1/s)"),
        "tau_mem_inv": Parameter(100.0, 10.0, 1000.0, log=True, doc="inverse membrane time constant (1/s)"),
        "v_leak": Parameter(0.0, -1.0, 1.0, doc="leak (rest) potential (dimensionless)"),
        "v_th": Parameter(1.0, 0.2, 3.0, doc="spike threshold (dimensionless)"),
        "v_reset": Parameter(0.0, -1.0, 1.0, doc="reset potential (dimensionless)"),
    },
    initial_state=initial_state,
    step=step,
    reference="Norse 1.1.0 norse.torch.functional.lif (LIFParameters, dt=0.001)",
    # Norse's LIF family fires for a constant input above ~0.2 (v_th 1, tau_syn_inv 200: the
    # synaptic current integrates the input, i ~ x / (dt tau_syn_inv)), so across its parameter
    # ranges the gain that maps the protocols' currents (up to 80) runs from ~1e-4 to a few
    gain_bounds=(1e-4, 10.0),
)
