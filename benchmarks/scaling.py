"""An assessment's search split over 1, 2 and 4 devices: evaluations per second, as ratios.

    python benchmarks/scaling.py [--devices 1 2 4] [--repeats 3] [--out FILE] [--assess JSON]

``--assess`` replaces ``assess()`` keywords of the default (``{"model": "lif", "patterns":
["C", "D", "E", "F"], "budget": 16384, "restarts": 8, "robustness_copies": 0, "seed": 0}``).

Each device count runs in its own subprocess with that many forced XLA CPU devices
(``--xla_force_host_platform_device_count``, set before jax is imported), all sharing one
fresh compilation cache. In each, ``jaxplaus.assess(..., devices=N)`` runs once to compile;
then ``--repeats`` rounds run it once warm in each subprocess in turn (interleaved, so that a
change of the machine's load hits every count), and each count's shortest search is kept. Figures:
evaluations and candidates simulated per second of search (``results.json``'s ``search`` over
``timing.search_s``), and whether the result (``results.json`` without its timings) equals the
1-device run's. Every speed is also given as a ratio against the 1-device run of the same
script (``ratio_vs_1``).

The default assessment is one ``lif`` cannot pass (tonic bursting, phasic bursting, mixed
mode, spike frequency adaptation), so every run spends its whole budget: 4 patterns x 8 lanes
x 16 candidates = 512 candidates a generation, 128 generations.

Forced CPU devices are slices of the same CPU: on this 2-core machine 2 and 4 devices share
the 2 cores that the 1-device run already uses (XLA splits its loops over both). The
ratios therefore measure the correctness and the overhead of the split (the lanes gathered
and put back, one reduction chain per generation), not a speed-up; on several GPUs each device
brings its own compute.

Writes ``benchmarks/results/scaling.json`` (the machine, the load, every run, the ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "scaling.json"
DEFAULT_ASSESS = {"model": "lif", "patterns": ["C", "D", "E", "F"], "budget": 16384, "restarts": 8,
                  "robustness_copies": 0, "seed": 0}


def _worker(job: dict) -> None:
    """One device count, kept alive: one assessment per line read from stdin (the first
    compiles), each printed as one JSON line; the last one's result (without timings) too."""
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={job['devices']}"
    import time

    import jax

    jax.config.update("jax_compilation_cache_dir", job["cache"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    import jaxplaus as jp
    from jaxplaus.files import strip_timings

    for _ in sys.stdin:
        t0, c0 = time.perf_counter(), time.process_time()
        a = jp.assess(**job["assess"], devices=job["devices"])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        s = a.timing["search_s"]
        result = strip_timings(a.to_dict())
        result.pop("versions", None)
        print(json.dumps({"devices": jax.device_count(), "used": a.timing["devices"], "search_s": s, "wall_s": wall,
                          "cpu_per_wall": cpu / wall, "evaluations": a.search["evaluations"],
                          "candidates_simulated": a.search["candidates_simulated"],
                          "evaluations_per_s": a.search["evaluations"] / s,
                          "candidates_per_s": a.search["candidates_simulated"] / s,
                          "profile": a.profile, "result": result}), flush=True)


def _start(n: int, assess: dict, cache: str) -> subprocess.Popen:
    job = {"devices": n, "assess": assess, "cache": cache}
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("XLA_FLAGS", None)
    return subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(job)], env=env, cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def _ask(proc: subprocess.Popen) -> dict:
    """One assessment of a worker."""
    proc.stdin.write("run\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the worker stopped (exit status {proc.wait()})")
    return json.loads(line)


def measure(devices: list[int], repeats: int, assess: dict) -> dict:
    """A worker per device count (each compiled by a first run, one after the other), then
    ``repeats`` rounds with one warm run of each count in turn (interleaved, so that a change
    of machine load hits all); each count's fastest warm search, as ratios against the first."""
    with tempfile.TemporaryDirectory(prefix="jaxplaus-scaling-") as cache:
        procs = {n: _start(n, assess, cache) for n in devices}
        try:
            runs = {n: [dict(_ask(p), warm=False)] for n, p in procs.items()}
            for _ in range(repeats):
                for n, p in procs.items():
                    runs[n].append(dict(_ask(p), warm=True))
                    r = runs[n][-1]
                    print(f"{n} device(s): {r['evaluations_per_s']:,.0f} evaluations/s, search {r['search_s']:.2f} s, "
                          f"cpu/wall {r['cpu_per_wall']:.2f}", flush=True)
        finally:
            for p in procs.values():
                p.stdin.close()
                p.wait(timeout=60)
    rows = []
    for n, rs in runs.items():
        best = min((r for r in rs if r["warm"]), key=lambda r: r["search_s"])
        rows.append({"devices": n, "used": best["used"], "best": {k: v for k, v in best.items() if k != "result"},
                     "result": best["result"], "runs": [{k: v for k, v in r.items() if k != "result"} for r in rs]})
    base = rows[0]
    for r in rows:
        r["ratio_vs_1"] = {k: r["best"][k] / base["best"][k] for k in ("evaluations_per_s", "candidates_per_s")}
        r["same_result_as_1"] = r["result"] == base["result"]
    for r in rows:
        del r["result"]
    return {"rows": rows}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    ap.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4],
                    help="forced CPU device counts; the first is the reference of the ratios")
    ap.add_argument("--repeats", type=int, default=3, help="warm runs per device count (the fastest is kept)")
    ap.add_argument("--assess", type=json.loads, default={}, help="assess() keywords replacing the defaults (JSON)")
    args = ap.parse_args(argv)
    assess = {**DEFAULT_ASSESS, **args.assess}
    result = {
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                    "load_average_start": os.getloadavg()},
        "note": "forced XLA CPU devices share this machine's cores: the ratios measure the split's correctness "
                "and overhead, not a speed-up",
        "assess": assess,
        **measure(args.devices, args.repeats, assess),
    }
    result["machine"]["load_average_end"] = os.getloadavg()
    for r in result["rows"]:
        print(f"{r['used']} device(s): {r['ratio_vs_1']['evaluations_per_s']:.2f}x the 1-device evaluations/s, "
              f"same result: {r['same_result_as_1']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        _worker(json.loads(sys.argv[2]))
    else:
        main()
