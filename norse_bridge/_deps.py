"""Lazy access to torch and Norse: nothing here imports them until a function needs them."""

from __future__ import annotations

import importlib
import importlib.util

INSTALL_HINT = 'pip install "jaxplaus[norse]"'
NORSE_VERSION = "1.1.0"  # the version the bridge and shared/spec/norse-reference.md were checked against


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # e.g. sys.modules[name] is None: import of it is blocked
        return False


def available() -> bool:
    """True when both torch and norse can be imported (checked without importing them)."""
    return all(_installed(name) for name in ("torch", "norse"))


def require():
    """Import and return ``(torch, norse)``, or raise an ImportError that says how to install them."""
    missing = [name for name in ("torch", "norse") if not _installed(name)]
    if missing:
        raise ImportError(
            f"norse_bridge needs {' and '.join(missing)} (the Norse reference): {INSTALL_HINT} "
            f"(Norse {NORSE_VERSION} with torch 2.13.0, CPU build)"
        )
    try:
        torch = importlib.import_module("torch")
        norse = importlib.import_module("norse")
        importlib.import_module("norse.torch")
    except ImportError as err:  # installed but broken (e.g. a mismatched torch build)
        raise ImportError(f"norse_bridge could not import Norse ({err}); reinstall with: {INSTALL_HINT}") from err
    return torch, norse
