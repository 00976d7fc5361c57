"""The simulation kernels: batching, the summary path, precision, blow-ups and bad input."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxplaus as jp
from jaxplaus import models
from jaxplaus.simulate import Phase, Reducer, spike_count_reducer
from sampling import random_params


@pytest.mark.parametrize("name", ["lif", "adex", "izhikevich", "n2d2"])
def test_batched_call_equals_loop_of_single_calls(name):
    """Spike trains are identical; voltages agree to float32 rounding.

    Bitwise equality across batch shapes is not promised: XLA vectorises a batch and may round
    fused multiply-adds and exp() differently in vector and scalar code.
    """
    model = models.get(name)
    params = random_params(model, 6, 1)
    x = np.random.default_rng(2).uniform(0, 1.0, size=(6, 300))
    if name == "izhikevich":
        x = x * 20
    batched = jp.simulate(model, params, x)
    assert int(batched.spikes.sum()) > 0
    for i in range(6):
        single = jp.simulate(model, {k: v[i] for k, v in params.items()}, x[i])
        np.testing.assert_array_equal(np.asarray(batched.spikes[i]), np.asarray(single.spikes), err_msg=f"candidate {i}")
        np.testing.assert_allclose(np.asarray(batched.v[i]), np.asarray(single.v), rtol=1e-4, atol=1e-5)


def test_parameters_and_stimuli_broadcast_over_leading_dimensions():
    # 3 thresholds x 4 input levels: a [3, 1] parameter against a [4, T] stimulus
    v_th = np.array([0.5, 1.0, 2.0])[:, None]
    levels = np.array([0.1, 0.3, 0.5, 1.0])
    x = levels[:, None] * np.ones((1, 500))
    p = dict(models.get("lif").defaults(), v_th=v_th)
    tr = jp.simulate("lif", p, x)
    assert tr.v.shape == (3, 4, 500) and tr.finite.shape == (3, 4)
    counts = np.asarray(tr.spikes.sum(-1))
    for i, th in enumerate(v_th[:, 0]):
        for j, level in enumerate(levels):
            single = jp.simulate("lif", dict(p, v_th=th), np.full(500, level))
            assert counts[i, j] == int(single.spikes.sum())
    assert np.all(np.diff(counts, axis=0) <= 0) and np.all(np.diff(counts, axis=1) >= 0)


@pytest.mark.parametrize("name", ["lif", "adex", "izhikevich", "izhikevich2004", "n2d2"])
def test_summary_path_equals_counts_from_traces(name):
    model = models.get(name)
    params = random_params(model, 64, 3)
    # a step input (a 2-d autonomous system cannot be chaotic; noise input would amplify the
    # kernels' different rounding into different spike counts)
    x = np.where(np.arange(400) > 50, 20.0 if "izhikevich" in name else 0.8, 0.0)
    tr = jp.simulate(model, params, x)
    assert int(tr.spikes.sum()) > 0
    # Some random Euler maps with resets are chaotic: the two kernels' different rounding (fused
    # multiply-adds) then moves spikes. Compare where float32 and float64 runs of both kernels
    # agree (the candidate's spike count is robust to rounding); that must be most of them.
    counts = np.asarray(tr.spikes.sum(-1))
    robust = counts == np.asarray(jp.simulate(model, params, x, dtype="float64").spikes.sum(-1))
    robust &= counts == np.asarray(jp.simulate_summary(model, params, x, spike_count_reducer(), dtype="float64").values)
    # ... and where moving every parameter by 1e-6 (relative) does not move a spike either
    nudged = {k: np.asarray(v, np.float64) * (1 + 1e-6) for k, v in params.items()}
    robust &= counts == np.asarray(jp.simulate(model, nudged, x, dtype="float64").spikes.sum(-1))
    assert robust.mean() > 0.8
    for unroll in (1, 8):
        s = jp.simulate_summary(model, params, x, spike_count_reducer(), unroll=unroll)
        np.testing.assert_array_equal(np.asarray(s.values)[robust], counts[robust])
        np.testing.assert_array_equal(np.asarray(s.finite), np.asarray(tr.finite))


def test_a_reducer_sees_index_input_voltage_and_state():
    first_spike = Reducer(
        init=lambda dt: (jnp.int32(-1), jnp.zeros((), dt), jnp.zeros((), dt)),
        update=lambda c, s: (
            jnp.where((c[0] < 0) & s.spike, s.k, c[0]),
            jnp.maximum(c[1], s.x),
            jnp.maximum(c[2], s.state["i"]),
        ),
    )
    x = np.zeros(200)
    x[50:] = 0.5
    s = jp.simulate_summary("lif", None, x, first_spike)
    tr = jp.simulate("lif", None, x)
    assert int(s.values[0]) == int(np.flatnonzero(tr.spikes)[0])
    assert float(s.values[1]) == 0.5
    assert float(s.values[2]) > 0


@pytest.mark.parametrize("unroll, lag", [(1, False), (3, False), (4, False), (1, True)])
def test_every_kernel_folds_every_sample_in_order(unroll, lag):
    """lag=True runs the reducer one sample behind the step: it must still see each sample once,
    in order, with its own index, input, voltage and spike (checked against full traces), as the
    plain kernel does at any unroll."""
    record = Reducer(
        init=lambda dt: (jnp.int32(0), jnp.int32(-1), jnp.zeros((), dt), jnp.zeros((), dt)),
        update=lambda c, s: (
            c[0] + s.spike.astype(jnp.int32) * s.k,  # sum of spike indices
            jnp.where(s.k == c[1] + 1, s.k, -(10**6)),  # the index after the last one, or a mark
            c[2] * 0.5 + s.x,  # order-sensitive
            jnp.where(s.k == 137, s.v, c[3]),  # the voltage of sample 137
        ),
    )
    rng = np.random.default_rng(2)
    x = rng.uniform(0.0, 1.5, (3, 301))
    params = dict(jp.models.get("lif").defaults(), v_th=np.array([0.5, 1.0, 2.0]))
    tr = jp.simulate("lif", params, x, dtype="float64")
    s = jp.simulate_summary("lif", params, x, record, dtype="float64", unroll=unroll, lag=lag)
    k = np.arange(301)
    np.testing.assert_array_equal(np.asarray(s.values[0]), (np.asarray(tr.spikes) * k).sum(-1))
    np.testing.assert_array_equal(np.asarray(s.values[1]), 300)  # every index, in order
    want = np.zeros(3)
    for j in range(301):
        want = want * 0.5 + x[:, j]
    np.testing.assert_allclose(np.asarray(s.values[2]), want, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(s.values[3]), np.asarray(tr.v)[:, 137])
    np.testing.assert_array_equal(np.asarray(s.finite), np.asarray(tr.finite))


PHASE_ENDS = (40, 40, 25, 180)  # an empty phase, an end before the current sample, a real one


def _phased_reducer(last_to_end: bool) -> Reducer:
    """Counts samples per phase, and sums an order-sensitive mix of the inputs. ``update`` finds
    a sample's phase from its index and the context; each phase's own update counts into its
    counter blindly, so a sample folded by the wrong phase (or twice, or never) shows."""
    ends = PHASE_ENDS if not last_to_end else PHASE_ENDS + (None,)

    def counted(c, s, phase):
        counts = c[0].at[phase].add(1)
        return counts, c[1] * 0.5 + s.x + s.v

    def update(c, s):
        bounds = jnp.maximum.accumulate(jnp.asarray(s.context))  # where each phase really ends
        return counted(c, s, jnp.sum(s.k >= bounds))

    phases = tuple(Phase(end=None if e is None else (lambda ctx, i=i: ctx[i]),
                         update=lambda c, s, i=i: counted(c, s, i)) for i, e in enumerate(ends))
    return Reducer(init=lambda dt: (jnp.zeros(len(PHASE_ENDS) + 1, jnp.int32), jnp.zeros((), dt)),
                   update=update, phases=phases)


@pytest.mark.parametrize("unroll, lag", [(3, False), (1, True)])
@pytest.mark.parametrize("last_to_end", [False, True])
def test_a_reducers_phases_fold_every_sample_once_in_order(unroll, lag, last_to_end):
    """A reducer's phases (each in a loop of its own) fold the samples the plain reducer would,
    in order, each once: their per-phase counts and order-sensitive sums equal the reducer's
    without phases, whose update finds the phase from the sample index."""
    reducer = _phased_reducer(last_to_end)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.5, (3, 301))
    context = jnp.asarray(PHASE_ENDS, jnp.int32)
    phased = jp.simulate_summary("lif", None, x, reducer, context=context, dtype="float64", unroll=unroll, lag=lag)
    plain = jp.simulate_summary("lif", None, x, reducer._replace(phases=()), context=context, dtype="float64",
                                unroll=unroll, lag=lag)
    np.testing.assert_array_equal(np.asarray(phased.values[0]), [[40, 0, 0, 140, 121]] * 3)
    np.testing.assert_array_equal(np.asarray(phased.values[0]), np.asarray(plain.values[0]))
    np.testing.assert_array_equal(np.asarray(phased.values[1]), np.asarray(plain.values[1]))


@pytest.mark.parametrize("lag", [True])
def test_a_traced_length_runs_each_stimulus_to_its_own_end(lag):
    """``length`` known only when the program runs (vmapped over stimuli padded to one length):
    each run equals the run of its stimulus cut at its length, and a blow-up in the padding is
    not counted against it."""
    import jax

    reducer = _phased_reducer(False)
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 1.5, (3, 301))
    x[2, 250:] = np.nan  # blows up in its padding only
    lengths = np.array([301, 150, 250], np.int32)
    context = jnp.asarray(PHASE_ENDS, jnp.int32)

    def one(xi, n):
        return jp.simulate_summary("lif", None, xi, reducer, context=context, dtype="float64", lag=lag, length=n)

    from jaxplaus._precision import precision

    with precision("float64") as dt:  # float64 stimuli, as the cut runs get them
        batched = jax.jit(jax.vmap(one))(jnp.asarray(x, dt), jnp.asarray(lengths))
    for i, n in enumerate(lengths):
        cut = jp.simulate_summary("lif", None, x[i, :n], reducer, context=context, dtype="float64", lag=lag)
        assert np.asarray(cut.finite)
        np.testing.assert_array_equal(np.asarray(batched.values[0][i]), np.asarray(cut.values[0]))
        np.testing.assert_array_equal(np.asarray(batched.values[1][i]), np.asarray(cut.values[1]))
        np.testing.assert_array_equal(np.asarray(batched.finite[i]), np.asarray(cut.finite))
    assert not np.asarray(jp.simulate_summary("lif", None, x[2], reducer, context=context, dtype="float64").finite)


def test_length_out_of_range_is_named():
    x = np.ones(50)
    with pytest.raises(ValueError, match=r"length must be an int in 1 \.\. T = 50, got 60"):
        jp.simulate_summary("lif", None, x, spike_count_reducer(), length=60)
    with pytest.raises(ValueError, match="length must be an int or an integer scalar array"):
        jp.simulate_summary("lif", None, x, spike_count_reducer(), length=2.5)


def test_float64_on_request_and_float32_by_default():
    x = np.full(100, 0.5)
    assert jp.simulate("adex", None, x).v.dtype == jnp.float32
    tr = jp.simulate("adex", None, x, dtype="float64")
    assert tr.v.dtype == np.float64
    # float64 keeps digits float32 cannot hold
    assert not np.array_equal(np.asarray(tr.v), np.asarray(tr.v).astype(np.float32).astype(np.float64))
    with pytest.raises(ValueError, match="float16"):
        jp.simulate("adex", None, x, dtype="float16")


def test_same_input_same_result():
    params = random_params(models.get("adex"), 32, 7)
    x = np.random.default_rng(8).uniform(0, 1, 300)
    a = jp.simulate("adex", params, x)
    b = jp.simulate("adex", params, x)
    np.testing.assert_array_equal(np.asarray(a.v), np.asarray(b.v))


def test_blown_up_dynamics_are_flagged_not_raised():
    """AdEx reset far above threshold overflows exp() on the next step: Norse gives NaN, so do we."""
    p = dict(models.get("adex").defaults(), v_th=0.2, v_reset=1.0, delta_T=np.array([0.5, 0.005]))
    x = np.full(300, 5.0)
    tr = jp.simulate("adex", p, x)
    np.testing.assert_array_equal(np.asarray(tr.finite), [True, False])
    assert np.all(np.isfinite(np.asarray(tr.v[0]))) and not np.all(np.isfinite(np.asarray(tr.v[1])))
    s = jp.simulate_summary("adex", p, x, spike_count_reducer())
    np.testing.assert_array_equal(np.asarray(s.finite), [True, False])


def test_missing_and_extra_parameters_are_named():
    p = models.get("lif").defaults()
    del p["v_th"]
    with pytest.raises(ValueError, match=r"missing \['v_th'\]"):
        jp.simulate("lif", p, np.zeros(10))
    with pytest.raises(ValueError, match=r"unknown \['tau'\]"):
        jp.simulate("lif", dict(models.get("lif").defaults(), tau=1.0), np.zeros(10))


def test_stimulus_of_wrong_rank_or_shape():
    with pytest.raises(ValueError, match=r"stimulus must have shape \[\.\.\., T\]"):
        jp.simulate("lif", None, 0.5)
    p = dict(models.get("lif").defaults(), v_th=np.ones(3))
    with pytest.raises(ValueError, match=r"do not broadcast.*stimulus batch \(4,\).*v_th: \(3,\)"):
        jp.simulate("lif", p, np.zeros((4, 10)))


def _bad_model(step):
    return jp.Model("bad", {"k": jp.Parameter(1.0, 0.5, 2.0)}, lambda p: {"v": 0 * p["k"]}, step)


@pytest.mark.parametrize(
    "step, message",
    [
        (lambda p, s, x: (s, s["v"]), r"must return a tuple \(state, v, spike\), got a tuple of length 2"),
        (lambda p, s, x: ({"v": s["v"], "w": s["v"]}, s["v"], s["v"] > 1), "state of structure"),
        (lambda p, s, x: ({"v": jnp.stack([s["v"], x])}, s["v"], s["v"] > 1), r"state entry \['v'\].*shape \(2,\)"),
        (lambda p, s, x: (s, jnp.stack([s["v"], x]), s["v"] > 1), "scalar v for one neuron"),
        (lambda p, s, x: s["v"], "must return a tuple"),
    ],
)
def test_user_step_returning_the_wrong_structure(step, message):
    with pytest.raises(TypeError, match=message):
        jp.simulate(_bad_model(step), None, np.zeros(5))
