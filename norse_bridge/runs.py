"""One batch of candidates, run by both engines: the inputs (:class:`Batch`) and the two runs.

JAX runs ``jaxplaus.simulate(..., dtype=float32)``; Norse runs the port's layer
(:func:`norse_bridge.mapping.norse_layer`) under ``torch.no_grad()`` with ``record_states=True``,
``dt = 0.001`` and input ``[T, N]``. Both start from the same float32 state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from norse_bridge import mapping
from norse_bridge._deps import require
from norse_bridge.floats import float32
from norse_bridge.ports import DT, Port


class Batch(NamedTuple):
    """What both engines are given, float32: ``params`` and ``state0`` (name -> ``[N]``), ``stim [N, T]``."""

    params: dict[str, np.ndarray]
    stim: np.ndarray
    state0: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return int(self.stim.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.stim.shape[1])


def _per_neuron(values: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Each value (a scalar or any array of ``n`` elements) as a writable ``[n]`` array."""
    return {k: np.array(np.broadcast_to(v.reshape(-1) if v.ndim else v, (n,))) for k, v in values.items()}


def batch(model, params: Mapping[str, Any] | None, stimulus, state0: Mapping[str, Any] | None) -> Batch:
    """Everything as float32 arrays of one batch ``[N]`` (stimulus ``[N, T]``; ``[T]`` is shared).

    Missing parameters take the model's defaults; ``state0=None`` takes jaxplaus's initial state.
    Shapes that do not broadcast to one batch dimension are a ValueError.
    """
    p = mapping.complete_parameters(model, params)
    stim = float32(stimulus)
    if stim.ndim not in (1, 2) or stim.shape[-1] < 1:
        raise ValueError(f"stimulus must be [T] or [N, T] (time last), got shape {stim.shape}")
    s0 = None if state0 is None else {k: float32(v) for k, v in state0.items()}
    shapes = [v.shape for v in p.values()] + [stim.shape[:-1]]
    if s0 is not None:
        shapes += [v.shape for v in s0.values()]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"batch shapes do not broadcast: {shapes}") from None
    if len(shape) > 1:
        raise ValueError(f"crosscheck takes one batch dimension [N]; the inputs broadcast to {shape}")
    n = shape[0] if shape else 1
    p = _per_neuron(p, n)
    stim = np.array(np.broadcast_to(stim, (n, stim.shape[-1])))
    s0 = mapping.initial_state(model, p) if s0 is None else _per_neuron(s0, n)
    return Batch(p, stim, s0)


class JaxRun(NamedTuple):
    """``jaxplaus.simulate``'s float32 run: ``z``, ``v`` ``[N, T]``, final ``state`` (name -> ``[N]``), ``finite [N]``."""

    z: np.ndarray
    v: np.ndarray
    state: dict[str, np.ndarray]
    finite: np.ndarray


def run_jax(model, b: Batch) -> JaxRun:
    import jaxplaus

    tr = jaxplaus.simulate(model, b.params, b.stim, b.state0, dtype=np.float32)
    return JaxRun(np.asarray(tr.spikes), np.asarray(tr.v), {k: np.asarray(v) for k, v in tr.state.items()},
                  np.asarray(tr.finite))


class NorseRun(NamedTuple):
    """Norse's float32 run: ``params`` (the Norse parameter object it ran), ``z [N, T]`` and the
    recorded ``traces`` (state name -> ``[T, N]``, the state after each step)."""

    params: Any
    z: np.ndarray
    traces: dict[str, np.ndarray]

    @property
    def v(self) -> np.ndarray:
        """``[N, T]``, as :attr:`JaxRun.v`."""
        return self.traces["v"].T


def run_norse(port: Port, b: Batch, norse_params=None, flush_denormal: bool = False) -> NorseRun:
    """The port's Norse layer on ``b`` (``norse_params``: run with this parameter object instead
    of the mapping of ``b.params``; ``flush_denormal``: with ``torch.set_flush_denormal(True)``,
    restored to torch's default, off, afterwards)."""
    torch, _ = require()
    p, s = mapping.to_norse(port.model, b.params, b.state0)
    if norse_params is not None:
        p = norse_params
    layer = mapping.norse_layer(port.model, p, s, dt=DT, record_states=True)
    x = torch.from_numpy(np.ascontiguousarray(b.stim.T))
    try:
        if flush_denormal:
            torch.set_flush_denormal(True)
        with torch.no_grad():
            z, states = layer(x, s)
    finally:
        if flush_denormal:
            torch.set_flush_denormal(False)
    return NorseRun(p, z.numpy().T > 0, mapping.from_norse_state(port.model, states))


__all__ = ["Batch", "JaxRun", "NorseRun", "batch", "run_jax", "run_norse"]
