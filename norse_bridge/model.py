"""NorseModel: any Norse 1.1.0 feed-forward cell as a jaxplaus black-box model.

Reference: Norse 1.1.0, ``norse.torch.functional.*_feed_forward_step`` (``dt = 0.001``; the
input of a step is added to the cell's state as Norse's modules add it, see
``shared/spec/norse-reference.md``). Every step of a :class:`NorseModel` is Norse's own torch
function, called or traced: nothing of its equations is written by hand for JAX.

:func:`norse_model` builds a jaxplaus :class:`~jaxplaus.models.Model` from a
:class:`~norse_bridge.cell.NorseCell` (a user's, or a built-in one of :data:`CELLS`: ``lif``,
``lif_ex``, ``lif_refrac``, ``lsnn``). Its step is a :func:`jax.pure_callback` into Norse
(:mod:`norse_bridge.host`), or, where the cell has one, its automatic JAX port
(:mod:`norse_bridge.autoport`: Norse's own step traced into a jax.numpy program, verified against
Norse before use), which the engine traces into its scan like a hand-written port. The search,
the validation and everything downstream stay jaxplaus's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxplaus.models.base import Model
from norse_bridge._deps import available, require
from norse_bridge.cell import NorseCell
from norse_bridge.cells import CELLS
from norse_bridge.host import PREFIX, make_step

PORTS = ("auto", "jax", "callback")  # how a NorseModel steps: see norse_model


@dataclasses.dataclass(frozen=True, eq=False)
class NorseModel(Model):
    """A jaxplaus :class:`~jaxplaus.models.Model` whose step is a Norse cell's (see the module
    docstring); build one with :func:`norse_model`. ``cell`` is its :class:`NorseCell`; the
    model's ``gain_bounds`` are the cell's; ``port`` is how it steps (see :func:`norse_model`)."""

    cell: NorseCell | None = None
    port: str = "callback"

    def engine(self) -> str:
        """``"jax"`` when the model steps through the cell's automatic port, ``"callback"`` when it
        calls Norse (for ``port="auto"`` this traces and verifies the port: imports torch)."""
        if self.port == "auto":
            from norse_bridge import autoport

            return "jax" if autoport.port_status(self.cell).ok else "callback"
        return self.port

    def __repr__(self) -> str:
        return f"NorseModel({self.name!r}, parameters={list(self.parameters)})"


_MODELS: dict[int, Any] = {}


def _step(cell: NorseCell, port: str):
    """The model's step: the callback, the automatic port, or (``"auto"``) the port when its
    verification passes, decided when the step is first traced."""
    if port == "callback":
        return make_step(cell)
    from norse_bridge import autoport

    if port == "jax":
        status = autoport.port_status(cell)
        if not status.ok:
            raise ValueError(
                f"Norse cell {cell.name!r} has no automatic JAX port: {status.reason} "
                "(norse_model(cell, port='callback') steps Norse itself)"
            )
        return autoport.jax_step(cell)
    jax_step, callback = autoport.jax_step(cell), make_step(cell)

    def step(params, state, x):
        import jax

        with jax.ensure_compile_time_eval():  # the verification runs JAX itself, outside the caller's trace
            ok = autoport.port_status(cell).ok
        return (jax_step if ok else callback)(params, state, x)

    return step


def norse_model(cell: NorseCell | str, *, register: bool = True, port: str = "auto"):
    """The jaxplaus model of a Norse cell: a built-in cell's name (:data:`CELLS`) or a :class:`NorseCell`.

    ``port``: how the model steps.
    - ``"auto"`` (default): the cell's automatic JAX port (:mod:`norse_bridge.autoport`) if it
      traces and passes its verification against Norse (decided when the step is first traced:
      building the model still imports neither torch nor Norse), else the callback;
    - ``"jax"``: the automatic port, or a ValueError with the reason it was refused (traces and
      verifies now);
    - ``"callback"``: Norse's step itself, called once per sample (:mod:`norse_bridge.host`).

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
    if port not in PORTS:
        raise ValueError(f"port must be one of {PORTS}, got {port!r}")
    key = (id(cell), port)
    if key not in _MODELS or _MODELS[key].cell is not cell:
        _MODELS[key] = NorseModel(
            name=PREFIX + cell.name,
            parameters=dict(cell.parameters),
            initial_state=cell.checked_initial_state,
            step=_step(cell, port),
            reference=cell.reference
            or f"Norse 1.1.0 {cell.step if isinstance(cell.step, str) else cell.step.__name__}",
            gain_bounds=tuple(float(g) for g in cell.gain_bounds),
            cell=cell,
            port=port,
        )
    model = _MODELS[key]
    if register:
        registered = models.names() and model.name in models.names() and models.get(model.name)
        same_cell = isinstance(registered, NorseModel) and registered.cell is cell  # another port of it
        models.register(model, overwrite=same_cell)
    return model


def is_norse_model(model) -> bool:
    return isinstance(model, NorseModel)


__all__ = ["CELLS", "PORTS", "NorseCell", "NorseModel", "is_norse_model", "norse_model"]
