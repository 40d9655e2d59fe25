"""Rules of the house that code review alone would let slip."""

from __future__ import annotations

import ast
from pathlib import Path

import introbot

PACKAGE = Path(introbot.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_only_the_gmail_client_imports_googleapiclient() -> None:
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(m.split(".")[0] == "googleapiclient" for m in _imported_modules(path))
    }
    assert importers == {"gmail/client.py"}
