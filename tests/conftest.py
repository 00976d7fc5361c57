"""Shared test set-up: JAX's persistent compilation cache, for the command-line runs the tests
start as subprocesses (they share compiled kernels through it).

The test process itself does not use the cache: late in the full session, jaxlib 0.10.2
segfaulted while serializing or reading back an executable compiled in this long-lived
process (``compilation_cache.put_executable_and_time`` / ``get_executable_and_time``, three
sessions in a row at tests/test_strict.py, with a fresh cache too; never when that module ran
alone). Within one session the in-memory cache serves every repeat, so a clean run (CI) loses
nothing; the directory is still configured, so subprocesses given ``JAXPLAUS_CACHE_DIR`` from it
share their kernels.
"""

import os
import pathlib

import jax

_CACHE = pathlib.Path(
    os.environ.get("JAXPLAUS_CACHE_DIR", pathlib.Path(__file__).resolve().parent.parent / ".jax_cache")
)
jax.config.update("jax_compilation_cache_dir", str(_CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_enable_compilation_cache", False)
