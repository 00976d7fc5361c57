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
    Read with ``np.load(..., allow_pickle=False)``. Two ``"check/..."`` entries tie it to its run:
    the :func:`fingerprint` of the settings and library versions that wrote it, and a digest of
    its arrays; a checkpoint whose fingerprint or digest does not match is refused, naming why.
``summary.csv``
    One row per pattern (see ``CSV_COLUMNS``; then one column per parameter).
``results.json``
    The assessment (``"schema_version"`` :data:`SCHEMA_VERSION`). Written last: a directory with
    a ``results.json`` holds a finished run.
``.lock``
    Held (``flock``) by the process writing the directory (:meth:`RunDirectory.locked`); it holds
    that process's pid. The kernel releases it when the process ends, crashes included.

Every file is written atomically, with one mode (:func:`jaxplaus.files.write_atomic`): a reader
(or a resumed run) sees either the old file or the new one, never a torn one. A file that cannot
be read as what it should be is a :class:`~jaxplaus.errors.DamagedFileError` naming it and what
to do.

JSON here is strict: non-finite numbers (an infinite loss, a NaN feature) are written as
``null``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from jaxplaus.errors import DamagedFileError, UserInputError  # noqa: F401  (DamagedFileError: re-exported)
from jaxplaus.files import LOCK, csv_text, dumps, locked, plain, read_json, strip_timings, write_atomic, write_json

SCHEMA_VERSION = 1
RESULTS = "results.json"
SUMMARY = "summary.csv"
SETTINGS = "settings.json"
CHECKPOINT = "checkpoint.npz"
META_PREFIX = "meta/"  # checkpoint entries that are not part of the search state
CHECK_PREFIX = "check/"  # checkpoint entries that tie it to its settings and its contents (fingerprint, digest)

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


class RunDirectoryError(UserInputError):
    """A run directory cannot be used as asked (exists already, settings differ, bad schema)."""


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
        entries = sorted(e.name for e in p.iterdir() if e.name != LOCK) if p.is_dir() else []
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
        data = read_json(self.settings_path, "restore it, or start a new run in another directory")
        _check_schema(data, self.settings_path)
        if not isinstance(data.get("settings"), dict):
            raise DamagedFileError(f"{str(self.settings_path)!r} is damaged: it has no settings; restore it, or start "
                                   "a new run in another directory")
        return data

    def locked(self):
        """A context manager holding this directory's lock (:func:`jaxplaus.files.locked`): one
        writer at a time; another gets a :class:`~jaxplaus.errors.RunLockedError` naming its pid."""
        return locked(self.path)

    # -------------------------------------------------------------- checkpoints
    def write_checkpoint(self, state_arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any],
                         fingerprint: str) -> Path:
        """Atomically write the search state and ``meta`` (numbers or numeric arrays) as npz, with
        the run's ``fingerprint`` (:func:`fingerprint`) and a digest of the arrays."""
        arrays = {k: np.asarray(v) for k, v in state_arrays.items()}
        for k, v in meta.items():
            a = np.asarray(v)
            if a.dtype == object:
                raise TypeError(f"checkpoint meta {k!r} must be numeric, got {v!r}")
            arrays[META_PREFIX + k] = a
        arrays[CHECK_PREFIX + "digest"] = _hex_array(_digest(arrays))  # of the state and meta arrays
        arrays[CHECK_PREFIX + "fingerprint"] = _hex_array(fingerprint)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return write_atomic(self.checkpoint_path, buf.getvalue())

    def read_checkpoint(self, fingerprint: str | None = None) -> tuple[dict, dict] | None:
        """``(state_arrays, meta)`` of the last checkpoint, or None when there is none.

        Loaded with ``allow_pickle=False``: a checkpoint is numeric arrays only.

        Raises:
            DamagedFileError: it is not an npz of numeric arrays, or its arrays do not match its
                digest (truncated, edited, NaN-filled by hand, written by another program).
            RunDirectoryError: ``fingerprint`` is given and the checkpoint's differs (another
                run's checkpoint, or other library versions wrote it).
        """
        path = self.checkpoint_path
        if not path.is_file():
            return None
        remedy = "delete it and resume (--resume): the search then starts again from the beginning"
        arrays = _load_npz(path, remedy)
        check = {k[len(CHECK_PREFIX) :]: v for k, v in arrays.items() if k.startswith(CHECK_PREFIX)}
        body = {k: v for k, v in arrays.items() if not k.startswith(CHECK_PREFIX)}
        if _hex(check.get("digest")) != _digest(body):
            raise DamagedFileError(f"{str(path)!r} is damaged: its arrays do not match its digest (or it has none: "
                                   f"not written by this jaxplaus); {remedy}")
        if fingerprint is not None and _hex(check.get("fingerprint")) != fingerprint:
            raise RunDirectoryError(
                f"{str(path)!r} was written for other settings or library versions than this run's settings.json "
                f"(another run's checkpoint, or jaxplaus, jax or evosax changed since); {remedy}, or resume with the "
                "versions recorded in settings.json"
            )
        meta = {k[len(META_PREFIX) :]: v for k, v in body.items() if k.startswith(META_PREFIX)}
        state = {k: v for k, v in body.items() if not k.startswith(META_PREFIX)}
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


def fingerprint(settings: Mapping[str, Any], versions: Mapping[str, Any]) -> str:
    """A run's fingerprint: the sha256 (hex) of its recorded settings and library versions."""
    text = json.dumps(plain({"settings": settings, "versions": versions}), sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    """The sha256 (hex) of named arrays: each name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(json.dumps([name, a.dtype.str, list(a.shape)]).encode("utf-8"))
        h.update(a.tobytes())
    return h.hexdigest()


def _hex_array(hex_digest: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(hex_digest), np.uint8)


def _hex(a) -> str | None:
    a = None if a is None else np.asarray(a)
    return bytes(a).hex() if a is not None and a.dtype == np.uint8 and a.ndim == 1 else None


def _load_npz(path: Path, remedy: str) -> dict[str, np.ndarray]:
    """Every array of an npz file, loaded without pickle; anything else a DamagedFileError."""
    try:
        z = np.load(path, allow_pickle=False)
        if not hasattr(z, "files"):
            raise zipfile.BadZipFile("a single array, not an npz archive")
        with z:
            return {k: z[k] for k in z.files}
    except ValueError:  # numpy's words would advise loading it with pickle: never
        reason = "it holds pickled data or Python objects, which jaxplaus never loads"
    except (zipfile.BadZipFile, EOFError, KeyError, zlib.error) as err:
        reason = f"not a readable npz archive ({type(err).__name__}: {err or 'empty or truncated'})"
    raise DamagedFileError(f"{str(path)!r} is damaged: {reason}; {remedy}")


def _check_schema(data, path) -> None:
    if not isinstance(data, dict) or "schema_version" not in data:
        raise RunDirectoryError(f"{str(path)!r} is not a jaxplaus file: no schema_version")
    if data["schema_version"] != SCHEMA_VERSION:
        raise RunDirectoryError(
            f"{str(path)!r} has schema_version {data['schema_version']!r}; this jaxplaus reads {SCHEMA_VERSION}"
        )


RESULT_KEYS = {"model": str, "score": dict, "settings": dict, "patterns": list, "versions": dict, "search": dict,
               "timing": dict}
SCORE_KEYS = ("passed", "assessed")
PATTERN_KEYS = ("name", "letter", "group", "passed", "loss", "failed", "params", "evaluations")


def _missing_result_keys(data: Mapping[str, Any]) -> list[str]:
    """The entries of ``results.json`` data that a reader needs and that are missing or of the wrong kind."""
    missing = [k for k, kind in RESULT_KEYS.items() if not isinstance(data.get(k), kind)]
    if isinstance(data.get("score"), dict):
        missing += [f"score.{k}" for k in SCORE_KEYS if k not in data["score"]]
    for i, p in enumerate(data.get("patterns") if isinstance(data.get("patterns"), list) else []):
        missing += [f"patterns[{i}]"] if not isinstance(p, dict) else [
            f"patterns[{i}].{k}" for k in PATTERN_KEYS if k not in p
        ]
    return missing


def read_results(path: str | os.PathLike) -> dict:
    """The ``results.json`` of a run directory (or the file itself) as plain data, its
    ``schema_version`` and the entries readers need checked (a DamagedFileError names any missing)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS
    if not path.is_file():
        raise RunDirectoryError(f"No results at {str(path)!r} (an unfinished run? resume it first)")
    remedy = "restore it, or delete it and resume the run (--resume) to write it again"
    data = read_json(path, remedy)
    _check_schema(data, path)
    missing = _missing_result_keys(data)
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise DamagedFileError(f"{str(path)!r} is damaged: it lacks {shown}; {remedy}")
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
    "csv_text",
    "RunDirectoryError",
    "dumps",
    "fingerprint",
    "plain",
    "read_json",
    "read_results",
    "read_summary",
    "settings_differences",
    "strip_timings",
    "write_atomic",
    "write_json",
]
