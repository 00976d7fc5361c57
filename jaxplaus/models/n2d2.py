"""N2D2: the evolved two-state polynomial neuron, as a parameter family.

Reference: the PMSN-CLR family (polynomial multi-state neuron, constant threshold, linear
reset) and its evolved member N2D2, Euler-integrated with a step of 0.1 per sample
(``shared/spec/models.md``). The published neuron is

    dv = 2.2999775 x u + 1.1182089 u^2
    du = 0.7606892 x^2 + 0.6316316 x u
    spike when v > 9.4765338;  then v <- 0.0982700 v,  u <- 0

This project's parametric reading (its defaults reproduce the published neuron exactly):

    v' = v + j * (a x u + b u^2)
    u' = u + j * (c x^2 + e x u - d u)
    spike when v' > f;  then v' <- g v',  u' <- h u'

``u`` integrates the squared input with a leak set by ``d`` (the published neuron has none:
``d = 0``, so at zero input ``u`` holds its value, and a negative input still drives ``u`` up
through ``x^2``); ``v`` depends on both ``u`` and the input. Units are dimensionless.

Physiological box (:data:`PHYSIOLOGY`; ``docs/plausibility.md``). N2D2 was evolved, not fitted
to a cell: its parameters have no physiological units and no measurement to bound them. Its only
anchor is the published neuron, so "plausible" here means "near the published neuron": a
physiological run asks which patterns the published neuron's neighbourhood shows, not the whole
polynomial family. The neighbourhood (:data:`NEIGHBOURHOOD`, 50%):

    name   published     box                 why
    a      2.2999775     1.15 .. 3.45        published x [0.5, 1.5]
    b      1.1182089     0.559 .. 1.677      published x [0.5, 1.5]
    c      0.7606892     0.380 .. 1.141      published x [0.5, 1.5]
    d      0             0 .. 0.05           a leak of u, never a growth; up to 5% per step
    e      0.6316316     0.316 .. 0.947      published x [0.5, 1.5]
    f      9.4765338     4.74 .. 14.21       published x [0.5, 1.5]
    g      0.0982700     0.0491 .. 0.147     published x [0.5, 1.5]
    h      0             0 .. 0.05           u reset to (almost) 0, as published
    j      0.1           0.05 .. 0.15        published x [0.5, 1.5]

The model has no time unit (``sample_ms`` is None): its rates are stated on the protocols' grid.
The gain keeps the model's bounds (its input has no physiological scale either).
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxplaus.models.base import Model, Parameter, Physiology

V0 = 0.9411955  # the published initial voltage
PUBLISHED = {"a": 2.2999775, "b": 1.1182089, "c": 0.7606892, "d": 0.0, "e": 0.6316316, "f": 9.4765338,
             "g": 0.0982700, "h": 0.0, "j": 0.1}
NEIGHBOURHOOD = 0.5  # a published nonzero value x [1 - 0.5, 1 + 0.5]
ZERO_NEIGHBOURHOOD = (0.0, 0.05)  # d (a leak) and h (u's reset factor), 0 when published


def _neighbourhood(value: float) -> tuple[float, float]:
    if value == 0:
        return ZERO_NEIGHBOURHOOD
    ends = sorted((value * (1 - NEIGHBOURHOOD), value * (1 + NEIGHBOURHOOD)))
    return ends[0], ends[1]


PHYSIOLOGY = Physiology(
    ranges={name: _neighbourhood(v) for name, v in PUBLISHED.items()},
    source="the published N2D2 neuron (shared/spec/models.md): each nonzero value x [0.5, 1.5], the zero leak d and "
    "u-reset h in [0, 0.05] (no physiological units: plausible means near the published neuron)",
)


def initial_state(params):
    """The published state: ``v = 0.9411955``, ``u = 0``."""
    zero = 0 * params["a"]
    return {"v": zero + V0, "u": zero}


def step(params, state, x):
    """One N2D2 step for one neuron; returns ``(state, v, spike)``."""
    p = params
    v, u = state["v"], state["u"]
    v_new = v + p["j"] * (p["a"] * x * u + p["b"] * u**2)
    u_new = u + p["j"] * (p["c"] * x**2 + p["e"] * x * u - p["d"] * u)
    fired = v_new > p["f"]
    v_new = jnp.where(fired, p["g"] * v_new, v_new)
    u_new = jnp.where(fired, p["h"] * u_new, u_new)
    return {"v": v_new, "u": u_new}, v_new, fired


n2d2 = Model(
    name="n2d2",
    parameters={
        "a": Parameter(2.2999775, -5.0, 5.0, doc="v gain of x*u"),
        "b": Parameter(1.1182089, -5.0, 5.0, doc="v gain of u^2"),
        "c": Parameter(0.7606892, -5.0, 5.0, doc="u gain of x^2"),
        "d": Parameter(0.0, -1.0, 1.0, doc="u leak (0 in the published neuron)"),
        "e": Parameter(0.6316316, -5.0, 5.0, doc="u gain of x*u"),
        "f": Parameter(9.4765338, 0.5, 20.0, doc="spike threshold on v"),
        "g": Parameter(0.0982700, -1.0, 1.0, doc="v reset factor"),
        "h": Parameter(0.0, -1.0, 1.0, doc="u reset factor"),
        "j": Parameter(0.1, 0.01, 1.0, log=True, doc="Euler step per sample"),
    },
    initial_state=initial_state,
    step=step,
    reference="N2D2 (PMSN-CLR family), shared/spec/models.md",
    physiology=PHYSIOLOGY,
)
