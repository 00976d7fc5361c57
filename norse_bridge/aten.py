"""The table from torch's aten operations to jax.numpy: what :mod:`norse_bridge.autoport` runs a
traced Norse step with.

Each entry of :data:`OPS` is keyed by the operation's overload name (``str(node.target)`` of a
``torch.fx`` node, e.g. ``"aten.add.Tensor"``) and takes the node's arguments, JAX arrays or the
Python scalars the graph holds, in the graph's order. Promises, per entry:

- the same IEEE operation, in the same operand order, as torch's CPU kernel for float tensors
  (``a - b`` stays ``a - b``, ``1 - z`` stays ``1 - z``), so that without XLA's fused
  multiply-add a float32 result is torch's bit for bit; ``exp`` is XLA's, which can differ from
  torch's by an ulp;
- a Python scalar operand stays a weakly typed JAX scalar, rounded to the tensor's dtype as torch
  rounds a wrapped scalar;
- an argument combination whose torch result the entry would not reproduce exactly (``alpha != 1``
  in ``add``/``sub``/``rsub``, which torch may compute as one fused multiply-add; a ``rounding_mode``
  in ``div``; a memory format or device in ``_to_copy``) raises :class:`Unsupported`.

An operation missing from the table is :class:`Unsupported` too: the port is refused and the
cell keeps the callback (:mod:`norse_bridge.host`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


class Unsupported(ValueError):
    """An aten operation (or an argument of one) that the table does not reproduce exactly."""


def dtype_of(torch_dtype):
    """The JAX dtype of a torch dtype (``torch.float32`` -> ``jnp.float32``)."""
    return jnp.dtype(str(torch_dtype).removeprefix("torch."))


def _unit_alpha(op: str, alpha) -> None:
    if alpha != 1:
        raise Unsupported(f"aten.{op} with alpha={alpha!r} (torch may fuse alpha*b into one multiply-add)")


def _add(a, b, *, alpha=1):
    _unit_alpha("add", alpha)
    return a + b


def _sub(a, b, *, alpha=1):
    _unit_alpha("sub", alpha)
    return a - b


def _rsub(a, b, *, alpha=1):
    _unit_alpha("rsub", alpha)
    return b - a


def _div(a, b, *, rounding_mode=None):
    if rounding_mode is not None:
        raise Unsupported(f"aten.div with rounding_mode={rounding_mode!r}")
    return a / b


def _to_copy(a, *, dtype=None, **kwargs):
    ignored = ("layout", "device", "pin_memory", "non_blocking")
    extra = {k: v for k, v in kwargs.items() if k not in ignored and str(v) not in ("None", "torch.preserve_format")}
    if extra:
        raise Unsupported(f"aten._to_copy with {extra}")
    return a if dtype is None else jnp.asarray(a).astype(dtype_of(dtype))


def _like(fill):
    def like(a, *, dtype=None, **_):
        dt = jnp.asarray(a).dtype if dtype is None else dtype_of(dtype)
        return jnp.full(jnp.shape(a), fill, dt)

    return like


def _full_like(a, fill, *, dtype=None, **_):
    return _like(fill)(a, dtype=dtype)


def _identity(a, *_, **__):
    return a


def _pow(a, exponent):
    if exponent != 2:  # torch's CPU kernel squares by one multiplication; other powers are not reproduced
        raise Unsupported(f"aten.pow with exponent {exponent!r} (only 2, computed as a * a as torch does)")
    return a * a


def _clamp(a, lo=None, hi=None):
    if lo is not None:
        a = jnp.maximum(a, lo)
    return a if hi is None else jnp.minimum(a, hi)


def _binary(f: Callable) -> dict[str, Callable]:
    """``f`` under the ``.Tensor`` and ``.Scalar`` overloads of one aten name (filled in below)."""
    return {"Tensor": f, "Scalar": f}


_BY_NAME: dict[str, dict[str, Callable] | Callable] = {
    # arithmetic
    "add": _binary(_add),
    "sub": _binary(_sub),
    "rsub": _binary(_rsub),
    "mul": _binary(lambda a, b: a * b),
    "div": _binary(_div),
    "neg": lambda a: -a,
    "reciprocal": lambda a: 1 / a,
    "abs": jnp.abs,
    "pow": {"Tensor_Scalar": _pow},
    "exp": jnp.exp,
    "log": jnp.log,
    "sqrt": jnp.sqrt,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "relu": lambda a: jnp.maximum(a, 0),
    "maximum": jnp.maximum,
    "minimum": jnp.minimum,
    "clamp": _clamp,
    # comparisons and logic
    "gt": _binary(lambda a, b: a > b),
    "ge": _binary(lambda a, b: a >= b),
    "lt": _binary(lambda a, b: a < b),
    "le": _binary(lambda a, b: a <= b),
    "eq": _binary(lambda a, b: a == b),
    "ne": _binary(lambda a, b: a != b),
    "logical_and": jnp.logical_and,
    "logical_or": jnp.logical_or,
    "logical_not": jnp.logical_not,
    "where": {"self": jnp.where, "ScalarSelf": jnp.where, "ScalarOther": jnp.where},
    # copies, constants, dtype conversions
    "_to_copy": _to_copy,
    "lift_fresh_copy": _identity,
    "clone": _identity,
    "detach": _identity,
    "alias": _identity,
    "zeros_like": _like(0),
    "ones_like": _like(1),
    "full_like": _full_like,
}


def _table() -> dict[str, Callable]:
    out = {}
    for name, entry in _BY_NAME.items():
        overloads = entry if isinstance(entry, dict) else {"default": entry}
        for overload, f in overloads.items():
            out[f"aten.{name}.{overload}"] = f
    return out


OPS: dict[str, Callable] = _table()


def lookup(target: str) -> Callable:
    """The JAX function of an aten overload name, or :class:`Unsupported` naming it."""
    try:
        return OPS[target]
    except KeyError:
        raise Unsupported(f"{target} is not in norse_bridge.aten.OPS") from None


__all__ = ["OPS", "Unsupported", "dtype_of", "lookup"]
