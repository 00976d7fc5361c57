"""Floating-point precision: float32 by default, float64 on request.

JAX computes in float32 unless 64-bit types are enabled. Rather than flipping that switch for the
whole process, jaxplaus enables it only around the computations that ask for float64.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

try:  # jax >= 0.4.x keeps the scoped switch here
    from jax._src.config import enable_x64 as _enable_x64_state
except ImportError:  # pragma: no cover - future jax
    _enable_x64_state = None

FLOAT_DTYPES = ("float32", "float64")


def canonical_dtype(dtype) -> np.dtype:
    """``float32`` or ``float64`` as a numpy dtype; anything else is a ValueError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r}")
    return dt


@contextlib.contextmanager
def precision(dtype):
    """Context in which ``dtype`` (float32 or float64) is available to JAX."""
    dt = canonical_dtype(dtype)
    if dt == np.float64 and not jax.config.jax_enable_x64:
        if _enable_x64_state is not None:
            with _enable_x64_state(True):
                yield dt
        else:  # pragma: no cover
            from jax.experimental import enable_x64

            with enable_x64():
                yield dt
    else:
        yield dt


def as_float(x, dtype) -> jax.Array:
    """``x`` as a JAX array of ``dtype`` (call inside ``precision(dtype)``)."""
    return jnp.asarray(x, dtype=dtype)
