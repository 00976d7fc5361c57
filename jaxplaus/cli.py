"""The ``jaxplaus`` command line: a thin layer over the library."""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np


def _enable_compilation_cache() -> None:
    """Reuse compiled kernels across runs (JAX's persistent compilation cache)."""
    import jax

    cache = os.environ.get("JAXPLAUS_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jaxplaus", "jax"))
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def _cmd_list(args) -> int:
    from jaxplaus import models, patterns

    if args.what == "models":
        for name in models.names():
            m = models.get(name)
            print(f"{name:30s} {', '.join(m.parameters)}")
    elif args.what == "patterns":
        for name in patterns.names():
            p = patterns.get(name)
            print(f"{p.letter}  {name:30s} {p.group:10s} {p.description}")
    return 0


def _cmd_reference(args) -> int:
    """The 20 figure1.m protocols simulated with izhikevich2004: spike counts and times."""
    from jaxplaus import patterns

    print(f"{'':2} {'pattern':30s} {'group':10s} {'spikes':>6}  first spike times (ms)")
    for name in patterns.names():
        p = patterns.get(name)
        tr = p.reference_trace()
        idx = np.flatnonzero(np.asarray(tr.spikes))
        times = ", ".join(f"{t:g}" for t in p.times()[idx][:6]) + (" ..." if len(idx) > 6 else "")
        print(f"{p.letter:2} {name:30s} {p.group:10s} {len(idx):6d}  {times}")
    return 0


def _cmd_simulate(args) -> int:
    from jaxplaus import models, patterns, simulate

    model = models.get(args.model)
    pattern = patterns.get(args.pattern)
    params = model.defaults()
    if args.params:
        given = json.loads(args.params)
        if not isinstance(given, dict):
            raise ValueError(f"--params must be a JSON object of parameter values, got {args.params!r}")
        params.update(given)
    tr = simulate(model, params, pattern.stimulus(args.gain), dtype=args.dtype)
    idx = np.flatnonzero(np.asarray(tr.spikes))
    print(f"{model.name} on {pattern.name} (gain {args.gain:g}): {len(idx)} spikes, finite={bool(tr.finite)}")
    print("spike times (ms):", ", ".join(f"{t:g}" for t in pattern.times()[idx]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxplaus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list models or patterns")
    p.add_argument("what", choices=["models", "patterns"])
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("reference", help="the 20 figure1.m protocols with their reference parameters")
    p.set_defaults(func=_cmd_reference)

    p = sub.add_parser("assess", help="assess a model (for now: the 20 reference protocols)")
    p.set_defaults(func=_cmd_reference)

    p = sub.add_parser("simulate", help="simulate one candidate on one pattern's protocol")
    p.add_argument("--model", required=True)
    p.add_argument("--pattern", required=True)
    p.add_argument("--params", help='JSON object of parameter values, e.g. \'{"a": 0.02}\'')
    p.add_argument("--gain", type=float, default=1.0, help="input gain (default 1)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.set_defaults(func=_cmd_simulate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _enable_compilation_cache()
    try:
        return args.func(args)
    except (ValueError, TypeError) as err:
        print(f"jaxplaus: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
