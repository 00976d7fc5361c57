"""The Izhikevich neuron as figure1.m integrates it: the reference model of the pattern suite.

Reference: E. M. Izhikevich, "Which model to use for cortical spiking neurons?", IEEE Trans.
Neural Networks 15(5), 2004, and the MATLAB script ``figure1.m`` that draws its Figure 1
(``shared/spec/patterns.md``). Per sample, in this order:

    1. V <- V + tau * (0.04 V^2 + mn V + bias - u + I)
    2. u <- u + tau * a * (b V - u)           # the NEW V (Norse uses the old v)
       or, with ``accommodation=True`` (panel R): u <- u + tau * a * (b (V + 65))
    3. if V > 30 (strict): report 30, then V <- c, u <- u + d

``tau`` is the step in ms (figure1.m picks it per panel), ``mn`` and ``bias`` are 5 and 140 except
in panels G and L (4.1 and 108). The reported voltage is 30 on a spike sample, as in the script.
The arithmetic is grouped as MATLAB evaluates it (left to right).

Physiological box (:data:`PHYSIOLOGY`; ``docs/plausibility.md``): the ranges spanned by
figure1.m's 20 panels (:data:`FIGURE1_PANELS`, the table below), each bound moved outward by
:data:`MARGIN` (10%) of its own magnitude, except the step ``tau``, kept at the script's own
0.1 to 0.5 ms (it is the integrator's, not the cell's, and longer steps make the map chaotic).
The panels are the settings Izhikevich drew as cortical (and thalamic) firing types, so the box is
"parameters of the kind the paper calls biological"; panel R's ``b = 1`` belongs to its own form
of ``u'`` (``izhikevich2004_accommodation``) and is in the box of both forms.

    name   panels' min   panels' max   box (10% outward)    from
    a        -0.026         1          -0.0286 .. 1.1       T (-0.026), Q (1)
    b        -1             1          -1.1 .. 1.1          S, T (-1), R (1)
    c        -65           -45         -71.5 .. -40.5       A, B, F, H, I (-65), T (-45)
    d        -21            8          -23.1 .. 8.8         Q (-21), F, S (8)
    mn        4.1           5          3.69 .. 5.5          G, L (4.1), the rest (5)
    bias    108           140          97.2 .. 154          G, L (108), the rest (140)
    tau       0.1           0.5        0.1 .. 0.5 (exact)   Q (0.1), R, S, T (0.5)
    gain      -             -          0.5 .. 2             the protocols' currents within a factor 2 of figure1.m's

The gain is 1 in every panel (the protocols are in this model's units); a physiological run lets
it move by a factor of 2, so a pattern is met with currents of the size the paper used, not with
a tenfold current.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

from jaxplaus.models.base import Model, Parameter, Physiology, table_box

V_PEAK = 30.0

# figure1.m's 20 panels A..T: (a, b, c, d, tau, mn, bias), the values of shared/spec/patterns.md
# (written here independently of jaxplaus.patterns: models know nothing of patterns)
_PANEL_FIELDS = ("a", "b", "c", "d", "tau", "mn", "bias")
FIGURE1_PANELS: dict[str, dict[str, float]] = {
    letter: dict(zip(_PANEL_FIELDS, values))
    for letter, values in {
        "A": (0.02, 0.2, -65, 6, 0.25, 5, 140), "B": (0.02, 0.25, -65, 6, 0.25, 5, 140),
        "C": (0.02, 0.2, -50, 2, 0.25, 5, 140), "D": (0.02, 0.25, -55, 0.05, 0.2, 5, 140),
        "E": (0.02, 0.2, -55, 4, 0.25, 5, 140), "F": (0.01, 0.2, -65, 8, 0.25, 5, 140),
        "G": (0.02, -0.1, -55, 6, 0.25, 4.1, 108), "H": (0.2, 0.26, -65, 0, 0.25, 5, 140),
        "I": (0.02, 0.2, -65, 6, 0.2, 5, 140), "J": (0.05, 0.26, -60, 0, 0.25, 5, 140),
        "K": (0.1, 0.26, -60, -1, 0.25, 5, 140), "L": (0.02, -0.1, -55, 6, 0.25, 4.1, 108),
        "M": (0.03, 0.25, -60, 4, 0.2, 5, 140), "N": (0.03, 0.25, -52, 0, 0.2, 5, 140),
        "O": (0.03, 0.25, -60, 4, 0.25, 5, 140), "P": (0.1, 0.26, -60, 0, 0.25, 5, 140),
        "Q": (1, 0.2, -60, -21, 0.1, 5, 140), "R": (0.02, 1, -55, 4, 0.5, 5, 140),
        "S": (-0.02, -1, -60, 8, 0.5, 5, 140), "T": (-0.026, -1, -45, -2, 0.5, 5, 140),
    }.items()
}
MARGIN = 0.1  # each bound of the panels' span moved outward by 10% of its magnitude
PHYSIOLOGICAL_GAIN = (0.5, 2.0)  # the protocols' currents within a factor 2 of figure1.m's (gain 1)
PHYSIOLOGY = Physiology(
    ranges=table_box(list(FIGURE1_PANELS.values()), MARGIN, exact=("tau",)),
    source="Izhikevich (2004) figure1.m: the span of its 20 panels' parameters, widened by 10% (the step tau "
    "exactly 0.1-0.5 ms); gain 0.5-2 (the panels use 1)",
    gain=PHYSIOLOGICAL_GAIN,
)


def sample_ms(params):
    """One sample is one step of ``tau`` ms."""
    return params["tau"]


def initial_state(params):
    """``V = -70``, ``u = b V`` (figure1.m's most common start; patterns pass their own)."""
    v0 = -70.0 + 0 * params["a"]
    return {"v": v0, "u": params["b"] * v0}


def _step(params, state, x, *, accommodation: bool):
    p = params
    v, u = state["v"], state["u"]
    tau = p["tau"]
    v = v + tau * ((((0.04 * v**2 + p["mn"] * v) + p["bias"]) - u) + x)
    if accommodation:
        u = u + tau * p["a"] * (p["b"] * (v + 65.0))
    else:
        u = u + tau * p["a"] * (p["b"] * v - u)
    fired = v > V_PEAK
    reported = jnp.where(fired, jnp.asarray(V_PEAK, v.dtype), v)
    v = jnp.where(fired, p["c"], v)
    u = jnp.where(fired, u + p["d"], u)
    return {"v": v, "u": u}, reported, fired


@functools.cache
def make(accommodation: bool = False) -> Model:
    """The figure1.m neuron; ``accommodation=True`` gives panel R's ``u' = a b (V + 65)``."""
    return Model(
        name="izhikevich2004" if not accommodation else "izhikevich2004_accommodation",
        parameters={
            # a and b reach the signs and sizes of figure1.m's panels (a < 0 in S and T);
            # accommodation in this u' form needs b ~ 2-3 with mn - b ~ 5.5 (measured)
            "a": Parameter(0.02, -0.05, 1.2, symlog=0.01, doc="recovery rate (1/ms)"),
            "b": Parameter(0.2, -1.2, 3.0, doc="recovery sensitivity to V"),
            "c": Parameter(-65.0, -75.0, -40.0, doc="voltage reset (mV)"),
            "d": Parameter(6.0, -25.0, 10.0, doc="recovery reset increment"),
            "mn": Parameter(5.0, 3.5, 8.0, doc="linear coefficient (1/ms); 4.1 in panels G, L"),
            "bias": Parameter(140.0, 90.0, 160.0, doc="constant drive (mV/ms); 108 in panels G, L"),
            # figure1.m's steps lie in 0.1..0.5 ms; larger Euler steps make the map chaotic, and a
            # search then finds "solutions" that vanish under 1e-15 perturbations
            "tau": Parameter(0.25, 0.05, 0.5, log=True, doc="integration step (ms per sample)"),
        },
        initial_state=initial_state,
        step=functools.partial(_step, accommodation=accommodation),
        reference="Izhikevich (2004) figure1.m" + (", panel R (accommodation) form of u'" if accommodation else ""),
        # the paper's own parameters and figure1.m's per-panel step; mn and bias are 5 and 140 in
        # 18 of the 20 panels, and the protocol's currents are in this model's units
        core=("a", "b", "c", "d", "tau"),
        # the protocols' currents are in this model's units; up to 100x lets a small current (P's 0.24
        # and 1.24, B's 0.5) reach the sizes figure1.m uses in other panels (up to 80): bistability
        # was rare at 10x, its winners at the bound (docs/assessment.md)
        gain_bounds=(0.1, 100.0),
        physiology=PHYSIOLOGY,
        sample_ms=sample_ms,
    )


izhikevich2004 = make(False)
izhikevich2004_accommodation = make(True)
