"""Validate an assessment's winners in Norse 1.1.0 itself (torch float64).

Reference: the Norse feed-forward steps of ``shared/spec/norse-reference.md`` (``dt = 0.001``).

``jaxplaus.assess`` validates each pattern's best point in float64 JAX. With
``validators=[norse_validator()]`` (``jaxplaus assess --validate-norse``) the same point is also
simulated in Norse, in torch float64, on the pattern's warm-up + protocol input and on its
control input (both times the winner's gain, as the JAX run computes them), and judged by the
same strict validator, :meth:`jaxplaus.patterns.base.Pattern.validate`. The pattern passes only
if both agree that it passes; the Norse verdict is kept in ``PatternResult.validations["norse"]``.

One run path serves both kinds of model: a cell (:class:`~norse_bridge.cell.NorseCell`), stepped
by Norse's own time loop, ``norse.torch.module.snn.SNN`` with the cell's step as its activation.
A NorseModel brings its cell; a port (``lif``, ``adex``, ``izhikevich``) is its table entry as a
cell (:func:`norse_bridge.cells.port_cell`): Norse's step with the jaxplaus model's parameters
and initial state. Norse's ``LIF``, ``LIFAdEx`` and ``Izhikevich`` layers are that same ``SNN``
loop over that same step, so a port's run is its Norse layer's, bit for bit (tested).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from norse_bridge import ports
from norse_bridge._deps import require
from norse_bridge.cell import NorseCell, getter
from norse_bridge.cells import port_cell
from norse_bridge.model import NorseModel

NAME = "norse"


def supports(model) -> bool:
    """True if ``model`` (a name or Model) can be validated in Norse: a bridged port or a NorseModel."""
    return isinstance(model, NorseModel) or getattr(model, "name", model) in ports.PORTS


def _cell_of(model) -> NorseCell:
    """The cell Norse runs for ``model``: a NorseModel's own, or the port's."""
    return model.cell if isinstance(model, NorseModel) else port_cell(ports.get(model))


def _initial_state(cell: NorseCell, params: Mapping[str, float]) -> dict[str, float]:
    """The cell's initial state of ONE candidate, ``{dotted path: float}``, evaluated in float64 JAX."""
    import jax
    import jax.numpy as jnp

    from jaxplaus._precision import precision

    with precision("float64"):
        s0 = cell.checked_initial_state({k: jnp.asarray(float(v), jnp.float64) for k, v in params.items()})
        return {k: float(jax.device_get(a)) for k, a in s0.items()}


def _norse_trace(cell: NorseCell, params: Mapping[str, float], x: np.ndarray):
    """Norse's float64 run of ONE candidate on input ``x [T]``: a jaxplaus ``Trace`` of ``[T]`` arrays.

    ``params``: every parameter of the cell. The run is Norse's ``SNN`` time loop over the cell's
    step, with ``[1]`` tensors (one neuron) and input ``[T, 1]``; the trace is finite when every
    state variable stayed finite at every step.
    """
    from jaxplaus.simulate import Trace

    torch, _ = require()
    from norse.torch.module.snn import SNN

    def one(value: float):
        return torch.tensor([value], dtype=torch.float64)

    p = cell.norse_parameters({k: one(float(params[k])) for k in cell.parameters})
    s0 = cell.norse_state({k: one(v) for k, v in _initial_state(cell, params).items()})
    xt = torch.from_numpy(np.asarray(x, np.float64).reshape(-1, 1))  # [T, 1]: Norse's time-first input
    loop = SNN(activation=cell.norse_step(), state_fallback=None, p=p, dt=cell.dt, record_states=True)
    with torch.no_grad():
        z, states = loop(xt, s0)  # z [T, 1]; states: the state NamedTuple of [T, 1] tensors
    v = getter(cell.voltage)(states).reshape(-1).numpy()
    ok = all(bool(torch.isfinite(getter(f)(states)).all()) for f in cell.state_fields())
    return Trace(v=v, spikes=z.reshape(-1).numpy() != 0, finite=np.bool_(ok and np.all(np.isfinite(v))), state=None)


def norse_run(model, pattern, params: Mapping[str, float], gain: float, *, warmup: int):
    """Norse's float64 traces of ONE candidate on ``pattern``: ``(trace, control)``, each a
    jaxplaus ``Trace`` of ``warmup + T`` samples (as :meth:`Pattern.run` gives them in JAX).

    ``params``: the model's parameters (missing ones take the defaults; unknown ones are a ValueError).
    """
    from jaxplaus import models

    model = models.get(model)
    if not supports(model):
        raise ValueError(_unsupported(model))
    full = dict(model.defaults(), **params)
    model.check_params(full)
    cell = _cell_of(model)
    gain = np.float64(gain)
    stim = gain * np.asarray(pattern.run_stimulus(warmup), np.float64)  # the product the JAX step computes
    ctrl = gain * np.asarray(pattern.control_stimulus(warmup), np.float64)
    return _norse_trace(cell, full, stim), _norse_trace(cell, full, ctrl)


def _unsupported(model) -> str:
    name = getattr(model, "name", model)
    return (
        f"model {name!r} has no Norse counterpart: the Norse validation supports the ports "
        f"{list(ports.MODELS)} and norse_bridge NorseModels"
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
