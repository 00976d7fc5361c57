"""The pattern losses and verdicts of a fixed batch of candidates: to check that a change of
code leaves the objective bit for bit the same.

    python scripts/objective_fingerprint.py OUT.npz [--models izhikevich2004 adex lif] [--n 64]
    python scripts/objective_fingerprint.py --compare A.npz B.npz

For each model: ``n`` points drawn uniformly in the assessment's search space (seed 0, float64),
plus the model's defaults; for every one of the 20 patterns, the suite loss of each point in
float32 and float64 (:func:`jaxplaus.patterns.suite.suite_loss`, the search's objective before
jitter) and, for the first 4 points, the strict float64 verdict (loss and failed criteria). Only
public API is used, so the script runs against any version of the code. ``--compare`` exits 0
when every array is bitwise equal.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def fingerprint(models, n: int) -> dict[str, np.ndarray]:
    import jax
    import jax.numpy as jnp

    from jaxplaus import patterns
    from jaxplaus import search as S
    from jaxplaus._precision import precision
    from jaxplaus.assess import default_gain_bounds
    from jaxplaus.models import get
    from jaxplaus.patterns.suite import suite_loss

    pats = tuple(patterns.get(p) for p in patterns.names())
    out = {}
    for name in models:
        model = get(name)
        space = S.search_space(model, gain=default_gain_bounds(model))
        z = np.random.default_rng(0).uniform(0, 1, (n, space.num_dims))
        with precision("float64"):
            phys = {k: np.asarray(v) for k, v in S.to_physical(space, jnp.asarray(z)).items()}
        for k, v in model.defaults().items():
            phys[k] = np.append(phys[k], v)
        phys["gain"] = np.append(phys["gain"], 1.0)
        loss = suite_loss(model, pats)
        for dtype in ("float32", "float64"):
            with precision(dtype) as dt:
                fn = jax.jit(jax.vmap(loss, in_axes=(None, 0)))
                values = fn({k: jnp.asarray(v, dt) for k, v in phys.items()}, jnp.arange(len(pats), dtype=jnp.int32))
                out[f"{name}/loss/{dtype}"] = np.asarray(values)
        verdicts = []
        for p in pats:
            for i in range(4):
                params = {k: float(phys[k][i]) for k in model.parameters}
                v = p.check(model, params, float(phys["gain"][i]))
                verdicts.append([p.name, i, v.loss, list(v.failed), v.features])
        out[f"{name}/verdicts"] = np.asarray(json.dumps(verdicts, sort_keys=True))
    return out


def compare(a_path: str, b_path: str) -> int:
    a, b = np.load(a_path, allow_pickle=False), np.load(b_path, allow_pickle=False)
    keys = sorted(set(a.files) | set(b.files))
    bad = 0
    for k in keys:
        if k not in a.files or k not in b.files:
            print(f"{k}: only in {'A' if k in a.files else 'B'}")
            bad += 1
            continue
        x, y = a[k], b[k]
        same = x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
        if not same:
            bad += 1
            diff = "" if x.dtype.kind in "US" else f" (max |diff| {np.nanmax(np.abs(x - y)):.3g})"
            print(f"{k}: differs{diff}")
    print(f"{len(keys) - bad} of {len(keys)} arrays bitwise equal")
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?")
    ap.add_argument("--models", nargs="+", default=["izhikevich2004", "adex", "lif"])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = ap.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if not args.out:
        ap.error("give OUT.npz or --compare A B")
    np.savez(args.out, **fingerprint(args.models, args.n))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
