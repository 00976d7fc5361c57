"""Simulation kernels: a model's step, ``lax.scan``-ned over a stimulus, vmapped over candidates.

Two paths share one kernel:

- :func:`simulate` keeps the full traces (``Trace.v``, ``Trace.spikes`` of shape ``[..., T]``),
  for looking at candidates;
- :func:`simulate_summary` carries a :class:`Reducer` through the scan and returns only its
  per-candidate summary, so a population of 10^5 to 10^6 candidates never materialises
  ``[batch, T]`` arrays. This is the path the searches use.

Broadcasting: every parameter, the stimulus (``[..., T]``) and the initial state broadcast
against each other over their leading (batch) dimensions. A parameter or stimulus whose batch
part has a single element is shared by the whole batch and is never copied ``batch`` times.

Non-finite dynamics never raise: a candidate whose voltage or state becomes NaN or infinite
anywhere in the run gets ``finite = False`` (its remaining samples are whatever IEEE arithmetic
gives). Downstream, a non-finite candidate is a failed candidate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus import models as _models
from jaxplaus._precision import canonical_dtype, precision
from jaxplaus.models.base import Model
from jaxplaus.packed_scan import run_chunked


class Trace(NamedTuple):
    """Full simulation output.

    Attributes:
        v: ``[..., T]`` the voltage the model reports at each sample (model units).
        spikes: ``[..., T]`` bool, True on the samples where the neuron fired.
        finite: ``[...]`` bool, False when v or any state variable became NaN or infinite.
        state: the final state, a pytree of ``[...]`` arrays.
    """

    v: jax.Array
    spikes: jax.Array
    finite: jax.Array
    state: Any


class Sample(NamedTuple):
    """What a reducer sees of one candidate at one sample (all scalars)."""

    k: jax.Array  # int32 sample index, 0 .. T-1
    x: jax.Array  # the input of this sample
    v: jax.Array  # the reported voltage after this sample's step
    spike: jax.Array  # bool, fired on this sample
    state: Any  # the model state after this sample's step
    context: Any = None  # the simulate_summary call's context, shared by all candidates


class Reducer(NamedTuple):
    """A per-candidate summary computed inside the scan, without keeping traces.

    ``init(dtype) -> carry`` builds the initial carry (a pytree of scalars) for one candidate;
    ``update(carry, sample: Sample) -> carry`` folds in one sample; ``finish(carry) -> summary``
    maps the final carry to the summary returned. All three are pure, written for ONE candidate
    (the engine vmaps them). Keep ``update`` elementwise and cheap: it runs every sample for
    every candidate. Reducers hash by identity: build one once and reuse it to reuse kernels.
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Sample], Any]
    finish: Callable[[Any], Any] = lambda carry: carry


class Summary(NamedTuple):
    """Output of :func:`simulate_summary`: the reducer's summary and the finiteness flag."""

    values: Any  # the reducer's summary, each leaf with leading shape [...]
    finite: jax.Array  # [...] bool, as Trace.finite
    state: Any  # the final state, a pytree of [...] arrays


# ----------------------------------------------------------------------------- input checks


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


def _prepare(model, params, stimulus, state0, dtype):
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


# ----------------------------------------------------------------------------- the kernel


def _scan(model: Model, params, stimulus, state0, axes, carry_fn):
    """The one simulation kernel, traced inside jit.

    Runs ``model.step`` over the samples of ``stimulus`` for a flat batch of ``B`` candidates.
    ``carry_fn(sample, extra) -> (extra, out)`` is what each sample adds to the scan carry and
    outputs (traces or a reducer), vmapped over candidates like the step.
    """
    p_axes = dict(axes[0])
    stim_axis, s0_axis = axes[1], axes[2]
    batch = None
    for k, ax in p_axes.items():
        if ax == 0:
            batch = params[k].shape[0]
    if stim_axis == 0:
        batch = stimulus.shape[0]
    if state0 is not None:
        for leaf, ax in zip(jax.tree.leaves(state0), s0_axis, strict=True):
            if ax == 0:
                batch = leaf.shape[0]
    batch = 1 if batch is None else batch

    # initial state for every candidate
    if state0 is None:
        state = jax.vmap(model.initial_state, in_axes=(p_axes,), axis_size=batch)(params)
    else:
        leaves, treedef = jax.tree.flatten(state0)
        state = jax.tree.unflatten(treedef, [a if ax == 0 else jnp.broadcast_to(a, (batch,)) for a, ax in zip(leaves, s0_axis)])
    state = jax.tree.map(lambda a: jnp.broadcast_to(a, (batch,)), state)

    xs = stimulus.T if stim_axis == 0 else stimulus  # [T, B] or [T]
    steps = jnp.arange(xs.shape[0], dtype=jnp.int32)
    step_all = jax.vmap(model.step, in_axes=(p_axes, 0, 0 if stim_axis == 0 else None))

    def body(carry, inp):
        state, finite, extra = carry
        k, x = inp
        state, v, spike = step_all(params, state, x)
        spike = spike if spike.dtype == jnp.bool_ else spike != 0
        ok = jnp.isfinite(v)
        for leaf in jax.tree.leaves(state):
            ok = ok & jnp.isfinite(leaf)
        xb = jnp.broadcast_to(x, v.shape)
        sample = Sample(jnp.broadcast_to(k, v.shape), xb, v, spike, state)
        extra, out = carry_fn(sample, extra)
        return (state, finite & ok, extra), out

    finite0 = jnp.ones((batch,), jnp.bool_)
    return state, finite0, body, (steps, xs)


def _trace_kernel(model, params, stimulus, state0, axes):
    state, finite, body, xs = _scan(model, params, stimulus, state0, axes, lambda s, e: (e, (s.v, s.spike)))
    (state, finite, _), (v, spikes) = jax.lax.scan(body, (state, finite, ()), xs)
    return v.T, spikes.T, finite, state


# ----------------------------------------------------------------------------- the summary kernel
#
# How XLA runs this on a CPU: see jaxplaus/packed_scan.py (the carry packing, the unrolling).
#
# - XLA already splits large fused loops across the CPU's cores; nothing is forced here.
# - On a CPU, the top-level kernel is compiled with 512-bit vectors preferred (AVX-512
#   machines; elsewhere LLVM ignores it). The option is per compilation, never a global flag.

_CPU_OPTIONS = {"xla_cpu_prefer_vector_width": 512}


def _summary_kernel(model, params, stimulus, state0, axes, reducer: Reducer, unroll: int, context):
    sample_axes = Sample(k=0, x=0, v=0, spike=0, state=0, context=None)

    def carry_fn(sample, extra):
        update = jax.vmap(reducer.update, in_axes=(-1, sample_axes), out_axes=-1)
        return update(extra, sample._replace(context=context)), None

    state, finite, body, (steps, xs) = _scan(model, params, stimulus, state0, axes, carry_fn)
    dtype = stimulus.dtype
    batch = finite.shape[0]
    # The carry keeps the batch LAST: a vector-valued carry is then laid out [K, B], so each of
    # its K rows is one contiguous, vectorisable loop over the candidates.
    extra = jax.vmap(lambda _: reducer.init(dtype), out_axes=-1)(jnp.arange(batch))
    state, finite, extra = run_chunked(body, (state, finite, extra), steps, xs, unroll)
    return jax.vmap(reducer.finish, in_axes=-1)(extra), finite, state


_SUMMARY_STATIC = ("model", "axes", "reducer", "unroll")
_trace_jit = jax.jit(_trace_kernel, static_argnames=("model", "axes"))
_summary_jit = jax.jit(_summary_kernel, static_argnames=_SUMMARY_STATIC)
_summary_jit_cpu = jax.jit(_summary_kernel, static_argnames=_SUMMARY_STATIC, compiler_options=_CPU_OPTIONS)


def _run_summary(*args):
    """The summary kernel, with the CPU compile options when called at top level on a CPU."""
    if jax.default_backend() == "cpu":
        try:
            return _summary_jit_cpu(*args)
        except ValueError as err:  # inside the caller's jit: compile options are the caller's
            if "compiler_options" not in str(err):
                raise
    return _summary_jit(*args)


def _unflatten(tree, batch_shape):
    return jax.tree.map(lambda a: a if a.shape[:1] == batch_shape else a.reshape(batch_shape + a.shape[1:]), tree)


# ----------------------------------------------------------------------------- public API


def simulate(
    model: Model | str,
    params: Mapping[str, Any] | None,
    stimulus,
    state0: Any = None,
    *,
    dtype=jnp.float32,
) -> Trace:
    """Simulate ``model`` on ``stimulus`` and return the full traces.

    Args:
        model: a :class:`~jaxplaus.models.Model` or a registered model name.
        params: ``name -> value`` for every model parameter (``None``: the defaults). Values are
            scalars or arrays whose shapes broadcast against the stimulus' batch dimensions.
        stimulus: ``[..., T]`` input, one sample per step (model units).
        state0: initial state (a pytree like ``model.initial_state``'s, leaves broadcasting
            over the batch), or ``None`` for ``model.initial_state(params)``.
        dtype: ``float32`` (default) or ``float64``.

    Returns:
        A :class:`Trace` whose arrays have the broadcast batch shape ``[...]`` in front.
    """
    dt = canonical_dtype(dtype)
    with precision(dt):
        model, batch_shape, p, stim, s0, axes = _prepare(model, params, stimulus, state0, dt)
        v, spikes, finite, state = _trace_jit(model, p, stim, s0, axes)
        return Trace(
            v=v.reshape(batch_shape + v.shape[1:]),
            spikes=spikes.reshape(batch_shape + spikes.shape[1:]),
            finite=finite.reshape(batch_shape),
            state=_unflatten(state, batch_shape),
        )


def simulate_summary(
    model: Model | str,
    params: Mapping[str, Any] | None,
    stimulus,
    reducer: Reducer,
    state0: Any = None,
    *,
    context: Any = None,
    dtype=jnp.float32,
    unroll: int = 4,
) -> Summary:
    """Simulate ``model`` and return only ``reducer``'s per-candidate summary.

    Arguments as :func:`simulate`, plus ``reducer`` (a :class:`Reducer`), ``context`` (a pytree
    of arrays shared by every candidate, which the reducer reads as ``sample.context``: data such
    as a pattern's windows, so one compiled reducer serves many patterns) and ``unroll``, the
    number of samples fused per loop iteration (a speed knob; results do not depend on it).
    Memory is ``O(batch)``, not ``O(batch * T)``. The function is traceable: it can be called
    inside ``jax.jit`` or ``jax.vmap`` (for example vmapped over patterns' contexts).
    """
    if not isinstance(reducer, Reducer):
        raise TypeError(f"reducer must be a jaxplaus.simulate.Reducer, got {type(reducer).__name__}")
    if not (isinstance(unroll, int) and unroll >= 1):
        raise ValueError(f"unroll must be a positive int, got {unroll!r}")
    dt = canonical_dtype(dtype)
    with precision(dt):
        model, batch_shape, p, stim, s0, axes = _prepare(model, params, stimulus, state0, dt)
        values, finite, state = _run_summary(model, p, stim, s0, axes, reducer, unroll, context)
        return Summary(_unflatten(values, batch_shape), finite.reshape(batch_shape), _unflatten(state, batch_shape))


def spike_count_reducer() -> Reducer:
    """The simplest reducer: the number of spikes of each candidate (int32)."""
    return _SPIKE_COUNT


_SPIKE_COUNT = Reducer(
    init=lambda dtype: jnp.zeros((), jnp.int32),
    update=lambda count, s: count + s.spike.astype(jnp.int32),
)
