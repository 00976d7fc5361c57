"""Compare two finished run directories: are their results the same, timings and versions aside?

    python scripts/compare_runs.py RUN_A RUN_B

Reads each ``results.json`` (plain JSON; nothing is executed), drops what legitimately differs
between two runs of the same settings (``timing`` at any depth, ``versions``) and lists every
other difference by its path. Exit status 0 when the results are identical, 1 when they differ.
Used to show that a change of code changes no result (see docs/development.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

IGNORED = ("timing", "versions")


def _load(path: str) -> dict:
    p = Path(path)
    return json.loads((p / "results.json" if p.is_dir() else p).read_text())


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in IGNORED}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def differences(a, b, path: str = "") -> list[str]:
    """Every path at which ``a`` and ``b`` differ (values compared exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            if k not in b or k not in a:
                out.append(f"{path}/{k}: only in {'A' if k in a else 'B'}")
            else:
                out.extend(differences(a[k], b[k], f"{path}/{k}"))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items against {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} against {b!r}"]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    found = differences(_strip(_load(argv[0])), _strip(_load(argv[1])))
    for line in found[:50]:
        print(line)
    print(f"{argv[0]} and {argv[1]}: " + ("identical results" if not found else f"{len(found)} differences"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
