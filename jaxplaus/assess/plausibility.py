"""Plausibility beside expressivity: the figures of a winner, and what a plausible pass is.

An unconstrained ("wide") search shows what a model can express. Whether it does so plausibly
is asked two ways (``docs/plausibility.md``):

- a physiological run (``assess(..., bounds="physiological")``) searches inside the model's
  physiological box (:class:`~jaxplaus.models.base.Physiology`), and a pattern counts as a
  plausible pass only when it passed AND its robustness is at least :data:`ROBUST_ENOUGH`
  (:func:`counts_as_plausible`);
- every winner, of any run, carries its plausibility figures (:func:`figures`, read from its
  float64 verdict's features: nothing is simulated again) and whether it lies inside the
  physiological box (:func:`inside_box`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

ROBUST_ENOUGH = 0.5
"""A plausible pass survives at least half of its +-1% perturbations (robustness >= 0.5), or as
many as figure1.m's own setting of the pattern survives, where that is fewer (:func:`needed`).

A cell's parameters vary by far more than 1% from cell to cell and day to day; a behaviour that
half of the corners of a +-1% box around it lose is a knife-edge of the equations, not a property
a neuron could rely on. But several protocols are knife-edges by design: spike latency asks for a
barely suprathreshold pulse, the resonator for a doublet just strong enough at one spacing, and
Izhikevich's own settings lose those patterns in most or all of their +-1% corners (measured by
:func:`reference_robustness`; docs/plausibility.md). A winner as robust as the published setting
is as plausible as the paper's own neuron, so the line is the lower of the two."""

EXPRESSIVE, PLAUSIBLE = "expressive", "plausible"  # the two rows of a model in the profile


def shortest_isi_ms(features: Mapping[str, Any]) -> float | None:
    """The shortest inter-spike interval of the pattern's windows, in the features' ms (the
    protocol's grid); None when no window holds two spikes.

    Args:
        features: :attr:`Verdict.features <jaxplaus.patterns.base.Verdict>` by name; ``count``
            and ``isi_min`` are per window (``isi_min`` holds a 1e9-sample sentinel in a window
            with fewer than two spikes, which the count rules out here).
    """
    isis = [float(isi) for n, isi in zip(features["count"], features["isi_min"]) if n >= 2]
    return min(isis) if isis else None


def figures(features: Mapping[str, Any], protocol_ms: float, model_ms: float | None) -> dict[str, Any]:
    """The plausibility figures of one winner, from its float64 verdict's features.

    Args:
        features: the verdict's features by name (``count``, ``isi_min``, ``v_rest``, ``v_hi``,
            ``v_lo``).
        protocol_ms: ms per sample of the pattern's reference grid (``Pattern.protocol.tau``),
            the unit of the features' times.
        model_ms: ms of the model's own time per sample (``Model.sample_ms(params)``); None for a
            model without a time unit: intervals and rates are then on the protocol's grid.

    Returns:
        ``isi_min_ms``: the shortest inter-spike interval (model ms; None with fewer than two
        spikes in every window); ``peak_rate_hz``: ``1000 / isi_min_ms`` (None likewise);
        ``time_base``: ``"model"`` or ``"protocol"``, the time the two are in; ``v_rest``: the
        voltage at rest (end of the warm-up); ``v_above_rest = v_hi - v_rest`` and
        ``v_below_rest = v_lo - v_rest`` (the protocol's highest and lowest voltage relative to
        rest, model units: mV for the Izhikevich models, ``VT - EL`` for lif and adex);
        ``below_share = (v_lo - v_rest) / (v_hi - v_rest)``, the deepest dip below rest as a share
        of the highest excursion above it (dimensionless; None when ``v_hi == v_rest``).
    """
    isi = shortest_isi_ms(features)
    samples = None if isi is None else isi / float(protocol_ms)
    step = float(protocol_ms) if model_ms is None else float(model_ms)
    isi_model = None if samples is None else samples * step
    v_rest, v_hi, v_lo = (float(features[k]) for k in ("v_rest", "v_hi", "v_lo"))
    above, below = v_hi - v_rest, v_lo - v_rest
    return {
        "isi_min_ms": isi_model,
        "peak_rate_hz": None if not isi_model else 1000.0 / isi_model,
        "time_base": "protocol" if model_ms is None else "model",
        "v_rest": v_rest,
        "v_above_rest": above,
        "v_below_rest": below,
        "below_share": below / above if above != 0 else None,
    }


def inside_box(model, params: Mapping[str, float]) -> bool | None:
    """Whether ``params`` (the model's parameters and ``"gain"``) lie in the model's
    physiological box (the gain in its physiological range, where the box gives one); None for a
    model without one."""
    phys = model.physiology
    if phys is None:
        return None
    params = dict(params)
    gain = params.pop("gain", None)
    gain_ok = phys.gain is None or gain is None or phys.gain[0] <= gain <= phys.gain[1]
    return bool(phys.contains(params) and gain_ok)


def winner_figures(model, pattern, params: Mapping[str, float], features: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`figures` of one pattern's winner, with ``inside_physiological`` (:func:`inside_box`)."""
    model_params = {k: v for k, v in params.items() if k != "gain"}
    model_ms = None if model.sample_ms is None else float(model.sample_ms(model_params))
    out = figures(features, float(pattern.protocol.tau), model_ms)
    out["inside_physiological"] = inside_box(model, params)
    return out


def reference_robustness(patterns, warmup: int, copies: int, delta: float, seed: int) -> list[float]:
    """``[P]``: the share of ``copies`` perturbed copies of each pattern's figure1.m setting (its
    reference parameters and gain 1, each multiplied by ``1 +- delta``, signs drawn from ``seed``
    and the pattern's name, as :func:`jaxplaus.assess.validation.perturbed` draws a winner's) that
    pass the pattern after ``warmup`` samples, in float64. One batched call per reference model."""
    import jax.numpy as jnp

    from jaxplaus._precision import precision
    from jaxplaus.assess.objective import SuiteLoss, batched_loss

    out = [0.0] * len(patterns)
    by_model: dict[Any, list[int]] = {}
    for t, pattern in enumerate(patterns):
        by_model.setdefault(pattern.reference.model(), []).append(t)
    for model, tasks in by_model.items():
        group = tuple(patterns[t] for t in tasks)
        stacked = [_reference_copies(pattern, copies, delta, seed) for pattern in group]
        params = {k: np.stack([c[k] for c in stacked]) for k in stacked[0]}  # [P_model, copies]
        with precision("float64") as dt:
            loss = batched_loss(SuiteLoss(model, group, warmup), {k: jnp.asarray(v, dt) for k, v in params.items()},
                                jnp.arange(len(group), dtype=jnp.int32))
        for t, row in zip(tasks, np.asarray(loss)):
            out[t] = float(np.mean(row <= 0))
    return out


def _reference_copies(pattern, copies: int, delta: float, seed: int) -> dict[str, np.ndarray]:
    """``name -> [copies]``: the pattern's figure1.m parameters and gain 1, each moved by ``+-delta``."""
    base = {**{k: float(v) for k, v in pattern.reference.params().items()}, "gain": 1.0}
    rng = np.random.default_rng([seed, zlib.crc32(pattern.name.encode())])
    signs = rng.choice(np.array([-1.0, 1.0]), size=(copies, len(base)))
    return {k: v * (1.0 + delta * signs[:, i]) for i, (k, v) in enumerate(base.items())}


def needed(reference: float) -> float:
    """The robustness a plausible pass needs, given figure1.m's own setting's (:data:`ROBUST_ENOUGH`)."""
    return min(ROBUST_ENOUGH, float(reference))


def counts_as_plausible(p: Mapping[str, Any]) -> bool:
    """A pattern result (``results.json`` form) counts in the plausible row: passed, and its
    robustness measured and at least ``plausibility["robustness_needed"]`` (:func:`needed`;
    :data:`ROBUST_ENOUGH` for a result recorded without it)."""
    robustness = p.get("robustness")
    threshold = (p.get("plausibility") or {}).get("robustness_needed", ROBUST_ENOUGH)
    return bool(p["passed"]) and robustness is not None and robustness >= threshold


def row_kind(res: Mapping[str, Any]) -> str:
    """:data:`PLAUSIBLE` for a run searched in the physiological box, else :data:`EXPRESSIVE`
    (``results.json`` form; runs recorded before the box existed are wide)."""
    return PLAUSIBLE if res.get("settings", {}).get("bounds") == "physiological" else EXPRESSIVE


__all__ = ["EXPRESSIVE", "PLAUSIBLE", "ROBUST_ENOUGH", "counts_as_plausible", "figures", "inside_box", "needed",
           "reference_robustness", "row_kind", "shortest_isi_ms", "winner_figures"]
