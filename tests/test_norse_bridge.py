"""norse_bridge: the JAX ports lif, adex and izhikevich against Norse 1.1.0 itself.

Three levels (numbers and reasons in norse_bridge/README.md):

- mappings and helpers (cheap);
- this process, XLA's fused multiply-add ON (the default): 1000 random parameter sets x the 20
  protocols per model (plus Norse's 20 Izhikevich presets). The one-step check (the JAX step fed
  Norse's own state before every step) must agree with Norse's spike decision everywhere (up to a
  threshold straddle within float32 rounding) and its voltage to a few float32 ulps; whole runs must
  agree spike for spike for LIF up to such straddles. Izhikevich and AdEx runs are chaotic for part
  of the parameter space, where FMA's last-bit differences grow, so their whole-run agreement is
  reported and only floored here;
- a subprocess with ``XLA_FLAGS=--xla_cpu_max_isa=AVX`` (no FMA, as torch computes): the same 1000
  x 20 candidates must give identical spike trains and bit-identical voltages for LIF and
  Izhikevich (presets included); for AdEx every one-step difference must come from ``exp`` (XLA's
  and torch's differ by an ulp for some arguments).

Tests needing Norse skip, with the reason, where Norse and torch are not installed.
"""

import argparse
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import norse_bridge
from norse_bridge import mapping

NORSE_REASON = 'needs Norse 1.1.0 and torch, the reference of the JAX ports: pip install "jaxplaus[norse]"'
ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = os.environ.get("JAXPLAUS_CACHE_DIR", str(ROOT / ".jax_cache"))
N, SEED = 1000, 0  # random parameter sets per protocol, and their seed


@pytest.fixture(scope="module")
def torch():
    pytest.importorskip("norse", reason=NORSE_REASON)
    return pytest.importorskip("torch", reason=NORSE_REASON)


def _python(code: str, env=None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


# ----------------------------------------------------------------------------- importing


def test_import_does_not_import_torch_or_norse():
    out = _python(
        "import argparse, sys, norse_bridge, norse_bridge.cli\n"
        "norse_bridge.cli.configure_parser(argparse.ArgumentParser())\n"
        "print(sorted(m for m in ('torch', 'norse') if m in sys.modules))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_missing_norse_gives_the_install_hint():
    out = _python(
        "import sys; sys.modules['norse'] = None  # as if not installed\n"
        "import argparse, norse_bridge, norse_bridge.cli\n"
        "assert not norse_bridge.available()\n"
        "try:\n"
        "    norse_bridge.to_norse_parameters('lif')\n"
        "except ImportError as err:\n"
        "    print('ImportError:', err)\n"
        "p = norse_bridge.cli.configure_parser(argparse.ArgumentParser())\n"
        "print('rc', norse_bridge.cli.run_cli(p.parse_args(['--model', 'lif'])))\n"
    )
    assert out.returncode == 0, out.stderr
    assert 'ImportError: norse_bridge needs norse' in out.stdout
    assert 'pip install "jaxplaus[norse]"' in out.stdout
    assert "rc 2" in out.stdout and 'pip install "jaxplaus[norse]"' in out.stderr


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match=r"only the Norse ports \['lif', 'adex', 'izhikevich'\]"):
        mapping.model_name("n2d2")


# ----------------------------------------------------------------------------- mappings


@pytest.mark.parametrize("model", mapping.MODELS)
def test_mapping_round_trip_is_exact(torch, model):
    params, _ = norse_bridge.random_parameters(model, 7, seed=3)
    state = norse_bridge.initial_state(model, params)
    p, s = norse_bridge.to_norse(model, params, state)
    for name in params:  # float32 tensors of shape [N], one value per neuron
        value = getattr(p, name)
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float32 and value.shape == (7,), name
    back_p, back_s = norse_bridge.from_norse(model, p, s)
    for name, value in params.items():
        np.testing.assert_array_equal(back_p[name], value)
    for name, value in state.items():
        np.testing.assert_array_equal(back_s[name], value)
    # scalars give 0-dim tensors; missing names take the model defaults
    p0 = norse_bridge.to_norse_parameters(model, {})
    assert all(getattr(p0, k).shape == () for k in params)


@pytest.mark.parametrize("model", mapping.MODELS)
def test_port_table_entry_is_consistent(torch, model):
    """Each port's table entry fits both its jaxplaus model and Norse: names, classes, layer,
    presets, and pre-reset voltages that are each engine's own step where it does not fire."""
    import jax
    import norse.torch as nt

    from jaxplaus import patterns
    from norse_bridge import ports

    port = ports.PORTS[model]
    assert ports.get(model) is port and ports.get(port.jaxplaus_model()) is port
    m = port.jaxplaus_model()
    assert m.name == model
    fn = port.functional()
    assert set(getattr(fn, port.parameters_class)._fields) == {*m.parameters, "method", "alpha"}
    assert getattr(fn, port.state_class)._fields == port.state_names
    params, gain = norse_bridge.random_parameters(model, 64, seed=5)
    state = norse_bridge.initial_state(model, params)
    assert set(state) == set(port.state_names)
    p, s = norse_bridge.to_norse(model, params, state)
    layer = mapping.norse_layer(model, p, s)
    assert isinstance(layer, getattr(nt, port.layer)) and layer.activation is port.norse_step()
    for name, pattern in port.presets.items():  # Norse's presets, driven by jaxplaus patterns
        assert isinstance(getattr(fn, name), getattr(fn, port.behavior)) and pattern in patterns.names()
    # pre-reset voltages, one step from the initial state: where a step does not fire, its v is it
    x = (gain * 10).astype(np.float32)
    with torch.no_grad():
        z_norse, s_norse = port.norse_step()(torch.from_numpy(x), s, p, mapping.DT)
        pre_norse = port.norse_pre_reset(port.norse_step(), p, s, torch.from_numpy(x)).numpy()
    step = jax.vmap(lambda p_, s_, x_: (*m.step(p_, s_, x_)[1:], port.jax_pre_reset(m, p_, s_, x_)))
    v_jax, z_jax, pre_jax = (np.asarray(a) for a in step(params, state, x))
    quiet = ~np.asarray(z_jax, bool) & (z_norse.numpy() == 0)
    assert quiet.any()
    np.testing.assert_array_equal(pre_jax[quiet], v_jax[quiet])
    np.testing.assert_array_equal(pre_norse[quiet], s_norse.v.numpy()[quiet])
    np.testing.assert_allclose(pre_jax, pre_norse, rtol=1e-5)  # the same equations (FMA aside)


def test_lif_adex_norse_layers_take_the_mapped_objects(torch):
    """LIFAdEx fails on a Python-float v_leak (`.detach()` on a float): the mapping gives tensors."""
    from norse.torch.functional.lif_adex import LIFAdExParameters

    layer = mapping.norse_layer("adex", LIFAdExParameters(v_leak=0.0))
    with pytest.raises(AttributeError, match="detach"):
        layer(torch.zeros(3, 2))
    p, s = norse_bridge.to_norse("adex", {"v_leak": np.zeros(2, np.float32)})
    with torch.no_grad():
        z, states = mapping.norse_layer("adex", p, s)(torch.full((3, 2), 0.5), s)
    assert z.shape == (3, 2) and states.a.shape == (3, 2)


def test_izhikevich_presets_are_mapped_with_their_protocols(torch):
    from jaxplaus import patterns

    presets = norse_bridge.izhikevich_presets()
    assert len(presets) == 20
    assert sorted(p.pattern for p in presets.values()) == sorted(patterns.names())
    tonic = presets["tonic_spiking"]
    assert float(tonic.params["a"]) == np.float32(0.02) and float(tonic.params["tau_inv"]) == 250
    assert float(tonic.state["v"]) == -70 and float(tonic.state["u"]) == np.float32(-14)
    assert float(presets["accomodation"].state["u"]) == -16  # Norse's own initial u there
    assert float(presets["class_1_exc"].params["mn"]) == np.float32(4.1)
    assert float(presets["dap"].params["tau_inv"]) == 100


def test_izhikevich_step_takes_per_neuron_tensor_parameters(torch):
    """Norse's IzhikevichParameters are typed float, but [N] tensors broadcast in its step."""
    from norse.torch.functional.izhikevich import izhikevich_feed_forward_step

    params, _ = norse_bridge.random_parameters("izhikevich", 5, seed=1)
    state = norse_bridge.initial_state("izhikevich", params)
    p, s = norse_bridge.to_norse("izhikevich", params, state)
    x = torch.linspace(-5, 20, 5)
    z, s1 = izhikevich_feed_forward_step(x, s, p)
    for i in range(5):
        pi, si = norse_bridge.to_norse(
            "izhikevich", {k: v[i] for k, v in params.items()}, {k: v[i] for k, v in state.items()}
        )
        zi, s1i = izhikevich_feed_forward_step(x[i], si, pi)
        assert float(zi) == float(z[i]) and float(s1i.v) == float(s1.v[i]) and float(s1i.u) == float(s1.u[i])


def test_izhikevich_python_float_parameters_round_tau_inv_dt_a_in_double(torch):
    """Why the mapping gives Norse float32 tensors: with Python floats, ``tau_inv * dt * a`` is a
    double product rounded once; the JAX port (and Norse with tensors) rounds after each float32
    product. They differ for many random values, though not for any of Norse's presets."""
    params, _ = norse_bridge.random_parameters("izhikevich", 2000, seed=1)
    tau_inv, a = params["tau_inv"], params["a"]
    port = (tau_inv * np.float32(mapping.DT)).astype(np.float32) * a  # float32 throughout, as in the port
    p = norse_bridge.to_norse_parameters("izhikevich", params)
    with_tensors = (p.tau_inv * mapping.DT * p.a).numpy()  # Norse's expression, tensor parameters
    np.testing.assert_array_equal(with_tensors, port)
    with_floats = (tau_inv.astype(np.float64) * mapping.DT * a.astype(np.float64)).astype(np.float32)
    assert (with_floats != port).mean() > 0.3
    for pre in norse_bridge.izhikevich_presets().values():
        q = pre.behavior.p
        in_float32 = np.float32(np.float32(q.tau_inv) * np.float32(mapping.DT)) * np.float32(q.a)
        assert np.float32(q.tau_inv * mapping.DT * q.a) == in_float32, pre.name


def test_random_parameters_stay_within_bounds_and_repeat(torch):
    from jaxplaus import models

    for model in mapping.MODELS:
        m = models.get(model)
        params, gain = norse_bridge.random_parameters(model, 500, seed=7)
        lo, hi = norse_bridge.GAIN_RANGES[model]
        assert gain.shape == (500,) and gain.min() >= lo and gain.max() <= hi
        for name, spec in m.parameters.items():
            x = params[name]
            assert x.dtype == np.float32 and x.shape == (500,)
            assert x.min() >= np.float32(spec.lo) and x.max() <= np.float32(spec.hi), name
            if spec.log:  # log-uniform: the median sits near the geometric mean of the bounds
                assert abs(np.log(np.median(x)) - np.log(np.sqrt(spec.lo * spec.hi))) < 0.25 * np.log(spec.hi / spec.lo)
        again = norse_bridge.random_parameters(model, 500, seed=7)
        assert all(np.array_equal(again.params[k], params[k]) for k in params)


# ----------------------------------------------------------------------------- single crosschecks


def test_crosscheck_reproduces_the_spec_numbers(torch):
    x = np.full(1000, 0.5)
    r = norse_bridge.crosscheck("lif", None, x)
    assert r.all_identical and int(r.n_spikes_norse[0]) == 199 and int(r.n_spikes_jax[0]) == 199
    r = norse_bridge.crosscheck("adex", None, x)
    assert r.all_identical and int(r.n_spikes_norse[0]) == 48
    assert r.max_dv < 1e-5, r.summary()


def test_crosscheck_diagnoses_a_differing_spike(torch):
    """Thresholds set one ulp apart at the first spike's pre-reset voltage: Norse fires, JAX (at
    exactly v_th, strict threshold) does not; the report finds the step and the straddle."""
    import jaxplaus

    x = np.full(40, 0.5, np.float32)
    k = 8  # the spec's first spike index at x = 0.5
    free = {**jaxplaus.models.get("lif").defaults(), "v_th": np.inf}  # nothing fires: v is pre-reset
    v_jax = np.asarray(jaxplaus.simulate("lif", free, x).v)[k]
    p_free, s0 = norse_bridge.to_norse("lif", free)
    with torch.no_grad():
        _, states = mapping.norse_layer("lif", p_free, s0)(torch.from_numpy(x[:, None]), s0)
    v_norse = np.float32(states.v[k, 0])
    p_norse = norse_bridge.to_norse_parameters("lif", {"v_th": np.nextafter(v_norse, np.float32(-np.inf))})
    r = norse_bridge.crosscheck("lif", {"v_th": v_jax}, x, norse_params=p_norse)
    assert not r.spikes_identical[0] and int(r.first_diff[0]) == k
    (m,) = r.mismatches
    assert m.step == k and m.norse_spiked and not m.jax_spiked
    assert m.v_pre_jax == v_jax and m.v_pre_norse == v_norse and m.replay_exact
    assert m.ulps_jax == 0 and m.ulps_norse == 1
    assert m.straddles and m.near_threshold
    assert "only Norse spiked" in str(m) and "within float32 rounding" in str(m)


# ----------------------------------------------------------------------------- 1000 x 20, FMA on


@pytest.fixture(scope="module")
def default_tables(torch):
    cache = {}

    def get(model):
        if model not in cache:
            cache[model] = norse_bridge.crosscheck_protocols(model, N, SEED, max_diagnosed=50)
            print("\n" + cache[model].format())
        return cache[model]

    return get


# one-step agreement bounds, relative to max(1, |v|, |v'|): a few float32 ulps (1.2e-7) of the
# largest term, more for AdEx whose exp can be large and cancel (see README)
LOCAL_BOUND = {"lif": 1e-6, "izhikevich": 1e-5, "adex": 1e-4}


@pytest.mark.parametrize("model", mapping.MODELS)
def test_one_step_agrees_with_norse_everywhere(default_tables, model):
    t = default_tables(model)
    assert t.candidates >= N * 20
    assert t.local_ok == t.candidates, t.format()  # every spike decision, or a straddle within rounding
    assert t.max_local_dv <= LOCAL_BOUND[model], t.format()
    assert 0.2 * t.candidates < t.firing < 0.8 * t.candidates  # the gains give both silent and firing runs


def test_lif_runs_agree_spike_for_spike(default_tables):
    t = default_tables("lif")
    # every differing spike train is a threshold crossing decided by the last bit
    assert len(t.mismatches) == t.candidates - t.identical <= t.candidates // 1000, t.format()
    for _, m in t.mismatches:
        assert m.near_threshold and m.replay_exact and m.dv_before < 1e-5, str(m)
    assert t.max_dv < 1e-4, t.format()


@pytest.mark.parametrize("model", ["izhikevich", "adex"])
def test_chaotic_models_runs_mostly_agree(default_tables, model):
    """FMA's last-bit differences grow in chaotic runs (Euler steps up to 1 ms, sharp exponentials);
    the bar for these is the one-step test and the no-FMA runs below. Floor, measured 94% / 96%."""
    t = default_tables(model)
    assert t.identical >= 0.9 * t.candidates, t.format()
    assert all(m.straddles for _, m in t.mismatches), t.format()


# ----------------------------------------------------------------------------- 1000 x 20, FMA off


@pytest.fixture(scope="module")
def no_fma(torch):
    result = norse_bridge.run_probe(("lif", "izhikevich", "adex"), n=N, seed=SEED, fma=False, cache_dir=CACHE)
    for model, d in result.items():
        keys = ("candidates", "identical", "bitwise", "local_exact", "local_exp_only", "max_dv", "seconds")
        print(f"\n{model} without FMA: " + ", ".join(f"{k}={d[k]}" for k in keys))
    return result


@pytest.mark.parametrize("model", ["lif", "izhikevich"])
def test_without_fma_lif_and_izhikevich_match_norse_bit_for_bit(no_fma, model):
    d = no_fma[model]
    assert d["fma_disabled"]
    assert d["candidates"] >= N * 20
    assert d["identical"] == d["candidates"], d["mismatches"][:5]
    assert d["bitwise"] == d["candidates"]  # spikes and every voltage, bit for bit
    assert d["local_exact"] == d["candidates"]
    assert d["max_dv"] == 0.0
    if model == "izhikevich":
        assert len(d["presets"]) == 20 and all(p["bitwise"] for p in d["presets"].values()), d["presets"]


def test_without_fma_adex_differs_from_norse_only_through_exp(no_fma):
    d = no_fma["adex"]
    assert d["fma_disabled"]
    assert d["local_ok"] == d["candidates"]
    assert d["local_exp_only"] == d["candidates"]  # every inexact step: XLA's exp != torch's exp there
    assert d["identical"] >= 0.99 * d["candidates"], d["mismatches"][:5]


# ----------------------------------------------------------------------------- the command


def test_cli_prints_the_table(torch, capsys):
    from norse_bridge import cli

    parser = cli.configure_parser(argparse.ArgumentParser())
    rc = cli.run_cli(parser.parse_args(["--model", "izhikevich", "--n", "20", "--protocols", "A", "tonic_bursting"]))
    out = capsys.readouterr().out
    assert "spikes identical" in out and "tonic_bursting" in out and "total" in out
    assert "Norse presets" in out
    assert rc in (0, 1)
    assert cli.run_cli(parser.parse_args(["--model", "lif", "--protocols", "Z"])) == 2
