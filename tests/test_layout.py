"""The code's shape: no module over 400 lines, no function over 80 (the scan kernels excepted).

A function that does not fit on a screen is two functions; a module that long holds more than one
concern. This keeps the reshaping of the pipeline (issue "One shape for the pipeline") from
eroding.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("jaxplaus", "norse_bridge")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# the scan kernels: one sample of the feature record, written out in full on purpose
KERNELS = {("jaxplaus/patterns/features.py", "_update_post"), ("jaxplaus/patterns/features.py", "_update_window")}


def _modules():
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path):
    text = path.read_text()
    rel = str(path.relative_to(ROOT))
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{rel} has {len(text.splitlines())} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
        and (rel, node.name) not in KERNELS
    ]
    assert not long, f"{rel}: functions over {MAX_FUNCTION_LINES} lines: {long}"
