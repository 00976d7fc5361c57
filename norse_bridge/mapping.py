"""jaxplaus parameters and states <-> Norse 1.1.0 parameter and state objects.

The three ports use Norse's own field names, so a mapping is a change of container and of number
type, never a renaming:

============  ==================================  ==========================  ==================
jaxplaus      Norse parameters                    Norse state                 Norse layer
============  ==================================  ==========================  ==================
lif           ``LIFParameters``                   ``LIFFeedForwardState``     ``norse.torch.LIF``
              (tau_syn_inv, tau_mem_inv, v_leak,  (v, i)
              v_th, v_reset)
adex          ``LIFAdExParameters`` (+            ``LIFAdExFeedForwardState`` ``LIFAdEx``
              adaptation_current, adaptation_     (v, i, a)
              spike, delta_T, tau_ada_inv)
izhikevich    ``IzhikevichParameters``            ``IzhikevichState`` (v, u)  ``Izhikevich``
              (a, b, c, d, sq, mn, bias, v_th,
              tau_inv)
============  ==================================  ==========================  ==================

What differs per model (the Norse classes, the state names, the layer's form, the presets) is
the model's :class:`~norse_bridge.ports.Port` in :data:`norse_bridge.ports.PORTS`.

Numbers: every value is rounded to float32 once, on the jaxplaus side, and handed to Norse as a
float32 tensor, so both engines start from the same bits. Tensors may be 0-dim or ``[N]`` (one
value per neuron): every Norse feed-forward step used here is elementwise and broadcasts ``[N]``
parameters against an ``[N]`` state, Izhikevich included (its parameters are typed ``float`` and
the presets use Python floats, but ``izhikevich_feed_forward_step`` is plain tensor arithmetic).
What does not accept ``[N]`` parameters is the layers' *default* state (``torch.full(shape,
v_leak)`` in ``LIF``/``LIFAdEx``): always pass a state (``to_norse_state``), as
:func:`norse_layer` does.

Izhikevich arithmetic (why tensors, not Python floats): Norse writes
``u + p.tau_inv * dt * p.a * (p.b * v - u)``. With Python-float parameters (the presets),
``tau_inv*dt*a`` is evaluated in Python double and rounded to float32 only when it meets the
tensor; the JAX port evaluates ``(tau_inv*dt)*a`` in float32 (``dt`` itself rounded to float32
first). Handing Norse float32 *tensors* makes torch do exactly the port's float32 sequence
(a tensor times the Python scalar ``dt`` rounds ``dt`` to float32, as JAX does with its weakly
typed ``DT``), and the two agree bit for bit when XLA's fused multiply-add is off. With the
presets' Python floats they differ for some presets (see ``norse_bridge/README.md``); pass
``python_floats=True`` to :func:`to_norse_parameters` to reproduce Norse's presets as shipped.
Norse's ``LIFAdExParameters`` cannot take Python floats at all (``.detach()`` on a float).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from norse_bridge import ports
from norse_bridge._deps import require
from norse_bridge.ports import DT, MODELS, PRESET_PATTERNS  # noqa: F401  (public here too)


def model_name(model) -> str:
    """The bridged model's name (``"lif"``, ``"adex"`` or ``"izhikevich"``) from a name or Model."""
    return ports.get(model).model


def jaxplaus_model(model):
    """The jaxplaus Model object of a bridged model."""
    return ports.get(model).jaxplaus_model()


def norse_step(model):
    """Norse's feed-forward step function of ``model`` (e.g. ``lif_feed_forward_step``)."""
    return ports.get(model).norse_step()


def _as_float32(norse_obj, names) -> dict[str, np.ndarray]:
    """``{name: float32 array}`` of the fields ``names`` of a Norse NamedTuple (tensors detached
    and copied to numpy, Python floats rounded)."""
    out = {}
    for name in names:
        value = getattr(norse_obj, name)
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        out[name] = np.asarray(value, dtype=np.float32)
    return out


# ----------------------------------------------------------------------------- parameters


def complete_parameters(model, params: Mapping[str, Any] | None, dtype=np.float32) -> dict[str, np.ndarray]:
    """``params`` with missing entries set to the model defaults, every value a ``dtype`` array
    (float32 unless asked).

    Unknown names are a ValueError. Values keep their shapes (scalars become 0-dim arrays).
    """
    m = jaxplaus_model(model)
    full = m.defaults()
    if params is not None:
        unknown = sorted(set(params) - set(full))
        if unknown:
            raise ValueError(f"Parameters for model {m.name!r}: unknown {unknown}; expected {list(full)}")
        full.update(params)
    return {k: np.asarray(v, dtype=dtype) for k, v in full.items()}


def to_norse_parameters(
    model, params: Mapping[str, Any] | None = None, *, python_floats: bool = False, dtype=np.float32
):
    """jaxplaus parameters -> the Norse parameter object (float32 tensors, 0-dim or ``[N]``;
    ``dtype=np.float64`` gives float64 tensors).

    Args:
        model: ``"lif"``, ``"adex"``, ``"izhikevich"`` or the Model.
        params: ``name -> value`` (missing names take the defaults); arrays of shape ``[N]``
            give one value per neuron.
        python_floats: for a port with Norse presets (izhikevich): give scalar parameters as
            Python floats (the form of Norse's presets) instead of float32 tensors. The float
            is the float32 value, so only Norse's double-precision ``tau_inv*dt*a`` differs
            (see the module docstring).
    """
    torch, _ = require()
    port = ports.get(model)
    p = complete_parameters(model, params, dtype)
    if python_floats:
        if not port.presets:
            with_presets = [name for name, q in ports.PORTS.items() if q.presets]
            raise ValueError(
                f"python_floats=True reproduces Norse's Python-float presets, which only {with_presets} have "
                f"(LIFAdEx rejects floats), not {port.model!r}"
            )
        if any(v.ndim for v in p.values()):
            raise ValueError("python_floats=True needs scalar parameters")
        fields = {k: float(v) for k, v in p.items()}
    else:
        fields = {k: torch.from_numpy(np.array(v, dtype=dtype)) for k, v in p.items()}
    return getattr(port.functional(), port.parameters_class)(**fields)


def from_norse_parameters(model, norse_params) -> dict[str, np.ndarray]:
    """A Norse parameter object -> jaxplaus parameters (float32 arrays; Python floats rounded).

    Norse's extra fields (``method``, ``alpha``) only shape surrogate gradients and are dropped.
    """
    return _as_float32(norse_params, jaxplaus_model(model).parameters)


# ----------------------------------------------------------------------------- states


def initial_state(model, params: Mapping[str, Any] | None = None, dtype=np.float32) -> dict[str, np.ndarray]:
    """The jaxplaus initial state of ``params`` (what ``simulate`` starts from), ``dtype`` arrays."""
    import jax
    import jax.numpy as jnp

    from jaxplaus._precision import precision

    m = jaxplaus_model(model)
    p = complete_parameters(m, params, dtype)
    shape = np.broadcast_shapes(*(v.shape for v in p.values()))
    with precision(np.dtype(dtype).name):
        flat = {k: jnp.asarray(np.broadcast_to(v, shape).reshape(-1)) for k, v in p.items()}
        state = jax.vmap(m.initial_state)(flat)
        return {k: np.asarray(v, dtype=dtype).reshape(shape) for k, v in state.items()}


def to_norse_state(model, state: Mapping[str, Any], dtype=np.float32):
    """A jaxplaus state dict -> the Norse feed-forward state (float32 tensors, or ``dtype``'s)."""
    torch, _ = require()
    port = ports.get(model)
    missing = sorted(set(port.state_names) - set(state))
    if missing:
        raise ValueError(f"State for model {port.model!r}: missing {missing}; expected {list(port.state_names)}")
    fields = {k: torch.from_numpy(np.array(state[k], dtype=dtype)) for k in port.state_names}
    return getattr(port.functional(), port.state_class)(**fields)


def from_norse_state(model, norse_state) -> dict[str, np.ndarray]:
    """A Norse state (feed-forward or recurrent) -> a jaxplaus state dict of float32 arrays."""
    return _as_float32(norse_state, ports.get(model).state_names)


def to_norse(model, params: Mapping[str, Any] | None = None, state: Mapping[str, Any] | None = None):
    """``(norse_parameters, norse_state)``; ``state=None`` takes jaxplaus's initial state of ``params``."""
    if state is None:
        state = initial_state(model, params)
    return to_norse_parameters(model, params), to_norse_state(model, state)


def from_norse(model, norse_params, norse_state=None):
    """``(params, state)`` as jaxplaus dicts (``state`` is None when ``norse_state`` is)."""
    state = None if norse_state is None else from_norse_state(model, norse_state)
    return from_norse_parameters(model, norse_params), state


def norse_layer(model, norse_params, norse_state=None, *, dt: float = DT, record_states: bool = True):
    """The Norse layer (``torch.nn.Module``, input ``[T, N]``) simulating ``model``.

    Where the port's layer takes a behaviour ``(p, s)`` (Izhikevich: ``IzhikevichSpikingBehavior``),
    ``norse_state`` is its state (required there). Pass the state to the layer's call as well.
    """
    _, norse = require()
    port = ports.get(model)
    layer_cls = getattr(norse.torch, port.layer)
    if not port.behavior:
        return layer_cls(norse_params, dt=dt, record_states=record_states)
    if norse_state is None:
        raise ValueError(f"a {port.layer} layer needs a state ({port.behavior} carries one)")
    behavior = getattr(port.functional(), port.behavior)(norse_params, norse_state)
    return layer_cls(behavior, dt=dt, record_states=record_states)


# ----------------------------------------------------------------------------- presets


class Preset(NamedTuple):
    """One of Norse's presets, mapped: its Norse object and its jaxplaus form."""

    name: str  # Norse's attribute name, e.g. "class_1_exc"
    pattern: str  # the jaxplaus pattern whose protocol drives it
    behavior: Any  # Norse's object (IzhikevichSpikingBehavior: Python-float parameters p, state s)
    params: dict[str, np.ndarray]  # jaxplaus parameters (float32)
    state: dict[str, np.ndarray]  # jaxplaus initial state (float32), Norse's preset state


def presets(model) -> dict[str, Preset]:
    """Norse's presets of ``model``'s port (its :attr:`~norse_bridge.ports.Port.presets`), by Norse
    name, with their jaxplaus parameters and state; ``{}`` for a port without presets."""
    port = ports.get(model)
    out = {}
    for name, pattern in port.presets.items():
        behavior = getattr(port.functional(), name)
        params, state = from_norse(port.model, behavior.p, behavior.s)
        out[name] = Preset(name, pattern, behavior, params, state)
    return out


def izhikevich_presets() -> dict[str, Preset]:
    """Norse's 20 Izhikevich presets, by Norse name, with their jaxplaus parameters and state."""
    return presets("izhikevich")


def preset_for_pattern(pattern: str, model="izhikevich") -> str | None:
    """The name of ``model``'s Norse preset driven by the jaxplaus pattern ``pattern`` (or None)."""
    for name, pat in ports.get(model).presets.items():
        if pat == pattern:
            return name
    return None
