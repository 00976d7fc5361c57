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

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus._precision import canonical_dtype, precision
from jaxplaus.models.base import Model
from jaxplaus.batching import prepare
from jaxplaus.packed_scan import run_chunked, run_until


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


class Phase(NamedTuple):
    """Samples a :class:`Reducer` folds with an update of their own.

    A phase runs from the sample where the previous one ended (the first sample, for the first
    phase) to ``end(context) -> int32 scalar`` (exclusive; an end at or before its start makes
    it empty), or, for the last phase, ``end=None``: to the run's last sample. ``update`` must
    give, on every sample it folds, the carry ``Reducer.update`` would give; it may leave alone
    the leaves those samples cannot change.
    """

    end: Callable[[Any], Any] | None
    update: Callable[[Any, Sample], Any]


class Reducer(NamedTuple):
    """A per-candidate summary computed inside the scan, without keeping traces.

    ``init(dtype) -> carry`` builds the initial carry (a pytree of scalars) for one candidate;
    ``update(carry, sample: Sample) -> carry`` folds in one sample; ``finish(carry) -> summary``
    maps the final carry to the summary returned. All three are pure, written for ONE candidate
    (the engine vmaps them). Keep ``update`` elementwise and cheap: it runs every sample for
    every candidate. Reducers hash by identity: build one once and reuse it to reuse kernels.

    ``phases`` (optional) split the samples into runs, each folded by its own update in its
    own loop: a reducer whose samples change only part of its carry at a time (the pattern
    features: the rest checks in the warm-up, then one window at a time) then runs far smaller
    loops. The samples after the last phase (unless it runs to the end) are folded by ``update``.
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Sample], Any]
    finish: Callable[[Any], Any] = lambda carry: carry
    phases: tuple[Phase, ...] = ()


class Summary(NamedTuple):
    """Output of :func:`simulate_summary`: the reducer's summary and the finiteness flag."""

    values: Any  # the reducer's summary, each leaf with leading shape [...]
    finite: jax.Array  # [...] bool, as Trace.finite
    state: Any  # the final state, a pytree of [...] arrays


# ----------------------------------------------------------------------------- the kernel


def _scan(model: Model, params, stimulus, state0, axes, until=None):
    """The one simulation kernel, traced inside jit.

    Runs ``model.step`` over the samples of ``stimulus`` for a flat batch of ``B`` candidates.
    Returns ``(state, finite, stepper, (steps, xs))``: the initial state and finiteness flag,
    and ``stepper(carry_fn)``, the loop body for ``carry_fn(sample, extra) -> (extra, out)``,
    what each sample adds to the scan carry and outputs (traces or a reducer), vmapped over
    candidates like the step. ``until``: ``[B]`` int32 or None, the finiteness flag covers each
    candidate's first ``until`` samples only.
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

    def stepper(carry_fn):
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
            if until is not None:
                ok = ok | (k >= until)
            return (state, finite & ok, extra), out

        return body

    finite0 = jnp.ones((batch,), jnp.bool_)
    return state, finite0, stepper, (steps, xs)


def _trace_kernel(model, params, stimulus, state0, axes, until=None):
    state, finite, stepper, xs = _scan(model, params, stimulus, state0, axes, until)
    body = stepper(lambda s, e: (e, (s.v, s.spike)))
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


def _lagged_kernel(model, params, stimulus, state0, axes, reducer: Reducer, context, length):
    """The summary kernel with the reducer one sample behind the step (``lag=True``).

    Each loop iteration folds the previous sample into the reducer, its voltage and spike read
    from the carry, and then steps. XLA on CPU fuses the step into every carry leaf that reads
    its output, so a reducer with many leaves (the pattern features) would evaluate the step
    once per leaf, and once per row of a ``[K, B]`` leaf; read from the carry, it is evaluated
    once per sample. The reducer sees the same samples, in order (its phases in loops of their
    own, see :func:`_phased`).
    """
    sample_axes = Sample(k=0, x=0, v=0, spike=0, state=0, context=None)
    state, finite, stepper, (steps, xs) = _scan(model, params, stimulus, state0, axes)
    body = stepper(_keep_output)
    extra = jax.vmap(lambda _: reducer.init(stimulus.dtype))(jnp.arange(finite.shape[0]))

    def fold(update, extra, k, x, output, state):
        update = jax.vmap(update, in_axes=(0, sample_axes))
        k = jnp.broadcast_to(k, output[0].shape)
        return update(extra, Sample(k, jnp.broadcast_to(x, k.shape), *output, state, context))

    def lagged(update):
        def one(carry, inp):
            state, finite, extra, output = carry
            k, (x, x_before) = inp  # this sample's index, its input and the previous sample's
            extra = fold(update, extra, k - 1, x_before, output, state)
            (state, finite, output), _ = body((state, finite, output), (k, x))
            return (state, finite, extra, output), None

        return one

    (state, finite, output), _ = body((state, finite, None), (steps[0], xs[0]))
    carry = (state, finite, extra, output)
    inputs = jnp.stack([xs[1:], xs[:-1]], axis=1)  # each sample's input and the one before
    if length is None and not reducer.phases:
        carry = run_chunked(lagged(reducer.update), carry, steps[1:], inputs, 1)
        last = steps[-1]
    else:
        last = (steps[-1] if length is None else length - 1).astype(jnp.int32)
        carry = _phased(lagged, reducer, context, carry, 1, last + 1, lambda k: inputs[k - 1], 1)
    state, finite, extra, output = carry
    extra = fold(reducer.update, extra, last, xs[last], output, state)  # whichever phase it is in
    return jax.vmap(reducer.finish)(extra), finite, state


def _phased(looped, reducer: Reducer, context, carry, behind: int, stop, inputs, unroll: int):
    """``carry`` after each of ``reducer``'s phases in a loop of its own (:func:`run_until`),
    then ``reducer.update`` up to loop iteration ``stop`` (exclusive). Iteration ``k`` is
    ``looped(update)`` on ``(k, inputs(k))`` and folds sample ``k - behind`` (``behind = 1``:
    the lagged kernel); the first is ``k = behind``."""
    k = jnp.asarray(behind, jnp.int32)
    for phase in reducer.phases:
        end = stop if phase.end is None else jnp.minimum(jnp.asarray(phase.end(context), jnp.int32) + behind, stop)
        k, carry = run_until(looped(phase.update), carry, k, end, inputs, unroll)
    return carry if reducer.phases and reducer.phases[-1].end is None else (
        run_until(looped(reducer.update), carry, k, stop, inputs, unroll)[1])


def _keep_output(sample: Sample, _):
    """The step's output, ``(v, spike)``, as the scan's carry (see :func:`_lagged_kernel`)."""
    return (sample.v, sample.spike), None


def _summary_kernel(model, params, stimulus, state0, axes, reducer: Reducer, unroll: int, lag: bool, context, length):
    if lag:
        return _lagged_kernel(model, params, stimulus, state0, axes, reducer, context, length)
    sample_axes = Sample(k=0, x=0, v=0, spike=0, state=0, context=None)

    def folding(update):
        def carry_fn(sample, extra):
            return jax.vmap(update, in_axes=(-1, sample_axes), out_axes=-1)(extra, sample._replace(context=context)), None

        return carry_fn

    state, finite, stepper, (steps, xs) = _scan(model, params, stimulus, state0, axes)
    dtype = stimulus.dtype
    batch = finite.shape[0]
    # The carry keeps the batch LAST: a vector-valued carry is then laid out [K, B], so each of
    # its K rows is one contiguous, vectorisable loop over the candidates.
    extra = jax.vmap(lambda _: reducer.init(dtype), out_axes=-1)(jnp.arange(batch))
    carry = (state, finite, extra)
    if length is None and not reducer.phases:
        state, finite, extra = run_chunked(stepper(folding(reducer.update)), carry, steps, xs, unroll)
    else:  # iteration k steps and folds sample k
        stop = jnp.int32(xs.shape[0]) if length is None else length
        state, finite, extra = _phased(lambda u: stepper(folding(u)), reducer, context, carry, 0, stop,
                                       lambda k: xs[k], unroll)
    return jax.vmap(reducer.finish, in_axes=-1)(extra), finite, state


_SUMMARY_STATIC = ("model", "axes", "reducer", "unroll", "lag")
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
    finite_until=None,
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
        finite_until: ``[...]`` ints or None: ``finite`` covers each candidate's first
            ``finite_until`` samples only (the rest pad a batch of stimuli of several lengths).

    Returns:
        A :class:`Trace` whose arrays have the broadcast batch shape ``[...]`` in front.
    """
    dt = canonical_dtype(dtype)
    with precision(dt):
        model, batch_shape, p, stim, s0, axes = prepare(model, params, stimulus, state0, dt)
        until = None if finite_until is None else jnp.broadcast_to(jnp.asarray(finite_until, jnp.int32), batch_shape)
        v, spikes, finite, state = _trace_jit(model, p, stim, s0, axes, None if until is None else until.reshape(-1))
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
    lag: bool = False,
    length=None,
) -> Summary:
    """Simulate ``model`` and return only ``reducer``'s per-candidate summary.

    Arguments as :func:`simulate`, plus ``reducer`` (a :class:`Reducer`), ``context`` (a pytree
    of arrays shared by every candidate, which the reducer reads as ``sample.context``: data such
    as a pattern's windows, so one compiled reducer serves many patterns) and ``unroll``, the
    number of samples fused per loop iteration (a speed knob; results do not depend on it).
    ``lag=True`` runs the reducer one sample behind the step (one sample per loop iteration), so
    that the step is evaluated once per sample however many carry leaves the reducer has: the
    faster choice for large reducers such as the pattern features. The reducer sees the same
    samples; chaotic dynamics may round differently than with ``lag=False``, as XLA then
    evaluates the step in one fused loop rather than in one per carry leaf.
    ``length``: the samples to simulate, from the first (the stimulus past them is ignored and
    ``finite`` covers them only); a Python int, or an int32 scalar known only when the program
    runs, at most ``T`` (traced, or batched under ``vmap``: a batch of stimuli padded to a
    common ``T`` then runs each to its own length, the loop to the longest).
    Memory is ``O(batch)``, not ``O(batch * T)``. The function is traceable: it can be called
    inside ``jax.jit`` or ``jax.vmap`` (for example vmapped over patterns' contexts).
    """
    if not isinstance(reducer, Reducer):
        raise TypeError(f"reducer must be a jaxplaus.simulate.Reducer, got {type(reducer).__name__}")
    if not (isinstance(unroll, int) and unroll >= 1):
        raise ValueError(f"unroll must be a positive int, got {unroll!r}")
    n_samples = jnp.shape(stimulus)[-1] if jnp.ndim(stimulus) else 0
    if isinstance(length, int | np.integer):
        if not 1 <= length <= n_samples:
            raise ValueError(f"length must be an int in 1 .. T = {n_samples}, got {length}")
        stimulus = stimulus if hasattr(stimulus, "shape") else np.asarray(stimulus)
        stimulus, length = stimulus[..., :length], None
    elif length is not None and (jnp.shape(length) != () or not jnp.issubdtype(jnp.result_type(length), jnp.integer)):
        raise ValueError(f"length must be an int or an integer scalar array, got {length!r}")
    dt = canonical_dtype(dtype)
    with precision(dt):
        model, batch_shape, p, stim, s0, axes = prepare(model, params, stimulus, state0, dt)
        length = None if length is None else jnp.asarray(length, jnp.int32)
        values, finite, state = _run_summary(model, p, stim, s0, axes, reducer, unroll, bool(lag), context, length)
        return Summary(_unflatten(values, batch_shape), finite.reshape(batch_shape), _unflatten(state, batch_shape))


def spike_count_reducer() -> Reducer:
    """The simplest reducer: the number of spikes of each candidate (int32)."""
    return _SPIKE_COUNT


_SPIKE_COUNT = Reducer(
    init=lambda dtype: jnp.zeros((), jnp.int32),
    update=lambda count, s: count + s.spike.astype(jnp.int32),
)
