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

from collections.abc import Mapping
from typing import Any

ROBUST_ENOUGH = 0.5
"""A plausible pass must survive at least half of its +-1% perturbations (robustness >= 0.5).

A cell's parameters vary by far more than 1% from cell to cell and day to day; a behaviour that
half of the corners of a +-1% box around it lose is a knife-edge of the equations, not a property
a neuron could rely on. Half is the least demanding line that still says "most nearby settings do
it too"; robustness itself is recorded, so a stricter reader can draw the line elsewhere."""

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


def counts_as_plausible(p: Mapping[str, Any]) -> bool:
    """A pattern result (``results.json`` form) counts in the plausible row: passed, and its
    robustness measured and at least :data:`ROBUST_ENOUGH`."""
    robustness = p.get("robustness")
    return bool(p["passed"]) and robustness is not None and robustness >= ROBUST_ENOUGH


def row_kind(res: Mapping[str, Any]) -> str:
    """:data:`PLAUSIBLE` for a run searched in the physiological box, else :data:`EXPRESSIVE`
    (``results.json`` form; runs recorded before the box existed are wide)."""
    return PLAUSIBLE if res.get("settings", {}).get("bounds") == "physiological" else EXPRESSIVE


__all__ = ["EXPRESSIVE", "PLAUSIBLE", "ROBUST_ENOUGH", "counts_as_plausible", "figures", "inside_box", "row_kind",
           "shortest_isi_ms", "winner_figures"]
