"""Validate an assessment's winners in Norse 1.1.0 itself (torch float64).

Reference: the Norse layers and feed-forward steps of ``shared/spec/norse-reference.md``
(``dt = 0.001``), driven by :mod:`norse_bridge.mapping` for jaxplaus's ports ``lif``, ``adex``
and ``izhikevich``, and by the cell's own step for a :class:`~norse_bridge.model.NorseModel`.

``jaxplaus.assess`` validates each pattern's best point in float64 JAX. With
``validators=[norse_validator()]`` (``jaxplaus assess --validate-norse``) the same point is also
simulated in Norse, in torch float64, on the pattern's warm-up + protocol input and on its
control input (both times the winner's gain, as the JAX run computes them), and judged by the
same strict validator, :meth:`jaxplaus.patterns.base.Pattern.validate`. The pattern passes only
if both agree that it passes; the Norse verdict is kept in ``PatternResult.validations["norse"]``.

For a port the Norse run is the layer (``norse.torch.LIF``, ``LIFAdEx``, ``Izhikevich``): Norse's
own loop over time, not the JAX port. For a NorseModel it is a plain Python loop over the cell's
Norse step, outside JAX (the assessment ran the same step through ``jax.pure_callback``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from norse_bridge import mapping as _mapping
from norse_bridge._deps import require

NAME = "norse"


def supports(model) -> bool:
    """True if ``model`` (a name or Model) can be validated in Norse: a bridged port or a NorseModel."""
    from norse_bridge.model import NorseModel

    if isinstance(model, NorseModel):
        return True
    return getattr(model, "name", model) in _mapping.MODELS


def _norse_trace(model, params: Mapping[str, float], x: np.ndarray):
    """Norse's float64 run of ONE candidate on input ``x [T]``: a jaxplaus ``Trace`` of ``[T]`` arrays."""
    from jaxplaus.simulate import Trace
    from norse_bridge.model import NorseModel

    torch, _ = require()
    xt = torch.from_numpy(np.asarray(x, np.float64).reshape(-1, 1))  # [T, 1]: Norse's time-first input
    with torch.no_grad():
        if isinstance(model, NorseModel):
            v, z, ok = _cell_run(model, params, xt)
        else:
            p = _mapping.to_norse_parameters(model, params, dtype=np.float64)
            s0 = _mapping.to_norse_state(model, _mapping.initial_state(model, params, np.float64), np.float64)
            s0 = type(s0)(*(t.reshape(1) for t in s0))
            layer = _mapping.norse_layer(model, p, s0, record_states=True)
            z, states = layer(xt, s0)
            v = states.v
            ok = torch.ones((), dtype=torch.bool)
            for leaf in states:
                ok = ok & torch.isfinite(leaf).all()
    v = v.reshape(-1).numpy()
    ok = bool(ok) and bool(np.all(np.isfinite(v)))
    return Trace(v=v, spikes=z.reshape(-1).numpy() != 0, finite=np.bool_(ok), state=None)


def _cell_run(model, params: Mapping[str, float], xt):
    """A NorseModel's cell stepped in a Python loop (torch float64): ``(v [T], z [T], finite)``."""
    import jax
    import jax.numpy as jnp

    from jaxplaus._precision import precision

    torch, _ = require()
    cell = model.cell
    full = dict(model.defaults(), **params)
    tensors = {k: torch.tensor([float(full[k])], dtype=torch.float64) for k in cell.parameters}
    p = cell.norse_parameters(tensors)
    with precision("float64"):
        s0 = model.initial_state({k: jnp.asarray(float(full[k]), jnp.float64) for k in cell.parameters})
        s0 = {k: float(jax.device_get(a)) for k, a in s0.items()}
    state = cell.norse_state({k: torch.tensor([v], dtype=torch.float64) for k, v in s0.items()})
    step = cell.norse_step()
    fields = cell.state_fields()
    vs, zs = [], []
    ok = torch.ones((), dtype=torch.bool)
    for t in range(xt.shape[0]):
        z, state = step(xt[t], state, p, cell.dt)
        leaves = [_get(state, f) for f in fields]
        for leaf in leaves:
            ok = ok & torch.isfinite(leaf).all()
        vs.append(_get(state, cell.voltage))
        zs.append(z)
    return torch.stack(vs), torch.stack(zs), ok


def _get(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def norse_run(model, pattern, params: Mapping[str, float], gain: float, *, warmup: int):
    """Norse's float64 traces of ONE candidate on ``pattern``: ``(trace, control)``, each a
    jaxplaus ``Trace`` of ``warmup + T`` samples (as :meth:`Pattern.run` gives them in JAX)."""
    from jaxplaus import models

    model = models.get(model)
    if not supports(model):
        raise ValueError(_unsupported(model))
    gain = np.float64(gain)
    stim = gain * np.asarray(pattern.run_stimulus(warmup), np.float64)  # the product the JAX step computes
    ctrl = gain * np.asarray(pattern.control_stimulus(warmup), np.float64)
    return _norse_trace(model, params, stim), _norse_trace(model, params, ctrl)


def _unsupported(model) -> str:
    name = getattr(model, "name", model)
    return (
        f"model {name!r} has no Norse counterpart: the Norse validation supports the ports "
        f"{list(_mapping.MODELS)} and norse_bridge NorseModels"
    )


@dataclasses.dataclass(frozen=True)
class NorseValidator:
    """The Norse validation of a winner, an ``assess(validators=[...])`` entry (named ``"norse"``).

    ``validator(model, pattern, params, gain, *, warmup)`` simulates the candidate in Norse
    (torch float64) on the pattern's protocol after ``warmup`` samples and on its control run and
    returns :meth:`Pattern.validate`'s :class:`~jaxplaus.patterns.base.Verdict`.
    """

    name: str = NAME

    def check(self, model) -> None:
        """A ValueError unless ``model`` can be validated in Norse; an ImportError naming the
        install command when Norse is absent."""
        require()
        if not supports(model):
            raise ValueError(_unsupported(model))

    def __call__(self, model, pattern, params: Mapping[str, float], gain: float, *, warmup: int):
        trace, control = norse_run(model, pattern, params, gain, warmup=warmup)
        return pattern.validate(trace, control, warmup)


def norse_validator() -> NorseValidator:
    """The Norse validator (see :class:`NorseValidator`)."""
    return NorseValidator()


__all__ = ["NorseValidator", "norse_run", "norse_validator", "supports"]
