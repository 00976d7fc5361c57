"""Plausibility beside expressivity: the physiological boxes, the ``bounds`` word, the winners'
plausibility figures and the two-row profile.

One small physiological assessment of izhikevich2004 (two DC patterns, a tiny budget) serves the
run-directory tests; the other tests are pure. The whole file runs in well under a minute.
"""

import importlib
import json
import math
import shutil

import jax.numpy as jnp
import numpy as np
import pytest

from jaxplaus import models, patterns, plots
from jaxplaus._precision import precision
from jaxplaus.assess import assess, config, plan
from jaxplaus.assess.plausibility import (
    ROBUST_ENOUGH,
    _reference_copies,
    counts_as_plausible,
    figures,
    inside_box,
    needed,
    reference_robustness,
    row_kind,
    winner_figures,
)
from jaxplaus.models.base import Model, Parameter, Physiology, table_box

adex_module = importlib.import_module("jaxplaus.models.adex")  # the module (jaxplaus.models.adex is the Model)
PATTERNS = ["tonic_spiking", "phasic_spiking"]
# 16 robustness copies, as test_assess.py's run: the same compiled robustness kernel (the cache)
KW = dict(budget=16 * 2 * 30, restarts=2, seed=0, population_size=16, robustness_copies=16, chunk=10)


# ----------------------------------------------------------------------------- the boxes


def _panels():
    """figure1.m's 20 panels, read from the patterns' Reference values (not the models' table)."""
    return {p.letter: p.reference for p in (patterns.get(n) for n in patterns.names())}


def test_the_izhikevich2004_box_holds_every_figure1_panel():
    box = models.get("izhikevich2004").physiology
    assert len(_panels()) == 20
    for letter, ref in _panels().items():
        assert box.contains(ref.params(), rel=0.0), letter
        for name, value in ref.params().items():  # strictly inside where a margin was added
            lo, hi = box.ranges[name]
            assert lo <= value <= hi, (letter, name)
    assert box.ranges["tau"] == (0.1, 0.5)  # the script's own steps, no margin
    assert box.gain == (0.5, 2.0)
    assert models.get("izhikevich2004_accommodation").physiology is box


def test_the_norse_izhikevich_box_holds_every_panel_in_its_units():
    box = models.get("izhikevich").physiology
    assert box.held() == {"sq": 0.04, "v_th": 30.0}  # what figure1.m never varies
    for letter, ref in _panels().items():
        p = {k: v for k, v in ref.params().items() if k != "tau"}
        p.update(tau_inv=ref.tau / 0.001, sq=0.04, v_th=30.0)
        assert box.contains(p, rel=1e-12), letter


def test_the_adex_mapping_reproduces_a_hand_computed_table1_row():
    row = adex_module.NAUD2008_TABLE1["adaptation"]
    assert row == dict(C=200, gL=12, EL=-70, VT=-50, DeltaT=2, a=2, tauw=300, b=60, Vr=-58, I=500)
    got = adex_module.norse_form(row)
    hand = {  # S = VT - EL = 20 mV
        "tau_mem_inv": 60.0,  # gL / C = 12 nS / 200 pF = 0.06 /ms
        "delta_T": 0.1,  # 2 / 20
        "v_reset": 0.6,  # (-58 + 70) / 20
        "tau_ada_inv": 1000 / 300,  # 1 / 300 ms
        "adaptation_current": 2 / 12,  # a / gL
        "adaptation_spike": 0.25,  # 60 pA / (12 nS x 20 mV)
        "v_leak": 0.0, "v_th": 1.0, "i": 500 / 240,
    }
    assert got == pytest.approx(hand, rel=1e-12)


def test_the_adex_mapping_agrees_with_the_step_equation():
    """One Euler step of Naud's equations in mV, pA and ms equals the model's step on the mapped
    state (dt = 1 ms: Norse's dt 0.001 s with rates in 1/s)."""
    row = adex_module.NAUD2008_TABLE1["transient spiking"]
    C, gL, EL, VT, dT, a, tw, I = (row[k] for k in ("C", "gL", "EL", "VT", "DeltaT", "a", "tauw", "I"))
    V, w, dt = -55.0, 40.0, 1.0  # mV, pA, ms
    V1 = V + dt / C * (-gL * (V - EL) + gL * dT * math.exp((V - VT) / dT) - w + I)
    w1 = w + dt / tw * (a * (V - EL) - w)
    S = VT - EL
    p = {k: v for k, v in adex_module.norse_form(row).items() if k != "i"}
    p["tau_syn_inv"] = 200.0
    with precision("float64"):
        state = {"v": jnp.asarray((V - EL) / S), "i": jnp.asarray(0.0), "a": jnp.asarray(w / (gL * S))}
        new, v, spike = adex_module.step(p, state, jnp.asarray(I / (gL * S)))
    assert not bool(spike)
    assert float(new["v"]) == pytest.approx((V1 - EL) / S, rel=1e-12)
    assert float(new["a"]) == pytest.approx(w1 / (gL * S), rel=1e-12)


def test_the_adex_box_holds_every_mapped_row_and_holds_the_normalisation():
    box = models.get("adex").physiology
    assert box.held() == {"v_leak": 0.0, "v_th": 1.0}
    for name, row in adex_module.NAUD2008_TABLE1.items():
        assert box.contains({k: v for k, v in adex_module.norse_form(row).items() if k != "i"}, rel=0.0), name
    assert box.ranges["tau_syn_inv"] == (100.0, 1000.0)


@pytest.mark.parametrize("name", ["lif", "adex", "izhikevich", "izhikevich2004", "n2d2"])
def test_every_shipped_model_has_a_sourced_box_whose_defaults_lie_in_its_wide_bounds(name):
    m = models.get(name)
    assert m.physiology is not None and m.physiology.source
    assert set(m.physiology.ranges) == set(m.parameters)


def test_n2d2_box_holds_the_published_neuron():
    m = models.get("n2d2")
    assert m.physiology.contains(m.defaults(), rel=0.0)


def test_table_box_and_physiology_checks():
    assert table_box([{"x": -2.0}, {"x": 4.0}], 0.1) == {"x": (-2.2, 4.4)}
    assert table_box([{"x": 0.0}, {"x": 4.0}], 0.1, exact=("x",)) == {"x": (0.0, 4.0)}
    with pytest.raises(ValueError, match="lo <= hi"):
        Physiology({"x": (2.0, 1.0)}, source="s")
    with pytest.raises(ValueError, match="needs its source"):
        Physiology({"x": (1.0, 2.0)}, source="")
    with pytest.raises(ValueError, match=r"missing \['y'\]"):
        Model("toy", {"x": Parameter(1, 0, 2), "y": Parameter(1, 0, 2)}, lambda p: {}, lambda p, s, x: (s, x, x),
              physiology=Physiology({"x": (0.5, 1.5)}, source="s"))


# ----------------------------------------------------------------------------- the bounds option


def test_bad_bounds_words_are_refused_naming_the_value_and_the_words(capsys):
    from jaxplaus.cli import main

    with pytest.raises(ValueError, match="'wide' or 'physiological'.*got 'physio'"):
        plan(bounds="physio")
    assert main(["assess", "--bounds", "physio"]) == 2
    err = capsys.readouterr().err
    assert "--bounds" in err and "'physiological'" in err and "'physio'" in err
    assert main(["assess", "--bounds", "physiological", "a=0,1"]) == 2
    assert "alone" in capsys.readouterr().err


def test_a_model_without_a_box_and_a_fixed_value_outside_it_are_refused():
    toy = Model("toy", {"x": Parameter(1.0, 0.5, 2.0)}, lambda p: {"v": p["x"] * 0}, lambda p, s, x: (s, x, x > 1))
    with pytest.raises(ValueError, match="declares no physiological box"):
        plan(model=toy, bounds="physiological")
    with pytest.raises(ValueError, match="outside the physiological box"):
        plan(model="izhikevich", bounds="physiological", fixed={"sq": 0.05})


def test_the_physiological_plan_searches_the_box_and_holds_what_it_holds():
    p = plan(model="izhikevich", bounds="physiological")
    box = models.get("izhikevich").physiology
    assert dict(p.space.fixed) == {"sq": 0.04, "v_th": 30.0}
    for name, lo, hi in zip(p.space.names, p.space.lo, p.space.hi):
        assert (lo, hi) == (box.gain if name == "gain" else box.ranges[name])
    assert p.record["bounds"] == "physiological"
    assert plan(model="izhikevich").record["bounds"] == "wide"
    assert plan(model="izhikevich", bounds={"a": (0.01, 0.03)}).record["bounds"] == "wide"
    assert config.upgraded({"model": "lif"})["bounds"] == "wide"  # a run recorded before the box existed


# ----------------------------------------------------------------------------- a physiological run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plausible") / "run"
    return assess("izhikevich2004", PATTERNS, bounds="physiological", out=out, **KW), out


def test_a_physiological_runs_winners_lie_inside_the_box(run):
    a, _ = run
    box = models.get("izhikevich2004").physiology
    assert a.settings["bounds"] == "physiological"
    for p in a.patterns:
        params = dict(p.params)
        gain = params.pop("gain")
        assert box.contains(params), p.name
        assert box.gain[0] <= gain <= box.gain[1]
        assert p.plausibility["inside_physiological"] is True
    assert a["tonic_spiking"].passed
    robust = sum(counts_as_plausible(p.to_dict()) for p in a.patterns)
    assert f"plausible (passed, robustness >= 0.5 or figure1.m's own where lower): {robust}/2" in a.table()
    for p in a.patterns:  # the line is min(0.5, figure1.m's own robustness on the pattern)
        assert 0.0 <= p.plausibility["robustness_needed"] <= ROBUST_ENOUGH


def test_reference_robustness_matches_the_strict_validator():
    """figure1.m's setting of tonic bursting, moved by +-1%: the batched in-scan share of passing
    copies equals the share the trace-based strict validator passes, copy by copy."""
    pattern = patterns.get("tonic_bursting")
    copies = _reference_copies(pattern, 8, 0.01, 0)
    gains = copies.pop("gain")
    passed = [pattern.check(pattern.reference.model(), {k: v[i] for k, v in copies.items()}, gains[i]).passed
              for i in range(8)]
    assert 0 < sum(passed) < 8  # the check can fail both ways
    assert reference_robustness([pattern], 500, 8, 0.01, 0) == [sum(passed) / 8]


def test_a_pass_as_robust_as_figure1s_own_counts_as_plausible():
    needs = {"plausibility": {"robustness_needed": needed(0.0)}}
    assert needed(0.9) == ROBUST_ENOUGH and needed(0.2) == 0.2
    assert counts_as_plausible({"passed": True, "robustness": 0.0, **needs})
    assert not counts_as_plausible({"passed": False, "robustness": 1.0, **needs})


def test_settings_json_round_trips_the_physiological_box(run):
    a, out = run
    record = json.loads((out / "settings.json").read_text())["settings"]
    assert record["bounds"] == "physiological"
    back = config.from_record(record)
    assert back.bounds == "physiological"
    assert plan(back).record == record
    again = assess(settings=back, out=out, resume=True)  # a finished run with the same settings: loaded
    assert again.to_dict()["patterns"] == a.to_dict()["patterns"]


def test_the_winners_figures_are_read_from_their_verdicts(run):
    a, _ = run
    p = a["tonic_spiking"]
    f = p.plausibility
    assert f["time_base"] == "model" and f["peak_rate_hz"] == pytest.approx(1000.0 / f["isi_min_ms"])
    assert f["v_above_rest"] == pytest.approx(p.features["v_hi"] - p.features["v_rest"])
    assert f["v_below_rest"] == pytest.approx(p.features["v_lo"] - p.features["v_rest"])
    isi_grid = min(i for n, i in zip(p.features["count"], p.features["isi_min"]) if n >= 2)
    assert f["isi_min_ms"] == pytest.approx(isi_grid / 0.25 * p.params["tau"])  # samples x the model's step


# ----------------------------------------------------------------------------- the figures by hand


def test_tonic_spiking_reference_figures_match_a_hand_computation():
    pat = patterns.get("tonic_spiking")
    model = models.get("izhikevich2004")
    params = pat.reference.params()
    verdict = pat.check(model, params, 1.0, dtype="float64")
    assert verdict.passed
    trace = pat.reference_trace()
    spikes = pat.times()[np.asarray(trace.spikes, bool)]
    np.testing.assert_allclose(spikes, [13.0, 17.0, 31.5, 59.25, 86.75])
    shortest = float(np.min(np.diff(spikes)))  # 4 ms
    f = winner_figures(model, pat, {**params, "gain": 1.0}, verdict.features)
    assert f["isi_min_ms"] == pytest.approx(shortest)
    assert f["peak_rate_hz"] == pytest.approx(1000.0 / shortest) == pytest.approx(250.0)
    v = np.asarray(trace.v, float)
    assert f["v_rest"] == pytest.approx(-70.0)  # the panel's rest: 0.04 v^2 + 4.8 v + 140 = 0
    assert f["v_above_rest"] == pytest.approx(30.0 + 70.0)  # the reported peak
    assert f["v_below_rest"] == pytest.approx(v.min() + 70.0)
    assert f["below_share"] == pytest.approx((v.min() + 70.0) / 100.0)
    assert f["inside_physiological"] is True


def test_rates_are_in_the_models_own_time():
    feats = {"count": [0.0, 3.0, 1.0], "isi_min": [2.5e8, 4.0, 2.5e8], "v_rest": 0.0, "v_hi": 0.9, "v_lo": -0.1}
    one_ms = figures(feats, protocol_ms=0.25, model_ms=1.0)  # 16 samples of 1 ms
    assert one_ms["isi_min_ms"] == 16.0 and one_ms["peak_rate_hz"] == 62.5 and one_ms["time_base"] == "model"
    grid = figures(feats, protocol_ms=0.25, model_ms=None)
    assert grid["isi_min_ms"] == 4.0 and grid["time_base"] == "protocol"
    silent = figures({**feats, "count": [0.0, 1.0, 0.0]}, 0.25, 1.0)
    assert silent["isi_min_ms"] is None and silent["peak_rate_hz"] is None
    assert one_ms["below_share"] == pytest.approx(-0.1 / 0.9)


def test_inside_box_and_the_plausible_count():
    m = models.get("izhikevich2004")
    ref = patterns.get("tonic_spiking").reference.params()
    assert inside_box(m, {**ref, "gain": 1.0}) and not inside_box(m, {**ref, "gain": 5.0})
    assert not inside_box(m, {**ref, "tau": 0.6, "gain": 1.0})
    assert counts_as_plausible({"passed": True, "robustness": ROBUST_ENOUGH})
    assert not counts_as_plausible({"passed": True, "robustness": 0.25})
    assert not counts_as_plausible({"passed": True, "robustness": None})
    assert not counts_as_plausible({"passed": False, "robustness": 1.0})


# ----------------------------------------------------------------------------- the two-row profile


def _copy_run(src, dst, **changes):
    """A copy of a run directory whose results.json has ``changes`` (settings.bounds, robustness)."""
    shutil.copytree(src, dst)
    data = json.loads((dst / "results.json").read_text())
    data["settings"]["bounds"] = changes.get("bounds", data["settings"]["bounds"])
    for p in data["patterns"]:
        p["robustness"] = changes.get("robustness", p["robustness"])
        if "robustness_needed" in changes:
            p["plausibility"]["robustness_needed"] = changes["robustness_needed"]
    (dst / "results.json").write_text(json.dumps(data))
    return dst


def test_the_two_row_profile_figure_and_report(run, tmp_path):
    from jaxplaus.cli import main
    from jaxplaus.report import write_report

    _, out = run
    wide = _copy_run(out, tmp_path / "wide", bounds="wide")
    fragile = _copy_run(out, tmp_path / "fragile", robustness=0.25, robustness_needed=ROBUST_ENOUGH)
    assert row_kind(plots.read(wide)) == "expressive" and row_kind(plots.read(fragile)) == "plausible"
    fig = plots.profile_figure([fragile, wide])  # the expressive row comes first whatever the order
    ax = next(a for a in fig.axes if a.get_gid() == "profile")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    n_passed = plots.read(wide)["score"]["passed"]
    assert labels[0].startswith("izhikevich2004, expressive (wide)") and labels[0].endswith(f"{n_passed}/2")
    assert labels[1].startswith("izhikevich2004, plausible (physiological)") and labels[1].endswith("0/2")
    png = tmp_path / "profile.png"
    assert main(["profile", str(wide), str(out), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    html = write_report([out, wide], tmp_path / "report.html").read_text()
    assert "plausible (physiological bounds)" in html and "expressive (wide bounds)" in html
    assert "Plausibility figures of the passed patterns" in html and "peak rate (Hz)" in html
