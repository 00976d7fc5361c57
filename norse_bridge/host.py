"""A NorseCell's step as a jaxplaus step: a :func:`jax.pure_callback` into Norse.

A jaxplaus model is a per-neuron step ``(params, state, x) -> (state, v, spike)`` that the engine
vmaps (candidates, jitter copies, patterns, restart lanes) and scans over samples inside jit.
:func:`make_step` builds such a step as a callback with ``vmap_method="expand_dims"``: under the
engine's nested vmaps it is called ONCE per sample with arrays that carry every batch dimension
(``[tasks, lanes, candidates]`` for a search generation), and it runs the Norse step on them as
one torch batch. The state lives in JAX between steps, as a dict of per-neuron scalars keyed by
the Norse state's dotted field paths.

Precision follows the engine's dtype: a float32 simulation steps Norse in torch float32, a
float64 one in torch float64. Non-finite dynamics (an overflowing ``exp``) do not raise: the NaN
or inf goes back to JAX, which marks the candidate ``finite=False``.

Speed: the callback costs a Python round trip and about ten torch dispatches per sample, about
0.1 ms whatever the batch up to ~10^4 neurons (measured numbers are in ``norse_bridge/README.md``).
Torch runs elementwise ops on one thread below 32,768 elements, and XLA's thread waits on the
callback, so the two do not compete for the CPU's cores.
"""

from __future__ import annotations

import functools

import numpy as np

from norse_bridge._deps import require
from norse_bridge.cell import NorseCell, getter, state_builder

PREFIX = "norse."  # a NorseModel's name is PREFIX + the cell's name


class _Host:
    """The callback of one cell: one Norse step on the whole batch (see :meth:`__call__`).

    The Norse objects (step, parameter class, state classes) are resolved, and the cell tried
    once on its defaults (:attr:`checked`), when the JAX step is first traced: a cell that does
    not fit fails there with a Python error naming the cell, not inside XLA.
    """

    def __init__(self, cell: NorseCell, fields: tuple[str, ...]):
        self.cell, self.fields, self.names = cell, fields, tuple(cell.parameters)
        self._ready = False

    def _prepare(self):
        cell = self.cell
        self.torch, _ = require()
        self.step = cell.norse_step()
        self.make = cell.parameter_factory()
        self.build = state_builder(cell.norse_state_type())
        self.get = [getter(f) for f in self.fields] + [getter(cell.voltage)]
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
        z, new = _step_result(where, out, self.build.state_type)
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
        ``uint32 [..., 2]`` pairs (see :func:`make_step`)."""
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


def _step_result(where: str, out, state_type):
    """``(z, state)`` of a Norse step's result, or a TypeError saying what it returned instead."""
    if not (isinstance(out, tuple) and len(out) == 2):
        what = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, tuple | list) else type(out).__name__
        raise TypeError(f"{where}: the Norse step must return (z, state), got {what}")
    z, new = out
    if not isinstance(new, state_type):
        raise TypeError(
            f"{where}: the Norse step returned a state of type {type(new).__name__}, expected "
            f"{state_type.__name__} (state_type)"
        )
    return z, new


def make_step(cell: NorseCell):
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


__all__ = ["PREFIX", "make_step"]
