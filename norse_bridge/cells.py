"""The Norse cells: each port as a cell (:func:`port_cell`) and the built-in cells (:data:`CELLS`).

A port is a Norse cell whose parameters, initial state and gain bounds are its jaxplaus model's:
:func:`port_cell` builds it from the port's table entry (:mod:`norse_bridge.ports`). The Norse
validation runs ports and NorseModels through it alike, and the built-in cells start from the
``lif`` port's cell, so the LIF parameter table is the ``lif`` model's (no copy):

| cell | Norse step | parameters searched | initial state |
|---|---|---|---|
| ``lif`` | ``lif_feed_forward_step`` | the ``lif`` port's | ``v = v_leak, i = 0`` |
| ``lif_ex`` | ``lif_ex_feed_forward_step`` | ``lif``'s + ``delta_T`` | ``v = v_leak, i = 0`` |
| ``lif_refrac`` | ``lif_refrac_feed_forward_step`` | ``lif``'s + ``rho_reset`` | ``v = v_leak, i = 0, rho = 0`` |
| ``lsnn`` | ``lsnn_feed_forward_step`` | ``lif``'s + ``tau_adapt_inv``, ``beta`` | ``v = v_leak, i = 0, b = v_th`` |

Every built-in cell takes the ``lif`` model's input-gain bounds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from jaxplaus.models.base import Parameter
from norse_bridge import ports
from norse_bridge.cell import NorseCell


def port_cell(port: ports.Port | str) -> NorseCell:
    """The port (a :class:`~norse_bridge.ports.Port` or a model name) as a cell named after its
    model: Norse's step and classes, the jaxplaus model's parameters, initial state and gain bounds."""
    port = ports.get(port) if isinstance(port, str) else port
    m = port.jaxplaus_model()
    return NorseCell(
        name=port.model,
        step=port.qualified(port.step),
        parameters=dict(m.parameters),
        make_parameters=port.qualified(port.parameters_class),
        state_type=port.qualified(port.state_class),
        initial_state=m.initial_state,
        gain_bounds=tuple(m.gain_bounds),
        dt=ports.DT,
        reference=f"Norse 1.1.0 norse.torch.functional.{port.module}.{port.step} (the same equations as "
        f"jaxplaus's {port.model!r} port)",
    )


def _lif_variant(lif: NorseCell, module: str, prefix: str, extra: Mapping[str, Parameter], what: str, **changes):
    """``lif`` with Norse's ``module`` (``<prefix>Parameters``, ``<prefix>FeedForwardState``,
    ``<module>_feed_forward_step``), ``lif``'s parameters and the ``extra`` ones; ``what`` describes
    it; ``changes`` replace any other field (or these)."""
    step = f"{module}.{module}_feed_forward_step"
    fields = {
        "name": module,
        "step": step,
        "parameters": {**lif.parameters, **extra},
        "make_parameters": f"{module}.{prefix}Parameters",
        "state_type": f"{module}.{prefix}FeedForwardState",
        "reference": f"Norse 1.1.0 norse.torch.functional.{step} ({what})",
    }
    return dataclasses.replace(lif, **{**fields, **changes})


def _lif_refrac_parameters(t):
    from norse.torch.functional.lif import LIFParameters
    from norse.torch.functional.lif_refrac import LIFRefracParameters

    t = dict(t)
    rho = t.pop("rho_reset")
    return LIFRefracParameters(lif=LIFParameters(**t), rho_reset=rho)


def _builtin_cells() -> dict[str, NorseCell]:
    lif = port_cell("lif")
    lif_ex = _lif_variant(
        lif, "lif_ex", "LIFEx",
        {"delta_T": Parameter(0.5, 0.01, 2.0, log=True, doc="sharpness of the exponential (dimensionless)")},
        "exponential LIF: v' = tau_mem_inv (v_leak - v + i + delta_T exp((v - v_th)/delta_T)), spike and reset at v_th",
    )
    lif_refrac = _lif_variant(
        lif, "lif_refrac", "LIFRefrac",
        {"rho_reset": Parameter(5.0, 1.0, 100.0, log=True, doc="refractory period (steps of dt)")},
        "LIF with an absolute refractory period: v held for rho_reset steps after a spike",
        make_parameters=_lif_refrac_parameters,
        initial_state=lambda p: {"lif.v": p["v_leak"], "lif.i": 0 * p["v_leak"], "rho": 0 * p["v_leak"]},
        voltage="lif.v",
    )
    lsnn = _lif_variant(
        lif, "lsnn", "LSNN",
        {
            "tau_adapt_inv": Parameter(
                1.0 / 800, 0.1, 1000.0, log=True, doc="inverse time constant of the threshold's decay to v_th (1/s)"
            ),
            "beta": Parameter(1.8, 0.0, 5.0, doc="threshold jump per spike (dimensionless)"),
        },
        "LIF with an adaptive threshold b: spikes when v > b, b += beta per spike, b relaxes to v_th; the input "
        "enters i after the step",
        initial_state=lambda p: {"v": p["v_leak"], "i": 0 * p["v_leak"], "b": p["v_th"]},
    )
    return {c.name: c for c in (lif, lif_ex, lif_refrac, lsnn)}


CELLS: dict[str, NorseCell] = _builtin_cells()

__all__ = ["CELLS", "port_cell"]
