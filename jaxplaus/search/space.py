"""The search space: a model's free dimensions, and the map between the unit cube and physical values.

The optimiser never sees physical units: it works in the unit cube ``[0, 1]^D``, one coordinate
per free dimension. :func:`to_physical` maps a point of the cube to parameter values (log scale
where the :class:`~jaxplaus.models.base.Parameter` says so, the signed log scale ``asinh(x / w)``
where it gives a width ``w``, linear otherwise); :func:`to_unit` is its inverse.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus import models as _models
from jaxplaus.models.base import Model

GAIN = "gain"  # the name of the input gain, searched (or fixed) next to the model's parameters


class _ModelGainBounds:
    """The type of :data:`MODEL_GAIN`."""

    def __repr__(self) -> str:
        return "MODEL_GAIN"


MODEL_GAIN = _ModelGainBounds()
"""The default ``gain`` of :func:`search_space`: the model's own :attr:`Model.gain_bounds`."""


FAILED_LOSS = 1e30


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The free dimensions of a search and the map from the unit cube to physical values.

    Build one with :func:`search_space`. Free dimension ``i`` has name ``names[i]``, bounds
    ``lo[i] < hi[i]`` and is searched on a log scale when ``log[i]``, on the signed log scale
    ``asinh(x / symlog[i])`` when ``symlog[i] > 0``, linearly otherwise. Hashable, so it can be
    a static argument of a compiled function.

    Attributes:
        model: the model's name.
        names: the free dimensions, in the model's parameter order, then ``"gain"`` if searched.
        lo, hi, log: per free dimension.
        symlog: per free dimension, the width of the signed log scale (0: none).
        fixed: ``(name, value)`` pairs of the pinned parameters (and gain, if pinned).
        order: every name :func:`to_physical` returns, in the model's order, then ``"gain"``.
    """

    model: str
    names: tuple[str, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    log: tuple[bool, ...]
    fixed: tuple[tuple[str, float], ...]
    order: tuple[str, ...]
    symlog: tuple[float, ...] = ()

    def __post_init__(self):
        if not self.symlog:  # spaces built without it: no signed-log dimension
            object.__setattr__(self, "symlog", (0.0,) * len(self.names))

    @property
    def num_dims(self) -> int:
        return len(self.names)

    def bounds(self) -> dict[str, tuple[float, float]]:
        """``name -> (lo, hi)`` of the free dimensions."""
        return {n: (lo, hi) for n, lo, hi in zip(self.names, self.lo, self.hi)}


def _pair(what: str, value) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a pair (lo, hi) of numbers, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{what}: bounds must be finite, got (lo, hi) = ({lo}, {hi})")
    if not lo < hi:
        raise ValueError(f"{what}: need lo < hi, got (lo, hi) = ({lo}, {hi})")
    return lo, hi


def search_space(
    model: str | Model,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | None = None,
    gain: tuple[float, float] | None | _ModelGainBounds = MODEL_GAIN,
) -> SearchSpace:
    """The search space of ``model``: its parameters, minus ``fixed``, plus an input gain.

    Args:
        model: a :class:`Model` or the name of a registered one.
        bounds: ``name -> (lo, hi)`` replacing a parameter's search bounds (e.g. physiological
            ranges). The parameter keeps its scale: a log-scale one needs ``0 < lo``.
        fixed: ``name -> value`` pinning parameters; they are not searched, and :func:`to_physical`
            returns them as constants. ``"gain"`` may be pinned too.
        gain: ``(lo, hi)``, ``0 < lo < hi``, of the input gain, searched on a log scale under the
            name ``"gain"``; by default (:data:`MODEL_GAIN`) the model's own
            :attr:`~jaxplaus.models.base.Model.gain_bounds`; ``None`` for no gain dimension
            (unless ``fixed`` pins one).

    Raises:
        ValueError: naming the bad entry and what is allowed.
    """
    model = _models.get(model)
    if gain is MODEL_GAIN:
        gain = model.gain_bounds
    params = model.parameters
    bounds = dict(bounds or {})
    fixed = dict(fixed or {})
    known = list(params)
    for what, given in (("bounds", bounds), ("fixed", fixed)):
        if not isinstance(given, dict):
            raise TypeError(f"{what} must be a mapping of parameter name to value, got {type(given).__name__}")
        allowed = known + [GAIN] if what == "fixed" else known
        for name in given:
            if name == GAIN and what == "bounds":
                raise ValueError("bounds: set the bounds of the input gain with gain=(lo, hi), not bounds['gain']")
            if name not in allowed:
                raise ValueError(f"{what}: unknown parameter {name!r} for model {model.name!r}; known: {allowed}")
    both = sorted(set(bounds) & set(fixed))
    if both:
        raise ValueError(f"Parameters {both} are both fixed and given bounds; a parameter is either searched or fixed")
    fixed_values = {}
    for name, value in fixed.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"fixed[{name!r}]: expected a number, got {value!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"fixed[{name!r}]: the value must be finite, got {v}")
        if v <= 0 and (name == GAIN or params[name].log):  # a rate, time constant, step or gain: 0 freezes the model
            raise ValueError(f"fixed[{name!r}]: {name!r} is a positive quantity (searched on a log scale), "
                             f"so its value must be > 0; got {v:g}")
        fixed_values[name] = v

    names, lo, hi, log, symlog = [], [], [], [], []
    for name, p in params.items():
        if name in fixed_values:
            continue
        a, b = _pair(f"bounds[{name!r}]", bounds[name]) if name in bounds else (p.lo, p.hi)
        if p.log and a <= 0:
            raise ValueError(
                f"bounds[{name!r}]: {name!r} is searched on a log scale, so lo must be > 0; got (lo, hi) = ({a}, {b})"
            )
        names.append(name), lo.append(a), hi.append(b), log.append(bool(p.log)), symlog.append(float(p.symlog))
    if gain is not None and GAIN not in fixed_values:
        a, b = _pair("gain", gain)
        if a <= 0:
            raise ValueError(f"gain: the gain is searched on a log scale, so lo must be > 0; got (lo, hi) = ({a}, {b})")
        names.append(GAIN), lo.append(a), hi.append(b), log.append(True), symlog.append(0.0)
    if not names:
        raise ValueError(
            f"Nothing to search: every parameter of model {model.name!r} is fixed"
            + (" and the gain is fixed" if GAIN in fixed_values else " and gain=None")
        )
    order = tuple(known) + ((GAIN,) if (gain is not None or GAIN in fixed_values) else ())
    fixed_items = tuple((n, fixed_values[n]) for n in order if n in fixed_values)
    return SearchSpace(model.name, tuple(names), tuple(lo), tuple(hi), tuple(log), fixed_items, order, tuple(symlog))


def _float_dtype(x) -> np.dtype:
    dt = jnp.result_type(x)
    return dt if jnp.issubdtype(dt, jnp.floating) else jnp.result_type(float)


def to_physical(space: SearchSpace, z) -> dict[str, jax.Array]:
    """Map unit-cube coordinates to physical values.

    Args:
        space: the search space.
        z: ``[..., D]`` coordinates, clipped to ``[0, 1]`` first, so any sample of any strategy
            maps to a valid point.

    Returns:
        ``name -> [...]`` array for every name of ``space.order``: free dimensions mapped as
        ``lo + z (hi - lo)``, on a log scale ``lo (hi / lo)^z``, on a signed log scale of width
        ``w`` ``w sinh(asinh(lo / w) + z (asinh(hi / w) - asinh(lo / w)))``; fixed ones broadcast.
    """
    z = jnp.asarray(z)
    z = z.astype(_float_dtype(z))
    if z.ndim < 1 or z.shape[-1] != space.num_dims:
        raise ValueError(f"z must have shape [..., {space.num_dims}] (dimensions {list(space.names)}), got {z.shape}")
    z = jnp.clip(z, 0.0, 1.0)
    lo = jnp.asarray(space.lo, z.dtype)
    hi = jnp.asarray(space.hi, z.dtype)
    log = np.asarray(space.log)
    width = np.asarray(space.symlog, np.float64)
    safe_lo, safe_hi = jnp.where(log, lo, 1.0), jnp.where(log, hi, 1.0)
    log_lo = jnp.log(safe_lo)
    w = jnp.asarray(np.where(width > 0, width, 1.0), z.dtype)
    s_lo, s_hi = jnp.arcsinh(lo / w), jnp.arcsinh(hi / w)
    x = jnp.where(log, jnp.exp(log_lo + z * (jnp.log(safe_hi) - log_lo)), lo + z * (hi - lo))
    x = jnp.where(width > 0, w * jnp.sinh(s_lo + z * (s_hi - s_lo)), x)
    x = jnp.clip(x, lo, hi)  # exp(log(hi)) may round past hi
    free = {name: x[..., i] for i, name in enumerate(space.names)}
    fixed = dict(space.fixed)
    return {name: free[name] if name in free else jnp.full(z.shape[:-1], fixed[name], z.dtype) for name in space.order}


def to_unit(space: SearchSpace, params: Mapping[str, Any]) -> jax.Array:
    """Map physical values to unit-cube coordinates: the inverse of :func:`to_physical`.

    Args:
        space: the search space.
        params: ``name -> [...]`` values of every free dimension (fixed names may be present and
            are ignored); the values broadcast against each other.

    Returns:
        ``[..., D]`` coordinates. Not clipped: a value outside its bounds maps outside ``[0, 1]``
        (and a non-positive value of a log-scale dimension to NaN).
    """
    missing = [n for n in space.names if n not in params]
    unknown = [n for n in params if n not in space.order]
    if missing or unknown:
        raise ValueError(
            f"to_unit: {'missing ' + str(missing) if missing else ''}{'; ' if missing and unknown else ''}"
            f"{'unknown ' + str(unknown) if unknown else ''}; the free dimensions are {list(space.names)}"
        )
    cols = []
    for name, lo, hi, log, w in zip(space.names, space.lo, space.hi, space.log, space.symlog):
        v = jnp.asarray(params[name])
        v = v.astype(_float_dtype(v))
        if w > 0:
            s_lo, s_hi = math.asinh(lo / w), math.asinh(hi / w)
            cols.append((jnp.arcsinh(v / w) - s_lo) / (s_hi - s_lo))
        else:
            cols.append((jnp.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) if log else (v - lo) / (hi - lo))
    cols = jnp.broadcast_arrays(*cols)
    return jnp.stack(cols, axis=-1)
