"""Durable results: the run directory, its schema, atomic writes, checkpoints and resume.

An assessment writes one run directory of plain data (nothing in it is ever executed or
unpickled when read back):

``settings.json``
    Written first, once: everything that determines the result (model, patterns, strategy,
    budget, seed, search space, ...) and the library versions. ``resume`` compares it with the
    settings of the call that resumes and refuses a difference, naming it.
``checkpoint.npz``
    The search state after the last finished chunk of generations
    (:func:`jaxplaus.search.state_to_arrays`, keys starting with ``"."``), plus a few ``"meta/..."``
    arrays (search time so far, when each pattern was solved). Rewritten after every chunk.
    Read with ``np.load(..., allow_pickle=False)``.
``summary.csv``
    One row per pattern (see ``CSV_COLUMNS``; then one column per parameter).
``results.json``
    The assessment (``"schema_version"`` :data:`SCHEMA_VERSION`). Written last: a directory with
    a ``results.json`` holds a finished run.

Every file is written atomically: to a temporary file in the same directory, flushed and
fsync'ed, then ``os.replace``'d over the target (and the directory fsync'ed), so a reader (or a
resumed run) sees either the old file or the new one, never a torn one.

JSON here is strict: non-finite numbers (an infinite loss, a NaN feature) are written as
``null``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1
RESULTS = "results.json"
SUMMARY = "summary.csv"
SETTINGS = "settings.json"
CHECKPOINT = "checkpoint.npz"
META_PREFIX = "meta/"  # checkpoint entries that are not part of the search state
TIMING_KEYS = ("timing",)  # what differs between two runs of the same settings: see strip_timings

CSV_COLUMNS = (
    "pattern",
    "letter",
    "group",
    "passed",
    "loss",
    "search_loss",
    "robustness",
    "evaluations",
    "evaluations_to_solve",
    "restarts",
    "time_s",
    "failed",
)


class RunDirectoryError(ValueError):
    """A run directory cannot be used as asked (exists already, settings differ, bad schema)."""


# ============================================================================ plain data


def plain(obj: Any) -> Any:
    """``obj`` as strict-JSON data: numpy scalars and arrays to Python numbers and lists, tuples
    to lists, non-finite floats to ``None``."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return x if math.isfinite(x) else None
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"Not plain data: {type(obj).__name__} {obj!r}")


def dumps(obj: Any) -> str:
    """Strict JSON (no NaN or Infinity), indented, keys in insertion order, newline-terminated."""
    return json.dumps(plain(obj), indent=1, allow_nan=False) + "\n"


def strip_timings(obj: Any) -> Any:
    """A copy of a results dict without its ``"timing"`` entries (at any depth): what two runs
    with the same settings and seed must agree on exactly."""
    if isinstance(obj, Mapping):
        return {k: strip_timings(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list | tuple):
        return [strip_timings(v) for v in obj]
    return obj


# ============================================================================ atomic writes


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same directory, fsync,
    ``os.replace``. Returns the path."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_json(path, obj) -> Path:
    return write_atomic(path, dumps(obj))


def read_json(path) -> Any:
    """Parse a JSON file (plain data; nothing is executed)."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> str:
    """CSV with a header of ``columns``; missing entries empty, ``None`` empty, floats in repr."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    columns = list(columns)
    w.writerow(columns)
    for row in rows:
        out = []
        for c in columns:
            v = plain(row.get(c))
            out.append("" if v is None else repr(v) if isinstance(v, float) else v)
        w.writerow(out)
    return buf.getvalue()


# ============================================================================ the run directory


def _describe(value) -> str:
    return json.dumps(value, allow_nan=False)


def settings_differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two settings dicts (compared as JSON data)."""
    old, new = plain(old), plain(new)
    out = []
    for key in list(old) + [k for k in new if k not in old]:
        name = f"{prefix}{key}"
        if key not in new:
            out.append(f"{name!r} is set in the run directory ({_describe(old[key])}) but not in this call")
        elif key not in old:
            out.append(f"{name!r} is not in the run directory's settings (this call: {_describe(new[key])})")
        elif isinstance(old[key], dict) and isinstance(new[key], dict):
            out.extend(settings_differences(old[key], new[key], prefix=f"{name}."))
        elif old[key] != new[key]:
            out.append(
                f"{name!r}: the run directory has {_describe(old[key])}, this call asks for {_describe(new[key])}"
            )
    return out


class RunDirectory:
    """One assessment's directory: its files, checks, and atomic reads and writes.

    Use :meth:`prepare` to check (without writing anything) that a directory can take a new run
    or be resumed with given settings; :meth:`start` then writes ``settings.json``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # -------------------------------------------------------------- paths
    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY

    @property
    def settings_path(self) -> Path:
        return self.path / SETTINGS

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    def is_complete(self) -> bool:
        return self.results_path.is_file()

    # -------------------------------------------------------------- checks
    def prepare(self, settings: Mapping[str, Any], resume: bool, upgrade: Callable[[dict], dict] | None = None) -> str:
        """Check, writing nothing, that this directory can start (``resume=False``) or continue
        (``resume=True``) a run with ``settings``.

        ``upgrade`` maps the directory's recorded settings to the current form (options added
        since it was written, at the values it used) before they are compared.

        Returns:
            ``"new"`` (nothing there yet), ``"resume"`` (an interrupted run with the same
            settings) or ``"complete"`` (a finished run with the same settings).

        Raises:
            RunDirectoryError: the path is a file; a new run would overwrite an existing
                directory's contents; there is nothing to resume; the settings differ (each
                difference named).
        """
        p = self.path
        if p.exists() and not p.is_dir():
            raise RunDirectoryError(f"The run directory {str(p)!r} exists and is not a directory")
        entries = sorted(e.name for e in p.iterdir()) if p.is_dir() else []
        if not resume:
            if entries:
                what = "already holds a run" if SETTINGS in entries else "is not empty"
                raise RunDirectoryError(
                    f"The run directory {str(p)!r} {what} ({', '.join(entries[:5])}"
                    f"{', ...' if len(entries) > 5 else ''}); pass resume=True (--resume) to continue a run, "
                    "or choose another directory"
                )
            return "new"
        if SETTINGS not in entries:
            raise RunDirectoryError(
                f"Nothing to resume in {str(p)!r}: "
                + ("it does not exist" if not p.exists() else f"it has no {SETTINGS}")
                + "; start a new run without resume"
            )
        saved = self.read_settings()
        diffs = settings_differences((upgrade or dict)(saved["settings"]), settings)
        if diffs:
            raise RunDirectoryError(
                f"Cannot resume {str(p)!r} with different settings: " + "; ".join(diffs)
                + ". Resume with the run's own settings, or start a new run in another directory"
            )
        return "complete" if self.is_complete() else "resume"

    # -------------------------------------------------------------- settings
    def start(self, settings: Mapping[str, Any], versions: Mapping[str, Any]) -> None:
        """Create the directory (and parents) and write ``settings.json``."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(
            self.settings_path,
            {"schema_version": SCHEMA_VERSION, "kind": "jaxplaus.settings", "settings": settings, "versions": versions},
        )

    def read_settings(self) -> dict:
        data = read_json(self.settings_path)
        _check_schema(data, self.settings_path)
        return data

    # -------------------------------------------------------------- checkpoints
    def write_checkpoint(self, state_arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> Path:
        """Atomically write the search state and ``meta`` (numbers or numeric arrays) as npz."""
        arrays = {k: np.asarray(v) for k, v in state_arrays.items()}
        for k, v in meta.items():
            a = np.asarray(v)
            if a.dtype == object:
                raise TypeError(f"checkpoint meta {k!r} must be numeric, got {v!r}")
            arrays[META_PREFIX + k] = a
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return write_atomic(self.checkpoint_path, buf.getvalue())

    def read_checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
        """``(state_arrays, meta)`` of the last checkpoint, or None when there is none.

        Loaded with ``allow_pickle=False``: a checkpoint is numeric arrays only.
        """
        if not self.checkpoint_path.is_file():
            return None
        with np.load(self.checkpoint_path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = {k[len(META_PREFIX) :]: v for k, v in arrays.items() if k.startswith(META_PREFIX)}
        state = {k: v for k, v in arrays.items() if not k.startswith(META_PREFIX)}
        return state, meta

    # -------------------------------------------------------------- results
    def write_results(self, results: Mapping[str, Any], csv_rows: Iterable[Mapping[str, Any]], columns) -> None:
        """Write ``summary.csv`` then ``results.json`` (the latter marks the run finished)."""
        results = dict(results)
        if results.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"results must carry schema_version {SCHEMA_VERSION}")
        write_atomic(self.summary_path, csv_text(csv_rows, columns))
        write_json(self.results_path, results)

    def read_results(self) -> dict:
        return read_results(self.path)


def _check_schema(data, path) -> None:
    if not isinstance(data, dict) or "schema_version" not in data:
        raise RunDirectoryError(f"{str(path)!r} is not a jaxplaus file: no schema_version")
    if data["schema_version"] != SCHEMA_VERSION:
        raise RunDirectoryError(
            f"{str(path)!r} has schema_version {data['schema_version']!r}; this jaxplaus reads {SCHEMA_VERSION}"
        )


def read_results(path: str | os.PathLike) -> dict:
    """The ``results.json`` of a run directory (or the file itself) as plain data, its
    ``schema_version`` checked."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS
    if not path.is_file():
        raise RunDirectoryError(f"No results at {str(path)!r} (an unfinished run? resume it first)")
    data = read_json(path)
    _check_schema(data, path)
    return data


def read_summary(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a run directory's ``summary.csv`` (strings, as written)."""
    path = Path(path)
    if path.is_dir():
        path = path / SUMMARY
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


__all__ = [
    "CHECKPOINT",
    "CSV_COLUMNS",
    "RESULTS",
    "SCHEMA_VERSION",
    "SETTINGS",
    "SUMMARY",
    "RunDirectory",
    "RunDirectoryError",
    "dumps",
    "plain",
    "read_json",
    "read_results",
    "read_summary",
    "settings_differences",
    "strip_timings",
    "write_atomic",
    "write_json",
]
