"""What a cross-check reports: one batch's :class:`CrosscheckReport`, with a :class:`SpikeMismatch`
diagnosis per differing candidate (arrays are ``[N]``, one entry per candidate)."""

from __future__ import annotations

import dataclasses

import numpy as np

from norse_bridge.floats import NEAR_ULPS


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


__all__ = ["CrosscheckReport", "SpikeMismatch"]
