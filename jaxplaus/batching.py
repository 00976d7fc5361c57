"""A simulation call's inputs as one flat batch: parameters, stimulus and initial state checked
and broadcast against each other over their leading (batch) dimensions.

A parameter or stimulus whose batch part has a single element is shared by the whole batch and
never copied; :func:`prepare` returns which inputs are batched (the kernel's ``axes``). The
model's step is checked once per model, parameter names, state structure and dtype (cached).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus import models as _models
from jaxplaus.models.base import Model


def _check_step(model: Model, params: dict, state0: Any, dtype) -> None:
    """Check, without running it, that the step returns ``(state, v, spike)`` of the right form."""
    scalar = jax.ShapeDtypeStruct((), dtype)
    p = {k: scalar for k in params}
    s = jax.tree.map(lambda _: scalar, state0)
    try:
        out = jax.eval_shape(model.step, p, s, scalar)
    except Exception as err:  # the user's step failed to trace: say whose it is
        raise TypeError(f"Model {model.name!r}: its step function failed on scalar inputs: {err}") from err
    if not (isinstance(out, tuple | list) and len(out) == 3):
        what = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, tuple | list) else type(out).__name__
        raise TypeError(f"Model {model.name!r}: step must return a tuple (state, v, spike), got {what}")
    new_state, v, spike = out
    if jax.tree.structure(new_state) != jax.tree.structure(s):
        raise TypeError(
            f"Model {model.name!r}: step returned a state of structure {jax.tree.structure(new_state)}, "
            f"but the initial state has structure {jax.tree.structure(s)}; they must match"
        )
    for path, leaf in jax.tree_util.tree_leaves_with_path(new_state):
        if leaf.shape != () or leaf.dtype != dtype:
            raise TypeError(
                f"Model {model.name!r}: state entry {jax.tree_util.keystr(path)} of the step's output "
                f"has shape {leaf.shape} and dtype {leaf.dtype}; expected a {np.dtype(dtype).name} scalar"
            )
    for what, leaf in (("v", v), ("spike", spike)):
        if getattr(leaf, "shape", None) != ():
            raise TypeError(
                f"Model {model.name!r}: step must return a scalar {what} for one neuron, got shape "
                f"{getattr(leaf, 'shape', type(leaf).__name__)}"
            )


def _as_params(model: Model, params: Mapping[str, Any] | None, dtype) -> dict[str, jax.Array]:
    if params is None:
        params = model.defaults()
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of parameter name to value, got {type(params).__name__}")
    model.check_params(params)
    return {name: _as_array(params[name], dtype) for name in model.parameters}


def _as_array(x, dtype) -> jax.Array:
    if isinstance(x, jax.Array) and x.dtype == dtype:  # no op to dispatch
        return x
    return jnp.asarray(x, dtype=dtype)


def _split_shared(x: jax.Array, batch_shape: tuple[int, ...], trailing: int) -> tuple[jax.Array, bool]:
    """Flatten ``x`` to ``[B, *trailing]`` if batched, or drop its batch part if it has one element."""
    lead = x.shape[: x.ndim - trailing]
    tail = x.shape[x.ndim - trailing :]
    if math.prod(lead) == 1:
        return (x if x.shape == tail else x.reshape(tail)), False
    if len(lead) == 1 and lead == batch_shape:  # already flat: no op to dispatch
        return x, True
    x = jnp.broadcast_to(x, batch_shape + tail)
    return x.reshape((-1,) + tail), True


# The checks below trace the model's functions on scalars. They depend only on the model, the
# parameter names, the state's structure and the dtype, so their results are cached: a call with
# a small population then costs little more than the kernel (errors are raised on every call).


@functools.lru_cache(maxsize=256)
def _initial_structure(model: Model, names: tuple[str, ...], dtype, x64: bool):
    scalar = jax.ShapeDtypeStruct((), dtype)
    return jax.tree.structure(jax.eval_shape(model.initial_state, {k: scalar for k in names}))


@functools.lru_cache(maxsize=256)
def _check_step_cached(model: Model, names: tuple[str, ...], treedef, dtype, x64: bool) -> None:
    _check_step(model, dict.fromkeys(names), jax.tree.unflatten(treedef, [0] * treedef.num_leaves), dtype)


def prepare(model, params, stimulus, state0, dtype):
    """Validate inputs and flatten them to the kernel's layout. Returns the kernel args."""
    model = _models.get(model)
    p = _as_params(model, params, dtype)
    stimulus = _as_array(stimulus, dtype)
    if stimulus.ndim < 1:
        raise ValueError(
            f"stimulus must have shape [..., T] (time last, at least one sample), got a scalar of shape {stimulus.shape}"
        )
    if stimulus.shape[-1] < 1:
        raise ValueError(f"stimulus has no samples: shape {stimulus.shape}")
    names, dtype, x64 = tuple(p), np.dtype(dtype), bool(jax.config.jax_enable_x64)
    if state0 is None:
        # structure only: the kernel builds each candidate's initial state from its parameters
        treedef = _initial_structure(model, names, dtype, x64)
        s0 = None
    else:
        s0 = jax.tree.map(lambda a: jnp.asarray(a, dtype=dtype), state0)
        treedef = jax.tree.structure(s0)
    _check_step_cached(model, names, treedef, dtype, x64)

    shapes = [a.shape for a in p.values()] + [stimulus.shape[:-1]]
    if s0 is not None:
        shapes += [a.shape for a in jax.tree.leaves(s0)]
    try:
        batch_shape = tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        detail = ", ".join(f"{k}: {v.shape}" for k, v in p.items() if v.shape)
        raise ValueError(
            f"Batch shapes do not broadcast: stimulus batch {stimulus.shape[:-1]} (stimulus {stimulus.shape}, "
            f"time last), parameters {{{detail}}}"
            + (f", state0 {[a.shape for a in jax.tree.leaves(s0)]}" if s0 is not None else "")
        ) from None

    flat_p, p_axes = {}, {}
    for k, a in p.items():
        flat_p[k], batched = _split_shared(a, batch_shape, 0)
        p_axes[k] = 0 if batched else None
    stim, stim_batched = _split_shared(stimulus, batch_shape, 1)
    if s0 is not None:
        leaves, treedef = jax.tree.flatten(s0)
        pairs = [_split_shared(a, batch_shape, 0) for a in leaves]
        s0_flat = jax.tree.unflatten(treedef, [a for a, _ in pairs])
        s0_axes = tuple(0 if batched else None for _, batched in pairs)  # one per leaf, in tree order
    else:
        s0_flat, s0_axes = None, None
    axes = (tuple(sorted(p_axes.items())), 0 if stim_batched else None, s0_axes)
    return model, batch_shape, flat_p, stim, s0_flat, axes


__all__ = ["prepare"]
