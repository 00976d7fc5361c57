"""``jaxplaus crosscheck``: the JAX ports against Norse 1.1.0 on the 20 protocols.

Wire it into a parent parser with::

    p = sub.add_parser("crosscheck", help="check lif/adex/izhikevich against Norse 1.1.0")
    norse_bridge.cli.configure_parser(p)
    p.set_defaults(func=norse_bridge.cli.run_cli)

``configure_parser`` imports neither torch nor Norse (``jaxplaus --help`` stays fast and works
without them); ``run_cli`` imports them and, if they are missing, prints how to install them and
returns 2. It prints a table (per protocol: candidates, spike trains identical, max |dv|,
bitwise identical, and the one-step check) and returns 0 when every spike train agrees, else 1.
``--model norse.<cell>`` checks a built-in cell's automatic JAX port (:mod:`norse_bridge.autocheck`)
and says whether the port is used or refused (and why); a refused port also returns 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from norse_bridge.cells import CELLS
from norse_bridge.mapping import MODELS

CELL_MODELS = tuple(f"norse.{c}" for c in CELLS)  # the built-in cells' automatic ports


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the crosscheck options to ``parser`` (a subcommand's parser); returns it."""
    parser.description = parser.description or __doc__.splitlines()[0]
    parser.add_argument(
        "--model", required=True, choices=(*MODELS, *CELL_MODELS),
        help="the JAX port to check: a hand port, or norse.<cell> for a built-in cell's automatic port",
    )
    parser.add_argument("--n", type=int, default=1000, help="random parameter sets per protocol (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the parameter and gain draws (default 0)")
    parser.add_argument(
        "--protocols", nargs="+", default=None, metavar="P",
        help="protocol names or letters A-T (default: all 20)",
    )
    parser.add_argument(
        "--no-presets", action="store_true",
        help="izhikevich: leave Norse's 20 presets out of the candidates",
    )
    parser.add_argument("--max-mismatches", type=int, default=10, help="differing candidates to describe (default 10)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object instead")
    parser.add_argument(
        "--no-fma", action="store_true",
        help="run in a fresh Python with XLA_FLAGS=--xla_cpu_max_isa=AVX (XLA's fused multiply-add off, "
        "as torch computes): the mode in which lif and izhikevich agree with Norse bit for bit",
    )
    return parser


def _argv(args: argparse.Namespace) -> list[str]:
    """``args`` back as command-line options (for the --no-fma subprocess)."""
    argv = ["--model", args.model, "--n", str(args.n), "--seed", str(args.seed)]
    if args.protocols:
        argv += ["--protocols", *args.protocols]
    if args.no_presets:
        argv.append("--no-presets")
    argv += ["--max-mismatches", str(args.max_mismatches)]
    if args.json:
        argv.append("--json")
    return argv


def run_cli(args: argparse.Namespace) -> int:
    """Run the crosscheck described by ``args``; print the table. 0: all spike trains agree."""
    from norse_bridge._deps import require

    try:
        require()
    except ImportError as err:
        print(f"jaxplaus crosscheck: {err}", file=sys.stderr)
        return 2
    if args.n < 1:
        print(f"jaxplaus crosscheck: --n must be positive, got {args.n}", file=sys.stderr)
        return 2
    from norse_bridge.fma import fma_disabled, subprocess_env
    from norse_bridge.protocols import crosscheck_protocols

    if getattr(args, "no_fma", False) and not fma_disabled():
        # the flag only acts if set before jax is imported: run the command again in a fresh Python
        env = subprocess_env(fma=False)
        return subprocess.run([sys.executable, "-m", "norse_bridge", *_argv(args)], env=env).returncode

    try:
        table = crosscheck_protocols(
            args.model, args.n, args.seed, args.protocols, presets=not args.no_presets,
            max_diagnosed=max(args.max_mismatches, 0),
        )
    except ValueError as err:  # e.g. an unknown protocol name
        print(f"jaxplaus crosscheck: {err}", file=sys.stderr)
        return 2
    status = _port_status(args.model)
    if args.json:
        print(json.dumps({**table.to_dict(), **({"port": status} if status else {})}))
    else:
        print(table.format(max_mismatches=args.max_mismatches))
        if status:
            print(f"automatic port: {'used' if status['ok'] else 'REFUSED'} ({status['reason']})")
    return 0 if table.all_identical and (not status or status["ok"]) else 1


def _port_status(model: str) -> dict | None:
    """A built-in cell's automatic-port verdict (``ok``, ``reason``), None for a hand port."""
    if model not in CELL_MODELS:
        return None
    from norse_bridge import autoport

    ok, reason = autoport.port_status(CELLS[model.removeprefix("norse.")])
    return {"ok": ok, "reason": reason}


def main(argv=None) -> int:
    """``python -m norse_bridge``: the same command, standalone."""
    parser = configure_parser(argparse.ArgumentParser(prog="python -m norse_bridge"))
    return run_cli(parser.parse_args(argv))
