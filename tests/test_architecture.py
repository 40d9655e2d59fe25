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


def test_reading_is_pure() -> None:
    """reading/ turns bytes into values: no Gmail, no database, no clock, no network."""
    forbidden = {
        "googleapiclient",
        "httplib2",
        "sqlite3",
        "socket",
        "urllib.request",
        "http",
        "introbot.gmail",
        "introbot.store",
        "time",
    }
    for path in (PACKAGE / "reading").rglob("*.py"):
        imported = _imported_modules(path)
        clash = {m for m in imported for f in forbidden if m == f or m.startswith(f + ".")}
        assert not clash, f"{path.name} imports {clash}"


def test_matching_is_pure() -> None:
    """matching.py decides from values: no Gmail, no database, no clock, and no reader (a
    verdict is not evidence of ownership)."""
    forbidden = {"googleapiclient", "sqlite3", "socket", "time", "introbot.gmail"}
    forbidden |= {"introbot.store", "introbot.reading", "introbot.engine", "urllib", "http"}
    path = PACKAGE / "matching.py"
    imported = _imported_modules(path)
    clash = {m for m in imported for f in forbidden if m == f or m.startswith(f + ".")}
    assert not clash, f"matching.py imports {clash}"
    source = path.read_text(encoding="utf-8")
    assert ".now(" not in source and "today(" not in source
    sync = _imported_modules(PACKAGE / "gmail" / "sync.py")
    assert "introbot.matching" in sync


def test_every_subpackage_is_packaged() -> None:
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    found = {
        "introbot"
        + ("." + ".".join(p.parent.relative_to(PACKAGE).parts) if p.parent != PACKAGE else "")
        for p in PACKAGE.rglob("__init__.py")
    }
    assert found <= listed
