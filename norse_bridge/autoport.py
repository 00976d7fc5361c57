"""Automatic JAX ports of Norse cells: Norse's own step, traced by torch and run by jax.numpy.

One mechanism for every :class:`~norse_bridge.cell.NorseCell`, no translation per cell:

1. :func:`trace` runs the cell's Norse step once under ``torch.fx``'s ``make_fx`` (fake tensors,
   ``torch.no_grad()``), on 0-dim tensors of one neuron: the input ``x``, the state's leaves and
   the cell's parameters, all graph INPUTS (placeholders; a Norse parameter the cell does not
   search keeps its Norse default, a constant). What comes out is the flat graph of
   aten operations the step performs: Norse's surrogate-gradient threshold (a
   ``torch.autograd.Function``) traces to its forward, ``gt`` and ``_to_copy``; ``dt`` and
   Norse's own constants (``0.0`` of the threshold, ``1`` of ``1 - z``) are the only constants.
2. :class:`Program` is that graph as a list of jax.numpy calls (:data:`norse_bridge.aten.OPS`),
   a pure function ``(x, *leaves, *params) -> (z, *new leaves)`` of JAX scalars. The engine
   traces it into its scan and vmaps it like a hand-written port.
3. :func:`jax_step` is the jaxplaus step ``(params, state, x) -> (state, v, spike)`` over it, traced
   once per dtype (float32 for a search, float64 for the validation).
4. :func:`port_status` verifies the port against Norse before it is used
   (:func:`norse_bridge.autocheck.verify`: random draws, Norse's own loop, the port fed Norse's
   state before every step) and says why a port is refused: an operation outside the table, a
   step ``make_fx`` cannot trace (data-dependent Python control flow), or results that differ.
   :func:`norse_bridge.norse_model` then keeps the callback (:mod:`norse_bridge.host`).

Promise: without XLA's fused multiply-add (``XLA_FLAGS=--xla_cpu_max_isa=AVX``), every step
without ``exp`` is Norse's float32 step bit for bit, because each table entry is the same IEEE
operation in the same order; ``exp`` may differ by an ulp (XLA's against torch's).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from norse_bridge import aten
from norse_bridge._deps import require
from norse_bridge.cell import NorseCell, getter, state_builder


class Ref(NamedTuple):
    """A reference to an earlier node's value in a :class:`Program`."""

    name: str


class Instruction(NamedTuple):
    """One aten call: ``env[name] = fn(*args, **kwargs)``, cast to ``dtype`` (torch's result dtype)."""

    name: str
    target: str
    fn: Any
    args: tuple
    kwargs: dict
    dtype: Any


def _resolve(template, env):
    if isinstance(template, Ref):
        return env[template.name]
    if isinstance(template, tuple | list):
        return type(template)(_resolve(t, env) for t in template)
    if isinstance(template, dict):
        return {k: _resolve(v, env) for k, v in template.items()}
    return template


@dataclasses.dataclass(frozen=True, eq=False)
class Program:
    """A traced Norse step as jax.numpy calls (see the module docstring).

    Attributes:
        inputs: the placeholders' names, in order: ``x``, the state leaves, the parameters.
        constants: the graph's tensor constants (name -> numpy array).
        instructions: the aten calls, in the graph's order.
        outputs: ``(z, *new leaves)`` as :class:`Ref` (or Python values).
    """

    inputs: tuple[str, ...]
    constants: Mapping[str, np.ndarray]
    instructions: tuple[Instruction, ...]
    outputs: tuple

    @property
    def ops(self) -> tuple[str, ...]:
        """The distinct aten operations, in first-use order."""
        return tuple(dict.fromkeys(ins.target for ins in self.instructions))

    def __call__(self, *inputs, taps: tuple[str, ...] = (), overrides: Mapping[str, Any] | None = None):
        """Run the program on JAX (or numpy) values, one per input; returns ``(z, *new leaves)``.

        ``taps``: aten targets (e.g. ``"aten.exp.default"``) whose nodes' first argument and result
        are returned too, as ``(outputs, [(name, argument, result), ...])``. ``overrides``: node
        name -> a value used in place of that node's result (e.g. torch's ``exp``).
        """
        import jax.numpy as jnp

        if len(inputs) != len(self.inputs):
            raise TypeError(f"the program takes {len(self.inputs)} inputs, got {len(inputs)}")
        env = dict(zip(self.inputs, inputs))
        env.update({k: jnp.asarray(v) for k, v in self.constants.items()})
        tapped, overrides = [], overrides or {}
        for ins in self.instructions:
            args = _resolve(ins.args, env)
            if ins.name in overrides:
                out = jnp.asarray(overrides[ins.name])
            else:
                out = ins.fn(*args, **_resolve(ins.kwargs, env))
            if ins.dtype is not None and jnp.result_type(out) != ins.dtype:
                out = jnp.asarray(out).astype(ins.dtype)
            env[ins.name] = out
            if ins.target in taps:
                tapped.append((ins.name, args[0], out))
        outputs = _resolve(self.outputs, env)
        return (outputs, tapped) if taps else outputs


def compile_graph(gm) -> Program:
    """The :class:`Program` of a ``make_fx`` graph module; :class:`~norse_bridge.aten.Unsupported`
    for an operation outside the table or a node that is not a plain call."""
    from torch.fx.node import map_arg

    inputs, constants, instructions, outputs = [], {}, [], None
    for node in gm.graph.nodes:
        val = node.meta.get("val")
        dtype = aten.dtype_of(val.dtype) if hasattr(val, "dtype") else None
        if node.op == "placeholder":
            inputs.append(node.name)
        elif node.op == "get_attr":
            constants[node.name] = getattr(gm, node.target).detach().cpu().numpy()
        elif node.op == "call_function":
            target = str(node.target)
            fn = aten.lookup(target)
            args, kwargs = map_arg((node.args, node.kwargs), lambda n: Ref(n.name))
            instructions.append(Instruction(node.name, target, fn, tuple(args), dict(kwargs), dtype))
        elif node.op == "output":
            outputs = map_arg(node.args[0], lambda n: Ref(n.name))
        else:
            raise aten.Unsupported(f"graph node {node.name!r} of kind {node.op!r}")
    return Program(tuple(inputs), constants, tuple(instructions), tuple(outputs))


def trace(cell: NorseCell, dtype: str = "float32") -> Program:
    """The :class:`Program` of ``cell``'s Norse step in ``dtype`` (``"float32"`` or ``"float64"``).

    Inputs ``(x, *leaves in cell.state_fields() order, *parameters in cell.parameters order)``,
    outputs ``(z, *new leaves)``, all 0-dim. Raises :class:`~norse_bridge.aten.Unsupported` with
    the reason when the step cannot be traced or uses an operation outside the table.
    """
    torch, _ = require()
    from torch.fx.experimental.proxy_tensor import make_fx

    fields, names = cell.state_fields(), tuple(cell.parameters)
    step, make = cell.norse_step(), cell.parameter_factory()
    build, gets = state_builder(cell.norse_state_type()), [getter(f) for f in fields]

    def f(x, *leaves_and_params):
        state = build(list(leaves_and_params[: len(fields)]))
        p = make(dict(zip(names, leaves_and_params[len(fields) :], strict=True)))
        z, new = step(x, state, p, cell.dt)
        return (z, *(get(new) for get in gets))

    example = [torch.zeros((), dtype=getattr(torch, dtype)) for _ in range(1 + len(fields) + len(names))]
    try:
        with torch.no_grad():
            gm = make_fx(f, tracing_mode="fake", _allow_non_fake_inputs=True)(*example)  # Norse's default tensors
    except Exception as err:  # data-dependent control flow, a step that does not fit, ...
        raise aten.Unsupported(f"make_fx could not trace {cell.name!r}'s Norse step: {type(err).__name__}: {err}")
    for node in gm.graph.nodes:
        if node.op == "output":
            shapes = [tuple(getattr(n.meta.get("val"), "shape", (None,))) for n in node.args[0]]
            if any(s != () for s in shapes):
                raise aten.Unsupported(f"the traced step's outputs must be 0-dim per neuron, got shapes {shapes}")
    gm.graph.eliminate_dead_code()  # e.g. the surrogate gradient's alpha, lifted but unused forward
    return compile_graph(gm)


@functools.cache
def program(cell: NorseCell, dtype: str = "float32") -> Program:
    """:func:`trace`, once per cell and dtype."""
    return trace(cell, dtype)


def jax_step(cell: NorseCell):
    """The per-neuron jaxplaus step of ``cell``'s automatic port: ``(params, state, x) ->
    (state, v, spike)``, ``params`` and ``state`` dicts of scalars (state keyed by dotted paths),
    ``spike = z != 0``. Pure JAX: jit-, vmap- and scan-able; traced per dtype on first use."""
    import jax.numpy as jnp

    names = tuple(cell.parameters)

    def step(params, state, x):
        fields = cell.state_fields()
        if set(state) != set(fields):
            raise ValueError(f"cell {cell.name!r}: the state has entries {sorted(state)}, expected {list(fields)}")
        dtype = jnp.result_type(*(jnp.asarray(state[f]).dtype for f in fields), jnp.float32)
        prog = program(cell, jnp.dtype(dtype).name)
        out = prog(
            jnp.asarray(x, dtype),
            *(jnp.asarray(state[f], dtype) for f in fields),
            *(jnp.asarray(params[k], dtype) for k in names),
        )
        new = dict(zip(fields, out[1:], strict=True))
        return new, new[cell.voltage], out[0] != 0

    return step


class PortStatus(NamedTuple):
    """Whether ``cell`` has a verified automatic port: ``ok``, and ``reason`` (why not, or what was checked)."""

    ok: bool
    reason: str


@functools.cache
def port_status(cell: NorseCell) -> PortStatus:
    """Trace the cell (float32 and float64) and verify the port against Norse
    (:func:`norse_bridge.autocheck.verify`); cached per cell. Never raises for a cell that does
    not port: the reason is in the status."""
    from norse_bridge import autocheck

    try:
        for dtype in ("float32", "float64"):
            program(cell, dtype)
        return PortStatus(True, autocheck.verify(cell))
    except (aten.Unsupported, autocheck.PortDiffers) as err:
        return PortStatus(False, str(err))


__all__ = [
    "Instruction", "PortStatus", "Program", "Ref", "compile_graph", "jax_step", "port_status", "program", "trace",
]
