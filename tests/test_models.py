"""The model registry, the shipped models against independent references, and bad input."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxplaus as jp
from jaxplaus import models


def test_registry_lists_the_shipped_models():
    assert {"lif", "adex", "izhikevich", "izhikevich2004", "n2d2"} <= set(models.names())
    for name in models.names():
        m = models.get(name)
        assert m.name == name
        assert m.parameters, name
        for p in m.parameters.values():
            assert p.lo < p.hi


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown model 'hodgkin'.*lif.*adex"):
        models.get("hodgkin")
    with pytest.raises(ValueError, match="Unknown model"):
        jp.simulate("hodgkin", None, np.zeros(3))


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="lo=2.0, hi=1.0"):
        jp.Parameter(0.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="log-scale.*lo > 0"):
        jp.Parameter(1.0, 0.0, 1.0, log=True)
    base = models.get("izhikevich2004")
    with pytest.raises(ValueError, match=r"core names \['e'\] are not parameters; known: \['a', 'b'"):
        jp.Model("bad", base.parameters, base.initial_state, base.step, core=("a", "e"))
    assert jp.Model("ok", base.parameters, base.initial_state, base.step, core=("a", "gain")).core == ("a", "gain")


# Norse 1.1.0 numbers measured on the reference (shared/spec/norse-reference.md), not by this code.
def test_lif_matches_norse_reference_numbers():
    tr = jp.simulate("lif", None, np.full(1000, 0.5))
    assert int(tr.spikes.sum()) == 199
    assert list(np.flatnonzero(tr.spikes)[:4]) == [8, 14, 19, 24]
    assert int(jp.simulate("lif", None, np.full(1000, 0.21)).spikes.sum()) == 34
    assert int(jp.simulate("lif", None, np.full(1000, 0.2)).spikes.sum()) == 0


def test_adex_matches_norse_reference_numbers():
    tr = jp.simulate("adex", None, np.full(1000, 0.5))
    assert int(tr.spikes.sum()) == 48
    assert list(np.flatnonzero(tr.spikes)[:4]) == [7, 13, 18, 23]
    assert float(tr.state["a"]) == pytest.approx(2.15935, abs=2e-5)


def _published_n2d2(x):
    """N2D2 exactly as published (shared/spec/models.md), in float32 numpy."""
    f = np.float32
    v, u = f(0.9411955), f(0.0)
    vs, zs = [], []
    for xi in x.astype(np.float32):
        dv = f(2.2999775) * xi * u + f(1.1182089) * u * u
        du = f(0.7606892) * xi * xi + f(0.6316316) * xi * u
        v, u = v + f(0.1) * dv, u + f(0.1) * du
        z = v > f(9.4765338)
        if z:
            v, u = f(0.0982700) * v, f(0.0)
        vs.append(v)
        zs.append(z)
    return np.array(vs), np.array(zs)


def test_n2d2_defaults_equal_the_published_neuron():
    x = np.random.default_rng(0).uniform(-1.5, 2.5, size=2000).astype(np.float32)
    v_ref, z_ref = _published_n2d2(x)
    assert z_ref.sum() > 10  # the input is strong enough to test the reset
    tr = jp.simulate("n2d2", None, x)
    np.testing.assert_array_equal(np.asarray(tr.spikes), z_ref)
    np.testing.assert_allclose(np.asarray(tr.v), v_ref, rtol=2e-6, atol=1e-6)


def test_a_user_model_in_twenty_lines():
    def step(p, s, x):
        v = s["v"] + p["dt"] * (-s["v"] + x)
        fired = v > 1.0
        v = jnp.where(fired, 0.0, v)
        return {"v": v}, v, fired

    toy = jp.Model("toy", {"dt": jp.Parameter(0.1, 0.01, 1.0, log=True)}, lambda p: {"v": 0 * p["dt"]}, step)
    tr = jp.simulate(toy, {"dt": jnp.array([0.1, 0.5])}, np.full(100, 2.0))
    assert tr.v.shape == (2, 100)
    assert 0 < int(tr.spikes[0].sum()) < int(tr.spikes[1].sum())


def test_with_input_gain_gives_equal_models_for_one_model():
    """A gained model is a value: two calls on one model give equal, equally hashed models (so
    the caches and compiled kernels keyed on the model are shared), another model an unequal one."""
    from jaxplaus.batching import _initial_structure

    lif = models.get("lif")
    a, b = models.with_input_gain(lif), models.with_input_gain(lif)
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != lif and a != models.with_input_gain(models.get("adex"))
    twin = jp.Model("lif", lif.parameters, lif.initial_state, lif.step)  # models compare by identity
    assert models.with_input_gain(twin) != a
    assert list(a.parameters) == [*lif.parameters, "gain"] and a.name == "lif[gain]"
    with pytest.raises(ValueError, match="already has a parameter named 'gain'"):
        models.with_input_gain(a)
    x, params = np.full(50, 0.3), dict(lif.defaults(), gain=2.0)
    first = jp.simulate(a, params, x)
    misses = _initial_structure.cache_info().misses
    second = jp.simulate(b, params, x)
    assert _initial_structure.cache_info().misses == misses  # b hit a's entry
    np.testing.assert_array_equal(first.v, second.v)
    np.testing.assert_array_equal(first.v, jp.simulate(lif, lif.defaults(), 2.0 * x).v)
