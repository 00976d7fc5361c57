"""Engine throughput: neuron-steps per second of jaxplaus' simulation paths, as ratios.

Writes ``benchmarks/results/throughput.json`` and prints a table. Every figure is set against a
baseline measured in the same run (absolute speeds on a shared 2-core machine move with the load):

- ``summary`` path (``simulate_summary`` with ``spike_count_reducer()``) and ``trace`` path
  (``simulate``, ``[B, T]`` float32 voltages and bool spikes) for every registered model at
  population sizes 10^2 .. 10^6 (trace sizes whose ``[B, T]`` output would not fit comfortably
  are skipped);
- ``baseline``: ONE plain ``lax.scan`` over the whole Izhikevich population (state arrays
  ``[B]``, state and spike counts, written with jnp on arrays: no vmap, no reducer), measured
  interleaved with the summary path at every size. Target: summary / baseline >= 2 at >= 10^5;
- ``norse``: Norse 1.1.0's ``LIF``, ``LIFAdEx`` and ``Izhikevich`` modules (``torch.no_grad``,
  input ``[T, N]``, ``dt = 0.001``) at batch 1 and 10^4. Target: jaxplaus summary / Norse >= 100
  at 10^4;
- ``peak``: the machine's float32 peak, measured as a large jnp matmul (``2 n^3`` flops / time),
  and the Izhikevich summary path's useful flops as a fraction of it;
- ``two_devices`` (optional): the population split over 2 XLA CPU devices with ``shard_map``, in a
  subprocess (``--xla_force_host_platform_device_count`` must be set before jax is imported).

Compile time is excluded: each kernel is called once first (that time is recorded as
``first_call_s``), then the best of ``--repeats`` calls, each ended by ``block_until_ready``.

Usage::

    python benchmarks/throughput.py            # full run, a few minutes
    python benchmarks/throughput.py --quick    # small sizes, a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "throughput.json"

SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (100, 1_000)
NORSE_BATCHES = (1, 10_000)
QUICK_NORSE_BATCHES = (1, 100)
TRACE_BYTES_LIMIT = 1 << 30  # [B, T] float32 + bool must stay under 1 GiB (outputs and a transpose)
SKIPPED_MODELS = ("izhikevich2004_accommodation",)  # same kernel as izhikevich2004

# Useful float32 arithmetic of one Izhikevich neuron-step, counted from the equations in Norse's
# form (jaxplaus/models/izhikevich.py); the threshold comparison, the finiteness check and the
# spike count are not counted:
#   h = tau_inv*dt                                           1
#   v_ = v + h*((((sq*(v*v) + mn*v) + bias) - u) + x)        9
#   u_ = u + (h*a)*(b*v - u)                                 5
#   fired = v_ - v_th > 0                                    1
#   v' = (1-z)*v_ + z*c                                      4
#   u' = (1-z)*u_ + z*(u_ + d)     ((1-z) shared with v')    4
IZHIKEVICH_FLOPS = 24

# A step input held after a short rest, at a level that makes the default neuron of each model
# fire (Izhikevich current units for the Izhikevich models; Norse's dimensionless units else).
STIMULUS_LEVEL = {"izhikevich": 10.0, "izhikevich2004": 10.0, "lif": 0.8, "adex": 0.8, "n2d2": 0.8}
STIMULUS_ONSET = 20


# ----------------------------------------------------------------------------- helpers


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn, block):
    c0 = _cpu_seconds()
    t0 = time.perf_counter()
    block(fn())
    wall = time.perf_counter() - t0
    return wall, _cpu_seconds() - c0


def measure(fns: dict, repeats: int, block) -> dict:
    """Warm every callable up once, then time them interleaved; best wall time of each.

    Interleaving keeps a ratio between two callables fair when the machine's load changes.
    Returns ``name -> {"first_call_s", "best_s", "cpu_per_wall"}``.
    """
    out = {}
    for name, fn in fns.items():
        wall, _ = _timed(fn, block)
        out[name] = {"first_call_s": wall, "best_s": float("inf"), "cpu_per_wall": None}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = _timed(fn, block)
            if wall < out[name]["best_s"]:
                out[name]["best_s"] = wall
                out[name]["cpu_per_wall"] = cpu / wall if wall > 0 else None
    return out


def random_params(model, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` candidates drawn uniformly within the model's bounds (log-uniformly where log)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, p in model.parameters.items():
        if p.log:
            out[name] = np.exp(rng.uniform(np.log(p.lo), np.log(p.hi), n)).astype(np.float32)
        else:
            out[name] = rng.uniform(p.lo, p.hi, n).astype(np.float32)
    return out


def stimulus(model_name: str, steps: int) -> np.ndarray:
    level = STIMULUS_LEVEL.get(model_name, 1.0)
    return np.where(np.arange(steps) >= STIMULUS_ONSET, level, 0.0).astype(np.float32)


def fmt_rate(x) -> str:
    if x is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def fmt_ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}x"


# ----------------------------------------------------------------------------- the baseline


def make_baseline(jax, jnp):
    """ONE plain lax.scan over the whole Izhikevich population: [B] state arrays, no vmap."""

    @jax.jit
    def run(p, x):
        n = p["a"].shape[0]
        h = p["tau_inv"] * 0.001
        v = jnp.full((n,), -70.0, jnp.float32)
        u = p["b"] * v

        def body(carry, xt):
            v, u, count = carry
            v_ = v + h * ((((p["sq"] * (v * v) + p["mn"] * v) + p["bias"]) - u) + xt)
            u_ = u + (h * p["a"]) * (p["b"] * v - u)
            fired = v_ - p["v_th"] > 0
            z = fired.astype(jnp.float32)
            v = (1 - z) * v_ + z * p["c"]
            u = (1 - z) * u_ + z * (u_ + p["d"])
            return (v, u, count + fired.astype(jnp.int32)), None

        (v, u, count), _ = jax.lax.scan(body, (v, u, jnp.zeros((n,), jnp.int32)), x)
        return count

    return run


# ----------------------------------------------------------------------------- sections


def machine_info(jax) -> dict:
    info = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": getattr(__import__("jaxlib"), "__version__", None),
        "numpy": np.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "load_average_start": list(os.getloadavg()),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def measure_peak(jax, jnp, n: int, repeats: int) -> dict:
    a = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (n, n)), jnp.float32)
    b = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, (n, n)), jnp.float32)
    mm = jax.jit(lambda a, b: a @ b)
    m = measure({"matmul": lambda: mm(a, b)}, repeats, jax.block_until_ready)["matmul"]
    return {"n": n, "seconds": m["best_s"], "flops_per_s": 2 * n**3 / m["best_s"], "cpu_per_wall": m["cpu_per_wall"]}


def bench_engine(jax, jnp, jp, names, sizes, steps, repeats, trace_limit, log) -> tuple[list, list]:
    """Summary and trace paths of every model, and the baseline interleaved with izhikevich."""
    from jaxplaus.simulate import spike_count_reducer

    reducer = spike_count_reducer()
    baseline = make_baseline(jax, jnp)
    rows, base_rows = [], []
    for name in names:
        model = jp.models.get(name)
        x = jnp.asarray(stimulus(name, steps))
        model_sizes = sorted(set(sizes) | ({1} if name in ("lif", "adex", "izhikevich") else set()))
        for n in model_sizes:
            params = {k: jnp.asarray(v) for k, v in random_params(model, n, seed=n).items()}
            fns = {"summary": lambda: jp.simulate_summary(model, params, x, reducer)}
            trace_bytes = n * steps * 5
            if trace_bytes <= trace_limit and n > 1:
                fns["trace"] = lambda: jp.simulate(model, params, x)
            if name == "izhikevich" and n > 1:
                fns["baseline"] = lambda: baseline(params, x)
            res = measure(fns, repeats, jax.block_until_ready)
            summary = jp.simulate_summary(model, params, x, reducer)
            counts = np.asarray(summary.values)
            finite = np.asarray(summary.finite)
            stats = {
                "spiking_fraction": float(np.mean(counts > 0)),
                "mean_spikes": float(np.mean(counts)),
                "finite_fraction": float(np.mean(finite)),
            }
            ns = n * steps
            base = res.get("baseline")
            for path in ("summary", "trace"):
                if path not in res:
                    if path == "trace" and n > 1:
                        rows.append({"model": name, "path": path, "batch": n, "steps": steps, "skipped":
                                     f"[B, T] output of {trace_bytes / 2**30:.1f} GiB > {trace_limit / 2**30:.1f} GiB"})
                    continue
                r = res[path]
                row = {
                    "model": name, "path": path, "batch": n, "steps": steps,
                    "seconds": r["best_s"], "first_call_s": r["first_call_s"],
                    "neuron_steps_per_s": ns / r["best_s"], "cpu_per_wall": r["cpu_per_wall"],
                }
                if path == "trace":
                    row["trace_over_summary"] = res["summary"]["best_s"] / r["best_s"]
                if path == "summary":
                    row.update(stats)
                if base is not None:
                    row["ratio_vs_baseline"] = base["best_s"] / r["best_s"]
                rows.append(row)
            if base is not None:
                base_rows.append({
                    "model": "izhikevich", "path": "baseline", "batch": n, "steps": steps,
                    "seconds": base["best_s"], "first_call_s": base["first_call_s"],
                    "neuron_steps_per_s": ns / base["best_s"], "cpu_per_wall": base["cpu_per_wall"],
                })
            log(f"  {name:>15} B={n:>8}: summary {fmt_rate(ns / res['summary']['best_s'])}/s"
                + (f", trace {fmt_rate(ns / res['trace']['best_s'])}/s" if "trace" in res else "")
                + (f", baseline {fmt_rate(ns / base['best_s'])}/s" if base else ""))
    # cross-model ratios against the izhikevich baseline at the same size
    base_by_n = {b["batch"]: b["neuron_steps_per_s"] for b in base_rows}
    for row in rows:
        if "neuron_steps_per_s" in row and row["batch"] in base_by_n and "ratio_vs_baseline" not in row:
            row["ratio_vs_izhikevich_baseline"] = row["neuron_steps_per_s"] / base_by_n[row["batch"]]
    return rows, base_rows


NORSE_MODULES = {"lif": "LIF", "adex": "LIFAdEx", "izhikevich": "Izhikevich"}


def bench_norse(batches, steps, repeats, log) -> dict:
    """Norse's modules on input [T, N] at dt=0.001, torch.no_grad; best of 1 and torch's default threads."""
    try:
        t0 = time.perf_counter()
        import torch
        import norse
        import norse.torch as nt
        from norse.torch.functional import izhikevich as fi

        import_s = time.perf_counter() - t0
    except Exception as err:  # norse is an optional extra
        return {"skipped": f"norse not importable: {err}"}
    default_threads = torch.get_num_threads()
    out = {"norse": norse.__version__ if hasattr(norse, "__version__") else "?", "torch": torch.__version__,
           "import_s": import_s, "default_threads": default_threads, "runs": []}

    def module(name):
        if name == "lif":
            return nt.LIF(dt=0.001)
        if name == "adex":
            return nt.LIFAdEx(dt=0.001)
        return nt.Izhikevich(fi.tonic_spiking, dt=0.001)

    for name, cls in NORSE_MODULES.items():
        level = STIMULUS_LEVEL[name]
        for n in batches:
            x = torch.where(torch.arange(steps)[:, None] >= STIMULUS_ONSET, level, 0.0).expand(steps, n).contiguous()
            best = {}
            for threads in sorted({1, default_threads}):
                torch.set_num_threads(threads)
                m = module(name)
                with torch.no_grad():
                    m(x[:10])  # warm-up
                    times = []
                    for i in range(repeats):
                        t0 = time.perf_counter()
                        z, _ = m(x)
                        times.append(time.perf_counter() - t0)
                        if times[-1] > 3.0:  # oversubscribed threads on a loaded machine: one run is enough
                            break
                best[threads] = min(times)
                spikes = float(z.sum()) / n
            torch.set_num_threads(default_threads)
            t = min(best.values())
            out["runs"].append({
                "model": name, "module": f"norse.torch.{cls}", "batch": n, "steps": steps, "seconds": t,
                "seconds_by_threads": {str(k): v for k, v in best.items()},
                "neuron_steps_per_s": n * steps / t, "spikes_per_neuron": spikes,
            })
            log(f"  norse {cls:>10} B={n:>6}: {t:.3f} s per {steps} steps ({fmt_rate(n * steps / t)} neuron-steps/s)")
    return out


TWO_DEVICE_CODE = r"""
import json, os, sys, time
import numpy as np
import jax, jax.numpy as jnp
import jaxplaus as jp
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from throughput import measure, random_params, stimulus
from jaxplaus.simulate import spike_count_reducer
sizes, steps, repeats = json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
model = jp.models.get("izhikevich"); red = spike_count_reducer()
x = jnp.asarray(stimulus("izhikevich", steps))
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
mesh = Mesh(np.array(jax.devices()[:2]), ("d",))
two = jax.jit(jax.shard_map(lambda p: jp.simulate_summary(model, p, x, red).values, mesh=mesh,
                            in_specs=P("d"), out_specs=P("d"), check_vma=False))
out = []
for n in sizes:
    p = random_params(model, n, seed=n)
    one_p = {k: jnp.asarray(v) for k, v in p.items()}
    two_p = {k: jax.device_put(v, NamedSharding(mesh, P("d"))) for k, v in p.items()}
    r = measure({"one_device": lambda: jp.simulate_summary(model, one_p, x, red).values,
                 "two_devices": lambda: two(two_p)}, repeats, jax.block_until_ready)
    out.append({"batch": n, "steps": steps,
                "one_device_s": r["one_device"]["best_s"], "two_devices_s": r["two_devices"]["best_s"],
                "two_over_one": r["one_device"]["best_s"] / r["two_devices"]["best_s"],
                "cpu_per_wall_one": r["one_device"]["cpu_per_wall"],
                "cpu_per_wall_two": r["two_devices"]["cpu_per_wall"]})
print("RESULT" + json.dumps({"devices": [str(d) for d in jax.devices()], "runs": out}))
"""


def bench_two_devices(sizes, steps, repeats, log) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    env.setdefault("JAX_PLATFORMS", "cpu")
    cmd = [sys.executable, "-c", TWO_DEVICE_CODE, str(Path(__file__).resolve()),
           json.dumps(list(sizes)), str(steps), str(repeats)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return {"skipped": "timed out"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            res = json.loads(line[len("RESULT"):])
            for r in res["runs"]:
                log(f"  2 devices B={r['batch']:>8}: {r['two_over_one']:.2f}x one device")
            return res
    return {"skipped": f"subprocess failed (rc {proc.returncode}): {proc.stderr[-2000:]}"}


# ----------------------------------------------------------------------------- report


LOSS_PATTERN = "tonic_bursting"
LOSS_MODELS = ("lif", "izhikevich2004")
LOSS_SIZES = (16_384,)
QUICK_LOSS_SIZES = (1_024,)


def bench_loss(jax, jp, names, sizes, repeats, log) -> list:
    """The pattern loss paths next to the strongest summary path, for ``names``, float32 and float64.

    ``screen``: ``Pattern.evaluate(..., control=False, by_window=True)``, the protocol run with
    the in-scan features (in phases by window) after its warm-up, and the criteria: what a search simulates for each candidate
    (a zero is then confirmed with the control run). ``loss``: the complete loss, the screen plus
    the control run (warm-up and twice the protocol, spike count only). Both with ``lag`` False
    and True (the feature reducer one sample behind the step: the assessment's default).
    ``summary``: ``simulate_summary`` with the spike-count reducer on the same warm-up + protocol
    input, shared by the whole population (the gain inside the step, as the loss paths have it):
    the engine at its fastest on this input. Speeds count every simulated sample;
    ``screen_over_summary`` and ``loss_over_summary`` are the paths' speeds over the summary's.
    """
    from jaxplaus import patterns
    from jaxplaus.simulate import spike_count_reducer

    pattern = patterns.get(LOSS_PATTERN)
    x = pattern.run_stimulus()
    samples = {"screen": len(x), "loss": len(x) + pattern.control_length(), "summary": len(x)}
    rows = []
    for name, dtype, n, lag in ((a, d, n, g) for a in names for d in ("float32", "float64") for n in sizes
                                for g in (False, True)):
        model = jp.models.get(name)
        params = random_params(model, n, seed=7)
        gain = np.full(n, 1.0 if "izhikevich" in name else 0.05)
        gained = dict(params, gain=gain)
        fns = {
            "screen": lambda: pattern.evaluate(model, params, gain, dtype=dtype, lag=lag, control=False, by_window=True),
            "loss": lambda: pattern.evaluate(model, params, gain, dtype=dtype, lag=lag, by_window=True),
            "summary": lambda: jp.simulate_summary(
                jp.models.with_input_gain(model), gained, x, spike_count_reducer(), dtype=dtype
            ).values,
        }
        m = measure(fns, repeats, jax.block_until_ready)
        row = {"model": name, "pattern": LOSS_PATTERN, "dtype": dtype, "lag": lag, "batch": n,
               "samples": samples}
        for k in fns:
            row[f"{k}_neuron_steps_per_s"] = n * samples[k] / m[k]["best_s"]
            row[f"{k}_first_call_s"] = m[k]["first_call_s"]
        for k in ("screen", "loss"):
            row[f"{k}_over_summary"] = row[f"{k}_neuron_steps_per_s"] / row["summary_neuron_steps_per_s"]
        log(f"  {name:>15} {dtype} lag={lag!s:5} batch {n:>7}: screen {fmt_rate(row['screen_neuron_steps_per_s'])} "
            f"({row['screen_over_summary']:.3f}x), loss {fmt_rate(row['loss_neuron_steps_per_s'])} "
            f"({row['loss_over_summary']:.3f}x), summary {fmt_rate(row['summary_neuron_steps_per_s'])}")
        rows.append(row)
    return rows


def derive(rows, base_rows, norse, peak) -> dict:
    """The headline ratios and the targets."""
    summary = {(r["model"], r["batch"]): r for r in rows if r.get("path") == "summary" and "seconds" in r}
    base = {r["batch"]: r for r in base_rows}
    out = {"summary_over_baseline": {}, "summary_over_norse": {}, "fraction_of_peak": {}}
    for n, b in base.items():
        if ("izhikevich", n) in summary:
            out["summary_over_baseline"][str(n)] = summary[("izhikevich", n)]["ratio_vs_baseline"]
    for run in norse.get("runs", []):
        s = summary.get((run["model"], run["batch"]))
        if s:
            key = f"{run['model']}@{run['batch']}"
            out["summary_over_norse"][key] = s["neuron_steps_per_s"] / run["neuron_steps_per_s"]
    for (m, n), s in summary.items():
        if m == "izhikevich":
            achieved = s["neuron_steps_per_s"] * IZHIKEVICH_FLOPS
            out["fraction_of_peak"][str(n)] = achieved / peak["flops_per_s"]
            s["useful_flops_per_s"] = achieved
            s["fraction_of_peak"] = achieved / peak["flops_per_s"]
    big = [v for k, v in out["summary_over_baseline"].items() if int(k) >= 100_000]
    at_1e4 = [v for k, v in out["summary_over_norse"].items() if k.endswith("@10000")]
    out["targets"] = {
        "summary_over_baseline_at_ge_1e5": {"target": 2.0, "worst": min(big) if big else None,
                                             "met": bool(big) and min(big) >= 2.0},
        "summary_over_norse_at_1e4": {"target": 100.0, "worst": min(at_1e4) if at_1e4 else None,
                                      "met": bool(at_1e4) and min(at_1e4) >= 100.0},
    }
    return out


def print_table(rows, base_rows, norse, peak, derived, two_dev) -> None:
    print()
    print(f"float32 peak (jnp matmul n={peak['n']}): {peak['flops_per_s'] / 1e9:.1f} GFLOP/s")
    print()
    print(f"{'model':>15} {'path':>8} {'batch':>8} {'neuron-steps/s':>15} {'vs baseline':>12} {'cpu/wall':>8}  notes")
    for r in sorted(rows + base_rows, key=lambda r: (r["model"], r["batch"], r["path"])):
        if "skipped" in r:
            print(f"{r['model']:>15} {r['path']:>8} {r['batch']:>8} {'skipped':>15} {'':>12} {'':>8}  {r['skipped']}")
            continue
        ratio = r.get("ratio_vs_baseline", r.get("ratio_vs_izhikevich_baseline"))
        note = ""
        if "fraction_of_peak" in r:
            note = f"{100 * r['fraction_of_peak']:.1f}% of peak"
        if "trace_over_summary" in r:
            note = f"{r['trace_over_summary']:.2f}x summary speed"
        if r["path"] == "summary" and "spiking_fraction" in r:
            note = (note + "; " if note else "") + f"{100 * r['spiking_fraction']:.0f}% spiking"
        cpu = "-" if r.get("cpu_per_wall") is None else f"{r['cpu_per_wall']:.2f}"
        print(f"{r['model']:>15} {r['path']:>8} {r['batch']:>8} {fmt_rate(r['neuron_steps_per_s']):>15} "
              f"{fmt_ratio(ratio if r['path'] != 'baseline' else 1.0):>12} {cpu:>8}  {note}")
    if norse.get("runs"):
        print()
        for run in norse["runs"]:
            key = f"{run['model']}@{run['batch']}"
            print(f"norse {run['module']:>26} batch {run['batch']:>6}: "
                  f"{fmt_rate(run['neuron_steps_per_s'])} neuron-steps/s; "
                  f"jaxplaus summary is {fmt_ratio(derived['summary_over_norse'].get(key))}")
    elif norse.get("skipped"):
        print(f"\nnorse: skipped ({norse['skipped']})")
    if two_dev and two_dev.get("runs"):
        print()
        for r in two_dev["runs"]:
            print(f"two XLA CPU devices (shard_map), izhikevich batch {r['batch']}: "
                  f"{r['two_over_one']:.2f}x one device")
    print()
    for name, t in derived["targets"].items():
        worst = "-" if t["worst"] is None else f"{t['worst']:.2f}"
        print(f"target {name}: >= {t['target']}, worst {worst}: {'MET' if t['met'] else 'NOT MET'}")


# ----------------------------------------------------------------------------- main


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke test)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    ap.add_argument("--steps", type=int, default=None, help="samples per run (default 1000; 200 with --quick)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per kernel (default 3; 2 with --quick)")
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated population sizes")
    ap.add_argument("--models", type=str, default=None, help="comma-separated model names (default: all)")
    ap.add_argument("--no-norse", action="store_true", help="skip the Norse reference")
    ap.add_argument("--two-devices", action=argparse.BooleanOptionalAction, default=None,
                    help="also measure the population split over 2 XLA CPU devices (default: on, off with --quick)")
    args = ap.parse_args(argv)

    quick = args.quick
    steps = args.steps or (200 if quick else 1000)
    repeats = args.repeats or (2 if quick else 3)
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else (QUICK_SIZES if quick else SIZES)
    two_devices = (not quick) if args.two_devices is None else args.two_devices

    def log(msg):
        print(msg, flush=True)

    t_start = time.perf_counter()
    import jax
    import jax.numpy as jnp

    import jaxplaus as jp

    if args.models:
        names = tuple(args.models.split(","))
    else:
        names = tuple(n for n in jp.models.names() if n not in SKIPPED_MODELS)
    info = machine_info(jax)
    log(f"jaxplaus throughput: {info.get('cpu_model', info['processor'])}, {info['cpu_count']} CPUs, "
        f"jax {info['jax']}, "
        f"{info['backend']}; T = {steps}, sizes {list(sizes)}, best of {repeats}")

    log("peak:")
    peak = measure_peak(jax, jnp, 1024 if quick else 2048, repeats + 2)
    log(f"  matmul: {peak['flops_per_s'] / 1e9:.1f} GFLOP/s")

    log("engine:")
    rows, base_rows = bench_engine(jax, jnp, jp, names, sizes, steps, repeats, TRACE_BYTES_LIMIT, log)

    log(f"loss path ({LOSS_PATTERN}):")
    loss_names = names if args.models else LOSS_MODELS  # --models limits this section too
    loss_rows = bench_loss(jax, jp, loss_names, QUICK_LOSS_SIZES if quick else LOSS_SIZES, repeats, log)

    norse = {"skipped": "--no-norse"}
    if not args.no_norse:
        log("norse:")
        norse = bench_norse(QUICK_NORSE_BATCHES if quick else NORSE_BATCHES, steps, repeats, log)

    two_dev = None
    if two_devices:
        log("two devices:")
        two_dev = bench_two_devices([s for s in sizes if s >= 100_000] or [max(sizes)], steps, repeats, log)

    # the peak again at the end: the larger of the two is the reference (on a shared machine the
    # first may have met more load); both are kept
    peak_end = measure_peak(jax, jnp, 1024 if quick else 2048, repeats + 2)
    peak = dict(max(peak, peak_end, key=lambda p: p["flops_per_s"]),
                start_flops_per_s=peak["flops_per_s"], end_flops_per_s=peak_end["flops_per_s"])
    log(f"  peak again: {peak_end['flops_per_s'] / 1e9:.1f} GFLOP/s; reference {peak['flops_per_s'] / 1e9:.1f}")

    derived = derive(rows, base_rows, norse, peak)
    info["load_average_end"] = list(os.getloadavg())
    result = {
        "benchmark": "throughput",
        "units": "neuron_steps_per_s = batch * steps / seconds; ratios are (this speed) / (the baseline's speed)",
        "machine": info,
        "config": {"steps": steps, "sizes": list(sizes), "repeats": repeats, "quick": quick, "models": list(names),
                   "reducer": "spike_count_reducer", "params": "uniform (log-uniform where log) within bounds, seeded",
                   "stimulus": {"onset": STIMULUS_ONSET, "level": STIMULUS_LEVEL},
                   "trace_bytes_limit": TRACE_BYTES_LIMIT, "izhikevich_flops_per_neuron_step": IZHIKEVICH_FLOPS},
        "peak": peak,
        "engine": rows,
        "baseline": base_rows,
        "loss_path": loss_rows,
        "norse": norse,
        "two_devices": two_dev,
        "derived": derived,
        "wall_s": time.perf_counter() - t_start,
    }
    print_table(rows, base_rows, norse, peak, derived, two_dev)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    log(f"\nwrote {args.out} ({result['wall_s']:.0f} s)")
    return result


if __name__ == "__main__":
    main()
