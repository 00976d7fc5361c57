"""The assessment: a small real search of izhikevich2004, float64 validation, robustness, the
run directory, reproducibility, resume after an interruption, and bad input.

Every assessment here uses the same model, patterns, population and restarts, so they share one
compiled search program (and one float64 robustness kernel); budgets are tiny.
"""

import math

import numpy as np
import pytest

from jaxplaus import results as R
from jaxplaus.assess import (
    Assessment,
    FALLBACK_GAIN_BOUNDS,
    Progress,
    assess,
    default_gain_bounds,
    load,
    plan,
)

MODEL = "izhikevich2004"
PATTERNS = ["phasic_spiking", "tonic_spiking"]  # given out of order on purpose: results are in A..T order
# bounds narrowed around figure1.m's step and drive (a user's feature too) keep the budget tiny
BOUNDS = {"tau": (0.2, 0.3), "mn": (4.9, 5.1), "bias": (135.0, 145.0), "b": (0.15, 0.3)}
KW = dict(budget=16 * 2 * 60, restarts=2, seed=0, population_size=16, robustness_copies=16, chunk=10, bounds=BOUNDS)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("assess") / "run"
    events = []
    a = assess(MODEL, PATTERNS, out=out, progress=events.append, **KW)
    return a, out, events


def _comparable(d):
    return R.strip_timings(d)


# ----------------------------------------------------------------------------- the assessment


def test_easy_patterns_pass_the_float64_validation(run):
    a, _, _ = run
    assert isinstance(a, Assessment)
    assert [p.name for p in a.patterns] == ["tonic_spiking", "phasic_spiking"]
    assert a.profile == ("tonic_spiking", "phasic_spiking")
    assert a.score == (2, 2) and a.group_scores == {"DC": (2, 2)}
    for p in a.patterns:
        assert p.passed and p.loss == 0.0 and p.failed == () and p.finite
        assert p.search_loss == 0.0
        assert set(p.params) == {"a", "b", "c", "d", "mn", "bias", "tau", "gain"}
        lo, hi = default_gain_bounds(MODEL)
        assert lo <= p.params["gain"] <= hi
        assert 0.0 <= p.robustness <= 1.0
        assert 0 < p.evaluations <= len(PATTERNS) * KW["budget"]  # solved patterns' lanes go to the others
        assert 0 < p.evaluations_to_solve <= p.evaluations
        assert p.lanes_checked >= 1 and 0 <= p.lane < KW["restarts"] * len(PATTERNS)  # the lane pool
    assert sum(p.evaluations for p in a.patterns) <= len(PATTERNS) * KW["budget"]


def test_the_validated_parameters_pass_a_fresh_check(run):
    from jaxplaus import patterns

    a, _, _ = run
    for p in a.patterns:
        params = dict(p.params)
        gain = params.pop("gain")
        assert patterns.get(p.name).check(MODEL, params, gain, dtype="float64").passed


def test_history_is_a_decreasing_step_function_ending_at_zero(run):
    a, _, _ = run
    per_generation = KW["population_size"] * KW["restarts"]
    for p in a.patterns:
        evals, losses = p.history["evaluations"], p.history["best_loss"]
        assert len(evals) == len(losses) >= 1
        assert all(e % per_generation == 0 for e in evals) and evals == sorted(set(evals))
        finite = [x for x in losses if x is not None]
        assert finite == sorted(finite, reverse=True) and finite[-1] == 0.0
        assert evals[-1] == p.evaluations_to_solve


def test_settings_versions_and_progress(run):
    a, _, events = run
    s = a.settings
    assert s["model"] == MODEL and s["patterns"] == ["tonic_spiking", "phasic_spiking"]
    assert s["strategy"] == "cma_es" and s["budget"] == KW["budget"] and s["seed"] == 0
    assert s["generations"] == KW["budget"] // (16 * 2) and s["population_size"] == 16 and s["restarts"] == 2
    assert s["space"]["names"][-1] == "gain" and s["gain"] == list(default_gain_bounds(MODEL))
    assert s["validation_dtype"] == "float64" and s["robustness"]["copies"] == 16
    assert s["search_dtype"] == "float32" and s["jitter"] == 1e-4
    assert s["full_loss"] == "zeros" and s["lagged_features"] is True and s["lane_pool"] == len(PATTERNS)
    assert set(a.versions) >= {"jaxplaus", "jax", "evosax", "numpy"}
    assert all(isinstance(e, Progress) for e in events)
    phases = [e.phase for e in events]
    assert phases[0] == "search" and phases[-1] == "done" and phases.count("validate") == 2
    assert events[-1].passed == 2


def test_the_search_records_what_it_simulated(run):
    from jaxplaus import patterns

    a, _, _ = run
    s = a.search
    assert s["evaluations"] == sum(p.evaluations for p in a.patterns)
    # frozen lanes of a solved pattern count while it stays in the batch (a 2-pattern batch: both
    # stay until both are solved), so at least every evaluation and at most every generation's lanes
    assert s["evaluations"] <= s["candidates_simulated"] <= s["generations_run"] * 16 * 2 * len(a.patterns)
    # each candidate's protocol run, at its own pattern's length (its zeros confirmed apart, rarely)
    lengths = [500 + patterns.get(p.name).n_samples for p in a.patterns]
    assert min(lengths) * s["candidates_simulated"] < s["neuron_steps"] < max(lengths) * s["candidates_simulated"]
    assert a.timing["neuron_steps_per_s"] > 0


def test_results_json_and_csv(run):
    a, out, _ = run
    d = R.read_results(out)
    assert d["schema_version"] == R.SCHEMA_VERSION and d["kind"] == "jaxplaus.assessment"
    assert d["profile"] == ["tonic_spiking", "phasic_spiking"]
    assert d["score"] == {"passed": 2, "assessed": 2, "by_group": {"DC": {"passed": 2, "assessed": 2}}}
    assert d == a.to_dict()
    for key in ("settings", "versions", "search", "patterns", "timing"):
        assert key in d
    p = d["patterns"][0]
    for key in ("name", "group", "passed", "loss", "params", "evaluations", "robustness", "failed", "history",
                "timing"):
        assert key in p
    assert set(p["timing"]) == {"search_s", "validation_s"}
    back = load(out)
    assert back.to_dict() == d and back.profile == a.profile
    rows = R.read_summary(out)
    assert [r["pattern"] for r in rows] == ["tonic_spiking", "phasic_spiking"]
    assert list(rows[0])[: len(R.CSV_COLUMNS)] == list(R.CSV_COLUMNS)
    assert rows[0]["passed"] == "True" and rows[0]["group"] == "DC" and rows[0]["failed"] == ""
    assert float(rows[0]["gain"]) == a.patterns[0].params["gain"]
    assert 0.0 <= float(rows[1]["robustness"]) <= 1.0
    assert sorted(x.name for x in out.iterdir()) == sorted([R.RESULTS, R.SUMMARY, R.SETTINGS, R.CHECKPOINT])
    assert "tonic_spiking" in a.table() and "2/2 patterns passed" in a.table()


def test_same_seed_same_result(run):
    a, _, _ = run
    again = assess(MODEL, list(reversed(PATTERNS)), **KW)
    assert _comparable(again.to_dict()) == _comparable(a.to_dict())


def test_an_interrupted_run_resumes_to_the_same_result(run, tmp_path):
    a, _, _ = run
    out = tmp_path / "run"

    class Stop(Exception):
        pass

    def stop_after_first_chunk(pr):
        if pr.phase == "search":
            raise Stop

    # chunks of 3 generations here (10 in the reference run): chunking never changes the result
    kw = dict(KW, chunk=3)
    with pytest.raises(Stop):
        assess(MODEL, PATTERNS, out=out, progress=stop_after_first_chunk, **kw)
    assert (out / R.CHECKPOINT).is_file() and not (out / R.RESULTS).exists()
    arrays, meta = R.RunDirectory(out).read_checkpoint()
    assert int(arrays[".generation"]) == 3
    resumed = assess(MODEL, PATTERNS, out=out, resume=True, **kw)
    assert resumed.timing["sessions"] == 2
    assert _comparable(resumed.to_dict()) == _comparable(a.to_dict())
    # resuming a finished run just loads it
    assert assess(MODEL, PATTERNS, out=out, resume=True, **kw).to_dict() == R.read_results(out)


def test_resume_refuses_other_settings(run, tmp_path):
    _, out, _ = run
    with pytest.raises(R.RunDirectoryError, match="'seed': the run directory has 0, this call asks for 1"):
        assess(MODEL, PATTERNS, out=out, resume=True, **dict(KW, seed=1))
    with pytest.raises(R.RunDirectoryError, match="already holds a run"):
        assess(MODEL, PATTERNS, out=out, **KW)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(model="nope"), ValueError, "Unknown model 'nope'; known models: lif"),
        (dict(patterns=["tonic_spiking", "zigzag"]), ValueError, "Unknown pattern 'zigzag'; known patterns: tonic_sp"),
        (dict(patterns=["A", "tonic_spiking"]), ValueError, r"\['tonic_spiking'\] given more than once"),
        (dict(strategy="adam"), ValueError, "Unknown strategy 'adam'; known strategies: cma_es"),
        (dict(strategy="lm_ma_es", population_size=64), ValueError, "refuses population_size=64"),
        (dict(budget=0), ValueError, "budget .* must be an int >= 1, got 0"),
        (dict(budget=-3), ValueError, "budget .* must be an int >= 1, got -3"),
        (dict(budget=2.5), TypeError, "budget .* must be an int"),
        (dict(budget=10), ValueError, "budget 10 is less than one generation.*16 x 8 = 128"),
        (dict(restarts=0), ValueError, "restarts must be an int >= 1, got 0"),
        (dict(seed=-1), ValueError, "seed must be an int"),
        (dict(bounds={"a": (1.0, 0.0)}), ValueError, r"bounds\['a'\]: need lo < hi"),
        (dict(bounds={"tau": (0.0, 1.0)}), ValueError, "log scale, so lo must be > 0"),
        (dict(bounds={"zz": (0.0, 1.0)}), ValueError, "unknown parameter 'zz'.*known"),
        (dict(fixed={"v_leak": 0.0}), ValueError, "fixed: unknown parameter 'v_leak' for model 'izhikevich2004'"),
        (dict(gain=(1.0, 0.5)), ValueError, "gain: need lo < hi"),
        (dict(gain=(0.0, 1.0)), ValueError, "gain: the gain is searched on a log scale"),
        (dict(robustness_delta=0.0), ValueError, "robustness_delta must be a number in"),
        (dict(robustness_copies=-1), ValueError, "robustness_copies must be an int >= 0"),
        (dict(chunk=0), ValueError, "chunk must be an int >= 1"),
        (dict(jitter=-1e-3), ValueError, r"jitter must be a number in \[0, 0.1\]"),
        (dict(lagged_features="yes"), TypeError, "lagged_features must be True or False, got 'yes'"),
        (dict(search_dtype="float16"), ValueError, "search_dtype .* must be one of 'float32', 'float64', got 'float16'"),
        (dict(robustnes_copies=3), TypeError, r"unknown assessment options \['robustnes_copies'\]; the options are"),
        (dict(core_lanes=9), ValueError, r"core_lanes must be an int in \[0, restarts=8\], got 9"),
        (dict(model="lif", core_lanes=1), ValueError, "core_lanes: model 'lif' has no core parameters"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(tmp_path, kwargs, error, match):
    out = tmp_path / "run"
    with pytest.raises(error, match=match):
        assess(**{"model": MODEL, "out": out, **kwargs})
    assert not out.exists()


def test_plan_resolves_the_defaults():
    p = plan()
    assert p.record["model"] == "izhikevich2004" and len(p.record["patterns"]) == 20
    assert p.record["budget"] == 102_400 and p.generations == 102_400 // (p.settings.population_size * 8)
    assert p.settings.lane_pool == 20 and p.settings.search_dtype == "float32"
    assert default_gain_bounds("n2d2") == FALLBACK_GAIN_BOUNDS
    assert default_gain_bounds("lif")[0] <= 1e-3
    # a fixed gain leaves no gain dimension; a fixed parameter leaves the space
    q = plan(model="lif", fixed={"v_leak": 0.0, "gain": 0.01})
    assert "v_leak" not in q.space.names and "gain" not in q.space.names and q.record["gain"] is None
    assert q.record["space"]["fixed"] == {"v_leak": 0.0, "gain": 0.01}
    assert math.isclose(q.record["robustness"]["delta"], 0.01)
    assert np.isfinite(q.record["budget"])
    # core lanes: half the lanes search a, b, c, d and tau, with mn, bias at their defaults, gain 1
    assert p.settings.core_lanes == 4 and p.record["core_lanes"] == 4
    assert p.pins == p.record["core_pins"] == {"mn": 5.0, "bias": 140.0, "gain": 1.0}
    assert plan(restarts=5).settings.core_lanes == 2 and plan(core_lanes=0).pins == {}
    assert q.settings.core_lanes == 0 and q.pins == {}  # lif declares no core
    # a default outside narrowed bounds is held at the nearer bound, and recorded so
    r = plan(bounds={"mn": (5.5, 6.0)}, gain=(2.0, 4.0))
    assert r.pins == r.record["core_pins"] == {"mn": 5.5, "bias": 140.0, "gain": 2.0}


def test_a_run_recorded_before_an_option_existed_resumes_at_the_options_legacy_value(run, tmp_path):
    import json
    import shutil

    _, out, _ = run
    old = tmp_path / "old"
    shutil.copytree(out, old)
    data = json.loads((old / R.SETTINGS).read_text())
    del data["settings"]["share"]  # share's legacy value, 0, is what this run used: it resumes
    (old / R.SETTINGS).write_text(json.dumps(data))
    assert assess(MODEL, PATTERNS, out=old, resume=True, **KW).profile == ("tonic_spiking", "phasic_spiking")
    del data["settings"]["core_lanes"]  # before core lanes a run had none; this one has 1: refused
    (old / R.SETTINGS).write_text(json.dumps(data))
    with pytest.raises(R.RunDirectoryError, match="'core_lanes': the run directory has 0, this call asks for 1"):
        assess(MODEL, PATTERNS, out=old, resume=True, **KW)


def test_every_settings_field_is_a_command_line_option_and_a_recorded_setting():
    import argparse
    import dataclasses

    from jaxplaus.assess import Settings, config

    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    flags = {a.dest for a in parser._actions}
    fields = [f.name for f in dataclasses.fields(Settings)]
    assert set(fields) <= flags
    record = plan(model="lif").record
    resolved = config.from_record(record)
    assert plan(resolved).record == record  # made from the settings and back
    recorded = {f.name for f in dataclasses.fields(Settings) if f.metadata["record"] == "plain"}
    assert recorded <= set(record)


def test_the_complete_loss_for_every_candidate_finds_the_same_profile_for_six_times_the_simulation(run):
    """full_loss='every' scores every candidate by the complete loss (protocol and control runs)
    at its worst of 3 jittered copies, in float64 with the features in step (the defaults before
    the speed work): the same easy patterns pass."""
    from jaxplaus import patterns
    from jaxplaus.patterns.base import CONTROL_SPAN

    a, _, _ = run
    full = assess(MODEL, PATTERNS, full_loss="every", lagged_features=False, search_dtype="float64", lane_pool=1,
                  **KW)
    assert full.profile == a.profile and all(p.robustness is not None for p in full.patterns)
    assert full.settings["full_loss"] == "every" and full.settings["lagged_features"] is False
    runs = [(500 + patterns.get(p).n_samples) + (500 + CONTROL_SPAN * patterns.get(p).n_samples) for p in PATTERNS]
    # each candidate's protocol and control runs, 3 copies, each run as long as its own pattern's
    steps, simulated = full.search["neuron_steps"], full.search["candidates_simulated"]
    assert 3 * min(runs) * simulated < steps < 3 * max(runs) * simulated and steps % 3 == 0
    with pytest.raises(ValueError, match="full_loss must be one of 'every', 'zeros', got 'some'"):
        plan(full_loss="some")
