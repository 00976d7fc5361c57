"""norse_bridge: cross-check jaxplaus's JAX ports (lif, adex, izhikevich) against Norse 1.1.0.

Importing this package imports jax and jaxplaus, never torch or Norse: those are imported by the
first function that needs them, which raises an ImportError saying
``pip install "jaxplaus[norse]"`` when they are absent (``available()`` checks beforehand).

- :mod:`norse_bridge.ports`: the table, one :class:`~norse_bridge.ports.Port` per port: what the
  bridge does differently per model, read by every module below;
- :mod:`norse_bridge.mapping`: jaxplaus params/state <-> Norse parameter/state objects, Norse
  layers, Norse's 20 Izhikevich presets;
- the cross-check: :func:`crosscheck` (one batch, both engines, a report; :mod:`~norse_bridge.crosscheck`,
  with :mod:`~norse_bridge.runs`, :mod:`~norse_bridge.diagnose`, :mod:`~norse_bridge.onestep`,
  :mod:`~norse_bridge.floats` and :mod:`~norse_bridge.report`), :func:`random_parameters`
  (:mod:`~norse_bridge.candidates`), :func:`crosscheck_protocols` (the 20 protocols;
  :mod:`~norse_bridge.protocols`, :mod:`~norse_bridge.table`), :func:`run_probe` (the same in a
  subprocess, with XLA's fused multiply-add off or on; :mod:`~norse_bridge.fma`,
  :mod:`~norse_bridge.probe`). ``norse_bridge.crosscheck`` is the function; the module itself is
  ``sys.modules["norse_bridge.crosscheck"]``;
- :func:`norse_model` (any Norse feed-forward cell, described by a :class:`NorseCell`, as a
  jaxplaus black-box model that ``jaxplaus.assess`` can assess; :mod:`~norse_bridge.model`,
  :mod:`~norse_bridge.cell`, :mod:`~norse_bridge.host`; built-in cells in :data:`CELLS`, each port
  as a cell: :mod:`~norse_bridge.cells`); by default its step is the cell's automatic JAX port
  (:mod:`~norse_bridge.autoport`: Norse's own step traced by ``make_fx`` and run through the aten
  -> jax.numpy table :mod:`~norse_bridge.aten`, verified against Norse before use), else a callback
  into Norse; :mod:`~norse_bridge.autocheck` cross-checks a port on the 20 protocols;
- :mod:`norse_bridge.validate`: :func:`norse_validator`, the ``assess(validators=[...])`` entry
  that validates each winner in Norse (torch float64), and :func:`norse_run`;
- :mod:`norse_bridge.cli`: the ``jaxplaus crosscheck`` command (``configure_parser``, ``run_cli``).

Findings (numbers measured on this code) are in ``norse_bridge/README.md``.
"""

from norse_bridge._deps import INSTALL_HINT, available, require
from norse_bridge.candidates import GAIN_RANGES, Candidates, random_gains, random_parameters
from norse_bridge.cells import CELLS
from norse_bridge.crosscheck import crosscheck
from norse_bridge.floats import NEAR_ULPS
from norse_bridge.fma import NO_FMA_FLAG, fma_disabled, run_probe
from norse_bridge.mapping import (
    MODELS,
    PRESET_PATTERNS,
    Preset,
    from_norse,
    from_norse_parameters,
    from_norse_state,
    initial_state,
    izhikevich_presets,
    norse_layer,
    to_norse,
    to_norse_parameters,
    to_norse_state,
)
from norse_bridge.model import NorseCell, NorseModel, norse_model
from norse_bridge.protocols import crosscheck_presets, crosscheck_protocols
from norse_bridge.report import CrosscheckReport, SpikeMismatch
from norse_bridge.table import ProtocolTable
from norse_bridge.validate import NorseValidator, norse_run, norse_validator

__all__ = [
    "CELLS",
    "GAIN_RANGES",
    "INSTALL_HINT",
    "MODELS",
    "NEAR_ULPS",
    "NO_FMA_FLAG",
    "PRESET_PATTERNS",
    "Candidates",
    "CrosscheckReport",
    "NorseCell",
    "NorseModel",
    "NorseValidator",
    "Preset",
    "ProtocolTable",
    "SpikeMismatch",
    "available",
    "crosscheck",
    "crosscheck_presets",
    "crosscheck_protocols",
    "fma_disabled",
    "from_norse",
    "from_norse_parameters",
    "from_norse_state",
    "initial_state",
    "izhikevich_presets",
    "norse_layer",
    "norse_model",
    "norse_run",
    "norse_validator",
    "random_gains",
    "random_parameters",
    "require",
    "run_probe",
    "to_norse",
    "to_norse_parameters",
    "to_norse_state",
]
