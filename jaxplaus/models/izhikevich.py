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

Physiological box (:data:`PHYSIOLOGY`; ``docs/plausibility.md``): figure1.m's 20 panels mapped to
this form, as for ``izhikevich2004`` (the same table, :data:`~jaxplaus.models.izhikevich2004.FIGURE1_PANELS`,
each bound moved outward by 10% of its magnitude). The step: ``tau_inv * dt`` ms, so a panel's
step ``tau`` is ``tau_inv = tau / dt``; what figure1.m never varies is held at its value:

    name     box                  from
    a        -0.0286 .. 1.1       the panels' a (T -0.026, Q 1), 10% outward
    b        -1.1 .. 1.1          the panels' b (S, T -1; R 1)
    c        -71.5 .. -40.5       the panels' c (-65 .. -45)
    d        -23.1 .. 8.8         the panels' d (-21 .. 8)
    sq       0.04 (held)          figure1.m's 0.04 V^2 in every panel
    mn       3.69 .. 5.5          the panels' 4.1 .. 5
    bias     97.2 .. 154          the panels' 108 .. 140
    v_th     30 (held)            figure1.m's V > 30 in every panel (the spike peak, mV)
    tau_inv  100 .. 500           the panels' steps 0.1 .. 0.5 ms (exact: the integrator's)
    gain     0.5 .. 2             as izhikevich2004: currents within a factor 2 of figure1.m's

Note the box reaches ``a = 1.1`` (panel Q, the DAP) where this model's search bounds stop at 0.3.
"""

from __future__ import annotations

from jaxplaus.models import izhikevich2004 as _figure1
from jaxplaus.models.base import Model, Parameter, Physiology, spike_reset, table_box

DT = 0.001
SQ, V_TH = 0.04, 30.0  # figure1.m's quadratic coefficient and spike cut-off, the same in every panel


def _panel(row: dict[str, float]) -> dict[str, float]:
    """A figure1.m panel in this model's parameters: the step ``tau`` (ms) as ``tau_inv = tau / dt``."""
    out = {k: v for k, v in row.items() if k != "tau"}
    return {**out, "tau_inv": row["tau"] / DT, "sq": SQ, "v_th": V_TH}


PHYSIOLOGY = Physiology(
    ranges=table_box([_panel(r) for r in _figure1.FIGURE1_PANELS.values()], _figure1.MARGIN,
                     exact=("tau_inv", "sq", "v_th")),
    source="Izhikevich (2004) figure1.m: the span of its 20 panels' parameters, widened by 10%, mapped to Norse's "
    "form (tau_inv = tau / dt: 100-500; sq 0.04 and v_th 30 held as in every panel); gain 0.5-2 (the panels use 1)",
    gain=_figure1.PHYSIOLOGICAL_GAIN,
)


def sample_ms(params):
    """One sample is one step of ``tau_inv * dt`` ms."""
    return params["tau_inv"] * DT


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
        "tau_inv": Parameter(250.0, 50.0, 500.0, log=True,
                             doc="step scale: tau_inv*dt is the step in ms (<= 0.5 ms as in figure1.m)"),
    },
    initial_state=initial_state,
    step=step,
    reference="Norse 1.1.0 norse.torch.functional.izhikevich (IzhikevichParameters, dt=0.001)",
    # Izhikevich's parameters and the step, as Norse's presets vary them (sq, mn, bias and v_th
    # at Norse's defaults; its currents are in figure1.m's units)
    core=("a", "b", "c", "d", "tau_inv"),
    # the protocols' currents are in this model's units; up to 100x lets a small current (P's 0.24
    # and 1.24, B's 0.5) reach the sizes figure1.m uses in other panels (up to 80): bistability
    # was rare at 10x, its winners at the bound (docs/assessment.md)
    gain_bounds=(0.1, 100.0),
    physiology=PHYSIOLOGY,
    sample_ms=sample_ms,
)
