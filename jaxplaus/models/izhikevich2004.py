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
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

from jaxplaus.models.base import Model, Parameter

V_PEAK = 30.0


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
        gain_bounds=(0.1, 10.0),  # the protocols' currents are in this model's units (gain ~1)
    )


izhikevich2004 = make(False)
izhikevich2004_accommodation = make(True)
