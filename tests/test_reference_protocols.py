"""izhikevich2004 reproduces figure1.m spike for spike on the 20 protocols.

The reference is tests/figure1_reference.py, a plain-numpy transcription of the script that
shares no code with jaxplaus.
"""

import numpy as np
import pytest

import jaxplaus as jp
from jaxplaus import patterns

from figure1_reference import PANELS, run

NAMES = patterns.names()

# class2_excitability sits near a Hopf bifurcation where rounding differences of 1e-16 grow
# (float32 rounding of the parameters alone changes its spike train, see the last test).
CHAOTIC = {"class2_excitability"}


def test_the_suite_has_the_20_panels_in_order():
    assert len(NAMES) == 20
    assert [patterns.get(n).letter for n in NAMES] == list("ABCDEFGHIJKLMNOPQRST")
    assert set(NAMES) == set(PANELS)


@pytest.mark.parametrize("name", NAMES)
def test_protocol_stimulus_equals_the_script_input(name):
    inputs, _, _ = run(name)
    np.testing.assert_allclose(patterns.get(name).stimulus(), inputs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_izhikevich2004_matches_figure1_spike_for_spike(name):
    _, volts, spikes = run(name)
    tr = patterns.get(name).reference_trace(dtype="float64")
    np.testing.assert_array_equal(np.flatnonzero(tr.spikes), spikes)
    if name not in CHAOTIC:  # there, XLA's fused multiply-adds alone move V by up to 1e-2 mV
        np.testing.assert_allclose(np.asarray(tr.v), volts, rtol=1e-9, atol=1e-9)


def test_all_20_protocols_in_one_batched_call():
    """The 20 protocols run together (per-protocol parameters, stimuli, states) equal single runs."""
    ps = [patterns.get(n) for n in NAMES if not patterns.get(n).reference.accommodation]
    n = max(p.n_samples for p in ps)
    x = np.stack([np.pad(p.stimulus(), (0, n - p.n_samples)) for p in ps])
    params = {k: np.array([p.reference.params()[k] for p in ps]) for k in ps[0].reference.params()}
    state0 = {k: np.array([p.reference.state0()[k] for p in ps]) for k in ("v", "u")}
    tr = jp.simulate(ps[0].reference.model(), params, x, state0, dtype="float64")
    for i, p in enumerate(ps):
        np.testing.assert_array_equal(np.flatnonzero(tr.spikes[i, : p.n_samples]), run(p.name)[2], err_msg=p.name)


@pytest.mark.parametrize("name", NAMES)
def test_float32_and_float64_agree_on_spike_trains(name):
    p = patterns.get(name)
    s64 = np.flatnonzero(p.reference_trace("float64").spikes)
    s32 = np.flatnonzero(p.reference_trace("float32").spikes)
    if name not in CHAOTIC:
        np.testing.assert_array_equal(s32, s64)
    else:
        assert len(s32) == len(s64)
        np.testing.assert_array_equal(s32[:6], s64[:6])


def test_class2_divergence_is_intrinsic_to_float32_parameters():
    """Rounding only the parameters to float32, in a float64 run, already moves class 2's spikes."""
    p = patterns.get("class2_excitability")
    ref = p.reference
    rounded = {k: float(np.float32(v)) for k, v in ref.params().items()}
    exact = np.flatnonzero(p.reference_trace("float64").spikes)
    perturbed = np.flatnonzero(jp.simulate(ref.model(), rounded, p.stimulus(), ref.state0(), dtype="float64").spikes)
    assert not np.array_equal(exact, perturbed)
    np.testing.assert_array_equal(exact[:6], perturbed[:6])
