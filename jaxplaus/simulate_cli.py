"""The ``simulate`` command: one candidate on one pattern's protocol, its spikes and its verdict."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import numpy as np

from jaxplaus.errors import UserInputError


def _finite_number(what: str, value) -> float:
    """``value`` as a float, or a UserInputError naming ``what``: a JSON string, null, list,
    bool, NaN or infinity is not a parameter value."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise UserInputError(f"{what} must be a finite number, got {json.dumps(value)}")
    return float(value)


def _simulate_inputs(args, model) -> tuple[dict, float]:
    """``(params, gain)`` of ``simulate``: the model's defaults, then ``--params`` (which may
    hold the gain), then ``--gain``; every value a finite number, the gain > 0."""
    params, gain, gain_from = model.defaults(), 1.0, "--gain"
    if args.params:
        try:
            given = json.loads(args.params)
        except json.JSONDecodeError as err:
            raise UserInputError(f"--params is not valid JSON ({err}): {args.params!r}") from None
        if not isinstance(given, dict):
            raise UserInputError(f"--params must be a JSON object of parameter values, got {args.params!r}")
        unknown = sorted(set(given) - set(model.parameters) - {"gain"})
        if unknown:
            raise UserInputError(f"--params: unknown parameters {unknown} for model {model.name!r}; "
                                 f"known: {list(model.parameters)} and 'gain'")
        given = {k: _finite_number(f"--params {k!r}", v) for k, v in given.items()}
        if "gain" in given:  # e.g. pasted from results.json
            gain, gain_from = given.pop("gain"), "--params 'gain'"
        params.update(given)
    gain = gain if args.gain is None else _finite_number("--gain", args.gain)
    if not gain > 0:
        raise UserInputError(f"{'--gain' if args.gain is not None else gain_from} must be > 0, got {gain:g}")
    return params, gain


def _cmd_simulate(args, resolve_model: Callable) -> int:
    from jaxplaus import models, patterns
    from jaxplaus.assess.checks import int_in
    from jaxplaus.patterns.base import MAX_WARMUP

    model = models.get(resolve_model(args.model))
    pattern = patterns.get(args.pattern)
    params, gain = _simulate_inputs(args, model)
    int_in(0, MAX_WARMUP)("--warmup", args.warmup)
    trace, _ = pattern.run(model, params, gain, warmup=args.warmup, dtype=args.dtype)
    spikes = np.asarray(trace.spikes)[args.warmup :]
    idx = np.flatnonzero(spikes)
    print(
        f"{model.name} on {pattern.name} (gain {gain:g}, {args.dtype}, warm-up {args.warmup} samples): "
        f"{len(idx)} spikes, finite={bool(trace.finite)}"
    )
    print("spike times (ms):", ", ".join(f"{t:g}" for t in pattern.times()[idx]))
    verdict = pattern.check(model, params, gain, warmup=args.warmup, dtype=args.dtype)
    print(f"verdict: {'PASSED' if verdict.passed else 'failed'} (loss {verdict.loss:.4g})")
    for line in verdict.failed:
        print(f"  - {line}")
    return 0


def configure(sub, resolve_model: Callable) -> None:
    """Add the ``simulate`` subcommand to the ``sub`` parsers."""
    p = sub.add_parser("simulate", help="simulate one candidate on one pattern's protocol and judge it")
    p.add_argument("--model", required=True)
    p.add_argument("--pattern", required=True)
    p.add_argument("--params", help='JSON object of parameter values (may hold "gain"), e.g. \'{"a": 0.02}\'')
    p.add_argument("--gain", type=float, default=None, help="input gain (default 1, or --params' gain)")
    p.add_argument("--warmup", type=int, default=500, help="samples of the first input held first (default 500)")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"], help="precision (default float64)")
    p.set_defaults(func=functools.partial(_cmd_simulate, resolve_model=resolve_model))


__all__ = ["configure"]
