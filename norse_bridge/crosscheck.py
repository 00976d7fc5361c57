"""Cross-check the JAX ports against Norse 1.1.0: same inputs, same float32 numbers, both engines.

:func:`crosscheck` runs one batch of candidates in ``jaxplaus.simulate`` (float32) and in the Norse
layer (``torch.no_grad()``, ``record_states=True``, ``dt = 0.001``, input ``[T, N]``; see
:mod:`norse_bridge.runs`) and compares spike trains, voltages and final states candidate by
candidate. Where a spike train differs, the first differing step is diagnosed
(:mod:`norse_bridge.diagnose`): both engines' *pre-reset* voltages at that step and their
distances to ``v_th`` in float32 ulps, which says whether the disagreement is a threshold crossing
decided by the last bits. The one-step check (:mod:`norse_bridge.onestep`) feeds the JAX step
Norse's state before every step. What differs per model is the port's table entry
(:mod:`norse_bridge.ports`).

The rest of the cross-check: random candidates (:mod:`norse_bridge.candidates`), the 20 protocols
and Norse's presets (:mod:`norse_bridge.protocols`, :mod:`norse_bridge.table`), and the check in a
fresh Python with XLA's fused multiply-add off (:mod:`norse_bridge.fma`, :mod:`norse_bridge.probe`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from norse_bridge import onestep, ports, runs
from norse_bridge._deps import require
from norse_bridge.diagnose import diagnose
from norse_bridge.floats import abs_diff, bits_same
from norse_bridge.fma import mode
from norse_bridge.report import CrosscheckReport


def _labels(labels: Sequence[str] | None, n: int) -> tuple[str, ...]:
    out = tuple("" for _ in range(n)) if labels is None else tuple(str(x) for x in labels)
    if len(out) != n:
        raise ValueError(f"{len(out)} labels for {n} candidates")
    return out


def _whole_runs(b: runs.Batch, jax_run: runs.JaxRun, norse_run: runs.NorseRun) -> dict[str, np.ndarray]:
    """The whole-run fields of :class:`CrosscheckReport` (each ``[N]``) and ``dv [N, T]``."""
    differ = jax_run.z != norse_run.z
    identical = ~differ.any(axis=1)
    dv = abs_diff(jax_run.v, norse_run.v)
    bitwise = identical & bits_same(jax_run.v, norse_run.v).all(axis=1)
    state_bitwise = bitwise.copy()
    for k, v in jax_run.state.items():
        state_bitwise &= bits_same(v, norse_run.traces[k][-1])
    finite_norse = np.ones(b.n, bool)
    for v in norse_run.traces.values():
        finite_norse &= np.isfinite(v).all(axis=0)
    return {
        "spikes_identical": identical,
        "first_diff": np.where(identical, -1, differ.argmax(axis=1)),
        "dv": dv,
        "max_abs_dv": dv.max(axis=1),
        "bitwise": bitwise,
        "state_bitwise": state_bitwise,
        "n_spikes_jax": jax_run.z.sum(axis=1),
        "n_spikes_norse": norse_run.z.sum(axis=1),
        "finite_jax": jax_run.finite,
        "finite_norse": finite_norse,
    }


def crosscheck(
    model,
    params: Mapping[str, Any] | None,
    stimulus,
    state0: Mapping[str, Any] | None = None,
    *,
    labels: Sequence[str] | None = None,
    max_diagnosed: int = 20,
    norse_params=None,
    flush_denormal: bool = False,
) -> CrosscheckReport:
    """Simulate a batch in jaxplaus (float32) and in Norse 1.1.0, and compare them.

    Args:
        model: ``"lif"``, ``"adex"`` or ``"izhikevich"`` (or the Model).
        params: jaxplaus parameters, scalars or ``[N]`` arrays (missing ones take the defaults).
        stimulus: ``[N, T]`` or ``[T]`` input, one sample per step (rounded to float32 once,
            the same numbers go to both engines).
        state0: initial state (``[N]`` or scalars), or None for jaxplaus's ``initial_state``.
            Both engines start from the same float32 state.
        labels: optional name per candidate, shown in the report.
        max_diagnosed: how many differing candidates get a threshold diagnosis.
        norse_params: run Norse with this parameter object instead of the mapping of ``params``
            (e.g. a preset's own ``IzhikevichParameters`` of Python floats, as Norse ships it).
        flush_denormal: run Norse with ``torch.set_flush_denormal(True)`` (restored to torch's
            default, off, afterwards), i.e. flush subnormals to zero as XLA on CPU does. Off by
            default: Norse is compared as it runs. The only effect measured is on states that
            decay into the subnormal range (LIF's ``i`` after the input ends), never on voltages.
    """
    require()
    port = ports.get(model)
    m = port.jaxplaus_model()
    b = runs.batch(m, params, stimulus, state0)
    labels = _labels(labels, b.n)
    jax_run = runs.run_jax(m, b)
    norse_run = runs.run_norse(port, b, norse_params, flush_denormal)
    whole = _whole_runs(b, jax_run, norse_run)
    dv, first = whole.pop("dv"), whole["first_diff"]
    bad = np.flatnonzero(~whole["spikes_identical"])[:max_diagnosed]
    return CrosscheckReport(
        model=m.name,
        mode=mode(),
        n_steps=b.n_steps,
        labels=labels,
        mismatches=diagnose(port, b, jax_run, norse_run, bad, first, dv, labels),
        **whole,
        **onestep.check(port, b, norse_run),
    )


__all__ = ["crosscheck"]
