"""The suite tests any vendor's implementation over the wire only: creditx.conformance imports
creditx.standard, creditx.pki and creditx.v1 (and the dispatcher's output helpers), never our
gateway, node or demo."""

from __future__ import annotations

import ast
from pathlib import Path

import creditx.conformance

ALLOWED = ("creditx.standard", "creditx.pki", "creditx.v1", "creditx.conformance", "creditx.cli.output")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n == "creditx" or n.startswith("creditx.")}


def test_the_suite_imports_only_the_standard_the_pki_and_the_wire():
    files = sorted(Path(creditx.conformance.__file__).parent.glob("*.py"))
    assert len(files) >= 9
    bad = {
        f.name: sorted(n for n in _imports(f) if not any(n == a or n.startswith(a + ".") for a in ALLOWED))
        for f in files
    }
    assert not {k: v for k, v in bad.items() if v}, bad
