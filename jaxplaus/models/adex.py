"""Adaptive exponential integrate-and-fire neuron (AdEx), as Norse 1.1.0 computes it.

Reference: R. Brette and W. Gerstner, "Adaptive exponential integrate-and-fire model as an
effective description of neuronal activity", J. Neurophysiol. 94, 2005, in the discretisation of
``norse.torch.functional.lif_adex.lif_adex_feed_forward_step`` (Norse 1.1.0), written out in
``shared/spec/norse-reference.md``. One step per sample, ``dt = 0.001``, dimensionless units.

Norse quirks kept on purpose: the spike is declared at ``v_th`` itself (there is no separate
``v_peak``), the exponential and the adaptation current both see the OLD ``v``, and an
overflowing exponential gives ``v = NaN`` (``0 * inf`` in the reset) rather than a spike; the
engine flags such a trace as non-finite.

Physiological box (:data:`PHYSIOLOGY`; ``docs/plausibility.md``). Source: R. Naud, N. Marcille,
C. Clopath, W. Gerstner, "Firing patterns in the adaptive exponential integrate-and-fire model",
Biol. Cybern. 99:335-347 (2008), Table 1: the parameter sets of its eight firing patterns
(:data:`NAUD2008_TABLE1`). The numbers used are those of the Brian 2 example
``Naud_et_al_2008_adex_firing_patterns.py`` (which transcribes Table 1 and says its values were
"adapted by P. Mueller to match figures"); they agree with our recollection of Table 1 row for
row, but were not checked against the paper's PDF here.

    pattern                   C    gL    EL   VT  DeltaT    a   tauw    b    Vr     I
                             pF    nS    mV   mV    mV     nS    ms    pA    mV    pA
    tonic spiking            200   10   -70  -50    2       2    30     0   -58   500
    adaptation               200   12   -70  -50    2       2   300    60   -58   500
    initial burst            130   18   -58  -50    2       4   150   120   -50   400
    regular bursting         200   10   -58  -50    2       2   120   100   -46   210
    delayed accelerating     200   12   -70  -50    2     -10   300     0   -58   300
    delayed regular bursting 100   10   -65  -50    2     -10    90    30   -47   110
    transient spiking        100   10   -65  -50    2      10    90   100   -47   180
    irregular spiking        100   12   -60  -50    2     -11   130    30   -48   160

Mapping to this (Norse's dimensionless) form, :func:`norse_form`. Naud's model is

    C dV/dt = -gL (V - EL) + gL DeltaT exp((V - VT)/DeltaT) - w + I,   tauw dw/dt = a (V - EL) - w,
    at a spike V <- Vr, w <- w + b.

Write ``S = VT - EL`` and ``v = (V - EL)/S``, divide the first equation by ``gL S`` and the
second by ``gL S`` too (``w_n = w/(gL S)``, ``i = I/(gL S)``):

    (C/gL) dv/dt = -v + (DeltaT/S) exp((v - 1)/(DeltaT/S)) - w_n + i,   (V - VT)/DeltaT = (v - 1) S/DeltaT
    tauw dw_n/dt = (a/gL) v - w_n,      at a spike v <- (Vr - EL)/S,  w_n <- w_n + b/(gL S)

which is this module's step (``v_leak - v + dv_exp + i - a`` times ``dt tau_mem_inv``;
``a' = a + dt tau_ada_inv (adaptation_current (v - v_leak) - a)``, ``a += adaptation_spike``) with

    v_leak = 0, v_th = 1 (the normalisation),  tau_mem_inv = gL/C (1/s: nS/pF = 1000/s),
    delta_T = DeltaT/S,  v_reset = (Vr - EL)/S,  tau_ada_inv = 1/tauw (1/s),
    adaptation_current = a/gL,  adaptation_spike = b/(gL S) (pA/(nS mV) = 1: dimensionless),
    and the step current I is i = I/(gL S) in these units (0.73 to 2.8 in Table 1).

Two differences remain and are Norse's: the spike is declared at ``v_th`` (``V = VT``), not at
a separate peak, and the input passes through the synaptic current ``i`` (time constant
``1/tau_syn_inv``), which Naud's direct current injection does not have. ``tau_syn_inv`` is
bounded by the time constants of fast synaptic currents, 1 to 10 ms (AMPA and GABA-A decay; Dayan
and Abbott 2001, ch. 5): 100 to 1000 /s. The rows mapped, and the box (each bound moved outward by
10% of its magnitude, as for the Izhikevich models):

    name                 Table 1 min .. max     box
    tau_mem_inv (1/s)    50 .. 138.5            45 .. 152.3
    delta_T              0.1 .. 0.25            0.09 .. 0.275
    adaptation_current   -1 .. 1                -1.1 .. 1.1
    tau_ada_inv (1/s)    3.33 .. 33.3           3.0 .. 36.7
    adaptation_spike     0 .. 1.25              0 .. 1.375
    v_reset              0.6 .. 1.5             0.54 .. 1.65
    v_leak, v_th         0, 1 (held)            the normalisation
    tau_syn_inv (1/s)    -                      100 .. 1000 (synaptic currents, 1-10 ms)

Holding ``v_leak = 0`` and ``v_th = 1`` loses nothing: any other pair maps onto them by the same
affine change of ``v``, the input's scale going into the gain. The gain keeps the model's bounds:
the physiological question bounds the steady current ``gain x / (dt tau_syn_inv)`` in units of
``S`` (Table 1: 0.7 to 2.8), a product with ``tau_syn_inv``, not a range of the gain alone.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxplaus.models.base import Model, Parameter, Physiology, spike_reset, table_box

DT = 0.001

_TABLE1_FIELDS = ("C", "gL", "EL", "VT", "DeltaT", "a", "tauw", "b", "Vr", "I")
NAUD2008_TABLE1: dict[str, dict[str, float]] = {
    name: dict(zip(_TABLE1_FIELDS, values))
    for name, values in {  # C pF, gL nS, EL VT DeltaT mV, a nS, tauw ms, b pA, Vr mV, I pA
        "tonic spiking": (200, 10, -70, -50, 2, 2, 30, 0, -58, 500),
        "adaptation": (200, 12, -70, -50, 2, 2, 300, 60, -58, 500),
        "initial burst": (130, 18, -58, -50, 2, 4, 150, 120, -50, 400),
        "regular bursting": (200, 10, -58, -50, 2, 2, 120, 100, -46, 210),
        "delayed accelerating": (200, 12, -70, -50, 2, -10, 300, 0, -58, 300),
        "delayed regular bursting": (100, 10, -65, -50, 2, -10, 90, 30, -47, 110),
        "transient spiking": (100, 10, -65, -50, 2, 10, 90, 100, -47, 180),
        "irregular spiking": (100, 12, -60, -50, 2, -11, 130, 30, -48, 160),
    }.items()
}
MARGIN = 0.1  # each bound moved outward by 10% of its magnitude
SYNAPTIC_TAU_MS = (1.0, 10.0)  # fast synaptic currents (AMPA, GABA-A decay)


def norse_form(row: dict[str, float]) -> dict[str, float]:
    """A Naud et al. (2008) parameter set (C pF, gL nS, EL/VT/DeltaT/Vr mV, a nS, tauw ms, b pA)
    in this model's parameters (the module docstring derives it); ``i`` is the step current
    ``I / (gL (VT - EL))``. ``tau_syn_inv`` has no counterpart there and is not returned."""
    span = row["VT"] - row["EL"]  # mV
    return {
        "adaptation_current": row["a"] / row["gL"],
        "adaptation_spike": row["b"] / (row["gL"] * span),
        "delta_T": row["DeltaT"] / span,
        "tau_ada_inv": 1000.0 / row["tauw"],
        "tau_mem_inv": 1000.0 * row["gL"] / row["C"],
        "v_leak": 0.0,
        "v_th": 1.0,
        "v_reset": (row["Vr"] - row["EL"]) / span,
        "i": row["I"] / (row["gL"] * span),
    }


def _physiological_ranges() -> dict[str, tuple[float, float]]:
    rows = [{k: v for k, v in norse_form(r).items() if k != "i"} for r in NAUD2008_TABLE1.values()]
    lo_ms, hi_ms = SYNAPTIC_TAU_MS
    return {**table_box(rows, MARGIN, exact=("v_leak", "v_th")), "tau_syn_inv": (1000.0 / hi_ms, 1000.0 / lo_ms)}


PHYSIOLOGY = Physiology(
    ranges=_physiological_ranges(),
    source="Naud, Marcille, Clopath, Gerstner (2008) Biol Cybern 99:335, Table 1 (8 firing patterns) in Norse's "
    "dimensionless form, widened by 10%; tau_syn_inv from 1-10 ms synaptic currents; v_leak 0, v_th 1 held",
)


def sample_ms(params):
    """One sample is Norse's ``dt`` (1 ms)."""
    return DT * 1000.0


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
    physiology=PHYSIOLOGY,
    sample_ms=sample_ms,
)
