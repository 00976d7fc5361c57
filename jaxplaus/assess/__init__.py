"""The assessment: search every pattern, validate the winners, score the model.

``assess(model)`` asks, for each of Izhikevich's 20 firing patterns (or a chosen subset), whether
some setting of the model's parameters and of an input gain reproduces it. One module a concern:

- :mod:`~jaxplaus.assess.config`: :class:`Settings`, every option with its default (the command
  line and ``settings.json`` are made from it);
- :mod:`~jaxplaus.assess.plan`: the settings checked and resolved into a :class:`Plan`;
- :mod:`~jaxplaus.assess.objective`: the search's loss (suite loss with jitter) as a value;
- :mod:`~jaxplaus.assess.validation`: float64 validation, extra validators, robustness;
- :mod:`~jaxplaus.assess.records`: :class:`PatternResult` and :class:`Assessment` (``results.json``);
- :mod:`~jaxplaus.assess.run`: the driver, :func:`assess`.

``docs/assessment.md`` explains what each step does and why, with the measurements behind it.
"""

from jaxplaus.assess.config import Settings
from jaxplaus.assess.plan import Plan, default_gain_bounds, plan
from jaxplaus.assess.records import Assessment, PatternResult, Progress, load, versions
from jaxplaus.assess.run import DEFAULT_CHUNK, assess
from jaxplaus.assess.validation import Validator
from jaxplaus.models.base import DEFAULT_GAIN_BOUNDS as FALLBACK_GAIN_BOUNDS

__all__ = [
    "DEFAULT_CHUNK",
    "FALLBACK_GAIN_BOUNDS",
    "Assessment",
    "PatternResult",
    "Plan",
    "Progress",
    "Settings",
    "Validator",
    "assess",
    "default_gain_bounds",
    "load",
    "plan",
    "versions",
]
