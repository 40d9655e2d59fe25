"""introbot's own code, parsed once per test process.

Several tests read the source rather than run it (the layers, where names come from, what
Windows lacks, who imports psycopg). Each used to parse the ~90 modules and walk every node
again; they share these trees instead. The trees are read-only: never change one.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import introbot

PACKAGE = Path(introbot.__file__).parent


@functools.cache
def package_files() -> tuple[Path, ...]:
    """Every module of the package, in a stable order."""
    return tuple(sorted(PACKAGE.rglob("*.py")))


@functools.cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@functools.cache
def nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of the file, in ``ast.walk``'s order."""
    return tuple(ast.walk(tree(path)))


@functools.cache
def imported(path: Path) -> tuple[str, ...]:
    """The modules named by each import statement: ``import a.b`` gives ``a.b``, ``from a
    import b`` gives ``a``; ``from . import b`` names no module and gives nothing."""
    names: list[str] = []
    for node in nodes(path):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return tuple(names)
