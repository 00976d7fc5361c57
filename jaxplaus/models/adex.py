"""Adaptive exponential integrate-and-fire neuron (AdEx), as Norse 1.1.0 computes it.

Reference: R. Brette and W. Gerstner, "Adaptive exponential integrate-and-fire model as an
effective description of neuronal activity", J. Neurophysiol. 94, 2005, in the discretisation of
``norse.torch.functional.lif_adex.lif_adex_feed_forward_step`` (Norse 1.1.0), written out in
``shared/spec/norse-reference.md``. One step per sample, ``dt = 0.001``, dimensionless units.

Norse quirks kept on purpose: the spike is declared at ``v_th`` itself (there is no separate
``v_peak``), the exponential and the adaptation current both see the OLD ``v``, and an
overflowing exponential gives ``v = NaN`` (``0 * inf`` in the reset) rather than a spike; the
engine flags such a trace as non-finite.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxplaus.models.base import Model, Parameter, spike_reset

DT = 0.001


def initial_state(params):
    """``v = v_leak``, ``i = a = 0`` (Norse's default state)."""
    v_leak = params["v_leak"]
    return {"v": v_leak, "i": 0 * v_leak, "a": 0 * v_leak}


def step(params, state, x):
    """One Norse AdEx step for one neuron; returns ``(state, v, spike)``."""
    p = params
    v, i, a = state["v"], state["i"], state["a"]
    i_jump = i + x
    dv_exp = p["delta_T"] * jnp.exp((v - p["v_th"]) / p["delta_T"])  # old v
    v_dec = v + (DT * p["tau_mem_inv"]) * ((((p["v_leak"] - v) + dv_exp) + i_jump) - a)
    i_dec = i_jump + (-DT * p["tau_syn_inv"]) * i_jump
    a_dec = a + (DT * p["tau_ada_inv"]) * (p["adaptation_current"] * (v - p["v_leak"]) - a)  # old v, a
    fired = v_dec - p["v_th"] > 0
    v_new = spike_reset(fired, v_dec, p["v_reset"])
    a_new = a_dec + fired.astype(a_dec.dtype) * p["adaptation_spike"]
    return {"v": v_new, "i": i_dec, "a": a_new}, v_new, fired


adex = Model(
    name="adex",
    parameters={
        "adaptation_current": Parameter(4.0, -10.0, 30.0, doc="subthreshold adaptation coupling (Brette-Gerstner a)"),
        "adaptation_spike": Parameter(0.02, 0.0, 2.0, doc="spike-triggered adaptation increment (Brette-Gerstner b)"),
        "delta_T": Parameter(0.5, 0.01, 2.0, log=True, doc="sharpness of the exponential upswing (dimensionless)"),
        "tau_ada_inv": Parameter(2.0, 0.5, 200.0, log=True, doc="inverse adaptation time constant (1/s)"),
        "tau_syn_inv": Parameter(200.0, 10.0, 1000.0, log=True, doc="inverse synaptic time constant (1/s)"),
        "tau_mem_inv": Parameter(100.0, 10.0, 1000.0, log=True, doc="inverse membrane time constant (1/s)"),
        "v_leak": Parameter(0.0, -1.0, 1.0, doc="leak (rest) potential (dimensionless)"),
        "v_th": Parameter(1.0, 0.2, 3.0, doc="threshold and centre of the exponential (dimensionless)"),
        "v_reset": Parameter(0.0, -1.0, 1.0, doc="reset potential (dimensionless)"),
    },
    initial_state=initial_state,
    step=step,
    reference="Norse 1.1.0 norse.torch.functional.lif_adex (LIFAdExParameters, dt=0.001)",
    gain_bounds=(1e-4, 10.0),  # as lif's: the same input stage
)
