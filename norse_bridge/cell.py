"""NorseCell: a Norse 1.1.0 feed-forward cell described for jaxplaus, and its Norse objects.

A cell is Norse's step, its parameters (jaxplaus :class:`~jaxplaus.models.Parameter`: default,
search bounds, log scale), how a dict of torch tensors becomes Norse's parameter object, the state
class, the initial state (a JAX function of the parameters) and which state field is the voltage.
:func:`norse_bridge.norse_model` turns a cell into a jaxplaus model; :mod:`norse_bridge.validate`
runs one in Norse; the built-in cells are in :mod:`norse_bridge.cells`. A user's own cell::

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
building a cell imports neither torch nor Norse. The state may be nested NamedTuples: the JAX state
is then a dict keyed by dotted paths (``{"lif.v", "lif.i", "rho"}`` for
``LIFRefracFeedForwardState``).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any

from jaxplaus.models.base import Parameter
from norse_bridge import ports
from norse_bridge._deps import require


def _lif_gain_bounds() -> tuple[float, float]:
    """The lif port's input-gain bounds (its jaxplaus model's): every built-in cell is of the LIF family."""
    return tuple(ports.get("lif").jaxplaus_model().gain_bounds)


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


# ----------------------------------------------------------------------------- (nested) state NamedTuples


def _subtypes(state_type) -> list[tuple[str, type | None]]:
    """``(field, nested NamedTuple class or None for a leaf)`` for each field of ``state_type``."""
    hints = typing.get_type_hints(state_type)
    out = []
    for name in state_type._fields:
        sub = hints.get(name)
        nested = isinstance(sub, type) and issubclass(sub, tuple) and hasattr(sub, "_fields")
        out.append((name, sub if nested else None))
    return out


def field_paths(state_type, prefix: str = "") -> tuple[str, ...]:
    """The dotted leaf paths of a (nested) Norse state NamedTuple class, in field order."""
    out = []
    for name, sub in _subtypes(state_type):
        out.extend(field_paths(sub, f"{prefix}{name}.") if sub else [prefix + name])
    return tuple(out)


def state_builder(state_type) -> Callable:
    """``build(leaves)``: the ``state_type`` object (nested NamedTuples built in order) from its
    leaves listed in :func:`field_paths` order. ``build.state_type`` is ``state_type``."""
    parts = [(state_builder(sub), len(field_paths(sub))) if sub else (None, 1) for _, sub in _subtypes(state_type)]

    def build(leaves):
        fields, k = [], 0
        for sub, n in parts:
            fields.append(leaves[k] if sub is None else sub(leaves[k : k + n]))
            k += n
        return state_type(*fields)

    build.state_type = state_type
    return build


def getter(path: str) -> Callable:
    """``get(obj)``: the attribute at the dotted ``path`` of a (nested) Norse NamedTuple."""
    parts = path.split(".")

    def get(obj):
        for part in parts:
            obj = getattr(obj, part)
        return obj

    return get


# ----------------------------------------------------------------------------- the cell


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
        gain_bounds: default ``(lo, hi)`` of the assessment's input gain (log scale); by default
            the ``lif`` model's (``jaxplaus.models.get("lif").gain_bounds``).
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
    gain_bounds: tuple[float, float] = dataclasses.field(default_factory=_lif_gain_bounds)
    dt: float = ports.DT
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
        return field_paths(self.norse_state_type())

    def parameter_factory(self) -> Callable[[Mapping[str, Any]], Any]:
        """``{name: tensor} -> Norse parameter object`` (``make_parameters`` resolved)."""
        make = _resolve(self.make_parameters, "make_parameters", self.name)
        return (lambda t: make(**t)) if isinstance(make, type) else (lambda t: make(dict(t)))

    def norse_parameters(self, tensors: Mapping[str, Any]):
        """The Norse parameter object of ``{name: tensor}``."""
        return self.parameter_factory()(tensors)

    def norse_state(self, leaves: Mapping[str, Any]):
        """The Norse state object of ``{dotted path: tensor}``."""
        t = self.norse_state_type()
        return state_builder(t)([leaves[path] for path in field_paths(t)])

    def checked_initial_state(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``initial_state(params)`` as ``{dotted path: scalar}`` in :meth:`state_fields` order, or
        an error naming the cell when it is not a dict of exactly the state's leaves."""
        state = self.initial_state(params)
        if not isinstance(state, Mapping):
            raise TypeError(
                f"cell {self.name!r}: initial_state must return a dict {{state path: scalar}}, got "
                f"{type(state).__name__}"
            )
        fs = self.state_fields()
        if set(state) != set(fs):
            raise ValueError(
                f"cell {self.name!r}: initial_state gave {sorted(state)}, but the Norse state "
                f"{self.norse_state_type().__name__} has the leaves {list(fs)}"
            )
        return {f: state[f] for f in fs}


__all__ = ["NorseCell", "field_paths", "getter", "state_builder"]
