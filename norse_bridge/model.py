"""NorseModel: any Norse 1.1.0 feed-forward cell as a jaxplaus black-box model.

Reference: Norse 1.1.0, ``norse.torch.functional.*_feed_forward_step`` (``dt = 0.001``; the
input of a step is added to the cell's state as Norse's modules add it, see
``shared/spec/norse-reference.md``). Every step of a :class:`NorseModel` *is* Norse's own torch
function: nothing of its equations is ported to JAX.

A jaxplaus model is a per-neuron step ``(params, state, x) -> (state, v, spike)`` that the engine
vmaps (candidates, jitter copies, patterns, restart lanes) and scans over samples inside jit.
:func:`norse_model` builds such a step as a :func:`jax.pure_callback` with
``vmap_method="expand_dims"``: under the engine's nested vmaps the callback is called ONCE per
sample with arrays that carry every batch dimension (``[tasks, lanes, candidates]`` for a search
generation), and it runs the Norse step on them as one torch batch. The state lives in JAX between
steps, as a dict of per-neuron scalars keyed by the Norse state's field names (nested states use
dotted paths: ``{"lif.v", "lif.i", "rho"}`` for ``LIFRefracFeedForwardState``). The search, the
validation and everything downstream stay jaxplaus's.

Precision follows the engine's dtype: a float32 simulation steps Norse in torch float32, a
float64 one (the assessment's validation, and its default search) in torch float64. Non-finite
dynamics (an overflowing ``exp``) do not raise: the NaN or inf goes back to JAX, which marks the
candidate ``finite=False``.

A cell is described by a :class:`NorseCell`: the Norse step, the parameters (name, default,
search bounds, as jaxplaus :class:`~jaxplaus.models.Parameter`), how a dict of torch tensors
becomes Norse's parameter object, the state class, the initial state (a JAX function of the
parameters) and which state field is the voltage. Built in (:data:`CELLS`): ``lif`` (Norse LIF,
to compare with the JAX port), ``lif_ex`` (exponential LIF), ``lif_refrac`` (LIF with an
absolute refractory period) and ``lsnn`` (LIF with an adaptive threshold). A user's own cell::

    import norse_bridge as nb
    from jaxplaus import Parameter

    cell = nb.NorseCell(
        name="my_lif_ex",
        step="lif_ex.lif_ex_feed_forward_step",           # or the function itself
        parameters={"v_th": Parameter(1.0, 0.2, 3.0), ...},
        make_parameters="lif_ex.LIFExParameters",         # or tensors -> Norse parameter object
        state_type="lif_ex.LIFExFeedForwardState",         # or the class itself
        initial_state=lambda p: {"v": p["v_leak"], "i": 0 * p["v_leak"]},
    )
    model = nb.norse_model(cell)        # a jaxplaus Model, registered as "norse.my_lif_ex"
    jaxplaus.assess(model, patterns=["tonic_spiking"], budget=640)

Strings name objects under ``norse.torch.functional`` and are resolved when first needed, so
building a cell imports neither torch nor Norse.

Speed: the callback costs a Python round trip and about ten torch dispatches per sample, about
0.1 ms whatever the batch up to ~10^4 neurons (measured numbers are in ``norse_bridge/README.md``).
Torch runs elementwise ops on one thread below 32,768 elements, and XLA's thread waits on the
callback, so the two do not compete for the CPU's cores.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from jaxplaus.models.base import Model, Parameter
from norse_bridge._deps import available, require

DT = 0.001  # Norse's default time step
PREFIX = "norse."  # a NorseModel's name is PREFIX + the cell's name
LIF_GAIN_BOUNDS = (1e-4, 10.0)  # as jaxplaus.assess.GAIN_BOUNDS["lif"]: see the comment there


def _resolve(obj, what: str, cell: str):
    """``obj`` itself, or the object a ``"module.name"`` string names under norse.torch.functional."""
    if not isinstance(obj, str):
        return obj
    require()
    module, _, name = obj.rpartition(".")
    try:
        return getattr(importlib.import_module(f"norse.torch.functional.{module}"), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(
            f"cell {cell!r}: {what} {obj!r} is not an object of norse.torch.functional "
            f"(expected 'module.name', e.g. 'lif_ex.LIFExParameters'): {err}"
        ) from None


def _field_paths(state_type, prefix: str = "") -> tuple[str, ...]:
    """The dotted leaf paths of a (nested) Norse state NamedTuple class, in field order."""
    hints = typing.get_type_hints(state_type)
    out = []
    for name in state_type._fields:
        sub = hints.get(name)
        if isinstance(sub, type) and issubclass(sub, tuple) and hasattr(sub, "_fields"):
            out.extend(_field_paths(sub, f"{prefix}{name}."))
        else:
            out.append(prefix + name)
    return tuple(out)


def _build_state(state_type, leaves: Mapping[str, Any], prefix: str = ""):
    """The Norse state object (nested NamedTuples) from ``{dotted path: tensor}``."""
    hints = typing.get_type_hints(state_type)
    fields = {}
    for name in state_type._fields:
        sub = hints.get(name)
        if isinstance(sub, type) and issubclass(sub, tuple) and hasattr(sub, "_fields"):
            fields[name] = _build_state(sub, leaves, f"{prefix}{name}.")
        else:
            fields[name] = leaves[prefix + name]
    return state_type(**fields)


@dataclasses.dataclass(frozen=True, eq=False)
class NorseCell:
    """A Norse feed-forward cell and its parameter specification.

    Attributes:
        name: the cell's name (the model is called ``"norse." + name``).
        step: Norse's feed-forward step ``(input [...], state, p, dt) -> (z [...], state)``, or
            its ``"module.function"`` name under ``norse.torch.functional``.
        parameters: ``name -> jaxplaus Parameter`` (default, search bounds, log scale), the
            searched parameters. Names are the keyword arguments of ``make_parameters``.
        make_parameters: ``{name: tensor} -> Norse parameter object`` (tensors 0-dim or with
            batch dimensions, of the simulation's dtype), or the ``"module.Class"`` name of a
            parameter NamedTuple that takes the parameters as keyword arguments.
        state_type: the Norse state NamedTuple class (nested ones allowed), or its name.
        initial_state: ``params -> {dotted state path: scalar}``, a pure JAX function of ONE
            neuron's parameters (it must give every leaf of ``state_type``).
        voltage: the dotted state path reported as the membrane voltage ``v``.
        gain_bounds: default ``(lo, hi)`` of the assessment's input gain (log scale).
        dt: the step's time step in seconds (Norse's 0.001).
        reference: where the equations are (shown in the model's ``reference``).
    """

    name: str
    step: Callable | str
    parameters: Mapping[str, Any]
    make_parameters: Callable | str
    state_type: type | str
    initial_state: Callable[[dict], dict]
    voltage: str = "v"
    gain_bounds: tuple[float, float] = LIF_GAIN_BOUNDS
    dt: float = DT
    reference: str = ""

    def __post_init__(self):
        if not (isinstance(self.name, str) and self.name and self.name.isidentifier()):
            raise ValueError(f"NorseCell name must be a non-empty identifier, got {self.name!r}")
        if not isinstance(self.parameters, Mapping) or not self.parameters:
            raise TypeError(f"cell {self.name!r}: parameters must be a non-empty mapping name -> Parameter")
        for k, p in self.parameters.items():
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"cell {self.name!r}: parameter {k!r} must be a jaxplaus Parameter(default, lo, hi, log), "
                    f"got {type(p).__name__} {p!r}"
                )
        if not callable(self.initial_state):
            raise TypeError(f"cell {self.name!r}: initial_state must be a function params -> state dict")
        for what in ("step", "make_parameters", "state_type"):
            value = getattr(self, what)
            if not (isinstance(value, str) or callable(value)):
                raise TypeError(
                    f"cell {self.name!r}: {what} must be a callable or a 'module.name' string, got {value!r}"
                )
        lo, hi = self.gain_bounds
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise ValueError(f"cell {self.name!r}: gain_bounds must be 0 < lo < hi, got {self.gain_bounds!r}")
        if not (isinstance(self.dt, float | int) and self.dt > 0):
            raise ValueError(f"cell {self.name!r}: dt must be a positive number of seconds, got {self.dt!r}")

    # -- resolved Norse objects (torch and Norse are imported here, on first use)
    def norse_step(self) -> Callable:
        return _resolve(self.step, "step", self.name)

    def norse_state_type(self) -> type:
        t = _resolve(self.state_type, "state_type", self.name)
        if not (isinstance(t, type) and issubclass(t, tuple) and hasattr(t, "_fields")):
            raise TypeError(f"cell {self.name!r}: state_type must be a NamedTuple class, got {t!r}")
        return t

    def state_fields(self) -> tuple[str, ...]:
        """The dotted paths of the state's leaves (the keys of the JAX state dict)."""
        return _field_paths(self.norse_state_type())

    def norse_parameters(self, tensors: Mapping[str, Any]):
        """The Norse parameter object of ``{name: tensor}``."""
        make = _resolve(self.make_parameters, "make_parameters", self.name)
        return make(**tensors) if isinstance(make, type) else make(dict(tensors))

    def norse_state(self, leaves: Mapping[str, Any]):
        """The Norse state object of ``{dotted path: tensor}``."""
        return _build_state(self.norse_state_type(), leaves)


# ============================================================================ the host step


class _Host:
    """The callback of one cell: one Norse step on the whole batch (see :meth:`__call__`).

    The Norse objects (step, parameter class, state classes) are resolved, and the cell tried
    once on its defaults (:meth:`check`), when the JAX step is first traced: a cell that does not
    fit fails there with a Python error naming the cell, not inside XLA.
    """

    def __init__(self, cell: NorseCell, fields: tuple[str, ...]):
        self.cell, self.fields, self.names = cell, fields, tuple(cell.parameters)
        self._ready = False

    def _prepare(self):
        cell = self.cell
        self.torch, _ = require()
        self.step = cell.norse_step()
        make = _resolve(cell.make_parameters, "make_parameters", cell.name)
        self.make = (lambda t: make(**t)) if isinstance(make, type) else make
        self.build = _state_builder(cell.norse_state_type())
        self.get = [_getter(f) for f in self.fields] + [_getter(cell.voltage)]
        self._ready = True

    @functools.cached_property
    def checked(self) -> bool:
        """One Norse step of the cell's defaults (torch float32, a batch of 2), or an error naming
        what does not fit: the parameter factory, the state builder, the step's ``(z, state)``."""
        if not self._ready:
            self._prepare()
        torch, cell = self.torch, self.cell
        where = f"Norse cell {cell.name!r}"
        defaults = {k: float(p.default) for k, p in cell.parameters.items()}
        try:
            params = self.make({k: torch.full((2,), v) for k, v in defaults.items()})
        except Exception as err:
            raise TypeError(f"{where}: make_parameters failed on {{name: tensor}} of {list(defaults)}: {err}") from err
        s0 = cell.initial_state(defaults)
        state = self.build([torch.full((2,), float(s0[f])) for f in self.fields])
        try:
            with torch.no_grad():
                out = self.step(torch.zeros(2), state, params, cell.dt)
        except Exception as err:
            raise TypeError(f"{where}: its Norse step failed on the default parameters: {err}") from err
        if not (isinstance(out, tuple) and len(out) == 2):
            what = (
                f"a {type(out).__name__} of length {len(out)}" if isinstance(out, tuple | list) else type(out).__name__
            )
            raise TypeError(f"{where}: the Norse step must return (z, state), got {what}")
        z, new = out
        if not isinstance(new, self.build.state_type):
            raise TypeError(
                f"{where}: the Norse step returned a state of type {type(new).__name__}, expected "
                f"{self.build.state_type.__name__} (state_type)"
            )
        for path, get in zip((*self.fields, cell.voltage), self.get, strict=True):
            try:
                leaf = get(new)
            except AttributeError:
                raise TypeError(f"{where}: the Norse state has no field {path!r}") from None
            if not (torch.is_tensor(leaf) and leaf.shape in ((), (2,))):
                raise TypeError(f"{where}: state field {path!r} must be a tensor of the batch's shape, got {leaf!r}")
        if not (torch.is_tensor(z) and z.shape == (2,)):
            raise TypeError(f"{where}: the Norse step's spikes z must be a tensor of the batch's shape, got {z!r}")
        return True

    def __call__(self, packed):
        """``packed [..., P + S + 1]`` (the parameters, the state leaves, the input) ->
        ``[..., S + 2]`` (the new state leaves, ``v``, the spike as 0 or 1). One array each way:
        ``pure_callback`` pays a ``device_put`` per argument. float64 travels bit-cast to
        ``uint32 [..., 2]`` pairs (see :func:`_make_step`)."""
        if not self._ready:
            self._prepare()
        torch, n, k = self.torch, len(self.names), len(self.fields)
        packed = np.asarray(packed)
        wide = packed.dtype == np.uint32
        if wide:
            packed = np.ascontiguousarray(packed).view(np.float64)[..., 0]
        shape = packed.shape[:-1]
        t = torch.from_numpy(np.moveaxis(packed, -1, 0).copy())  # [P + S + 1, ...]: rows contiguous, writable
        norse_p = self.make({name: t[j] for j, name in enumerate(self.names)})
        norse_s = self.build([t[n + j] for j in range(k)])
        xt = t[n + k]
        with torch.no_grad():
            z, new = self.step(xt, norse_s, norse_p, self.cell.dt)
            outs = [torch.broadcast_to(get(new), shape) for get in self.get]
            outs.append(torch.broadcast_to((z != 0).to(xt.dtype), shape))
            out = torch.stack(outs, dim=-1).numpy()
        return out.view(np.uint32).reshape(out.shape + (2,)) if wide else out


def _getter(path: str) -> Callable:
    parts = path.split(".")

    def get(obj):
        for part in parts:
            obj = getattr(obj, part)
        return obj

    return get


def _state_builder(state_type) -> Callable:
    """``leaves (in _field_paths order) -> state_type`` object, nested NamedTuples built in order."""
    hints = typing.get_type_hints(state_type)
    parts = []
    for name in state_type._fields:
        sub = hints.get(name)
        if isinstance(sub, type) and issubclass(sub, tuple) and hasattr(sub, "_fields"):
            parts.append((_state_builder(sub), len(_field_paths(sub))))
        else:
            parts.append((None, 1))

    def build(leaves):
        fields, k = [], 0
        for sub, n in parts:
            fields.append(leaves[k] if sub is None else sub(leaves[k : k + n]))
            k += n
        return state_type(*fields)

    build.state_type = state_type
    return build


def _make_step(cell: NorseCell):
    """The per-neuron jaxplaus step of ``cell`` (a pure_callback into Norse)."""
    import jax
    import jax.numpy as jnp

    names = tuple(cell.parameters)

    @functools.cache
    def fields() -> tuple[str, ...]:
        return cell.state_fields()

    @functools.cache
    def _host(fs) -> _Host:
        return _Host(cell, fs)

    def step(params, state, x):
        fs = fields()
        host = _host(fs)
        _ = host.checked  # raises, at trace time, if the cell does not fit
        if set(state) != set(fs):
            raise ValueError(
                f"model {PREFIX + cell.name!r}: the state has entries {sorted(state)}, but the Norse state "
                f"{cell.norse_state_type().__name__} has {list(fs)}"
            )
        dtype = jnp.result_type(*(jnp.asarray(state[f]).dtype for f in fs), jnp.float32)
        # one neuron's parameters, state leaves and input as one [P + S + 1] vector
        packed = jnp.stack(
            [jnp.asarray(params[k], dtype) for k in names]
            + [jnp.asarray(state[f], dtype) for f in fs]
            + [jnp.asarray(x, dtype)]
        )
        # The callback runs on XLA's thread, where jaxplaus's scoped float64 switch is off: JAX would
        # round float64 arguments and results to float32 there. So float64 travels as uint32 pairs.
        wide = dtype == jnp.float64
        if wide:
            packed = jax.lax.bitcast_convert_type(packed, jnp.uint32)  # [P + S + 1, 2]
        out_type = jax.ShapeDtypeStruct((len(fs) + 2, 2) if wide else (len(fs) + 2,), jnp.uint32 if wide else dtype)
        out = jax.pure_callback(host, out_type, packed, vmap_method="expand_dims")
        if wide:
            out = jax.lax.bitcast_convert_type(out, jnp.float64)
        return {f: out[j] for j, f in enumerate(fs)}, out[-2], out[-1] != 0

    return step


def _make_initial_state(cell: NorseCell):
    def initial_state(params):
        state = cell.initial_state(params)
        if not isinstance(state, Mapping):
            raise TypeError(
                f"cell {cell.name!r}: initial_state must return a dict {{state path: scalar}}, got "
                f"{type(state).__name__}"
            )
        fs = cell.state_fields()
        if set(state) != set(fs):
            raise ValueError(
                f"cell {cell.name!r}: initial_state gave {sorted(state)}, but the Norse state "
                f"{cell.norse_state_type().__name__} has the leaves {list(fs)}"
            )
        return {f: state[f] for f in fs}

    return initial_state


# ============================================================================ the model


@dataclasses.dataclass(frozen=True, eq=False)
class NorseModel(Model):
    """A jaxplaus :class:`~jaxplaus.models.Model` whose step is a Norse cell's (see the module
    docstring); build one with :func:`norse_model`. ``cell`` is its :class:`NorseCell`;
    ``gain_bounds`` the default input-gain bounds an assessment searches
    (``jaxplaus.assess.default_gain_bounds`` reads them)."""

    cell: NorseCell | None = None
    gain_bounds: tuple[float, float] | None = None

    def __repr__(self) -> str:
        return f"NorseModel({self.name!r}, parameters={list(self.parameters)})"


_MODELS: dict[int, Any] = {}


def norse_model(cell: NorseCell | str, *, register: bool = True):
    """The jaxplaus model of a Norse cell: a built-in cell's name (:data:`CELLS`) or a :class:`NorseCell`.

    The model is called ``"norse." + cell.name`` and, with ``register`` (default), registered
    with :func:`jaxplaus.models.register` so that results, ``--resume`` and the figures can find
    it by name (a second cell of the same name is an error). The same cell gives the same model
    object (its compiled kernels are reused). Building it imports neither torch nor Norse (it
    raises an ImportError naming the install command if they are not installed).
    """
    from jaxplaus import models

    if not available():  # checked without importing torch
        require()  # the ImportError that names the install command
    if isinstance(cell, str):
        name = cell.removeprefix(PREFIX)
        if name not in CELLS:
            raise ValueError(f"Unknown Norse cell {cell!r}; built-in cells: {', '.join(CELLS)} (or pass a NorseCell)")
        cell = CELLS[name]
    if not isinstance(cell, NorseCell):
        raise TypeError(f"norse_model takes a NorseCell or a built-in cell name, got {type(cell).__name__}")
    key = id(cell)
    if key not in _MODELS or _MODELS[key].cell is not cell:
        _MODELS[key] = NorseModel(
            name=PREFIX + cell.name,
            parameters=dict(cell.parameters),
            initial_state=_make_initial_state(cell),
            step=_make_step(cell),
            reference=cell.reference
            or f"Norse 1.1.0 {cell.step if isinstance(cell.step, str) else cell.step.__name__}",
            cell=cell,
            gain_bounds=tuple(float(g) for g in cell.gain_bounds),
        )
    model = _MODELS[key]
    if register:
        models.register(model)
    return model


def is_norse_model(model) -> bool:
    return isinstance(model, NorseModel)


# ============================================================================ built-in cells


def _lif_parameters():
    return {
        "tau_syn_inv": Parameter(200.0, 10.0, 1000.0, log=True, doc="inverse synaptic time constant (1/s)"),
        "tau_mem_inv": Parameter(100.0, 10.0, 1000.0, log=True, doc="inverse membrane time constant (1/s)"),
        "v_leak": Parameter(0.0, -1.0, 1.0, doc="leak (rest) potential (dimensionless)"),
        "v_th": Parameter(1.0, 0.2, 3.0, doc="spike threshold (dimensionless)"),
        "v_reset": Parameter(0.0, -1.0, 1.0, doc="reset potential (dimensionless)"),
    }


def _lif_state(p):
    return {"v": p["v_leak"], "i": 0 * p["v_leak"]}


def _lif_refrac_parameters(t):
    from norse.torch.functional.lif import LIFParameters
    from norse.torch.functional.lif_refrac import LIFRefracParameters

    t = dict(t)
    rho = t.pop("rho_reset")
    return LIFRefracParameters(lif=LIFParameters(**t), rho_reset=rho)


def _builtin_cells() -> dict[str, NorseCell]:
    lif = _lif_parameters()
    return {
        "lif": NorseCell(
            name="lif",
            step="lif.lif_feed_forward_step",
            parameters=lif,
            make_parameters="lif.LIFParameters",
            state_type="lif.LIFFeedForwardState",
            initial_state=_lif_state,
            reference="Norse 1.1.0 norse.torch.functional.lif.lif_feed_forward_step (the same equations as "
            "jaxplaus's 'lif' port)",
        ),
        "lif_ex": NorseCell(
            name="lif_ex",
            step="lif_ex.lif_ex_feed_forward_step",
            parameters={
                **lif,
                "delta_T": Parameter(0.5, 0.01, 2.0, log=True, doc="sharpness of the exponential (dimensionless)"),
            },
            make_parameters="lif_ex.LIFExParameters",
            state_type="lif_ex.LIFExFeedForwardState",
            initial_state=_lif_state,
            reference="Norse 1.1.0 norse.torch.functional.lif_ex.lif_ex_feed_forward_step (exponential LIF: "
            "v' = tau_mem_inv (v_leak - v + i + delta_T exp((v - v_th)/delta_T)), spike and reset at v_th)",
        ),
        "lif_refrac": NorseCell(
            name="lif_refrac",
            step="lif_refrac.lif_refrac_feed_forward_step",
            parameters={
                **lif,
                "rho_reset": Parameter(5.0, 1.0, 100.0, log=True, doc="refractory period (steps of dt)"),
            },
            make_parameters=_lif_refrac_parameters,
            state_type="lif_refrac.LIFRefracFeedForwardState",
            initial_state=lambda p: {"lif.v": p["v_leak"], "lif.i": 0 * p["v_leak"], "rho": 0 * p["v_leak"]},
            voltage="lif.v",
            reference="Norse 1.1.0 norse.torch.functional.lif_refrac.lif_refrac_feed_forward_step (LIF with an "
            "absolute refractory period: v held for rho_reset steps after a spike)",
        ),
        "lsnn": NorseCell(
            name="lsnn",
            step="lsnn.lsnn_feed_forward_step",
            parameters={
                **lif,
                "tau_adapt_inv": Parameter(
                    1.0 / 800, 0.1, 1000.0, log=True, doc="inverse time constant of the threshold's decay to v_th (1/s)"
                ),
                "beta": Parameter(1.8, 0.0, 5.0, doc="threshold jump per spike (dimensionless)"),
            },
            make_parameters="lsnn.LSNNParameters",
            state_type="lsnn.LSNNFeedForwardState",
            initial_state=lambda p: {"v": p["v_leak"], "i": 0 * p["v_leak"], "b": p["v_th"]},
            reference="Norse 1.1.0 norse.torch.functional.lsnn.lsnn_feed_forward_step (LIF with an adaptive "
            "threshold b: spikes when v > b, b += beta per spike, b relaxes to v_th; the input enters i after "
            "the step)",
        ),
    }


CELLS: dict[str, NorseCell] = _builtin_cells()

__all__ = ["CELLS", "NorseCell", "NorseModel", "is_norse_model", "norse_model"]
