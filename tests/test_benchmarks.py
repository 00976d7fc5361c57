"""The benchmark scripts run end to end on tiny configurations and write their JSON."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str = "throughput"):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_benchmark_writes_ratios(tmp_path):
    out = tmp_path / "throughput.json"
    _load().main(["--quick", "--no-norse", "--no-two-devices", "--models", "izhikevich", "--sizes", "100",
                  "--steps", "50", "--repeats", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["machine"]["cpu_count"] >= 1 and result["machine"]["jax"]
    assert result["peak"]["flops_per_s"] > 0
    summary = [r for r in result["engine"] if r["path"] == "summary" and r["batch"] == 100]
    assert summary and summary[0]["neuron_steps_per_s"] > 0 and summary[0]["ratio_vs_baseline"] > 0
    assert result["baseline"][0]["batch"] == 100
    assert "100" in result["derived"]["summary_over_baseline"] and "100" in result["derived"]["fraction_of_peak"]
    # --models limits the loss-path section too
    assert {r["model"] for r in result["loss_path"]} == {"izhikevich"}
    assert all(r["loss_over_summary"] > 0 and r["screen_over_summary"] > 0 for r in result["loss_path"])
    assert {r["dtype"] for r in result["loss_path"]} == {"float32", "float64"}


def test_assessment_benchmark_runs_the_command_twice_and_writes_its_figures(tmp_path):
    spec = importlib.util.spec_from_file_location("assessment", ROOT / "benchmarks" / "assessment.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "assessment.json"
    mod.main(["--out", str(out), "--model", "lif", "--patterns", "A", "--budget", "32", "--restarts", "2",
              "--robustness-copies", "0"])
    result = json.loads(out.read_text())
    runs = result["runs"]["current"]
    assert len(runs) == 2 and "ratio" not in result  # no baseline asked for
    for row in runs:
        assert row["evaluations"] == 32 and row["evaluations_per_s"] > 0 and row["assessed"] == 1
        assert row["outside_search_s"] >= 0 and row["process_wall_s"] >= row["search_s"]
    # the loss path is measured before and after the runs; the faster session is the baseline
    path = result["loss_path"]
    assert len(path["sessions_best"]) == 2 and path["best"] == max(path["sessions_best"])


def test_feature_kernel_parts_are_slices_of_the_feature_carry(tmp_path):
    import jax
    import numpy as np

    from jaxplaus import models, patterns
    from jaxplaus.simulate import simulate_summary

    mod = _load("feature_kernel")
    pattern, model = patterns.get(mod.PATTERN), models.with_input_gain(models.get(mod.MODEL))
    x, spec = pattern.run_stimulus(), pattern.spec()
    # 8 candidates, every parameter an [8] float32 array as in feature_kernel.measure(8): the same
    # programs, so mod.main below reads them from the persistent compilation cache
    params = {k: jax.numpy.full(8, v, np.float32) for k, v in models.get(mod.MODEL).defaults().items()}
    params["gain"] = jax.numpy.linspace(0.5, 2.0, 8, dtype=np.float32)

    def program(reducer):
        def run(p):  # named and built as measure()'s, so that the compiled programs are the same
            out = simulate_summary(model, p, x, reducer, context=spec, unroll=1, lag=True)
            return out.values, out.finite

        return jax.jit(run)

    run = lambda r: program(r)(params)[0]  # noqa: E731
    parts = mod.reducers()
    full = run(parts["features"])
    same = lambda a, b: jax.tree.all(jax.tree.map(lambda x, y: np.array_equal(x, y, equal_nan=True), a, b))  # noqa: E731
    assert same(run(parts["one_window"]), (full.windows[mod.WINDOW], full.current_burst[mod.WINDOW]))
    assert same(run(parts["post_only"]), full.post)
    no_post = run(parts["no_post"])
    assert same(no_post._replace(post=full.post), full)
    from jaxplaus.patterns import features as F  # tonic bursting has no post-spike record: it keeps its start

    assert same(no_post.post, jax.tree.map(lambda a: np.broadcast_to(a, (8,)), F.init(np.float32).post))
    assert same(run(parts["one_loop"]), full)  # the phases by window change nothing
    assert np.all(full.windows[mod.WINDOW].count > 2)  # the candidates spike: the window is exercised

    out = tmp_path / "feature_kernel.json"
    mod.main(["--sizes", "8", "--repeats", "1", "--calls", "1", "--out", str(out)])
    rows = json.loads(out.read_text())["sizes"]["8"]
    assert set(rows) == {"summary", *parts} and rows["summary"]["ratio_vs_summary"] == 1.0
    assert all(r["neuron_steps_per_s"] > 0 for r in rows.values())
