"""NorseModel: any Norse 1.1.0 feed-forward cell as a jaxplaus black-box model.

Reference: Norse 1.1.0, ``norse.torch.functional.*_feed_forward_step`` (``dt = 0.001``; the
input of a step is added to the cell's state as Norse's modules add it, see
``shared/spec/norse-reference.md``). Every step of a :class:`NorseModel` *is* Norse's own torch
function: nothing of its equations is ported to JAX.

:func:`norse_model` builds a jaxplaus :class:`~jaxplaus.models.Model` from a
:class:`~norse_bridge.cell.NorseCell` (a user's, or a built-in one of :data:`CELLS`: ``lif``,
``lif_ex``, ``lif_refrac``, ``lsnn``). Its step is a :func:`jax.pure_callback` into Norse
(:mod:`norse_bridge.host`); the search, the validation and everything downstream stay jaxplaus's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxplaus.models.base import Model
from norse_bridge._deps import available, require
from norse_bridge.cell import NorseCell
from norse_bridge.cells import CELLS
from norse_bridge.host import PREFIX, make_step


@dataclasses.dataclass(frozen=True, eq=False)
class NorseModel(Model):
    """A jaxplaus :class:`~jaxplaus.models.Model` whose step is a Norse cell's (see the module
    docstring); build one with :func:`norse_model`. ``cell`` is its :class:`NorseCell`; the
    model's ``gain_bounds`` are the cell's."""

    cell: NorseCell | None = None

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
            initial_state=cell.checked_initial_state,
            step=make_step(cell),
            reference=cell.reference
            or f"Norse 1.1.0 {cell.step if isinstance(cell.step, str) else cell.step.__name__}",
            gain_bounds=tuple(float(g) for g in cell.gain_bounds),
            cell=cell,
        )
    model = _MODELS[key]
    if register:
        models.register(model)
    return model


def is_norse_model(model) -> bool:
    return isinstance(model, NorseModel)


__all__ = ["CELLS", "NorseCell", "NorseModel", "is_norse_model", "norse_model"]
