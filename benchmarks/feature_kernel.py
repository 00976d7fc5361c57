"""Where the screen's feature kernel spends its time: the pattern features in parts, as ratios.

    python benchmarks/feature_kernel.py [--sizes 2048 16384] [--repeats 7] [--calls N] [--out FILE]

The search screens each candidate with its protocol run and the pattern features carried
through the scan (``simulate_summary(..., feature_reducer(), lag=True)``, the feature reducer one
sample behind the step). This script runs that kernel with parts of the feature carry only, on
the same input (tonic bursting's warm-up + protocol, izhikevich2004, float32, random
parameters near the defaults, a shared stimulus):

- ``summary``: ``simulate_summary`` with the spike-count reducer (the engine at its fastest:
  the baseline every figure is a ratio against);
- ``lagged_empty``: the lagged kernel with a one-leaf reducer (the step, the carried voltage and
  spike, the finite flag): what any lagged reducer costs before its own leaves;
- ``one_window``: the statistics of one window (16 leaves and its open burst; :data:`WINDOW`);
- ``post_only``: the post-spike record alone (8 leaves: after-potential, turning points);
- ``no_post``: every feature but the post-spike record, in one loop;
- ``one_loop``: the complete feature carry in one loop (``feature_reducer()``: what the search
  runs);
- ``features``: the feature reducer in phases by window (``feature_reducer(by_window=True)``,
  ``Pattern.evaluate(by_window=True)``: the warm-up, each window, the rest of the protocol, each
  in a loop of its own carrying only what it changes; tonic bursting has no post-spike record).

Each variant is one compiled program, timed interleaved with the others (best of
``--repeats``); figures are neuron-steps per second and ``ratio_vs_summary``. XLA:CPU emits one
loop per carry leaf (two per complex-packed pair), so the parts add up roughly by their leaf
counts (see benchmarks/README.md). Writes ``benchmarks/results/feature_kernel.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "feature_kernel.json"
PATTERN, MODEL = "tonic_bursting", "izhikevich2004"
WINDOW = 1  # the window ``one_window`` keeps: tonic bursting's after its first 22 ms, where its spikes are


def reducers() -> dict:
    """``name -> Reducer``: the feature carry in parts (see the module docstring)."""
    import jax.numpy as jnp

    from jaxplaus.patterns import features as F
    from jaxplaus.patterns import fold
    from jaxplaus.simulate import Reducer

    def window(r, s):
        spec = s.context
        start, end = jnp.asarray(spec.start)[WINDOW], jnp.asarray(spec.end)[WINDOW]
        return F._update_window(r[0], r[1], s.k, s.v, s.spike, start, end, spec.gap)

    return {
        "lagged_empty": Reducer(init=lambda dt: jnp.zeros((), dt), update=lambda c, s: c + s.v),
        "one_window": Reducer(init=lambda dt: (F.init(dt).windows[WINDOW], F.init(dt).current_burst[WINDOW]),
                              update=window),
        "post_only": Reducer(init=lambda dt: F.init(dt).post,
                             update=lambda c, s: F._update_post(c, s.k, s.v, s.spike, s.context)),
        "no_post": Reducer(init=F.init, update=lambda r, s: fold.update(r, s, s.context)._replace(post=r.post)),
        "one_loop": F.feature_reducer(),
        "features": F.feature_reducer(by_window=True),
    }


def measure(n: int, repeats: int, calls: int | None = None) -> dict:
    """The variants at ``n`` candidates: compiled, then timed in turns (``calls`` calls a
    timing; default: about 2e5 candidates' worth)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxplaus import models, patterns
    from jaxplaus.simulate import simulate_summary, spike_count_reducer

    pattern = patterns.get(PATTERN)
    model = models.with_input_gain(models.get(MODEL))
    x, spec = pattern.run_stimulus(), pattern.spec()
    rng = np.random.default_rng(0)
    defaults = models.get(MODEL).defaults()
    params = {k: jnp.asarray(v * rng.uniform(0.8, 1.2, n), jnp.float32) for k, v in defaults.items()}
    params["gain"] = jnp.asarray(rng.uniform(0.5, 2.0, n), jnp.float32)

    def program(reducer, lag):
        def run(p):
            out = simulate_summary(model, p, x, reducer, context=spec, unroll=1 if lag else 4, lag=lag)
            return out.values, out.finite

        return jax.jit(run).lower(params).compile()

    programs = {"summary": program(spike_count_reducer(), False)}
    programs.update({name: program(r, True) for name, r in reducers().items()})
    for f in programs.values():
        jax.block_until_ready(f(params))
    best = dict.fromkeys(programs, float("inf"))
    calls = calls or max(1, int(2e5 // n))
    for _ in range(repeats):
        for name, f in programs.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                jax.block_until_ready(f(params))
            best[name] = min(best[name], (time.perf_counter() - t0) / calls)
    steps = n * len(x)
    return {name: {"seconds": s, "neuron_steps_per_s": steps / s, "ratio_vs_summary": best["summary"] / s}
            for name, s in best.items()}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2048, 16384])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--calls", type=int, default=None, help="calls per timing (default: about 2e5 candidates' worth)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    import jax

    from jaxplaus.files import write_json

    result = {
        "benchmark": "feature_kernel", "pattern": PATTERN, "model": MODEL, "dtype": "float32",
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                    "jax": jax.__version__, "load_average_start": os.getloadavg()},
        "sizes": {},
    }
    for n in args.sizes:
        result["sizes"][str(n)] = rows = measure(n, args.repeats, args.calls)
        print(f"batch {n}: " + ", ".join(f"{k} {v['neuron_steps_per_s'] / 1e6:.0f}M/s ({v['ratio_vs_summary']:.3f})"
                                         for k, v in rows.items()), flush=True)
    result["machine"]["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"wrote {write_json(args.out, result)}")
    return result


if __name__ == "__main__":
    main()
