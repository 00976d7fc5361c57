"""The Izhikevich neuron, as Norse 1.1.0 computes it.

Reference: E. M. Izhikevich, "Simple model of spiking neurons", IEEE Trans. Neural Networks
14(6), 2003, eqs. (1)-(3), in the discretisation of
``norse.torch.functional.izhikevich.izhikevich_feed_forward_step`` (Norse 1.1.0), written out in
``shared/spec/norse-reference.md``:

    v' = v + (tau_inv*dt) * ((((sq*(v*v) + mn*v) + bias) - u) + I)
    u' = u + (tau_inv*dt*a) * (b*v - u)          # the OLD v: Norse differs from figure1.m here
    spike when v' > v_th;  then v' <- c,  u' <- u' + d

``dt = 0.001`` and ``tau_inv`` sets the effective step in ms (``tau_inv * dt``). Voltages are in
mV as in the paper. For the figure1.m integrator (``u`` from the new ``V``) see
``izhikevich2004``.
"""

from __future__ import annotations

from jaxplaus.models.base import Model, Parameter, spike_reset

DT = 0.001


def initial_state(params):
    """``v = -70``, ``u = b * v`` (the state of most of Norse's presets)."""
    v0 = -70.0 + 0 * params["c"]
    return {"v": v0, "u": params["b"] * v0}


def step(params, state, x):
    """One Norse Izhikevich step for one neuron; returns ``(state, v, spike)``."""
    p = params
    v, u = state["v"], state["u"]
    h = p["tau_inv"] * DT
    v_ = v + h * ((((p["sq"] * (v * v) + p["mn"] * v) + p["bias"]) - u) + x)
    u_ = u + (h * p["a"]) * (p["b"] * v - u)  # old v
    fired = v_ - p["v_th"] > 0
    v_new = spike_reset(fired, v_, p["c"])
    u_new = spike_reset(fired, u_, u_ + p["d"])
    return {"v": v_new, "u": u_new}, v_new, fired


izhikevich = Model(
    name="izhikevich",
    parameters={
        # as izhikevich2004: a on a signed log scale; b and mn wide enough for accommodation
        "a": Parameter(0.02, -0.05, 0.3, symlog=0.01, doc="recovery rate (1/ms)"),
        "b": Parameter(0.2, -1.2, 3.0, doc="recovery sensitivity to v"),
        "c": Parameter(-65.0, -75.0, -40.0, doc="voltage reset (mV)"),
        "d": Parameter(6.0, -25.0, 10.0, doc="recovery reset increment"),
        "sq": Parameter(0.04, 0.02, 0.06, doc="quadratic coefficient (1/mV/ms)"),
        "mn": Parameter(5.0, 3.5, 8.0, doc="linear coefficient (1/ms)"),
        "bias": Parameter(140.0, 90.0, 160.0, doc="constant drive (mV/ms)"),
        "v_th": Parameter(30.0, 20.0, 40.0, doc="spike cut-off (mV)"),
        "tau_inv": Parameter(250.0, 50.0, 500.0, log=True, doc="step scale: tau_inv*dt is the step in ms (<= 0.5 ms as in figure1.m)"),
    },
    initial_state=initial_state,
    step=step,
    reference="Norse 1.1.0 norse.torch.functional.izhikevich (IzhikevichParameters, dt=0.001)",
    # Izhikevich's parameters and the step, as Norse's presets vary them (sq, mn, bias and v_th
    # at Norse's defaults; its currents are in figure1.m's units)
    core=("a", "b", "c", "d", "tau_inv"),
    gain_bounds=(0.1, 10.0),  # the protocols' currents are in this model's units (gain ~1)
)
