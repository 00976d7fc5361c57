"""The batched strict validator: the verdicts of Pattern.check, for one point per pattern at once."""

import numpy as np
import pytest

from jaxplaus import models, patterns
from jaxplaus.assess.strict import strict_verdicts
from jaxplaus.simulate import simulate

MODEL = models.get("izhikevich2004")


def test_batched_verdicts_equal_pattern_check_on_every_pattern():
    """Each pattern's figure1.m parameters (regular dynamics: no rounding-sensitive spike
    times) judged for all 20 patterns at once, against each pattern's own check; the verdicts
    differ across patterns (some pass, some fail), so the comparison covers both."""
    pats = tuple(patterns.get(n) for n in patterns.names())
    points = [dict(p.reference.params(), gain=1.0) for p in pats]
    stacked = {k: [pt[k] for pt in points] for k in points[0]}
    batched = strict_verdicts(MODEL, pats, stacked, 500)
    alone = []
    for p, pt in zip(pats, points):
        params = dict(pt)
        gain = params.pop("gain")
        alone.append(p.check(MODEL, params, gain, warmup=500, dtype="float64"))
    assert batched == alone
    assert 0 < sum(v.passed for v in batched) < len(pats)
    # the verdicts of some patterns only, in the order asked
    assert strict_verdicts(MODEL, pats, stacked, 500, tasks=[7, 2, 19]) == [alone[7], alone[2], alone[19]]


def test_a_blow_up_after_a_protocol_ends_does_not_fail_it():
    """``finite_until``: the finiteness flag covers each candidate's own samples only."""
    x = np.zeros((2, 400))
    x[:, 300:] = np.nan  # the dynamics turn NaN at sample 300
    params = dict(MODEL.defaults())
    full = simulate(MODEL, params, x, dtype="float64")
    assert not np.any(np.asarray(full.finite))
    cut = simulate(MODEL, params, x, dtype="float64", finite_until=np.array([300, 400]))
    np.testing.assert_array_equal(np.asarray(cut.finite), [True, False])
    np.testing.assert_array_equal(np.asarray(cut.v)[:, :300], np.asarray(full.v)[:, :300])


@pytest.mark.parametrize("until", [0, 299])
def test_finite_until_covers_the_samples_before_it(until):
    x = np.zeros(400)
    x[until:] = np.nan
    out = simulate(MODEL, MODEL.defaults(), x, dtype="float64", finite_until=until + 1)
    assert bool(out.finite) == bool(np.all(np.isfinite(np.asarray(out.v)[: until + 1])))
