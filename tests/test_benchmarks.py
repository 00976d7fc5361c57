"""The throughput benchmark runs end to end (quick mode, one model, no Norse) and writes its JSON."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("throughput", ROOT / "benchmarks" / "throughput.py")
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
