"""The automatic Norse port's cost against the hand-written ``lif`` port, both measured here.

    python benchmarks/autoport.py [--out FILE] [--sizes 1 100 1000] [--steps 2000] [--repeats 3]
                                  [--no-callback] [ASSESS OPTIONS, default: --patterns B --budget 2560]

Two measurements, each a ratio against a baseline measured in the same run:

1. **Assessment**: ``jaxplaus assess --model lif`` (the baseline, the hand port) and ``--model
   norse.lif_ex`` (Norse's LIFEx step, traced into JAX by :mod:`norse_bridge.autoport`) with the
   same options, each twice with its own persistent compilation cache (the second run warm), the
   runs alternating so that a change of machine load hits both. Figures from ``results.json``
   (as ``benchmarks/assessment.py``): search seconds and process wall seconds (which include
   importing torch and Norse, tracing and verifying the port). ``ratio_*``: ``norse.lif_ex``'s
   warm figure over ``lif``'s. The issue's bar: at most 1.5.
2. **Per simulated sample**: ``jaxplaus.simulate`` (float32, jit warm, the best of ``--repeats``)
   of ``--steps`` samples for batches of ``--sizes`` neurons, for the hand ``lif`` (the baseline),
   the automatic ports ``norse.lif`` and ``norse.lif_ex`` and, unless ``--no-callback``, the
   callback ``norse.lif_ex`` (the path the ports replace). ``ratio_vs_lif``: milliseconds per
   sample over the hand ``lif``'s at the same batch. The issue's bar: within 2.

Writes ``benchmarks/results/autoport.json`` (the machine, the load, every run, the ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "autoport.json"
DEFAULT_ASSESS = ["--patterns", "B", "--budget", "2560"]


def _assess_runner():
    """``benchmarks/assessment.py``'s ``_run``: one ``jaxplaus assess`` and its figures."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from assessment import _run

    return _run


def assessments(options: list[str]) -> dict:
    """Both models assessed twice (alternating); the warm runs' ratios."""
    run = _assess_runner()
    models = {"lif": ["--model", "lif"], "norse.lif_ex": ["--model", "norse.lif_ex"]}
    runs: dict[str, list[dict]] = {m: [] for m in models}
    with tempfile.TemporaryDirectory(prefix="jaxplaus-autoport-bench-") as tmp:
        tmp = Path(tmp)
        for k in range(2):  # cold (or whatever the cache holds), then warm
            for name, model in models.items():
                row = run(ROOT, tmp / f"cache-{name}", tmp / f"run-{name}-{k}", [*options, *model])
                runs[name].append(row)
                print(f"assess {name} run {k + 1}: {row['search_s']:.1f} s search, {row['process_wall_s']:.1f} s wall",
                      flush=True)
    base, port = runs["lif"][-1], runs["norse.lif_ex"][-1]
    return {
        "command": "jaxplaus assess " + " ".join(options) + " --model {lif, norse.lif_ex}",
        "runs": runs,
        "ratio_search_s": port["search_s"] / base["search_s"],
        "ratio_process_wall_s": port["process_wall_s"] / base["process_wall_s"],
    }


def _models(callback: bool) -> dict:
    import jaxplaus as jp
    import norse_bridge as nb

    out = {
        "lif": jp.models.get("lif"),
        "norse.lif (port)": nb.norse_model("lif", port="jax", register=False),
        "norse.lif_ex (port)": nb.norse_model("lif_ex", port="jax", register=False),
    }
    if callback:
        out["norse.lif_ex (callback)"] = nb.norse_model("lif_ex", port="callback", register=False)
    return out


def per_sample(sizes: list[int], steps: int, repeats: int, callback: bool) -> list[dict]:
    """Milliseconds per simulated sample of each model and batch; ratios against the hand ``lif``."""
    import jaxplaus as jp

    rows = []
    stim = 0.3 * (1 + np.sin(np.arange(steps) / 50.0))  # [T], shared: some neurons fire, some do not
    for n in sizes:
        base = None
        for name, model in _models(callback).items():
            params = {k: np.full(n, p.default) for k, p in model.parameters.items()}
            jp.simulate(model, params, stim, dtype=np.float32).v.block_until_ready()  # compile
            best = np.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                jp.simulate(model, params, stim, dtype=np.float32).v.block_until_ready()
                best = min(best, time.perf_counter() - t0)
            ms = 1e3 * best / steps
            base = ms if base is None else base
            rows.append({"model": name, "batch": n, "steps": steps, "ms_per_sample": ms, "ratio_vs_lif": ms / base})
            print(f"simulate {name:24s} batch {n:6d}: {ms:.4f} ms per sample ({ms / base:.2f}x lif)", flush=True)
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000], help="batches for the per-sample cost")
    ap.add_argument("--steps", type=int, default=2000, help="samples per simulation")
    ap.add_argument("--repeats", type=int, default=3, help="timed simulations per row (the best is kept)")
    ap.add_argument("--no-callback", action="store_true", help="leave the callback norse.lif_ex out (slow)")
    args, options = ap.parse_known_args(argv)
    options = options or DEFAULT_ASSESS
    result = {
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                    "load_average_start": os.getloadavg()},
        "assessment": assessments(options),
        "per_sample": per_sample(args.sizes, args.steps, args.repeats, not args.no_callback),
    }
    result["machine"]["load_average_end"] = os.getloadavg()
    ports = [r for r in result["per_sample"] if r["model"] == "norse.lif_ex (port)"]
    result["max_per_sample_ratio_lif_ex_port"] = max(r["ratio_vs_lif"] for r in ports)
    a = result["assessment"]
    print(f"norse.lif_ex (automatic port) over lif: assessment {a['ratio_process_wall_s']:.2f}x wall, "
          f"{a['ratio_search_s']:.2f}x search; per sample at most {result['max_per_sample_ratio_lif_ex_port']:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
