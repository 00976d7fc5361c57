"""norse_bridge.NorseModel (a Norse cell as a jaxplaus black box) and the Norse validation of winners.

- A NorseModel's callback step agrees with the same Norse cell run by Norse's own modules (not
  through the callback) spike for spike and bit for bit, in float32 and float64 (the automatic
  ports, a NorseModel's default, are tested in test_autoport.py);
- a NorseModel (LIFEx, which has no hand-written JAX port) assessed on two patterns gives an Assessment and a
  run directory in the same format as a JAX model's, and can be resumed by name;
- ``assess(validators=[...])``: the Norse validator agrees with the float64 validation on a
  passing winner and on failing candidates (with the same reasons); a pattern passes only if
  every validator passes; the verdicts are recorded; older results.json files still load;
- bad input gives errors naming the bad value.

Tests needing Norse skip, with the reason, where Norse and torch are not installed.
"""

import json

import numpy as np
import pytest

import jaxplaus as jp
from jaxplaus import models, patterns
from jaxplaus import results as R
from jaxplaus.assess import Assessment, PatternResult, load
from sampling import random_params

NORSE_REASON = 'needs Norse 1.1.0 and torch (NorseModel runs Norse itself): pip install "jaxplaus[norse]"'
TINY = {"budget": 32, "restarts": 2, "robustness_copies": 2, "seed": 0}  # one generation of 2 lanes x 16
PATS = ["tonic_spiking", "integrator"]


@pytest.fixture(scope="module")
def torch():
    pytest.importorskip("norse", reason=NORSE_REASON)
    return pytest.importorskip("torch", reason=NORSE_REASON)


@pytest.fixture(scope="module")
def nb(torch):
    import norse_bridge

    return norse_bridge


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


# ----------------------------------------------------------------------------- the step


def _norse_reference(torch, nb, cell_name, params, x):
    """Norse's own module (or its cell in a loop): spikes [N, T], v [N, T] (numpy)."""
    import norse.torch as nt

    cell = nb.CELLS[cell_name]
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in params.items()}
    xt = torch.from_numpy(np.ascontiguousarray(x.T))  # [T, N]
    zeros = torch.zeros_like(t["v_leak"])
    with torch.no_grad():
        if cell_name == "lif_ex":
            p = nt.LIFExParameters(**t)
            z, s = nt.LIFEx(p, record_states=True)(xt, nt.LIFExFeedForwardState(t["v_leak"].clone(), zeros))
            v = s.v
        elif cell_name == "lsnn":
            p = nt.LSNNParameters(**t)
            s0 = nt.LSNNFeedForwardState(v=t["v_leak"].clone(), i=zeros, b=t["v_th"].clone())
            z, s = nt.LSNN(p, record_states=True)(xt, s0)
            v = s.v
        elif cell_name == "lif_refrac":
            lif = {k: v for k, v in t.items() if k != "rho_reset"}
            p = nt.LIFRefracParameters(nt.LIFParameters(**lif), t["rho_reset"])
            module = nt.LIFRefracCell(p)
            s = nt.LIFRefracFeedForwardState(nt.LIFFeedForwardState(t["v_leak"].clone(), zeros), zeros.clone())
            zs, vs = [], []
            for k in range(xt.shape[0]):
                zk, s = module(xt[k], s)
                zs.append(zk)
                vs.append(s.lif.v)
            z, v = torch.stack(zs), torch.stack(vs)
        else:  # pragma: no cover
            raise ValueError(cell)
    return z.numpy().T != 0, v.numpy().T


@pytest.mark.parametrize("cell_name", ["lif_ex", "lif_refrac", "lsnn"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_step_agrees_with_norse_modules(torch, nb, cell_name, dtype):
    model = nb.norse_model(cell_name, port="callback", register=False)  # the automatic port: test_autoport.py
    rng = np.random.default_rng(1)
    n = 48
    params = {k: v.astype(dtype) for k, v in random_params(model, n, rng).items()}
    stim = patterns.get("tonic_spiking").run_stimulus()  # 0 for 500 samples, then 14 for 401
    gains = np.exp(rng.uniform(np.log(1e-3), np.log(1.0), n))
    x = (gains[:, None] * stim[None, :]).astype(dtype)  # [N, T], the same numbers for both engines
    tr = jp.simulate(model, params, x, dtype=dtype)
    z_ref, v_ref = _norse_reference(torch, nb, cell_name, params, x)
    spikes = np.asarray(tr.spikes)
    assert np.asarray(tr.v).dtype == np.dtype(dtype)
    assert 0 < spikes.any(axis=1).sum() < n  # some candidates fire, some stay silent
    assert np.array_equal(spikes, z_ref)  # spike for spike
    assert _same_bits(np.asarray(tr.v), v_ref.astype(dtype))  # and bit for bit: it is Norse's own step


def test_norse_lif_cell_agrees_with_the_jax_port(nb):
    rng = np.random.default_rng(2)
    m = nb.norse_model("lif")
    params = random_params(models.get("lif"), 64, rng)
    x = np.exp(rng.uniform(np.log(0.05), np.log(5.0), 64))[:, None] * np.ones(600)
    a = jp.simulate(m, params, x)
    b = jp.simulate("lif", params, x)
    assert np.array_equal(np.asarray(a.spikes), np.asarray(b.spikes))
    assert float(np.max(np.abs(np.asarray(a.v) - np.asarray(b.v)))) < 1e-4  # FMA rounding only


def test_nonfinite_dynamics_do_not_raise(nb):
    m = nb.norse_model("lif_ex")
    # a reset above threshold with a sharp exponential: exp((v - v_th)/delta_T) overflows after
    # the first spike, and Norse's v turns NaN (0 * inf in its reset)
    params = dict(m.defaults(), delta_T=np.array([1e-3, 0.5]), v_th=np.array([0.3, 1.0]), v_reset=np.array([1.0, 0.0]))
    tr = jp.simulate(m, params, np.full(300, 0.5))
    assert not bool(tr.finite[0]) and bool(tr.finite[1])


# ----------------------------------------------------------------------------- assessment


@pytest.fixture(scope="module")
def norse_run(nb, tmp_path_factory):
    """A NorseModel (LIFEx: no hand-written port) assessed on two patterns, tiny budget, no validators."""
    out = tmp_path_factory.mktemp("norse") / "lif_ex"
    model = nb.norse_model("lif_ex")
    return model, jp.assess(model, patterns=PATS, out=out, **TINY), out


@pytest.fixture(scope="module")
def jax_run(nb, tmp_path_factory):
    """The JAX port 'lif' on the same patterns, with the Norse validator and one that always fails."""
    out = tmp_path_factory.mktemp("jax") / "lif"
    # 4 generations: tonic spiking needs a winner that passes the float64 validation (one generation
    # found only a train pinned at the refractory floor once the criteria rejected those)
    return jp.assess("lif", patterns=PATS, out=out, validators=[nb.norse_validator(), _Never()],
                     **dict(TINY, budget=128)), out


class _Never:
    """A validator that fails every candidate, with a reason."""

    name = "never"

    def __call__(self, model, pattern, params, gain, *, warmup):
        return pattern.check(model, params, gain, warmup=warmup)._replace(passed=False, failed=("never good enough",))


def _keys(d, depth=0):
    if isinstance(d, dict) and depth < 3:
        return {k: _keys(v, depth + 1) for k, v in d.items() if k not in ("features", "params", "validations")}
    return type(d).__name__ if d is not None else "null-or-number"


def test_norse_model_assessment_has_the_jax_format(norse_run, jax_run):
    model, a, out = norse_run
    _b, out_b = jax_run
    assert isinstance(a, Assessment) and a.model == "norse.lif_ex"
    assert [p.name for p in a.patterns] == PATS and a.score[1] == 2
    assert a.settings["gain"] == [1e-4, 10.0]  # the cell's own gain bounds
    assert set(a.patterns[0].params) == {*model.parameters, "gain"}
    for p in a.patterns:
        assert p.passed == (p.loss == 0) and p.validations == {}
    ra, rb = (json.loads((d / R.RESULTS).read_text()) for d in (out, out_b))
    assert ra["schema_version"] == rb["schema_version"] == R.SCHEMA_VERSION
    rb["settings"].pop("validators")
    ka, kb = _keys(ra), _keys(rb)
    for k in ("patterns", "timing"):
        ka.pop(k), kb.pop(k)
    assert ka == kb
    assert set(ra["patterns"][0]) == set(rb["patterns"][0])
    head_a = (out / R.SUMMARY).read_text().splitlines()[0].split(",")
    assert head_a[: len(R.CSV_COLUMNS)] == list(R.CSV_COLUMNS) and head_a[len(R.CSV_COLUMNS) :] == [
        *model.parameters,
        "gain",
    ]
    assert load(out).to_dict() == a.to_dict()


def test_norse_model_resumes_by_name(norse_run, monkeypatch, capsys):
    from jaxplaus.cli import main

    model, a, out = norse_run
    again = jp.assess(model, patterns=PATS, out=out, resume=True, **TINY)  # a finished run: loaded
    assert R.strip_timings(again.to_dict()) == R.strip_timings(a.to_dict())
    monkeypatch.delitem(models._REGISTRY, model.name)  # as in a fresh process: only the name is known
    assert main(["assess", "--out", str(out), "--resume", "--quiet", "--no-report"]) == 0
    assert "norse.lif_ex: " in capsys.readouterr().out
    assert models.get("norse.lif_ex") is model


def test_norse_validator_on_winners(nb, norse_run, jax_run):
    b, out_b = jax_run
    tonic = b["tonic_spiking"]
    assert tonic.validations["norse"] == {"passed": True, "failed": [], "loss": 0.0, "finite": True}
    assert tonic.loss == 0  # the float64 validation passed ...
    assert not tonic.passed  # ... but a validator did not: the pattern fails
    assert tonic.failed == ("never: never good enough",)
    assert not any(p.passed for p in b.patterns)
    saved = json.loads((out_b / R.RESULTS).read_text())
    assert saved["settings"]["validators"] == ["norse", "never"]
    assert saved["patterns"][0]["validations"]["never"]["failed"] == ["never good enough"]
    for p in b.patterns:  # Norse's verdict is the float64 one, on every winner
        assert p.validations["norse"]["passed"] == (p.loss == 0)
    # the NorseModel's own winners, validated by a plain Norse loop outside JAX
    model, a, _ = norse_run
    for p in a.patterns:
        params = {k: v for k, v in p.params.items() if k != "gain"}
        verdict = nb.norse_validator()(model, patterns.get(p.name), params, p.params["gain"], warmup=500)
        assert verdict.passed == p.passed and tuple(verdict.failed) == p.failed


def test_resume_with_other_validators_is_refused(nb, jax_run):
    _b, out_b = jax_run
    with pytest.raises(R.RunDirectoryError, match="validators"):
        jp.assess("lif", patterns=PATS, out=out_b, resume=True, validators=[nb.norse_validator()], **TINY)


@pytest.mark.parametrize(
    ("model", "params", "gain", "reason"),
    [
        ("lif", {}, 1e-3, "spikes"),  # silent under the step
        ("lif", {"v_leak": 1.0, "v_th": 0.5}, 0.1, "at rest"),  # fires at rest
        ("adex", {}, 1e-3, "spikes"),
        ("izhikevich", {}, 0.1, "spikes"),
    ],
)
def test_norse_validator_fails_failing_candidates_for_the_same_reasons(nb, model, params, gain, reason):
    m = models.get(model)
    params = dict(m.defaults(), **params)
    pat = patterns.get("tonic_spiking")
    ref = pat.check(m, params, gain, dtype="float64")
    verdict = nb.norse_validator()(m, pat, params, gain, warmup=500)
    assert not verdict.passed and not ref.passed
    assert verdict.failed == ref.failed and any(reason in f for f in verdict.failed)


@pytest.mark.parametrize("model", ["lif", "adex", "izhikevich"])
def test_norse_validator_runs_a_port_as_its_norse_layer(torch, nb, model):
    """The validator's one run path (Norse's SNN loop over a cell's step, here the port's cell)
    gives, bit for bit, the run of the port's Norse layer (LIF, LIFAdEx, Izhikevich) in float64."""
    from norse_bridge import mapping

    m = models.get(model)
    pat = patterns.get("spike_frequency_adaptation")
    rng = np.random.default_rng(4)
    for params in [m.defaults(), *({k: float(v[0]) for k, v in random_params(m, 1, rng).items()} for _ in range(4))]:
        gain = float(np.exp(rng.uniform(*np.log(m.gain_bounds))))
        trace, control = nb.norse_run(m, pat, params, gain, warmup=500)
        for tr, x in ((trace, pat.run_stimulus(500)), (control, pat.control_stimulus(500))):
            p = mapping.to_norse_parameters(model, params, dtype=np.float64)
            s0 = mapping.to_norse_state(model, mapping.initial_state(model, params, np.float64), np.float64)
            s0 = type(s0)(*(t.reshape(1) for t in s0))
            xt = torch.from_numpy(np.float64(gain) * np.asarray(x, np.float64).reshape(-1, 1))
            with torch.no_grad():
                z, states = mapping.norse_layer(model, p, s0)(xt, s0)
            assert _same_bits(tr.v, states.v.reshape(-1).numpy())
            assert np.array_equal(tr.spikes, z.reshape(-1).numpy() != 0)
            assert bool(tr.finite) == all(bool(torch.isfinite(leaf).all()) for leaf in states)


def test_builtin_cells_take_the_lif_ports_table(nb):
    """The built-in cells' LIF parameters and gain bounds are the lif model's own objects, not copies."""
    lif = models.get("lif")
    for cell in nb.CELLS.values():
        assert all(cell.parameters[k] is p for k, p in lif.parameters.items()), cell.name
        assert tuple(cell.gain_bounds) == tuple(lif.gain_bounds)
        assert tuple(nb.norse_model(cell.name).gain_bounds) == tuple(lif.gain_bounds)
    assert nb.CELLS["lif"].initial_state is lif.initial_state
    fields = {**_fields(nb.CELLS["lif_ex"]), "name": "no_gain_bounds_given"}
    del fields["gain_bounds"]
    assert nb.NorseCell(**fields).gain_bounds == tuple(lif.gain_bounds)  # a user's cell: lif's by default


def test_older_results_without_validations_load(jax_run):
    b, _ = jax_run
    d = b.to_dict()
    for p in d["patterns"]:
        del p["validations"]
    old = Assessment.from_dict(d)
    assert all(p.validations == {} for p in old.patterns)
    assert PatternResult.from_dict(d["patterns"][0]).validations == {}


# ----------------------------------------------------------------------------- bad input


def test_bad_cells_and_validators_are_clear_errors(nb):
    from jaxplaus import Parameter

    with pytest.raises(ValueError, match="'nope'.*lif_ex"):
        nb.norse_model("nope")
    with pytest.raises(ValueError, match="lo=2.0, hi=1.0"):
        Parameter(1.0, 2.0, 1.0)
    lif_ex = nb.CELLS["lif_ex"]
    with pytest.raises(TypeError, match="'v_th'"):
        nb.NorseCell(**{**_fields(lif_ex), "name": "bad_params", "parameters": {"v_th": (1.0, 0.2, 3.0)}})
    with pytest.raises(ValueError, match="gain_bounds"):
        nb.NorseCell(**{**_fields(lif_ex), "name": "bad_gain", "gain_bounds": (1.0, 0.1)})
    with pytest.raises(ValueError, match="identifier"):
        nb.NorseCell(**{**_fields(lif_ex), "name": "has space"})

    def bad_step(x, s, p, dt):  # returns the state alone, not (z, state)
        return s

    cell = nb.NorseCell(**{**_fields(lif_ex), "name": "bad_step", "step": bad_step})
    with pytest.raises(TypeError, match="'bad_step'.*Norse step"):
        jp.simulate(nb.norse_model(cell, register=False), None, np.ones(5))
    cell = nb.NorseCell(**{**_fields(lif_ex), "name": "bad_class", "make_parameters": "lif_ex.Nope"})
    with pytest.raises(TypeError, match="'lif_ex.Nope' is not an object of norse.torch.functional"):
        jp.simulate(nb.norse_model(cell, register=False), None, np.ones(5))
    cell = nb.NorseCell(**{**_fields(lif_ex), "name": "bad_state", "initial_state": lambda p: {"v": p["v_leak"]}})
    with pytest.raises(ValueError, match=r"\['v'\].*\['v', 'i'\]"):
        jp.simulate(nb.norse_model(cell, register=False), None, np.ones(5))
    with pytest.raises(ValueError, match="'n2d2' has no Norse counterpart"):
        nb.norse_validator().check("n2d2")
    with pytest.raises(ValueError, match="n2d2"):
        jp.assess("n2d2", patterns=["A"], budget=128, validators=[nb.norse_validator()])
    with pytest.raises(TypeError, match="validator"):
        jp.assess("lif", patterns=["A"], budget=128, validators=[object()])
    with pytest.raises(ValueError, match="'never' given more than once"):
        jp.assess("lif", patterns=["A"], budget=128, validators=[_Never(), _Never()])


def _fields(cell):
    import dataclasses

    return {f.name: getattr(cell, f.name) for f in dataclasses.fields(cell)}


def test_cli_validate_norse_errors(nb, tmp_path, capsys):
    from jaxplaus.cli import main

    assert (
        main(
            [
                "assess",
                "--model",
                "n2d2",
                "--patterns",
                "A",
                "--budget",
                "128",
                "--out",
                str(tmp_path / "x"),
                "--validate-norse",
            ]
        )
        == 2
    )
    assert "no Norse counterpart" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["assess", "--model", "norse.nope", "--patterns", "A", "--out", str(tmp_path / "y")]) == 2
    assert "Unknown Norse cell 'norse.nope'" in capsys.readouterr().err
