"""jaxplaus: how biologically plausible is a spiking neuron model?

Following Izhikevich (2004), a model is asked whether, for some setting of its parameters, it
reproduces each of 20 canonical firing patterns. The engine is JAX: neuron dynamics are
jit-compiled ``lax.scan`` kernels vmapped over whole populations of candidates.
"""

from jaxplaus import models
from jaxplaus.models import Model, Parameter
from jaxplaus.simulate import Reducer, Sample, Summary, Trace, simulate, simulate_summary
from jaxplaus import patterns
from jaxplaus.assess import Assessment, assess  # noqa: E402  (the function shadows the module name)

__version__ = "0.1.0"

__all__ = [
    "Assessment", "Model", "Parameter", "Reducer", "Sample", "Summary", "Trace", "assess", "models", "patterns",
    "simulate", "simulate_summary",
]
