"""XLA's fused multiply-add: whether it is off in this process, and the cross-check with it on or off
in a fresh Python (:func:`run_probe`).

XLA on CPU contracts ``a + b*c`` into an FMA, torch does not, so by default voltages drift apart
by a few ulps per step. With ``XLA_FLAGS=--xla_cpu_max_isa=AVX`` set before jax is imported there
is no FMA and LIF and Izhikevich agree with Norse bit for bit. The flag only acts if set before jax
is imported, so a no-FMA check runs in a fresh Python (:func:`subprocess_env`, :func:`run_probe`,
which runs ``python -m norse_bridge.probe``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence

NO_FMA_FLAG = "--xla_cpu_max_isa=AVX"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the directory that holds norse_bridge


def fma_disabled() -> bool:
    """Whether XLA_FLAGS caps the CPU ISA below AVX2 (no fused multiply-add in XLA's CPU code).

    Only meaningful if the variable was set before jax was imported.
    """
    m = re.search(r"--xla_cpu_max_isa=(\w+)", os.environ.get("XLA_FLAGS", ""))
    return bool(m) and m.group(1).upper() in ("AVX", "SSE4_2")


def mode() -> str:
    """This process's mode, as the reports name it."""
    return "no-FMA (XLA_FLAGS " + NO_FMA_FLAG + ")" if fma_disabled() else "default (XLA FMA on)"


def subprocess_env(*, fma: bool) -> dict[str, str]:
    """This process's environment for a fresh Python that runs norse_bridge with XLA's FMA on
    (``fma=True``) or off: any ``--xla_cpu_max_isa`` in XLA_FLAGS replaced (by :data:`NO_FMA_FLAG`
    when off), and :data:`ROOT` first on PYTHONPATH."""
    env = dict(os.environ)
    flags = re.sub(r"--xla_cpu_max_isa=\S+", "", env.get("XLA_FLAGS", "")).strip()
    env["XLA_FLAGS"] = flags if fma else (flags + " " + NO_FMA_FLAG).strip()
    if not env["XLA_FLAGS"]:
        env.pop("XLA_FLAGS")
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_probe(
    models: Sequence[str] = ("lif", "izhikevich"),
    n: int = 200,
    seed: int = 0,
    *,
    fma: bool = False,
    protocols: Sequence[str] | None = None,
    flush_denormal: bool = False,
    cache_dir: str | None = None,
    timeout: float = 600,
) -> dict[str, dict]:
    """Run :func:`~norse_bridge.protocols.crosscheck_protocols` in a fresh Python with
    (``fma=False``) or without the flag.

    ``cache_dir``: JAX's persistent compilation cache for the subprocess (its key includes
    XLA_FLAGS, so FMA and no-FMA kernels never mix). Returns ``model -> ProtocolTable.to_dict()``
    (plus ``"seconds"``).
    """
    env = subprocess_env(fma=fma)
    cmd = [sys.executable, "-m", "norse_bridge.probe", "--n", str(n), "--seed", str(seed), "--models", *models]
    if protocols:
        cmd += ["--protocols", *protocols]
    if flush_denormal:
        cmd.append("--flush-denormal")
    if cache_dir:
        env["JAXPLAUS_CACHE_DIR"] = str(cache_dir)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"probe failed (rc {out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


__all__ = ["NO_FMA_FLAG", "fma_disabled", "mode", "run_probe", "subprocess_env"]
