"""``python -m norse_bridge.probe``: crosscheck_protocols for some models, one JSON line of totals.

Run by :func:`norse_bridge.fma.run_probe` in a subprocess, so that ``XLA_FLAGS`` (FMA on
or off) is set before jax is imported. Progress goes to stderr, the JSON line to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m norse_bridge.probe", description=__doc__)
    parser.add_argument("--models", nargs="+", default=["lif", "izhikevich"])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--protocols", nargs="+", default=None)
    parser.add_argument("--flush-denormal", action="store_true", help="run Norse with torch.set_flush_denormal(True)")
    args = parser.parse_args(argv)

    cache = os.environ.get("JAXPLAUS_CACHE_DIR")
    if cache:  # JAX's persistent compilation cache (its key includes XLA_FLAGS)
        import jax

        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

    from norse_bridge.protocols import crosscheck_protocols

    out = {}
    for model in args.models:
        t0 = time.perf_counter()
        table = crosscheck_protocols(model, args.n, args.seed, args.protocols, flush_denormal=args.flush_denormal)
        out[model] = table.to_dict()
        out[model]["seconds"] = time.perf_counter() - t0
        print(table.format(), file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
