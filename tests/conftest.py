"""Shared test set-up: JAX's persistent compilation cache, so reruns reuse compiled kernels."""

import os
import pathlib

import jax
import pytest

_CACHE = pathlib.Path(os.environ.get("JAXPLAUS_CACHE_DIR", pathlib.Path(__file__).resolve().parent.parent / ".jax_cache"))
jax.config.update("jax_compilation_cache_dir", str(_CACHE))
MIN_COMPILE_S = 0.5  # programs quicker to compile are not cached: the suite's cache stays small
jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)


@pytest.fixture(autouse=True)
def _suite_cache_settings():
    """A test that runs ``cli.main()`` sets the CLI's cache threshold (every program cached) for
    the rest of its process: put the suite's back after each test."""
    yield
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
