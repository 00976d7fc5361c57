"""Random candidates for the cross-check: parameter sets within the search bounds, and input gains.

Input gains are drawn log-uniformly per candidate and protocol, in the port's
:attr:`~norse_bridge.ports.Port.gain_range` (:data:`GAIN_RANGES`). The protocols are in Izhikevich
current units (amplitudes 0.24 to 80). For ``izhikevich`` the gain spans 1/4 to 4 around the
figure1.m amplitude. ``lif`` and ``adex`` take their input as a per-step jump into the synaptic
current, whose steady state is ``x / (dt * tau_syn_inv)`` (1 to 100 times ``x``) and whose
threshold is 0.2 to 3; a gain from 1e-3 to 1 puts the drive from far below to far above threshold,
so that on every protocol some candidates stay silent and some fire.

These ranges are the cross-check's draws, not the assessment's search bounds (the jaxplaus
model's ``gain_bounds``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from norse_bridge import ports

# log-uniform input-gain range per model (see the module docstring)
GAIN_RANGES = {name: port.gain_range for name, port in ports.PORTS.items()}


class Candidates(NamedTuple):
    """Random candidates: ``params`` (name -> float32 ``[n]``) and ``gain`` (float64 ``[n]``, > 0)."""

    params: dict[str, np.ndarray]
    gain: np.ndarray


def random_gains(model, n: int, rng: np.random.Generator, gain_range: tuple[float, float] | None = None) -> np.ndarray:
    """``n`` input gains drawn log-uniformly in ``gain_range`` (default :data:`GAIN_RANGES`)."""
    lo, hi = gain_range or ports.get(model).gain_range
    if not 0 < lo <= hi:
        raise ValueError(f"gain range must satisfy 0 < lo <= hi, got {(lo, hi)}")
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size=n))


def random_parameters(model, n: int, seed: int = 0, *, gain_range: tuple[float, float] | None = None) -> Candidates:
    """``n`` parameter sets drawn within ``model.parameters[name].lo/hi``, and an input gain each.

    Uniform in ``[lo, hi]``, log-uniform where ``Parameter.log``; values are rounded to float32
    (and clipped back into the bounds), the numbers both engines then see. ``model``: a port's
    name, or any jaxplaus Model (an automatic port's: then ``gain_range`` is required).
    """
    m = model if hasattr(model, "parameters") else ports.get(model).jaxplaus_model()
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    params = {}
    for name, spec in m.parameters.items():
        if spec.log:
            x = np.exp(rng.uniform(math.log(spec.lo), math.log(spec.hi), size=n))
        else:
            x = rng.uniform(spec.lo, spec.hi, size=n)
        params[name] = np.clip(x.astype(np.float32), np.float32(spec.lo), np.float32(spec.hi))
    return Candidates(params, random_gains(m, n, rng, gain_range))


__all__ = ["GAIN_RANGES", "Candidates", "random_gains", "random_parameters"]
