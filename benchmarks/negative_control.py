"""The LIF negative control: random LIF candidates pass none of the patterns a LIF cannot show.

    python benchmarks/negative_control.py [--n 100000] [--out FILE]

A plain LIF has no slow variable, so it cannot show 14 of the 20 patterns (docs/patterns.md).
``n`` random candidates per pattern (every parameter uniform within its search bounds, or
log-uniform where the bound is logarithmic; the input gain log-uniform in 1e-5..1e2; seed =
the pattern's index in :data:`LIF_CANNOT`) are screened as the search screens them (the suite
loss of the 14 patterns, one compiled program: the lagged feature kernel, the protocol run
alone, a lower bound of the complete loss), and every zero of the screen is judged strictly
(``Pattern.check``, float64 with the control run). Writes
``benchmarks/results/negative_control.json``: per pattern, the candidates tried, the strict
passes (0 is the claim) and the lowest screen loss. The test suite runs the same screen on
fewer candidates (tests/test_patterns.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "negative_control.json"
LIF_CANNOT = (
    "phasic_spiking", "tonic_bursting", "phasic_bursting", "mixed_mode", "spike_frequency_adaptation",
    "subthreshold_oscillations", "resonator", "rebound_spike", "rebound_burst", "threshold_variability",
    "bistability", "accommodation", "inhibition_induced_spiking", "inhibition_induced_bursting",
)
GAIN = (1e-5, 1e2)
CHUNK = 50_000  # candidates per call


def uniform_candidates(model, n: int, seed: int, gain=GAIN) -> dict:
    """``name -> [n]`` float32: each parameter uniform in its bounds (log-uniform where its bound
    is logarithmic), and ``"gain"`` log-uniform in ``gain``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for k, q in model.parameters.items():
        out[k] = np.exp(rng.uniform(np.log(q.lo), np.log(q.hi), n)) if q.log else rng.uniform(q.lo, q.hi, n)
    out["gain"] = np.exp(rng.uniform(np.log(gain[0]), np.log(gain[1]), n))
    return {k: v.astype(np.float32) for k, v in out.items()}


def screen(n: int, progress=None) -> list[dict]:
    """One row per pattern of :data:`LIF_CANNOT`: ``n`` random LIF candidates screened, the
    screen's zeros judged strictly (see the module docstring)."""
    import numpy as np

    from jaxplaus import models, patterns
    from jaxplaus.assess.objective import SuiteLoss, batched_loss
    from jaxplaus.patterns.base import DEFAULT_WARMUP

    lif = models.get("lif")
    pats = tuple(patterns.get(name) for name in LIF_CANNOT)
    loss = SuiteLoss(lif, pats, DEFAULT_WARMUP, lag=True, control=False)
    rows = []
    for seed, p in enumerate(pats):
        cand = uniform_candidates(lif, n, seed)
        losses = np.concatenate([
            np.asarray(batched_loss(loss, {k: v[None, i : i + CHUNK] for k, v in cand.items()},
                                    np.array([seed], np.int32)))[0]
            for i in range(0, n, CHUNK)
        ])
        if losses.shape != (n,) or not np.all(np.isfinite(losses)):
            raise RuntimeError(f"{p.name}: the screen returned {losses.shape} losses, not all finite")
        gain = cand.pop("gain")
        zeros = np.flatnonzero(losses == 0)
        passes = sum(p.check(lif, {k: v[j] for k, v in cand.items()}, gain[j]).passed for j in zeros)
        rows.append({"pattern": p.name, "candidates": n, "screen_zeros": int(len(zeros)), "passes": int(passes),
                     "lowest_screen_loss": float(losses.min())})
        if progress is not None:
            progress(rows[-1])
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="random candidates per pattern")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error(f"--n must be a positive number of candidates, got {args.n}")
    import jax

    from jaxplaus.files import write_json

    t0 = time.perf_counter()
    rows = screen(args.n, progress=lambda r: print(
        f"{r['pattern']:30s} {r['candidates']:7d} candidates, {r['passes']} passes, "
        f"lowest screen loss {r['lowest_screen_loss']:.3f}", flush=True))
    result = {
        "benchmark": "negative_control", "model": "lif", "command": "python benchmarks/negative_control.py",
        "candidates_per_pattern": args.n, "gain_range": list(GAIN), "seeds": "the pattern's index in the list",
        "passes": sum(r["passes"] for r in rows), "patterns": rows, "seconds": time.perf_counter() - t0,
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                    "jax": jax.__version__},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{result['passes']} passes in all; wrote {write_json(args.out, result)}")
    return result


if __name__ == "__main__":
    main()
