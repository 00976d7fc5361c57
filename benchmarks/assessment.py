"""Assessment throughput: evaluations per second of a default assessment, against a baseline commit.

    python benchmarks/assessment.py [--baseline REV] [--current-extra "OPTIONS"] [--out FILE] [ASSESS OPTIONS]

Runs ``jaxplaus assess`` (the command a user runs; default settings unless options follow) twice
in this working tree and, with ``--baseline REV``, twice in a clean checkout of ``REV`` (a
temporary ``git worktree``), each tree with its own persistent compilation cache, so the second
run of each is warm. ``--current-extra`` adds options to this tree's runs only (an option the
baseline does not have, such as a new speed setting). The runs alternate between the trees, so
a change of machine load hits both. From each run's ``results.json``: objective evaluations,
search seconds, wall seconds and the seconds outside the search (start-up, compilation not
cached, validation, writing). Figures are those of the warm (second) runs; ``ratio`` is this
tree's evaluations per second over the baseline's. Then the loss path at the same batch: this
tree's search objective (the resolved settings' screen) on one generation's candidates
(patterns x restarts x population) in three layouts (see :func:`loss_path`);
``rate_vs_loss_path`` is the warm assessment's neuron-steps per second of search over the
fastest layout's rate, the loss path measured before and after the runs (the faster counts).
Writes ``benchmarks/results/assessment.json`` (the machine, the load,
both trees' runs and the ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "assessment.json"


def _run(tree: Path, cache: Path, out: Path, options: list[str]) -> dict:
    """One ``jaxplaus assess`` in ``tree``; its figures from ``results.json``."""
    env = dict(os.environ, PYTHONPATH=str(tree), JAXPLAUS_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-m", "jaxplaus.cli", "assess", "--out", str(out), "--no-report", "--quiet", *options]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {tree}:\n{proc.stderr[-3000:]}")
    res = json.loads((out / "results.json").read_text())
    search_s = res["timing"]["search_s"]
    evaluations = res["search"]["evaluations"]
    row = {
        "score": res["score"]["passed"], "assessed": res["score"]["assessed"], "profile": res["profile"],
        "evaluations": evaluations, "search_s": search_s, "process_wall_s": round(wall, 3),
        "outside_search_s": round(wall - search_s, 3), "evaluations_per_s": evaluations / search_s,
    }
    if "neuron_steps" in res["search"]:
        row["neuron_steps"] = res["search"]["neuron_steps"]
        row["neuron_steps_per_s"] = res["search"]["neuron_steps"] / search_s
    return row


def loss_path(options: list[str]) -> dict:
    """Neuron-steps per second of this tree's search objective on one generation's candidates
    (patterns x restarts x population, for the settings ``options`` resolve to), in three
    layouts of the same candidates: ``per_lane`` (one call per restart lane), ``grouped`` (one
    call per group of ``lane_group`` lanes: what the search runs) and ``per_pattern`` (one call
    per pattern), best of 5 calls each, in turns. ``best`` is the fastest of the three (the
    baseline the search is held to)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxplaus import search
    from jaxplaus._precision import precision
    from jaxplaus.assess import config
    from jaxplaus.assess.objective import batched_loss, search_objectives
    from jaxplaus.assess.plan import plan
    from jaxplaus.search.config import search_config

    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    p = plan(**config.given_options(parser.parse_args(options)))
    s = p.settings
    objective = search_objectives(p.model, p.patterns, s.warmup, p.space, s.jitter, s.lagged_features,
                                  s.full_loss, p.generations).objective
    n, lanes, pop = len(p.patterns), s.restarts, s.population_size
    group = search_config(p.space, s.strategy, pop, 1, lanes, n, "uniform", s.search_dtype).lane_group
    layouts = {"per_lane": lanes, "grouped": lanes // group, "per_pattern": 1}  # calls per pattern
    out = {"candidates": n * lanes * pop, "lane_group": group}
    with precision(s.search_dtype) as dt:
        z = np.random.default_rng(0).uniform(size=(n * lanes * pop, p.space.num_dims))
        calls = {}
        for name, per in layouts.items():
            params = search.to_physical(p.space, jnp.asarray(z.reshape(n * per, -1, z.shape[-1]), dt))
            calls[name] = (params, jnp.repeat(jnp.arange(n, dtype=jnp.int32), per))
            jax.block_until_ready(batched_loss(objective, *calls[name]))
        best = dict.fromkeys(layouts, float("inf"))
        for _ in range(5):  # the layouts in turn, so a change of machine load hits each
            for name, args in calls.items():
                t0 = time.perf_counter()
                jax.block_until_ready(batched_loss(objective, *args))
                best[name] = min(best[name], time.perf_counter() - t0)
    steps = lanes * pop * int(np.sum(objective.samples_per_candidate()))  # each pattern its own length
    for name, per in layouts.items():
        out[name] = {"calls": n * per, "seconds": best[name], "neuron_steps_per_s": steps / best[name]}
    out["best"] = max(out[k]["neuron_steps_per_s"] for k in layouts)
    out["grouped_over_per_lane"] = out["grouped"]["neuron_steps_per_s"] / out["per_lane"]["neuron_steps_per_s"]
    return out


def fastest(*sessions: dict) -> dict:
    """:func:`loss_path` measured in several sessions (before and after the assessment runs, so a
    slow spell of the machine does not flatter the search's share): each layout's fastest
    session; ``sessions_best`` keeps every session's ``best``."""
    layouts = ("per_lane", "grouped", "per_pattern")
    out = dict(sessions[0])
    for name in layouts:
        out[name] = min((s[name] for s in sessions), key=lambda row: row["seconds"])
    out["best"] = max(out[k]["neuron_steps_per_s"] for k in layouts)
    out["grouped_over_per_lane"] = out["grouped"]["neuron_steps_per_s"] / out["per_lane"]["neuron_steps_per_s"]
    out["sessions_best"] = [s["best"] for s in sessions]
    return out


def _worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", "-f", str(where), rev], cwd=ROOT, check=True,
                   capture_output=True)
    return where


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", metavar="REV", help="a commit to compare against (e.g. the previous main)")
    ap.add_argument("--current-extra", default="", metavar="OPTIONS", help="assess options for this tree only")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    args, options = ap.parse_known_args(argv)
    extra = {"current": args.current_extra.split(), "baseline": []}
    from jaxplaus.files import write_json

    before = loss_path(options + extra["current"])  # measured again after the runs: the faster of the two counts
    with tempfile.TemporaryDirectory(prefix="jaxplaus-assess-bench-") as tmp:
        tmp = Path(tmp)
        trees = {"current": ROOT}
        if args.baseline:
            trees["baseline"] = _worktree(args.baseline, tmp / "baseline")
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        try:
            for k in range(2):  # cold (or whatever the cache holds), then warm
                for name, tree in trees.items():
                    row = _run(tree, tmp / f"cache-{name}", tmp / f"run-{name}-{k}", options + extra[name])
                    runs[name].append(row)
                    print(f"{name} run {k + 1}: {row['score']}/{row['assessed']}, {row['evaluations']} evaluations in "
                          f"{row['search_s']:.1f} s of search ({row['evaluations_per_s']:.0f}/s), "
                          f"{row['outside_search_s']:.1f} s outside", flush=True)
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(trees["baseline"])], cwd=ROOT,
                               capture_output=True)
    result = {
        "command": "jaxplaus assess " + " ".join(options or ["(defaults)"]),
        "current_extra": args.current_extra,
        "baseline": args.baseline,
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                    "load_average": os.getloadavg()},
        "runs": runs,
    }
    if args.baseline:
        result["ratio"] = runs["current"][-1]["evaluations_per_s"] / runs["baseline"][-1]["evaluations_per_s"]
        print(f"evaluations per second, warm runs: {result['ratio']:.2f}x the baseline ({args.baseline})")
    result["loss_path"] = fastest(before, loss_path(options + extra["current"]))
    result["rate_vs_loss_path"] = runs["current"][-1]["neuron_steps_per_s"] / result["loss_path"]["best"]
    print(f"neuron-steps per second of search, warm run: {result['rate_vs_loss_path']:.2f} of the loss path's at the "
          f"same batch ({result['loss_path']['candidates']} candidates, its fastest layout); grouped lanes: "
          f"{result['loss_path']['grouped_over_per_lane']:.2f}x one call per lane")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"wrote {write_json(args.out, result)}")
    return result


if __name__ == "__main__":
    main()
