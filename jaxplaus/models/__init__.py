"""The model registry: ``names()``, ``get(name)`` and ``register(model)``.

Each shipped model lives in its own module, which opens with its reference.
"""

from __future__ import annotations

from jaxplaus.models.adex import adex
from jaxplaus.models.base import GAIN, Model, Parameter, Physiology, with_input_gain
from jaxplaus.models.izhikevich import izhikevich
from jaxplaus.models.izhikevich2004 import izhikevich2004, izhikevich2004_accommodation
from jaxplaus.models.lif import lif
from jaxplaus.models.n2d2 import n2d2

_REGISTRY: dict[str, Model] = {}


def register(model: Model, *, overwrite: bool = False) -> Model:
    """Add a model to the registry under ``model.name``; returns the model."""
    if not isinstance(model, Model):
        raise TypeError(f"register() takes a jaxplaus.models.Model, got {type(model).__name__}")
    if model.name in _REGISTRY and not overwrite and _REGISTRY[model.name] is not model:
        raise ValueError(f"A model named {model.name!r} is already registered (pass overwrite=True)")
    _REGISTRY[model.name] = model
    return model


def names() -> tuple[str, ...]:
    """The registered model names, shipped models first."""
    return tuple(_REGISTRY)


def get(name: str | Model) -> Model:
    """The model registered under ``name`` (a Model is returned as is)."""
    if isinstance(name, Model):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown model {name!r}; known models: {', '.join(_REGISTRY)}") from None


SHIPPED: tuple[Model, ...] = (lif, adex, izhikevich, izhikevich2004, izhikevich2004_accommodation, n2d2)
"""The models jaxplaus ships (their code is jaxplaus's own; ``register`` may add others)."""

for _model in SHIPPED:
    register(_model)

__all__ = ["GAIN", "SHIPPED", "Model", "Parameter", "Physiology", "get", "names", "register", "with_input_gain"]
