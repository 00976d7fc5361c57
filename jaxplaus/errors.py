"""What can go wrong, as three kinds of error with the command line's exit status.

- :class:`UserInputError` (exit 2): bad input, an option, a parameter or a file the user gave
  (:class:`DamagedFileError`: a run-directory file that cannot be read as what it should be).
  A ValueError too, so library callers catching ValueError keep working.
- :class:`EnvironmentFailure` (exit 1): the machine refused, through no fault of the input: a
  file could not be written (no space, read-only, no permission), memory ran out, another
  process holds the run directory (:class:`RunLockedError`).

Every message is one line that names the file or value and says what to do.
:func:`from_os_error` turns an OSError into an :class:`EnvironmentFailure` saying so.
"""

from __future__ import annotations

import errno

BAD_INPUT = 2
ENVIRONMENT = 1


class JaxplausError(Exception):
    """An error jaxplaus reports to the user as one line; ``exit_code`` is the CLI's status."""

    exit_code = ENVIRONMENT


class UserInputError(JaxplausError, ValueError):
    """Bad input (an option, a parameter, a file): exit 2."""

    exit_code = BAD_INPUT


class DamagedFileError(UserInputError):
    """A run-directory file that cannot be read as what it should be (truncated, edited, foreign)."""


class EnvironmentFailure(JaxplausError):
    """The machine refused (disk full, read-only, no permission, out of memory): exit 1."""

    exit_code = ENVIRONMENT


class RunLockedError(EnvironmentFailure):
    """Another process is writing the run directory."""


_ADVICE = {
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space (disk quota exceeded)",
    errno.EROFS: "the file system is read-only: choose a writable location",
    errno.EACCES: "no permission: choose a location you can write to",
    errno.EPERM: "not permitted: choose a location you can write to",
    errno.ENOENT: "a folder on the way does not exist or cannot be created there: choose another location",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another location",
}


def from_os_error(err: OSError, then: str = "") -> EnvironmentFailure:
    """An :class:`EnvironmentFailure` for ``err``: the file, the system's reason, the advice for
    that reason, then ``then`` (e.g. ``"then continue with: ... --resume"``)."""
    where = f"{str(err.filename)!r}: " if err.filename else ""
    reason = err.strerror or str(err) or type(err).__name__
    advice = _ADVICE.get(err.errno, "check the location and try again")
    return EnvironmentFailure(f"{where}{reason}; {advice}" + (f", {then}" if then else ""))


__all__ = [
    "BAD_INPUT",
    "ENVIRONMENT",
    "DamagedFileError",
    "EnvironmentFailure",
    "JaxplausError",
    "RunLockedError",
    "UserInputError",
    "from_os_error",
]
