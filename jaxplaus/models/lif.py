"""Leaky integrate-and-fire neuron with a current-based synapse, as Norse 1.1.0 computes it.

Reference: ``norse.torch.functional.lif.lif_feed_forward_step`` (Norse 1.1.0), written out in
``shared/spec/norse-reference.md``. Two linear low-pass stages (synaptic current ``i`` and
membrane ``v``), a strict threshold and a hard reset; no refractory period. One step per sample,
``dt = 0.001``; voltages and currents are dimensionless. The update order and grouping below
are Norse's, so a float32 run agrees with Norse spike for spike (bit for bit without FMA).

This model has no slow variable: it is the negative control of the pattern suite.

Physiological box (:data:`PHYSIOLOGY`; ``docs/plausibility.md``). Voltages are read as in
``adex``: ``v = (V - EL) / (VT - EL)``, so ``v_leak = 0`` and ``v_th = 1`` are the normalisation
(any other pair maps onto them, the input's scale going into the gain) and are held there.

    name          box              why
    tau_mem_inv   20 .. 200 /s     membrane time constants of cortical neurons, 5 to 50 ms
                                   (Dayan and Abbott 2001, ch. 5: 10-100 ms quoted for the
                                   passive membrane; McCormick et al. 1985: 5-50 ms for
                                   fast-spiking to regular-spiking cells; this box takes 5-50)
    tau_syn_inv   100 .. 1000 /s   fast synaptic currents (AMPA, GABA-A decay), 1 to 10 ms
    v_reset       -0.25 .. 0.75    a reset 5 mV below rest to 5 mV below threshold, for
                                   EL = -70 mV and VT = -50 mV (after-hyperpolarisations of
                                   cortical cells reach -75 to -55 mV)
    v_leak, v_th  0, 1 (held)      the normalisation

The gain keeps the model's bounds, for the reason given in ``adex`` (the physiological bound is
on ``gain x / (dt tau_syn_inv)``, a product).
"""

from __future__ import annotations

from jaxplaus.models.base import Model, Parameter, Physiology, spike_reset

DT = 0.001  # Norse's default time step

MEMBRANE_TAU_MS = (5.0, 50.0)  # cortical neurons' membrane time constants
SYNAPTIC_TAU_MS = (1.0, 10.0)  # fast synaptic currents (AMPA, GABA-A decay)
PHYSIOLOGY = Physiology(
    ranges={
        "tau_syn_inv": (1000.0 / SYNAPTIC_TAU_MS[1], 1000.0 / SYNAPTIC_TAU_MS[0]),
        "tau_mem_inv": (1000.0 / MEMBRANE_TAU_MS[1], 1000.0 / MEMBRANE_TAU_MS[0]),
        "v_leak": (0.0, 0.0),
        "v_th": (1.0, 1.0),
        "v_reset": (-0.25, 0.75),
    },
    source="cortical membrane time constants 5-50 ms, synaptic currents 1-10 ms, reset from 5 mV below rest to 5 mV "
    "below threshold (EL -70, VT -50 mV); v_leak 0, v_th 1 held (the normalisation)",
)


def sample_ms(params):
    """One sample is Norse's ``dt`` (1 ms)."""
    return DT * 1000.0


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
    physiology=PHYSIOLOGY,
    sample_ms=sample_ms,
)
