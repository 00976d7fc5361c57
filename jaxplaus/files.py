"""Plain-data files: strict JSON, CSV, atomic writes with one file mode, and a lock on a directory.

Every file jaxplaus writes goes through :func:`write_atomic`: a temporary file in the same
directory, flushed and fsync'ed, then ``os.replace``'d over the target (and the directory
fsync'ed), so a reader sees the old file or the new one, never a torn one; a failed write leaves
the old file byte-identical and no temporary file behind. Every file gets the same mode, the one
a plain ``open(path, "w")`` would give (``0o666`` less the umask).

:func:`read_json` reads plain data only (nothing is executed); a file that is not valid JSON is a
:class:`~jaxplaus.errors.DamagedFileError` naming it. :func:`locked` holds an exclusive
``flock`` on a directory's lock file while a block runs.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from jaxplaus.errors import DamagedFileError, RunLockedError

TIMING_KEYS = ("timing",)  # what differs between two runs of the same settings: see strip_timings
LOCK = ".lock"  # the lock file of a directory being written (see locked)


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


def file_mode() -> int:
    """The mode of every file jaxplaus writes: what ``open(path, "w")`` gives (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically, with mode :func:`file_mode`: a temporary file in the
    same directory, fsync, ``os.replace``. Returns the path.

    On any failure (an OSError such as a full disk included) the old file, if any, is left
    byte-identical, the temporary file is removed, and the error is raised (an OSError then
    names ``path``).
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:  # name the file asked for, not the temporary one
        raise OSError(err.errno, err.strerror or str(err), str(path)) from err
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), file_mode())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):  # name the file asked for (a failed write names none, a replace the temporary)
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise
    _fsync_dir(path.parent)
    return path


def write_json(path, obj) -> Path:
    return write_atomic(path, dumps(obj))


def read_json(path, remedy: str = "restore it from a copy") -> Any:
    """Parse a JSON file (plain data; nothing is executed).

    Raises:
        DamagedFileError: the file is not valid UTF-8 JSON (truncated, edited); the message names
            it and ends with ``remedy``.
    """
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DamagedFileError(f"{str(path)!r} is damaged: not valid JSON ({err}); {remedy}") from None


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



# ============================================================================ the lock


def _holder(fd: int) -> str:
    text = os.pread(fd, 64, 0).decode("ascii", errors="replace").strip()
    return text if text.isdigit() else "unknown"


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _acquire(directory: Path, attempts: int = 5) -> int:
    """An fd holding the flock of ``directory/.lock``, with this pid written in it."""
    path = directory / LOCK
    for _ in range(attempts):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, file_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise RunLockedError(
                f"{str(directory)!r} is in use by another jaxplaus process (pid {holder}) writing it; "
                "wait for it to finish (or stop it), then try again"
            ) from None
        if _same_file(fd, path):  # not a file its last holder removed while we opened it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            return fd
        os.close(fd)
    raise RunLockedError(f"{str(directory)!r}: its lock file keeps changing (other jaxplaus processes?); try again")


@contextlib.contextmanager
def locked(directory: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``directory/.lock`` (with this process's pid in it) while
    the block runs; yields the lock file's path. The file is removed when the block ends.

    The kernel releases the lock when the process ends, however it ends (``kill -9``
    included), so a crashed run never leaves its directory locked (its ``.lock`` file stays,
    unlocked, and the next writer takes it).

    Raises:
        RunLockedError: another process holds the lock; the message names its pid.
    """
    directory = Path(directory)
    fd = _acquire(directory)
    try:
        yield directory / LOCK
    finally:
        with contextlib.suppress(OSError):
            os.unlink(directory / LOCK)  # still holding the lock: a waiter re-checks the file (_same_file)
        os.close(fd)


__all__ = ["LOCK", "TIMING_KEYS", "csv_text", "dumps", "file_mode", "locked", "plain", "read_json", "strip_timings",
           "write_atomic", "write_json"]
