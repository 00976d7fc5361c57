"""The search's compiled loop, stored traced: a later run of the same program skips tracing it.

JAX's persistent compilation cache (``jax_compilation_cache_dir``) keys on the lowered program,
so every process traces and lowers the search's generation loop (:func:`jaxplaus.search.engine.advance`)
again before that cache can answer: seconds of a warm assessment. Where that cache is on, the
loop is also exported (:mod:`jax.export`: serialized StableHLO, plain data that loading never
runs as Python) into ``<compilation cache dir>/jaxplaus-programs/``; a later process with the
same key reads it, and lowers and compiles it without tracing (the compilation cache answers the
compilation). The program run is
the one that was traced: results are those of the traced loop, bit for bit.

The key is a hash of everything that decides the traced program: the static arguments' own
keys (:func:`static_key`: each object's ``program_key()``, None where its behaviour is code
outside jaxplaus, such as an objective written by a user or a model it does not ship), the
arguments' structure, shapes, dtypes and shardings, the source of every jaxplaus module, the
versions of Python and of the packages whose code a trace runs (jax, jaxlib, evosax, flax,
optax, numpy, ml_dtypes), and the JAX settings a trace reads. Where a
static argument has no key, several devices or processes share the run, serialization is not
available or the directory cannot be written, the loop is traced as before. A stored program
that cannot be read is traced again and replaced.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import platform
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxplaus.files import write_atomic

FOLDER = "jaxplaus-programs"
SUFFIX = ".jaxexport"
_PACKAGES = ("jax", "jaxlib", "evosax", "flax", "optax", "numpy", "ml_dtypes")  # whose code a trace runs
# the JAX settings a trace reads (64-bit types, random bits, promotion and precision rules)
_SETTINGS = ("jax_enable_x64", "jax_threefry_partitionable", "jax_default_prng_impl", "jax_numpy_dtype_promotion",
             "jax_numpy_rank_promotion", "jax_default_matmul_precision")


def static_key(*objects) -> str | None:
    """A key of static arguments: each object's ``program_key()`` (None is its own key), or None
    if any has none (the program is then not stored)."""
    keys = []
    for obj in objects:
        if obj is None:
            keys.append("None")
            continue
        key = getattr(obj, "program_key", lambda: None)()
        if key is None:
            return None
        keys.append(key)
    return "|".join(keys)


@functools.cache
def _code_fingerprint() -> str:
    """The source of every jaxplaus module and the versions of what a trace runs."""
    h = hashlib.sha256(platform.python_version().encode())
    for name in _PACKAGES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        h.update(f"{name}={version}".encode())
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _spec(x) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(np.shape(x), x.dtype if hasattr(x, "dtype") else np.result_type(x))


def _leaf_key(x) -> str:
    return f"{_spec(x)}:{getattr(x, 'sharding', None)}"


def _directory() -> Path | None:
    """The folder of stored programs, inside JAX's compilation cache (None: that cache is off)."""
    cache = jax.config.jax_compilation_cache_dir
    if not cache or "://" in str(cache):
        return None
    return Path(cache) / FOLDER


def program_path(static: str, args: Sequence[Any]) -> Path | None:
    """Where the program of static key ``static`` on ``args`` is stored (None: not stored)."""
    directory = _directory()
    if directory is None or jax.process_count() > 1:
        return None
    leaves, tree = jax.tree.flatten(tuple(args))
    h = hashlib.sha256(_code_fingerprint().encode())
    for part in (static, str(tree), *map(_leaf_key, leaves), jax.default_backend(),
                 *(f"{s}={getattr(jax.config, s, None)}" for s in _SETTINGS)):
        h.update(part.encode())
        h.update(b"\0")
    return directory / f"{h.hexdigest()}{SUFFIX}"


def _read(path: Path) -> Callable | None:
    """The stored program at ``path`` (None: missing, or unreadable and to be replaced)."""
    try:
        data = path.read_bytes()
    except OSError:  # none stored yet (or no folder to store in)
        return None
    try:
        exported = jax.export.deserialize(bytearray(data))
    except Exception as err:  # noqa: BLE001 - any damage: traced again and replaced
        warnings.warn(f"the stored program {str(path)!r} cannot be read ({type(err).__name__}: {err}); "
                      "tracing it again", stacklevel=4)
        return None
    return jax.jit(exported.call)


def _write(fn: Callable, static: tuple, tree, specs: tuple, path: Path) -> Callable | None:
    """``fn`` on ``static`` exported for arguments ``specs`` (of structure ``tree``), written to
    ``path`` and read back (None: not possible here: no serialization, a read-only folder)."""

    def flat(*arrays):
        return jax.tree.leaves(fn(*static, *jax.tree.unflatten(tree, arrays)))

    try:
        data = jax.export.export(jax.jit(flat))(*specs).serialize()
    except ImportError:  # no flatbuffers: jax.export cannot serialize
        return None
    except Exception as err:  # noqa: BLE001 - a program jax.export cannot export is traced in every run
        warnings.warn(f"the program cannot be stored ({type(err).__name__}: {err}); it is traced in every run",
                      stacklevel=4)
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, bytes(data))
    except OSError:  # a read-only or full cache folder: traced in every run, as without a store
        return None
    return _read(path)


@functools.lru_cache(maxsize=16)
def _program(fn: Callable, static: tuple, path: Path, tree, specs: tuple) -> Callable | None:
    """The program stored at ``path``, read, or traced and written first (once per process;
    None: it cannot be stored here, and ``fn`` runs as usual)."""
    return _read(path) or _write(fn, static, tree, specs, path)


def call(fn: Callable, static: tuple, key: str | None, args: tuple, out_tree) -> Any:
    """``fn(*static, *args)``, run from its stored program where there is one (see the module
    docstring), else traced as usual (and stored for the next run where it can be).

    Args:
        fn: a jitted function whose first ``len(static)`` arguments are static.
        static: those arguments; key: their key (:func:`static_key`), None: never stored.
        args: the array arguments (a pytree of arrays).
        out_tree: the structure of ``fn``'s output (a stored program returns its leaves).
    """
    path = None if key is None else program_path(key, args)
    if path is None:
        return fn(*static, *args)
    leaves, tree = jax.tree.flatten(tuple(args))
    specs = tuple(map(_spec, leaves))
    program = _program(fn, static, path, tree, specs)
    if program is None:
        return fn(*static, *args)
    return jax.tree.unflatten(out_tree, program(*leaves))


__all__ = ["call", "program_path", "static_key"]
