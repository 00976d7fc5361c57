"""Random parameter sets for tests: uniform within a model's bounds (log-uniform where
``Parameter.log``)."""

import numpy as np


def random_params(model, n: int, rng) -> dict[str, np.ndarray]:
    """``name -> [n]`` float64 draws; ``rng`` a numpy Generator or a seed."""
    rng = np.random.default_rng(rng)
    out = {}
    for name, p in model.parameters.items():
        if p.log:
            out[name] = np.exp(rng.uniform(np.log(p.lo), np.log(p.hi), n))
        else:
            out[name] = rng.uniform(p.lo, p.hi, n)
    return out
