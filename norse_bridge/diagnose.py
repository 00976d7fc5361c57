"""The diagnosis of a differing spike train: both engines' pre-reset voltages at its first differing step.

Each engine's voltage at that step before its reset is recomputed from that engine's own state
before the step (the port's :attr:`~norse_bridge.ports.Port.jax_pre_reset` and
:attr:`~norse_bridge.ports.Port.norse_pre_reset`), with its distance to ``v_th`` in float32 ulps:
this says whether the disagreement is a threshold crossing decided by the last bits.
"""

from __future__ import annotations

import numpy as np

from norse_bridge import mapping
from norse_bridge._deps import require
from norse_bridge.floats import NEAR_ULPS, bits_same, ulps
from norse_bridge.ports import Port
from norse_bridge.report import SpikeMismatch
from norse_bridge.runs import Batch, JaxRun, NorseRun


def _jax_replay(port: Port, params, stim, state0):
    """The JAX run of a few candidates again, step by step: the states before each step
    (name -> ``[K, T]``), the pre-reset voltages ``[K, T]`` and the reported voltages ``[K, T]``."""
    import jax

    model, pre = port.jaxplaus_model(), port.jax_pre_reset

    def one(p, xs, s0):
        def body(s, x):
            v_pre = pre(model, p, s, x)
            s_new, v, _ = model.step(p, s, x)
            return s_new, (s, v_pre, v)

        _, out = jax.lax.scan(body, s0, xs)
        return out

    prev, v_pre, v = jax.jit(jax.vmap(one))(params, stim, state0)
    return jax.tree.map(np.asarray, prev), np.asarray(v_pre), np.asarray(v)


def _norse_candidate(torch, p_norse, c: int):
    """Candidate ``c``'s entries of a Norse parameter object (0-dim tensors; floats kept)."""
    fields = {}
    for name, value in p_norse._asdict().items():
        if isinstance(value, torch.Tensor) and value.ndim:
            value = value.reshape(-1)[c] if value.numel() > 1 else value.reshape(())
        fields[name] = value
    return type(p_norse)(**fields)


def _norse_pre_reset(port: Port, b: Batch, norse_run: NorseRun, c: int, k: int) -> float:
    """Norse's pre-reset voltage of candidate ``c`` at step ``k``, from Norse's recorded state
    before the step (the state after step ``k - 1``, or the initial state): exact by construction."""
    torch, _ = require()
    s_prev = {name: (b.state0[name][c] if k == 0 else tr[k - 1, c]) for name, tr in norse_run.traces.items()}
    x = torch.as_tensor(np.float32(b.stim[c, k]))
    with torch.no_grad():
        p_c = _norse_candidate(torch, norse_run.params, c)
        return float(port.norse_pre_reset(port.norse_step(), p_c, mapping.to_norse_state(port.model, s_prev), x))


def diagnose(
    port: Port, b: Batch, jax_run: JaxRun, norse_run: NorseRun, bad, first: np.ndarray, dv: np.ndarray, labels
) -> tuple[SpikeMismatch, ...]:
    """A :class:`SpikeMismatch` for each candidate in ``bad`` (indices), at its first differing step
    ``first[c]``; ``dv [N, T]``: ``|v_jax - v_norse|``; ``labels``: a name per candidate."""
    if not len(bad):
        return ()
    vth_norse = np.broadcast_to(mapping.from_norse_parameters(port.model, norse_run.params)["v_th"], (b.n,))
    sel = {k: v[bad] for k, v in b.params.items()}
    _, pre_jax, v_replay = _jax_replay(port, sel, b.stim[bad], {k: v[bad] for k, v in b.state0.items()})
    out = []
    for j, c in enumerate(bad):
        k = int(first[c])
        v_pre_jax, v_pre_norse = float(pre_jax[j, k]), _norse_pre_reset(port, b, norse_run, c, k)
        v_th = np.float32(b.params["v_th"][c])
        ua, ub = ulps(v_pre_jax, v_th), ulps(v_pre_norse, vth_norse[c])
        straddles = (ua > 0) != (ub > 0)
        out.append(
            SpikeMismatch(
                candidate=int(c),
                label=labels[c],
                step=k,
                jax_spiked=bool(jax_run.z[c, k]),
                norse_spiked=bool(norse_run.z[c, k]),
                v_th=float(v_th),
                v_pre_jax=v_pre_jax,
                v_pre_norse=v_pre_norse,
                ulps_jax=ua,
                ulps_norse=ub,
                straddles=bool(straddles),
                near_threshold=bool(straddles and max(abs(ua), abs(ub)) <= NEAR_ULPS),
                replay_exact=bool(bits_same(v_replay[j, : k + 1], jax_run.v[c, : k + 1]).all()),
                dv_before=float(dv[c, :k].max()) if k else 0.0,
                v_th_norse=float(vth_norse[c]),
            )
        )
    return tuple(out)


__all__ = ["diagnose"]
