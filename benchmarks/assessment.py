"""Assessment throughput: evaluations per second of a default assessment, against a baseline commit.

    python benchmarks/assessment.py [--baseline REV] [--current-extra "OPTIONS"] [--out FILE] [ASSESS OPTIONS]

Runs ``jaxplaus assess`` (the command a user runs; default settings unless options follow) twice
in this working tree and, with ``--baseline REV``, twice in a clean checkout of ``REV`` (a
temporary ``git worktree``), each tree with its own persistent compilation cache, so the second
run of each is warm. ``--current-extra`` adds options to this tree's runs only (an option the
baseline does not have, such as a new speed setting). The runs alternate between the trees, so a change of machine load hits both.
From each run's ``results.json``: objective evaluations, search seconds, wall seconds and the
seconds outside the search (start-up, compilation not cached, validation, writing). Figures
are those of the warm (second) runs; ``ratio`` is this tree's evaluations per second over the
baseline's. Writes ``benchmarks/results/assessment.json`` (the machine, the load, both trees'
runs and the ratio).
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
