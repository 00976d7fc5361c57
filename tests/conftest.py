"""Shared test set-up: JAX's persistent compilation cache, so reruns reuse compiled kernels."""

import os
import pathlib

import jax

_CACHE = pathlib.Path(os.environ.get("JAXPLAUS_CACHE_DIR", pathlib.Path(__file__).resolve().parent.parent / ".jax_cache"))
jax.config.update("jax_compilation_cache_dir", str(_CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
