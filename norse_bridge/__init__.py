"""norse_bridge: cross-check jaxplaus's JAX ports (lif, adex, izhikevich) against Norse 1.1.0.

Importing this package imports jax and jaxplaus, never torch or Norse: those are imported by the
first function that needs them, which raises an ImportError saying
``pip install "jaxplaus[norse]"`` when they are absent (``available()`` checks beforehand).

- :mod:`norse_bridge.mapping`: jaxplaus params/state <-> Norse parameter/state objects, Norse
  layers, Norse's 20 Izhikevich presets;
- :mod:`norse_bridge.crosscheck`: :func:`crosscheck` (one batch, both engines, a report),
  :func:`random_parameters`, :func:`crosscheck_protocols` (the 20 protocols), :func:`run_probe`
  (the same in a subprocess, with XLA's fused multiply-add off or on);
  (``norse_bridge.crosscheck`` is the function; everything public in the module is exported
  here, the module itself is ``sys.modules["norse_bridge.crosscheck"]``);
- :mod:`norse_bridge.model`: :func:`norse_model` (any Norse feed-forward cell, described by a
  :class:`NorseCell`, as a jaxplaus black-box model that ``jaxplaus.assess`` can assess; built-in
  cells in :data:`CELLS`: ``lif``, ``lif_ex``, ``lif_refrac``, ``lsnn``);
- :mod:`norse_bridge.validate`: :func:`norse_validator`, the ``assess(validators=[...])`` entry
  that validates each winner in Norse (torch float64), and :func:`norse_run`;
- :mod:`norse_bridge.cli`: the ``jaxplaus crosscheck`` command (``configure_parser``, ``run_cli``).

Findings (numbers measured on this code) are in ``norse_bridge/README.md``.
"""

from norse_bridge._deps import INSTALL_HINT, available, require
from norse_bridge.crosscheck import (
    GAIN_RANGES,
    NEAR_ULPS,
    NO_FMA_FLAG,
    Candidates,
    CrosscheckReport,
    ProtocolTable,
    SpikeMismatch,
    crosscheck,
    crosscheck_presets,
    crosscheck_protocols,
    fma_disabled,
    random_gains,
    random_parameters,
    run_probe,
)
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
from norse_bridge.model import CELLS, NorseCell, NorseModel, norse_model
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
