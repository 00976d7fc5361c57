"""The table of jaxplaus's Norse 1.1.0 ports: one :class:`Port` per model, :data:`PORTS`.

Everything the bridge does differently for ``lif``, ``adex`` and ``izhikevich`` is written here,
once, and read by the mapping (:mod:`norse_bridge.mapping`), the cross-check
(:mod:`norse_bridge.crosscheck` and its helpers), the Norse validation
(:mod:`norse_bridge.validate`) and the built-in Norse cells (:mod:`norse_bridge.cells`). No other
module asks which model it has.

The ports use Norse's own field names, so a port maps names one to one: Norse's parameter
NamedTuple has a field per jaxplaus parameter (plus ``method`` and ``alpha``, which only shape
surrogate gradients), and its state NamedTuple has the fields :attr:`Port.state_names`, which are
the keys of the jaxplaus state. The jaxplaus side of a port (parameters with defaults and bounds,
initial state, input-gain bounds) is the registered jaxplaus model of the same name.

Pre-reset voltages (what the cross-check's diagnosis and one-step check need): ``v`` at the end of
a step before the threshold test resets it, computed by each engine in its own arithmetic.
- ``lif``, ``izhikevich``: the engine's own step with ``v_th = +inf``. ``v_th`` enters only the
  threshold test, so nothing fires and the reset ``(1 - 0) * v + 0 * v_reset`` returns ``v``
  unchanged.
- ``adex``: ``v_th`` is also the centre of the exponential, so the step's lines up to
  ``v_decayed`` are written out (:func:`_adex_v_dec`). The port and Norse's
  ``lif_adex_feed_forward_step`` group them identically, so one expression, evaluated with each
  engine's arrays and ``exp``, is each engine's arithmetic.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping

import numpy as np

from jaxplaus import models
from norse_bridge._deps import require

DT = 0.001  # Norse's default time step (seconds), the one every port uses


@dataclasses.dataclass(frozen=True, eq=False)
class Port:
    """One JAX port of a Norse 1.1.0 neuron model (compares and hashes by identity).

    Attributes:
        model: the jaxplaus model's name (``jaxplaus.models.get(model)``).
        module: the Norse module, ``norse.torch.functional.<module>``.
        parameters_class: Norse's parameter NamedTuple in ``module``.
        state_class: Norse's feed-forward state NamedTuple in ``module``; its fields are
            ``state_names``.
        step: Norse's feed-forward step in ``module``, ``(x [N], state, p, dt) -> (z [N], state)``.
        layer: Norse's layer, ``norse.torch.<layer>`` (input ``[T, N]``).
        state_names: the state variables, Norse's field names and the jaxplaus state's keys.
        gain_range: ``(lo, hi)`` of the input gains :func:`norse_bridge.random_parameters` draws
            (log-uniform; see :mod:`norse_bridge.candidates`).
        jax_pre_reset: ``(model, params, state, x) -> v`` before the reset, the JAX port's
            arithmetic (one neuron's dicts of scalars; jit- and vmap-able).
        norse_pre_reset: ``(step, params, state, x) -> v`` before the reset, Norse's arithmetic
            (``step``: Norse's step function; ``params``, ``state``: Norse objects; torch tensors).
        exp_argument: ``(params, state) -> the argument of the step's exp`` (dicts of JAX arrays
            or torch tensors; arithmetic operators only), or None for a step without exp. Where
            XLA's and torch's exp of it differ, the one-step check says so.
        behavior: the NamedTuple Norse's layer takes in place of the parameters, built from
            ``(p, s)`` (Izhikevich's ``IzhikevichSpikingBehavior``); "" where it takes ``p``.
        presets: Norse's presets (objects of ``behavior`` in ``module``, by attribute name) ->
            the jaxplaus pattern whose protocol drives each. Norse ships them with Python-float
            parameters.
    """

    model: str
    module: str
    parameters_class: str
    state_class: str
    step: str
    layer: str
    state_names: tuple[str, ...]
    gain_range: tuple[float, float]
    jax_pre_reset: Callable
    norse_pre_reset: Callable
    exp_argument: Callable | None = None
    behavior: str = ""
    presets: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def jaxplaus_model(self):
        """The jaxplaus Model of this port."""
        return models.get(self.model)

    def qualified(self, name: str) -> str:
        """``"<module>.<name>"``: the name of one of Norse's objects under norse.torch.functional."""
        return f"{self.module}.{name}"

    def functional(self):
        """Norse's module ``norse.torch.functional.<module>`` (imports torch and Norse)."""
        require()
        return importlib.import_module(f"norse.torch.functional.{self.module}")

    def norse_step(self) -> Callable:
        """Norse's feed-forward step function (e.g. ``lif_feed_forward_step``)."""
        return getattr(self.functional(), self.step)


# ----------------------------------------------------------------------------- pre-reset voltages


def _jax_pre_reset_by_step(model, params, state, x):
    """The JAX port's step with ``v_th = +inf``: its ``v`` is the pre-reset one."""
    import jax.numpy as jnp

    return model.step({**params, "v_th": jnp.asarray(np.inf, params["v_th"].dtype)}, state, x)[1]


def _norse_pre_reset_by_step(step, params, state, x):
    """Norse's step with ``v_th = +inf``: its ``v`` is the pre-reset one."""
    torch, _ = require()
    _, new = step(x, state, params._replace(v_th=torch.as_tensor(np.float32(np.inf))), DT)
    return new.v


def _adex_exp_argument(p, s):
    """``(v - v_th) / delta_T`` of the old ``v``: the argument of AdEx's exp."""
    return (s["v"] - p["v_th"]) / p["delta_T"]


def _adex_v_dec(p, s, x, exp):
    """AdEx's ``v`` before the reset (``v_decayed``), with the grouping of both the port and
    ``lif_adex_feed_forward_step``: ``v + (dt*tau_mem_inv) * ((((v_leak - v) + dv_exp) + i_jump) - a)``.
    ``p``, ``s``: dicts of one engine's arrays; ``exp``: that engine's exp."""
    i_jump = s["i"] + x
    dv_exp = p["delta_T"] * exp(_adex_exp_argument(p, s))
    return s["v"] + (DT * p["tau_mem_inv"]) * ((((p["v_leak"] - s["v"]) + dv_exp) + i_jump) - s["a"])


def _jax_adex_pre_reset(model, params, state, x):
    import jax.numpy as jnp

    return _adex_v_dec(params, state, x, jnp.exp)


def _norse_adex_pre_reset(step, params, state, x):
    torch, _ = require()
    return _adex_v_dec(params._asdict(), state._asdict(), x, torch.exp)


# ----------------------------------------------------------------------------- the table

# Norse's 20 IzhikevichSpikingBehavior presets (module attribute name) -> the jaxplaus pattern
# whose protocol (figure1.m input) drives it.
PRESET_PATTERNS = {
    "tonic_spiking": "tonic_spiking",
    "phasic_spiking": "phasic_spiking",
    "tonic_bursting": "tonic_bursting",
    "phasic_bursting": "phasic_bursting",
    "mixed_mode": "mixed_mode",
    "spike_frequency_adaptation": "spike_frequency_adaptation",
    "class_1_exc": "class1_excitability",
    "class_2_exc": "class2_excitability",
    "spike_latency": "spike_latency",
    "subthreshold_oscillation": "subthreshold_oscillations",
    "resonator": "resonator",
    "integrator": "integrator",
    "rebound_spike": "rebound_spike",
    "rebound_burst": "rebound_burst",
    "threshold_variability": "threshold_variability",
    "bistability": "bistability",
    "dap": "depolarizing_after_potential",
    "accomodation": "accommodation",  # Norse's spelling
    "inhibition_induced_spiking": "inhibition_induced_spiking",
    "inhibition_induced_bursting": "inhibition_induced_bursting",
}

_BY_STEP = {"jax_pre_reset": _jax_pre_reset_by_step, "norse_pre_reset": _norse_pre_reset_by_step}

PORTS: dict[str, Port] = {
    port.model: port
    for port in (
        Port(
            model="lif", module="lif", parameters_class="LIFParameters", state_class="LIFFeedForwardState",
            step="lif_feed_forward_step", layer="LIF", state_names=("v", "i"), gain_range=(1e-3, 1.0), **_BY_STEP,
        ),
        Port(
            model="adex", module="lif_adex", parameters_class="LIFAdExParameters",
            state_class="LIFAdExFeedForwardState", step="lif_adex_feed_forward_step", layer="LIFAdEx",
            state_names=("v", "i", "a"), gain_range=(1e-3, 1.0), jax_pre_reset=_jax_adex_pre_reset,
            norse_pre_reset=_norse_adex_pre_reset, exp_argument=_adex_exp_argument,
        ),
        Port(
            model="izhikevich", module="izhikevich", parameters_class="IzhikevichParameters",
            state_class="IzhikevichState", step="izhikevich_feed_forward_step", layer="Izhikevich",
            state_names=("v", "u"), gain_range=(0.25, 4.0), behavior="IzhikevichSpikingBehavior",
            presets=PRESET_PATTERNS, **_BY_STEP,
        ),
    )
}
MODELS = tuple(PORTS)


def get(model) -> Port:
    """The port of ``model`` (a name or a jaxplaus Model), or a ValueError naming the ports."""
    name = getattr(model, "name", model)
    if name not in PORTS:
        raise ValueError(f"norse_bridge maps only the Norse ports {list(MODELS)}, not {name!r}")
    return PORTS[name]


__all__ = ["DT", "MODELS", "PORTS", "PRESET_PATTERNS", "Port", "get"]
