"""An independent, plain-numpy transcription of figure1.m (Izhikevich 2004), for tests only.

Written from shared/spec/patterns.md without using any jaxplaus code: the protocols here are
MATLAB-style loops over ``t = k * tau`` (rounded to 1e-9 ms to undo binary representation
error, so ``t > 10`` first holds at ``10 + tau`` as the spec says), integrated in float64 in the
script's order. Each entry: (a, b, c, d, V0, u0, tau, T, I(t), mn, bias, accommodation).
"""

import numpy as np


def _win(t, s, w):
    return s < t < s + w


PANELS = {
    "tonic_spiking": (0.02, 0.2, -65, 6, -70, None, 0.25, 100, lambda t: 14 if t > 10 else 0),
    "phasic_spiking": (0.02, 0.25, -65, 6, -64, None, 0.25, 200, lambda t: 0.5 if t > 20 else 0),
    "tonic_bursting": (0.02, 0.2, -50, 2, -70, None, 0.25, 220, lambda t: 15 if t > 22 else 0),
    "phasic_bursting": (0.02, 0.25, -55, 0.05, -64, None, 0.2, 200, lambda t: 0.6 if t > 20 else 0),
    "mixed_mode": (0.02, 0.2, -55, 4, -70, None, 0.25, 160, lambda t: 10 if t > 16 else 0),
    "spike_frequency_adaptation": (0.01, 0.2, -65, 8, -70, None, 0.25, 85, lambda t: 30 if t > 8.5 else 0),
    "class1_excitability": (0.02, -0.1, -55, 6, -60, None, 0.25, 300, lambda t: 0.075 * (t - 30) if t > 30 else 0, 4.1, 108),
    "class2_excitability": (0.2, 0.26, -65, 0, -64, None, 0.25, 300, lambda t: -0.5 + 0.015 * (t - 30) if t > 30 else -0.5),
    "spike_latency": (0.02, 0.2, -65, 6, -70, None, 0.2, 100, lambda t: 7.04 if 10 < t < 13 else 0),
    "subthreshold_oscillations": (0.05, 0.26, -60, 0, -62, None, 0.25, 200, lambda t: 2 if 20 < t < 25 else 0),
    "resonator": (0.1, 0.26, -60, -1, -62, None, 0.25, 400,
                  lambda t: 0.65 if any(_win(t, s, 4) for s in (40, 60, 280, 320)) else 0),
    "integrator": (0.02, -0.1, -55, 6, -60, None, 0.25, 100,
                   lambda t: 9 if any(_win(t, s, 2) for s in (100 / 11, 100 / 11 + 5, 70, 80)) else 0, 4.1, 108),
    "rebound_spike": (0.03, 0.25, -60, 4, -64, None, 0.2, 200, lambda t: -15 if 20 < t < 25 else 0),
    "rebound_burst": (0.03, 0.25, -52, 0, -64, None, 0.2, 200, lambda t: -15 if 20 < t < 25 else 0),
    "threshold_variability": (0.03, 0.25, -60, 4, -64, None, 0.25, 100,
                              lambda t: 1 if (10 < t < 15 or 80 < t < 85) else (-6 if 70 < t < 75 else 0)),
    "bistability": (0.1, 0.26, -60, 0, -61, None, 0.25, 300,
                    lambda t: 1.24 if (37.5 < t < 42.5 or 216 < t < 221) else 0.24),
    "depolarizing_after_potential": (1, 0.2, -60, -21, -70, None, 0.1, 50, lambda t: 20 if abs(t - 10) < 1 else 0),
    "accommodation": (0.02, 1, -55, 4, -65, -16, 0.5, 400,
                      lambda t: t / 25 if t < 200 else (0 if t < 300 else ((t - 300) / 12.5 * 4 if t < 312.5 else 0)),
                      5, 140, True),
    "inhibition_induced_spiking": (-0.02, -1, -60, 8, -63.8, None, 0.5, 350, lambda t: 80 if (t < 50 or t > 250) else 75),
    "inhibition_induced_bursting": (-0.026, -1, -45, -2, -63.8, None, 0.5, 350, lambda t: 80 if (t < 50 or t > 250) else 75),
}


def run(name):
    """figure1.m for one panel: returns (I [T], V [T] as recorded, spike indices)."""
    entry = PANELS[name]
    a, b, c, d, V, u0, tau, T, current = entry[:9]
    mn, bias, accommodation = (entry[9:] + (5, 140, False)[len(entry) - 9:]) if len(entry) > 9 else (5, 140, False)
    u = b * V if u0 is None else u0
    n = int(round(T / tau)) + 1
    inputs, volts, spikes = [], [], []
    for k in range(n):
        t = round(k * tau, 9)
        I = float(current(t))
        V = V + tau * (0.04 * V**2 + mn * V + bias - u + I)
        u = u + tau * a * (b * (V + 65)) if accommodation else u + tau * a * (b * V - u)
        if V > 30:
            volts.append(30.0)
            V = c
            u = u + d
            spikes.append(k)
        else:
            volts.append(V)
        inputs.append(I)
    return np.array(inputs), np.array(volts), np.array(spikes, dtype=int)
