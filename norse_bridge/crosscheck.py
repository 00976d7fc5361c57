"""Cross-check the JAX ports against Norse 1.1.0: same inputs, same float32 numbers, both engines.

:func:`crosscheck` runs one batch of candidates in ``jaxplaus.simulate`` (float32) and in the Norse
layer (``torch.no_grad()``, ``record_states=True``, ``dt = 0.001``, input ``[T, N]``) and compares
spike trains, voltages and final states candidate by candidate. Where a spike train differs, the
first differing step is diagnosed: both engines' *pre-reset* voltages at that step (recomputed
from each engine's own state before the step) and their distances to ``v_th`` in float32 ulps,
which says whether the disagreement is a threshold crossing decided by the last bits.

:func:`crosscheck_protocols` runs ``n`` random candidates (:func:`random_parameters`, drawn within
the model's search bounds, plus an input gain) on each of the 20 jaxplaus protocols, one batch per
protocol; for ``izhikevich`` each batch also holds the Norse preset of that protocol, with its own
initial state and the protocol's figure1.m input (gain 1).

Input gains (log-uniform, per candidate and protocol; see :data:`GAIN_RANGES`): the protocols are
in Izhikevich current units (amplitudes 0.24 to 80). For ``izhikevich`` the gain spans 1/4 to 4
around the figure1.m amplitude. ``lif`` and ``adex`` take their input as a per-step jump into
the synaptic current, whose steady state is ``x / (dt * tau_syn_inv)`` (1 to 100 times ``x``) and
whose threshold is 0.2 to 3; a gain from 1e-3 to 1 puts the drive from far below to far above
threshold, so that on every protocol some candidates stay silent and some fire.

Fused multiply-add: XLA on CPU contracts ``a + b*c`` into an FMA, torch does not, so by default
voltages drift apart by a few ulps per step. With ``XLA_FLAGS=--xla_cpu_max_isa=AVX`` set before
jax is imported there is no FMA and LIF and Izhikevich agree bit for bit (:func:`fma_disabled`
says whether the flag is set; :func:`run_probe` runs a check in a subprocess with it).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from norse_bridge import mapping
from norse_bridge._deps import require
from norse_bridge.mapping import DT

# log-uniform input-gain range per model (see the module docstring)
GAIN_RANGES = {"lif": (1e-3, 1.0), "adex": (1e-3, 1.0), "izhikevich": (0.25, 4.0)}
NO_FMA_FLAG = "--xla_cpu_max_isa=AVX"
NEAR_ULPS = 16  # "straddled the threshold within float32 rounding": both pre-reset voltages this close


def fma_disabled() -> bool:
    """Whether XLA_FLAGS caps the CPU ISA below AVX2 (no fused multiply-add in XLA's CPU code).

    Only meaningful if the variable was set before jax was imported.
    """
    m = re.search(r"--xla_cpu_max_isa=(\w+)", os.environ.get("XLA_FLAGS", ""))
    return bool(m) and m.group(1).upper() in ("AVX", "SSE4_2")


def _mode() -> str:
    return "no-FMA (XLA_FLAGS " + NO_FMA_FLAG + ")" if fma_disabled() else "default (XLA FMA on)"


# ----------------------------------------------------------------------------- reports


@dataclasses.dataclass(frozen=True)
class SpikeMismatch:
    """The first step at which one candidate's spike trains differ, diagnosed.

    ``v_pre_*`` are the voltages each engine computed at ``step`` before its reset (from its own
    state before the step); ``ulps_*`` their signed distances to the engine's ``v_th`` in float32
    ulps of ``v_th`` (the two thresholds are the same unless Norse was given other parameters).
    ``straddles``: the two lie on opposite sides of the threshold (as the differing spike
    says they must); ``near_threshold``: both within ``NEAR_ULPS`` ulps of it, i.e. the crossing is
    decided by rounding. ``replay_exact``: the diagnostic replay reproduced both engines' traces
    up to ``step`` bit for bit (so the pre-reset voltages are the engines' own). ``dv_before``:
    the largest ``|v_jax - v_norse|`` over the steps before ``step`` (0: the trajectories were
    identical until the threshold decided differently; large: they had already drifted apart).
    """

    candidate: int
    label: str
    step: int
    jax_spiked: bool
    norse_spiked: bool
    v_th: float
    v_pre_jax: float
    v_pre_norse: float
    ulps_jax: float
    ulps_norse: float
    straddles: bool
    near_threshold: bool
    replay_exact: bool
    dv_before: float = 0.0
    v_th_norse: float | None = None

    def __str__(self) -> str:
        who = "JAX" if self.jax_spiked else "Norse"
        return (
            f"candidate {self.candidate}{' (' + self.label + ')' if self.label else ''}: first differing step "
            f"{self.step}, only {who} spiked; v_th={self.v_th:.9g}, pre-reset v: JAX {self.v_pre_jax:.9g} "
            f"({self.ulps_jax:+.3g} ulp), Norse {self.v_pre_norse:.9g} ({self.ulps_norse:+.3g} ulp); "
            f"{'straddles' if self.straddles else 'does NOT straddle'} the threshold"
            f"{', within float32 rounding' if self.near_threshold else ''}; max |dv| before: {self.dv_before:.3g}"
            + ("" if self.replay_exact else " (JAX replay not bit-identical to the run: pre-reset v approximate)")
        )


@dataclasses.dataclass(frozen=True)
class CrosscheckReport:
    """The comparison of one batch of ``N`` candidates over ``T`` steps (arrays are ``[N]``).

    Two comparisons are made. The *trajectory* comparison runs each engine from the same
    initial state on the same input and compares what comes out. The *local* (one-step)
    comparison feeds the JAX step Norse's own state before every step and compares the step's
    result with Norse's next state: it tests the equations step by step, free of the chaotic
    amplification that lets last-bit differences (XLA's fused multiply-add, ``exp``) grow over a
    run.

    Attributes:
        model: the model name; mode: whether XLA's FMA was on; n_steps: ``T``.
        labels: a name per candidate ("" for random ones, the preset name for Norse presets).
        spikes_identical: the two spike trains are equal at every step.
        first_diff: the first step where they differ, -1 where identical.
        max_abs_dv: ``max_t |v_jax - v_norse|`` (0 where both are NaN at a step, inf where one is).
        bitwise: spikes and voltage traces identical bit for bit (NaN payloads aside).
        state_bitwise: ``bitwise`` and the final states (all variables) identical bit for bit.
        n_spikes_jax, n_spikes_norse: spike counts; finite_jax, finite_norse: no NaN/inf anywhere.
        mismatches: :class:`SpikeMismatch` for the first ``max_diagnosed`` differing candidates.
        local_spike_diffs: steps at which the JAX step, from Norse's state, decides the spike
            differently from Norse.
        local_spike_unexplained: of those, the ones where the JAX pre-reset voltage is not within
            ``NEAR_ULPS`` ulps of ``v_th`` (0 for a correct port).
        local_max_dv: ``max |v'_jax - v'_norse| / max(1, |v|, |v'_norse|)`` over the one-step
            results where spikes agree (relative, so runaway candidates with huge ``|v|`` compare).
        local_exact: every one-step result (all state variables) bit-identical to Norse's, up to
            differences below float32's smallest normal number (XLA flushes subnormals to zero,
            torch does not).
        local_exp_only: AdEx: every inexact one-step result is at a step where XLA's and torch's
            ``exp`` of the same argument differ (True for the other models when exact).
    """

    model: str
    mode: str
    n_steps: int
    labels: tuple[str, ...]
    spikes_identical: np.ndarray
    first_diff: np.ndarray
    max_abs_dv: np.ndarray
    bitwise: np.ndarray
    state_bitwise: np.ndarray
    n_spikes_jax: np.ndarray
    n_spikes_norse: np.ndarray
    finite_jax: np.ndarray
    finite_norse: np.ndarray
    mismatches: tuple[SpikeMismatch, ...]
    local_spike_diffs: np.ndarray
    local_spike_unexplained: np.ndarray
    local_max_dv: np.ndarray
    local_exact: np.ndarray
    local_exp_only: np.ndarray

    @property
    def n(self) -> int:
        return int(self.spikes_identical.shape[0])

    @property
    def n_identical(self) -> int:
        return int(self.spikes_identical.sum())

    @property
    def n_bitwise(self) -> int:
        return int(self.bitwise.sum())

    @property
    def n_state_bitwise(self) -> int:
        return int(self.state_bitwise.sum())

    @property
    def n_firing(self) -> int:
        """Candidates that fired at least once (in Norse)."""
        return int((self.n_spikes_norse > 0).sum())

    @property
    def n_nonfinite(self) -> int:
        """Candidates whose Norse run became NaN or infinite."""
        return int((~self.finite_norse).sum())

    @property
    def n_local_ok(self) -> int:
        """Candidates with no unexplained one-step spike difference."""
        return int((self.local_spike_unexplained == 0).sum())

    @property
    def n_local_exact(self) -> int:
        return int(self.local_exact.sum())

    @property
    def all_identical(self) -> bool:
        return self.n_identical == self.n

    @property
    def max_dv(self) -> float:
        """Largest ``|v_jax - v_norse|`` over the candidates whose spike trains agree and whose runs
        stayed finite in both engines (0 if none)."""
        sel = self.max_abs_dv[self.spikes_identical & self.finite_jax & self.finite_norse]
        return float(sel.max()) if sel.size else 0.0

    @property
    def max_local_dv(self) -> float:
        return float(self.local_max_dv.max()) if self.n else 0.0

    def summary(self) -> str:
        lines = [
            f"{self.model}, {self.mode}: {self.n} candidates x {self.n_steps} steps: spike trains identical "
            f"{self.n_identical}/{self.n}, bitwise identical {self.n_bitwise}/{self.n}, max |dv| {self.max_dv:.3g} "
            f"(firing: {self.n_firing}, non-finite: {self.n_nonfinite}); one step from Norse's state: spike "
            f"decisions agree or straddle v_th within {NEAR_ULPS} ulp for {self.n_local_ok}/{self.n}, exact for "
            f"{self.n_local_exact}/{self.n}, max relative |dv| {self.max_local_dv:.3g}"
        ]
        lines += [f"  {m}" for m in self.mismatches]
        return "\n".join(lines)

    __str__ = summary


# ----------------------------------------------------------------------------- inputs


def _float32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def _batch(model, params, stimulus, state0):
    """Everything as float32 arrays of batch ``[N]`` (stimulus ``[N, T]``)."""
    p = mapping.complete_parameters(model, params)
    stim = _float32(stimulus)
    if stim.ndim not in (1, 2) or stim.shape[-1] < 1:
        raise ValueError(f"stimulus must be [T] or [N, T] (time last), got shape {stim.shape}")
    s0 = None if state0 is None else {k: _float32(v) for k, v in state0.items()}
    shapes = [v.shape for v in p.values()] + [stim.shape[:-1]]
    if s0 is not None:
        shapes += [v.shape for v in s0.values()]
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"batch shapes do not broadcast: {shapes}") from None
    if len(batch) > 1:
        raise ValueError(f"crosscheck takes one batch dimension [N]; the inputs broadcast to {batch}")
    n = batch[0] if batch else 1
    p = {k: np.array(np.broadcast_to(v.reshape(-1) if v.ndim else v, (n,))) for k, v in p.items()}
    stim = np.array(np.broadcast_to(stim, (n, stim.shape[-1])))
    if s0 is None:
        s0 = mapping.initial_state(model, p)
    else:
        s0 = {k: np.array(np.broadcast_to(v.reshape(-1) if v.ndim else v, (n,))) for k, v in s0.items()}
    return n, p, stim, s0


# ----------------------------------------------------------------------------- pre-reset voltages


def _jax_pre_reset(name: str):
    """``f(model, params, state, x) -> v`` before the reset, in the JAX port's arithmetic."""
    import jax.numpy as jnp

    if name in ("lif", "izhikevich"):
        # v_th enters only the threshold test: with v_th = +inf nothing fires and the step's
        # reset ``(1 - 0) * v + 0 * v_reset`` returns its pre-reset v unchanged.
        def pre(model, p, s, x):
            return model.step({**p, "v_th": jnp.asarray(np.inf, p["v_th"].dtype)}, s, x)[1]

        return pre

    def pre_adex(model, p, s, x):  # v_th is also the centre of the exponential: the port's v_dec
        from jaxplaus.models.adex import DT as ADEX_DT

        v, i, a = s["v"], s["i"], s["a"]
        i_jump = i + x
        dv_exp = p["delta_T"] * jnp.exp((v - p["v_th"]) / p["delta_T"])
        return v + (ADEX_DT * p["tau_mem_inv"]) * ((((p["v_leak"] - v) + dv_exp) + i_jump) - a)

    return pre_adex


def _jax_replay(model, params, stim, state0):
    """Per-step states before each step, pre-reset and reported voltages, for a few candidates."""
    import jax

    pre = _jax_pre_reset(model.name)

    def one(p, xs, s0):
        def body(s, x):
            v_pre = pre(model, p, s, x)
            s_new, v, _ = model.step(p, s, x)
            return s_new, (s, v_pre, v)

        _, out = jax.lax.scan(body, s0, xs)
        return out

    fn = jax.jit(jax.vmap(one))
    prev, v_pre, v = fn(params, stim, state0)
    return jax.tree.map(np.asarray, prev), np.asarray(v_pre), np.asarray(v)


def _norse_pre_reset(torch, name: str, p, s, x):
    """The Norse pre-reset voltage of one step from state ``s``, in Norse's own arithmetic."""
    if name in ("lif", "izhikevich"):  # Norse's own step with a threshold nothing crosses
        p_inf = p._replace(v_th=torch.as_tensor(np.float32(np.inf)))
        _, s_new = mapping.norse_step(name)(x, s, p_inf, DT)
        return s_new.v
    # lif_adex_feed_forward_step, lines up to v_decayed, verbatim (v_th is in the exponential)
    i_jump = s.i + x
    dv_leak = p.v_leak - s.v
    dv_exp = p.delta_T * torch.exp((s.v - p.v_th) / p.delta_T)
    dv = DT * p.tau_mem_inv * (dv_leak + dv_exp + i_jump - s.a)
    return s.v + dv


def _norse_candidate(torch, p_norse, c: int):
    """Candidate ``c``'s entries of a Norse parameter object (0-dim tensors; floats kept)."""
    fields = {}
    for name, value in p_norse._asdict().items():
        if isinstance(value, torch.Tensor) and value.ndim:
            value = value.reshape(-1)[c] if value.numel() > 1 else value.reshape(())
        fields[name] = value
    return type(p_norse)(**fields)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise: equal, or both NaN."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _bits_same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise: the same float32 bits, or both NaN (payloads aside)."""
    a, b = _float32(a), _float32(b)
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


def _ulps(v, v_th) -> float:
    return float((np.float64(v) - np.float64(v_th)) / np.float64(np.spacing(np.abs(np.float32(v_th)))))


# ----------------------------------------------------------------------------- crosscheck


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
    torch, _ = require()
    import jaxplaus

    m = mapping.jaxplaus_model(model)
    n, p, stim, s0 = _batch(m, params, stimulus, state0)
    T = stim.shape[1]
    labels = tuple("" for _ in range(n)) if labels is None else tuple(str(x) for x in labels)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} candidates")

    tr = jaxplaus.simulate(m, p, stim, s0, dtype=np.float32)
    v_jax = np.asarray(tr.v)
    z_jax = np.asarray(tr.spikes)
    state_jax = {k: np.asarray(v) for k, v in tr.state.items()}

    p_norse, s_norse = mapping.to_norse(m, p, s0)
    if norse_params is not None:
        p_norse = norse_params
    layer = mapping.norse_layer(m, p_norse, s_norse, dt=DT, record_states=True)
    x_norse = torch.from_numpy(np.ascontiguousarray(stim.T))
    try:
        if flush_denormal:
            torch.set_flush_denormal(True)
        with torch.no_grad():
            z, states = layer(x_norse, s_norse)
    finally:
        if flush_denormal:
            torch.set_flush_denormal(False)
    z_norse = z.numpy().T > 0
    traces_norse = mapping.from_norse_state(m, states)  # each [T, N]
    v_norse = traces_norse["v"].T
    state_norse = {k: v[-1] for k, v in traces_norse.items()}

    differ = z_jax != z_norse
    identical = ~differ.any(axis=1)
    first = np.where(identical, -1, differ.argmax(axis=1))
    dv = _abs_diff(v_jax, v_norse)
    bitwise = identical & _bits_same(v_jax, v_norse).all(axis=1)
    state_bitwise = bitwise.copy()
    for k in state_jax:
        state_bitwise &= _bits_same(state_jax[k], state_norse[k])
    finite_norse = np.ones(n, bool)
    for v in traces_norse.values():
        finite_norse &= np.isfinite(v).all(axis=0)

    mismatches = ()
    bad = np.flatnonzero(~identical)[:max_diagnosed]
    if bad.size:
        vth_norse = np.broadcast_to(mapping.from_norse_parameters(m, p_norse)["v_th"], (n,))
        mismatches = _diagnose(
            torch, m, p, p_norse, vth_norse, stim, s0, bad, first, z_jax, z_norse, v_jax, traces_norse, dv, labels
        )
    local = _local_check(torch, m, p, stim, s0, traces_norse, z_norse)

    return CrosscheckReport(
        model=m.name,
        mode=_mode(),
        n_steps=T,
        labels=labels,
        spikes_identical=identical,
        first_diff=first,
        max_abs_dv=dv.max(axis=1),
        bitwise=bitwise,
        state_bitwise=state_bitwise,
        n_spikes_jax=z_jax.sum(axis=1),
        n_spikes_norse=z_norse.sum(axis=1),
        finite_jax=np.asarray(tr.finite),
        finite_norse=finite_norse,
        mismatches=mismatches,
        **local,
    )


def _abs_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a - b|`` in float64; 0 where equal or both NaN, inf where exactly one is NaN."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.where(_same(a, b), 0.0, np.abs(a.astype(np.float64) - b.astype(np.float64)))
    return np.where(np.isnan(d), np.inf, d)


_SMALLEST_NORMAL = float(np.finfo(np.float32).tiny)  # 2**-126


@functools.lru_cache(maxsize=None)
def _local_fn(name: str):
    """jit: ``(params [N], states before each step [T, N], x [T, N]) -> one JAX step of each``."""
    import jax
    import jax.numpy as jnp

    m = mapping.jaxplaus_model(name)
    pre = _jax_pre_reset(name)

    def one(p, s, x):
        s_new, _, z = m.step(p, s, x)
        e = jnp.exp((s["v"] - p["v_th"]) / p["delta_T"]) if name == "adex" else jnp.zeros((), s["v"].dtype)
        return s_new, z, pre(m, p, s, x), e

    return jax.jit(jax.vmap(jax.vmap(one), in_axes=(None, 0, 0)))


def _local_check(torch, m, p, stim, s0, traces_norse, z_norse) -> dict[str, np.ndarray]:
    """One JAX step from Norse's state before every step, against Norse's state after it."""
    names = tuple(traces_norse)
    prev = {k: np.concatenate([s0[k][None], traces_norse[k][:-1]], axis=0) for k in names}  # [T, N]
    x = np.ascontiguousarray(stim.T)
    nxt, z, v_pre, e_jax = _local_fn(m.name)(p, prev, x)
    nxt = {k: np.asarray(v) for k, v in nxt.items()}
    z = np.asarray(z).astype(bool)
    zn = z_norse.T
    spike_diff = z != zn
    with np.errstate(invalid="ignore"):
        near = np.abs(np.asarray(v_pre, np.float64) - p["v_th"][None].astype(np.float64)) <= NEAR_ULPS * np.spacing(
            np.abs(p["v_th"][None])
        )
    unexplained = spike_diff & ~near
    agree = ~spike_diff
    with np.errstate(invalid="ignore", over="ignore"):
        scale = np.maximum(np.maximum(np.abs(prev["v"]), np.abs(traces_norse["v"])).astype(np.float64), 1.0)
        rel = _abs_diff(nxt["v"], traces_norse["v"]) / np.where(np.isfinite(scale), scale, np.inf)
    dv = np.where(agree, np.nan_to_num(rel, nan=0.0), 0.0)
    inexact = spike_diff.copy()
    for k in names:
        below_normal = _abs_diff(nxt[k], traces_norse[k]) < _SMALLEST_NORMAL
        inexact |= agree & ~(_bits_same(nxt[k], traces_norse[k]) | below_normal)
    exp_only = ~inexact.any(axis=0)
    if m.name == "adex" and inexact.any():
        # Norse's exp of the same argument, computed on the same [N] row as in Norse's own step
        # (torch's vectorised and scalar exp may round differently, so the layout matters)
        e_jax = np.asarray(e_jax)
        exp_differs = np.zeros_like(inexact)
        pt = {k: torch.from_numpy(v) for k, v in p.items()}
        for t in np.flatnonzero(inexact.any(axis=1)):
            arg = (torch.from_numpy(prev["v"][t]) - pt["v_th"]) / pt["delta_T"]
            exp_differs[t] = ~_bits_same(torch.exp(arg).numpy(), e_jax[t])
        exp_only = ~(inexact & ~exp_differs).any(axis=0)
    return {
        "local_spike_diffs": spike_diff.sum(axis=0),
        "local_spike_unexplained": unexplained.sum(axis=0),
        "local_max_dv": dv.max(axis=0),
        "local_exact": ~inexact.any(axis=0),
        "local_exp_only": exp_only,
    }


def _diagnose(torch, m, p, p_norse, vth_norse, stim, s0, bad, first, z_jax, z_norse, v_jax, traces_norse, dv, labels):
    """Pre-reset voltages of both engines at each differing candidate's first differing step."""
    sel = {k: v[bad] for k, v in p.items()}
    prev_jax, pre_jax, v_replay = _jax_replay(m, sel, stim[bad], {k: v[bad] for k, v in s0.items()})
    out = []
    for j, c in enumerate(bad):
        k = int(first[c])
        # Norse: the state before step k is the recorded state after step k-1 (or the initial state)
        s_prev = {name: (s0[name][c] if k == 0 else tr[k - 1, c]) for name, tr in traces_norse.items()}
        p_c = _norse_candidate(torch, p_norse, c)
        x = torch.as_tensor(np.float32(stim[c, k]))
        with torch.no_grad():
            v_pre_norse = float(_norse_pre_reset(torch, m.name, p_c, mapping.to_norse_state(m, s_prev), x))
        v_pre_jax = float(pre_jax[j, k])
        v_th = np.float32(p["v_th"][c])
        replay_exact = bool(_bits_same(v_replay[j, : k + 1], v_jax[c, : k + 1]).all())
        # the Norse state handed to the pre-reset step is Norse's recorded one: exact by construction
        ua, ub = _ulps(v_pre_jax, v_th), _ulps(v_pre_norse, vth_norse[c])
        straddles = (ua > 0) != (ub > 0)
        out.append(
            SpikeMismatch(
                candidate=int(c),
                label=labels[c],
                step=k,
                jax_spiked=bool(z_jax[c, k]),
                norse_spiked=bool(z_norse[c, k]),
                v_th=float(v_th),
                v_pre_jax=v_pre_jax,
                v_pre_norse=v_pre_norse,
                ulps_jax=ua,
                ulps_norse=ub,
                straddles=bool(straddles),
                near_threshold=bool(straddles and max(abs(ua), abs(ub)) <= NEAR_ULPS),
                replay_exact=replay_exact,
                dv_before=float(dv[c, :k].max()) if k else 0.0,
                v_th_norse=float(vth_norse[c]),
            )
        )
    return tuple(out)


# ----------------------------------------------------------------------------- random candidates


class Candidates(NamedTuple):
    """Random candidates: ``params`` (name -> float32 ``[n]``) and ``gain`` (float64 ``[n]``, > 0)."""

    params: dict[str, np.ndarray]
    gain: np.ndarray


def random_gains(model, n: int, rng: np.random.Generator, gain_range: tuple[float, float] | None = None) -> np.ndarray:
    """``n`` input gains drawn log-uniformly in ``gain_range`` (default :data:`GAIN_RANGES`)."""
    lo, hi = gain_range or GAIN_RANGES[mapping.model_name(model)]
    if not 0 < lo <= hi:
        raise ValueError(f"gain range must satisfy 0 < lo <= hi, got {(lo, hi)}")
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size=n))


def random_parameters(model, n: int, seed: int = 0, *, gain_range: tuple[float, float] | None = None) -> Candidates:
    """``n`` parameter sets drawn within ``model.parameters[name].lo/hi``, and an input gain each.

    Uniform in ``[lo, hi]``, log-uniform where ``Parameter.log``; values are rounded to float32
    (and clipped back into the bounds), the numbers both engines then see.
    """
    m = mapping.jaxplaus_model(model)
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    params = {}
    for name, spec in m.parameters.items():
        if spec.log:
            x = np.exp(rng.uniform(math.log(spec.lo), math.log(spec.hi), size=n))
        else:
            x = rng.uniform(spec.lo, spec.hi, size=n)
        params[name] = np.clip(x.astype(np.float32), np.float32(spec.lo), np.float32(spec.hi))
    return Candidates(params, random_gains(m, n, rng, gain_range))


# ----------------------------------------------------------------------------- the 20 protocols


@dataclasses.dataclass(frozen=True)
class ProtocolRow:
    protocol: str
    letter: str
    report: CrosscheckReport

    @property
    def candidates(self) -> int:
        return self.report.n


@dataclasses.dataclass(frozen=True)
class ProtocolTable:
    """:func:`crosscheck_protocols`' result: one row (and report) per protocol."""

    model: str
    mode: str
    seed: int
    rows: tuple[ProtocolRow, ...]

    def _sum(self, attr: str) -> int:
        return sum(getattr(r.report, attr) for r in self.rows)

    @property
    def candidates(self) -> int:
        return self._sum("n")

    @property
    def identical(self) -> int:
        return self._sum("n_identical")

    @property
    def bitwise(self) -> int:
        return self._sum("n_bitwise")

    @property
    def state_bitwise(self) -> int:
        return self._sum("n_state_bitwise")

    @property
    def firing(self) -> int:
        return self._sum("n_firing")

    @property
    def nonfinite(self) -> int:
        return self._sum("n_nonfinite")

    @property
    def local_ok(self) -> int:
        return self._sum("n_local_ok")

    @property
    def local_exact(self) -> int:
        return self._sum("n_local_exact")

    @property
    def local_exp_only(self) -> int:
        return sum(int(r.report.local_exp_only.sum()) for r in self.rows)

    @property
    def local_spike_diffs(self) -> int:
        return sum(int(r.report.local_spike_diffs.sum()) for r in self.rows)

    @property
    def max_dv(self) -> float:
        return max((r.report.max_dv for r in self.rows), default=0.0)

    @property
    def max_local_dv(self) -> float:
        return max((r.report.max_local_dv for r in self.rows), default=0.0)

    @property
    def all_identical(self) -> bool:
        return self.identical == self.candidates

    @property
    def mismatches(self) -> list[tuple[str, SpikeMismatch]]:
        return [(r.protocol, m) for r in self.rows for m in r.report.mismatches]

    def preset_reports(self) -> dict[str, dict]:
        """Izhikevich: Norse preset -> its results (spikes identical, bitwise, max |dv|, ...)."""
        out = {}
        for r in self.rows:
            rep = r.report
            for i, label in enumerate(rep.labels):
                if label:
                    out[label] = {
                        "protocol": r.protocol,
                        "identical": bool(rep.spikes_identical[i]),
                        "bitwise": bool(rep.bitwise[i]),
                        "max_dv": float(rep.max_abs_dv[i]),
                        "spikes": int(rep.n_spikes_norse[i]),
                        "local_ok": bool(rep.local_spike_unexplained[i] == 0),
                        "local_exact": bool(rep.local_exact[i]),
                    }
        return out

    def to_dict(self) -> dict:
        """The totals, per-protocol counts, presets and diagnosed mismatches, JSON-ready."""
        return {
            "model": self.model,
            "mode": self.mode,
            "fma_disabled": fma_disabled(),
            "seed": self.seed,
            "candidates": self.candidates,
            "identical": self.identical,
            "bitwise": self.bitwise,
            "state_bitwise": self.state_bitwise,
            "firing": self.firing,
            "nonfinite": self.nonfinite,
            "max_dv": self.max_dv,
            "local_ok": self.local_ok,
            "local_exact": self.local_exact,
            "local_exp_only": self.local_exp_only,
            "local_spike_diffs": self.local_spike_diffs,
            "max_local_dv": self.max_local_dv,
            "protocols": {
                r.protocol: {
                    "candidates": r.report.n,
                    "identical": r.report.n_identical,
                    "bitwise": r.report.n_bitwise,
                    "firing": r.report.n_firing,
                    "max_dv": r.report.max_dv,
                    "local_ok": r.report.n_local_ok,
                    "local_exact": r.report.n_local_exact,
                    "max_local_dv": r.report.max_local_dv,
                }
                for r in self.rows
            },
            "presets": self.preset_reports(),
            "mismatches": [
                {"protocol": proto, **dataclasses.asdict(m), "text": str(m)} for proto, m in self.mismatches
            ],
        }

    def format(self, *, max_mismatches: int = 10) -> str:
        """The table: per protocol, candidates, spike trains identical, max |dv|, bitwise, one-step."""
        head = (
            f"{'':2} {'protocol':28s} {'cands':>5} {'firing':>6} {'spikes identical':>16} {'max |dv|':>9} "
            f"{'bitwise':>7} | {'1-step ok':>9} {'exact':>5} {'max rel':>9}"
        )
        lines = [f"{self.model} vs Norse 1.1.0, {self.mode}, seed {self.seed}", head, "-" * len(head)]

        def row(letter, name, n, firing, ident, dv, bits, lok, lex, ldv):
            return (
                f"{letter:2} {name:28s} {n:5d} {firing:6d} {ident:9d}/{n:<6d} {dv:9.3g} {bits:7d} | "
                f"{lok:9d} {lex:5d} {ldv:9.3g}"
            )

        for r in self.rows:
            rep = r.report
            lines.append(
                row(r.letter, r.protocol, rep.n, rep.n_firing, rep.n_identical, rep.max_dv, rep.n_bitwise,
                    rep.n_local_ok, rep.n_local_exact, rep.max_local_dv)
            )
        lines.append("-" * len(head))
        lines.append(
            row("", "total", self.candidates, self.firing, self.identical, self.max_dv, self.bitwise,
                self.local_ok, self.local_exact, self.max_local_dv)
        )
        lines.append(
            "max |dv|: over candidates with identical spike trains and finite runs; "
            "bitwise: spikes and voltages bit for bit; "
            f"1-step: the JAX step from Norse's state before each step (ok: every spike decision agrees or "
            f"straddles v_th within {NEAR_ULPS} ulp; exact: every result bit for bit; max rel: largest "
            "|dv| / max(1, |v|, |v'|))"
        )
        presets = self.preset_reports()
        if presets:
            same = sum(v["identical"] for v in presets.values())
            bits = sum(v["bitwise"] for v in presets.values())
            lines.append(f"Norse presets: spike trains identical {same}/{len(presets)}, bitwise {bits}/{len(presets)}")
        if not self.all_identical and not fma_disabled():
            lines.append(
                "XLA's fused multiply-add was on (torch has none), so last-bit differences can grow over a run; "
                f"for the exact comparison run with XLA_FLAGS={NO_FMA_FLAG} set before jax is imported (--no-fma)"
            )
        if self.mismatches:
            shown = self.mismatches[:max_mismatches]
            lines.append(f"differing spike trains ({len(shown)} of the diagnosed {len(self.mismatches)} shown):")
            lines += [f"  {proto}: {m}" for proto, m in shown]
        return "\n".join(lines)

    __str__ = format


def crosscheck_protocols(
    model,
    n: int = 1000,
    seed: int = 0,
    protocols: Sequence[str] | None = None,
    *,
    presets: bool = True,
    gain_range: tuple[float, float] | None = None,
    max_diagnosed: int = 20,
    flush_denormal: bool = False,
) -> ProtocolTable:
    """``n`` random candidates on each protocol (one batch of both engines per protocol).

    The parameter sets are drawn once (:func:`random_parameters` with ``seed``) and reused on every
    protocol; the input gain is drawn afresh per candidate and protocol. For ``izhikevich`` with
    ``presets=True``, each protocol's batch also holds the Norse preset driven by that protocol,
    with Norse's initial state and the protocol's own (gain 1) input, labelled with its name.
    """
    from jaxplaus import patterns

    m = mapping.jaxplaus_model(model)
    cands = random_parameters(m, n, seed, gain_range=gain_range)
    base_state = mapping.initial_state(m, cands.params)
    preset_map = mapping.izhikevich_presets() if (presets and m.name == "izhikevich") else {}
    rows = []
    for j, pat in enumerate(patterns.resolve(protocols)):
        rng = np.random.default_rng([seed, j + 1])
        gains = random_gains(m, n, rng, gain_range)
        params, state0 = dict(cands.params), dict(base_state)
        stim = pat.stimulus(gains)
        labels = [""] * n
        name = mapping.preset_for_pattern(pat.name)
        if name in preset_map:
            pre = preset_map[name]
            params = {k: np.concatenate([v, pre.params[k].reshape(1)]) for k, v in params.items()}
            state0 = {k: np.concatenate([v, pre.state[k].reshape(1)]) for k, v in state0.items()}
            stim = np.concatenate([stim, pat.stimulus(1.0)[None]], axis=0)
            labels.append(name)
        report = crosscheck(
            m, params, stim, state0, labels=labels, max_diagnosed=max_diagnosed, flush_denormal=flush_denormal
        )
        rows.append(ProtocolRow(pat.name, pat.letter, report))
    return ProtocolTable(m.name, _mode(), seed, tuple(rows))


def crosscheck_presets(*, as_shipped: bool = False) -> dict[str, CrosscheckReport]:
    """Norse's 20 Izhikevich presets, each on its own protocol (figure1.m input, gain 1).

    Both engines start from the preset's state. ``as_shipped=False`` gives Norse the presets'
    parameters as float32 tensors (the bridge's mapping); ``as_shipped=True`` runs Norse with the
    preset's own ``IzhikevichParameters`` of Python floats, in which ``tau_inv*dt*a`` is rounded
    from double precision (see :mod:`norse_bridge.mapping`). Returns ``preset name -> report``.
    """
    from jaxplaus import patterns

    out = {}
    for name, pre in mapping.izhikevich_presets().items():
        pat = patterns.get(pre.pattern)
        out[name] = crosscheck(
            "izhikevich", pre.params, pat.stimulus(1.0), pre.state, labels=[name],
            norse_params=pre.behavior.p if as_shipped else None,
        )
    return out


# ----------------------------------------------------------------------------- no-FMA probe


def run_probe(
    models: Sequence[str] = ("lif", "izhikevich"),
    n: int = 200,
    seed: int = 0,
    *,
    fma: bool = False,
    protocols: Sequence[str] | None = None,
    flush_denormal: bool = False,
    cache_dir: str | None = None,
    timeout: float = 600,
) -> dict[str, dict]:
    """Run :func:`crosscheck_protocols` in a fresh Python with (``fma=False``) or without the flag.

    ``XLA_FLAGS=--xla_cpu_max_isa=AVX`` only takes effect if set before jax is imported, hence the
    subprocess. ``cache_dir``: JAX's persistent compilation cache for the subprocess (its key
    includes XLA_FLAGS, so FMA and no-FMA kernels never mix). Returns
    ``model -> ProtocolTable.to_dict()`` (plus ``"seconds"``).
    """
    env = dict(os.environ)
    flags = re.sub(r"--xla_cpu_max_isa=\S+", "", env.get("XLA_FLAGS", "")).strip()
    env["XLA_FLAGS"] = flags if fma else (flags + " " + NO_FMA_FLAG).strip()
    if not env["XLA_FLAGS"]:
        env.pop("XLA_FLAGS")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "norse_bridge.probe", "--n", str(n), "--seed", str(seed), "--models", *models]
    if protocols:
        cmd += ["--protocols", *protocols]
    if flush_denormal:
        cmd.append("--flush-denormal")
    if cache_dir:
        env["JAXPLAUS_CACHE_DIR"] = str(cache_dir)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=root)
    if out.returncode != 0:
        raise RuntimeError(f"probe failed (rc {out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
