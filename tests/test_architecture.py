"""Rules of the house that code review alone would let slip."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from tests import sources

PACKAGE = sources.PACKAGE


@functools.cache
def _imported_modules(path: Path) -> frozenset[str]:
    """Every module a file imports, at the top or inside a function; ``from introbot import
    store`` counts as ``introbot.store``."""
    found: set[str] = set()
    for node in sources.nodes(path):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return frozenset(found)


def test_only_the_gmail_client_imports_googleapiclient() -> None:
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in sources.package_files()
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
    sync = _imported_modules(PACKAGE / "sync.py")
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


# ------------------------------------------------------------------------------ the layers
def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


_SOURCES = {_module_name(p): p for p in sources.package_files()}


def _reaches(module: str) -> set[str]:
    """The introbot modules ``module`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for name in _imported_modules(_SOURCES[todo.pop()]):
            if name in _SOURCES and name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def _under(name: str, prefixes: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


#: Decide or read from values alone: time is an argument, mail is bytes.
PURE = {
    "introbot.workflow",
    "introbot.compose",
    "introbot.matching",
    "introbot.model",
    "introbot.redaction",
    "introbot.writing",
    "introbot.rules",
} | {name for name in _SOURCES if _under(name, {"introbot.reading"})}

#: What no pure module reaches, even through another introbot module.
IMPURE_LAYERS = {
    "introbot.store",
    "introbot.gmail",
    "introbot.engine",
    "introbot.app",
    "introbot.daemon",
    "introbot.cli",
    "introbot.sandbox",
}
#: What no pure module imports itself (the standard library's own use of them is fine).
IMPURE_LIBRARIES = {
    "sqlite3",
    "psycopg",
    "time",
    "googleapiclient",
    "google",
    "httplib2",
    "socket",
    "http",
    "urllib.request",
    "subprocess",
    "threading",
}
_CLOCK = {"now", "utcnow", "today", "monotonic", "perf_counter"}


def test_pure_modules_reach_no_store_gmail_sqlite_or_clock() -> None:
    assert len(PURE) > 10  # the list above found its modules
    for module in sorted(PURE):
        path = _SOURCES[module]
        reached = {m for m in _reaches(module) if _under(m, IMPURE_LAYERS)}
        assert not reached, f"{module} reaches {reached}"
        direct = {m for m in _imported_modules(path) if _under(m, IMPURE_LIBRARIES)}
        assert not direct, f"{module} imports {direct}"
        clocks = [
            f"line {node.lineno}: .{node.attr}"
            for node in sources.nodes(path)
            if isinstance(node, ast.Attribute) and node.attr in _CLOCK
        ]
        assert not clocks, f"{module} reads the clock ({clocks}): take the time as an argument"


#: gmail/ is Gmail traffic only: it knows nothing of intros, their store or their readers.
NOT_GMAIL = {
    "introbot.store",
    "introbot.reading",
    "introbot.engine",
    "introbot.workflow",
    "introbot.matching",
    "introbot.model",
    "introbot.rules",
    "introbot.app",
    "introbot.cli",
}


def test_gmail_knows_nothing_of_intros() -> None:
    """No exceptions: turning Gmail's history into observations is ``introbot/sync.py``'s,
    outside gmail/."""
    modules = sorted(n for n in _SOURCES if _under(n, {"introbot.gmail"}))
    assert "introbot.gmail.client" in modules
    for module in modules:
        reached = {m for m in _reaches(module) if _under(m, NOT_GMAIL)}
        assert not reached, f"{module} reaches {reached}"


def test_sync_is_outside_gmail_and_talks_to_gmail_through_the_client() -> None:
    """sync.py turns history into observations, outside gmail/: it reaches Gmail through
    gmail/client.py, never googleapiclient itself."""
    assert "introbot.gmail.sync" not in _SOURCES
    imported = _imported_modules(_SOURCES["introbot.sync"])
    assert "introbot.gmail.client" in imported
    assert not {m for m in imported if _under(m, {"googleapiclient", "httplib2"})}


def test_nothing_below_the_command_line_imports_it() -> None:
    """cli/ is the top: the rest of introbot never imports it (``python -m introbot``
    is its entry point)."""
    for module, path in _SOURCES.items():
        if _under(module, {"introbot.cli"}) or module == "introbot.__main__":
            continue
        clash = {m for m in _imported_modules(path) if _under(m, {"introbot.cli"})}
        assert not clash, f"{module} imports {clash}"


def test_the_sandbox_shares_only_gmails_quota_table_with_introbot() -> None:
    for module in (n for n in _SOURCES if _under(n, {"introbot.sandbox"})):
        outside = {
            m
            for m in _reaches(module)
            if not _under(m, {"introbot.sandbox", "introbot.gmail.quota"})
        }
        assert not outside, f"{module} reaches {outside}"


# ------------------------------------------------------------------ the bottom layer
#: Text and address primitives, HTML to text, phrase matching: what every reader and writer
#: builds on. They import nothing of introbot but one another.
BOTTOM = {
    "introbot.reading.text",
    "introbot.reading.addresses",
    "introbot.reading.html_text",
    "introbot.reading.phrases",
    "introbot.reading.visible",
    "introbot.reading.sentences",
}


def test_the_bottom_layer_imports_nothing_of_introbot_but_itself() -> None:
    assert set(_SOURCES) >= BOTTOM
    for module in sorted(BOTTOM):
        imported = {m for m in _imported_modules(_SOURCES[module]) if m.split(".")[0] == "introbot"}
        outside = {m for m in imported if not _under(m, BOTTOM)}
        assert not outside, f"{module} imports {outside}: the bottom layer imports only itself"


@functools.cache
def _top_level_names(path: Path) -> frozenset[str]:
    """What a module defines itself: its functions, classes and assigned names (an imported
    name is not among them)."""
    names: set[str] = set()
    todo = list(sources.tree(path).body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.If | ast.Try):  # still the module's own level
            todo += [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            todo += [s for handler in getattr(node, "handlers", []) for s in handler.body]
    return frozenset(names)


#: Names a module may pass on from another besides those its ``__all__`` declares, and why:
#: the domain names the one person type, which lives in the bottom layer (addresses are
#: read into it).
PASSED_ON = {"introbot.model": {"Person", "address_key"}}


@functools.cache
def _declared(path: Path) -> frozenset[str]:
    """The names a module's ``__all__`` lists (a package naming its parts)."""
    for node in sources.tree(path).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            return frozenset(str(e.value) for e in node.value.elts if isinstance(e, ast.Constant))
    return frozenset()


def _imports_through(path: Path) -> set[str]:
    """``module.name`` for each name this file imports from a module of introbot that only
    imported it (``from introbot.reading.mime import clean_line``, or ``mime.clean_line``
    after ``from introbot.reading import mime``)."""
    wrong: set[str] = set()
    aliases: dict[str, str] = {}  # a name in this file -> the introbot module it is

    def check(module: str, name: str) -> None:
        if name.startswith("__") or name in PASSED_ON.get(module, set()):
            return  # a module's own attributes (__file__), or a name passed on by design
        if name not in _top_level_names(_SOURCES[module]) | _declared(_SOURCES[module]):
            wrong.add(f"{module}.{name}")

    attributes: list[ast.Attribute] = []
    for node in sources.nodes(path):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            attributes.append(node)
        elif isinstance(node, ast.ImportFrom) and node.module in _SOURCES:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in _SOURCES:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                else:
                    check(node.module, alias.name)
        elif isinstance(node, ast.Import):
            aliases |= {a.asname: a.name for a in node.names if a.asname and a.name in _SOURCES}
    for attribute in attributes:
        assert isinstance(attribute.value, ast.Name)
        module = aliases.get(attribute.value.id)
        if module is not None and f"{module}.{attribute.attr}" not in _SOURCES:
            check(module, attribute.attr)
    return wrong


def test_names_are_imported_from_where_they_are_defined() -> None:
    """Nothing reaches a primitive through the module that happens to use it (mime.py
    parses RFC 822; its text, address and HTML helpers are the bottom layer's): each name
    comes from the module that defines it, its package's ``__all__``, or PASSED_ON."""
    files = [*sources.package_files(), *(PACKAGE.parent / "tests").rglob("*.py")]
    wrong = {f"{p.relative_to(PACKAGE.parent)}: {n}" for p in files for n in _imports_through(p)}
    assert not wrong, sorted(wrong)


def test_the_names_passed_on_are_still_passed_on() -> None:
    for module, names in PASSED_ON.items():
        assert not names & _top_level_names(_SOURCES[module]), module  # defined there now
        passed = {
            alias.asname or alias.name
            for node in sources.nodes(_SOURCES[module])
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert names <= passed, f"{module} no longer imports {names - passed}"


def test_one_type_for_a_person() -> None:
    """A name and an address are a Person (reading/addresses.py), never a second class of
    the same shape beside it."""
    shapes = []
    for path in sources.package_files():
        for node in sources.nodes(path):
            if isinstance(node, ast.ClassDef):
                fields = {
                    s.target.id
                    for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                }
                if {"name", "email"} <= fields and len(fields) <= 3:
                    shapes.append(f"{path.relative_to(PACKAGE).as_posix()}:{node.name}")
    assert shapes == ["reading/addresses.py:Person"]


def _readme_tree() -> set[str]:
    """The paths the README's Development tree names (``introbot/reading/mime.py``, ...):
    an entry is a word ending in ``.py`` or ``/``, indented two spaces a level."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("\n## Development\n", 1)[1].split("```", 2)[1]
    named: set[str] = set()
    stack: list[str] = []
    for line in block.splitlines():
        words = line.split()
        indent = len(line) - len(line.lstrip(" "))
        if not words or indent >= 16 or not words[0].endswith((".py", "/")):
            continue  # a description, or its continuation
        stack[indent // 2 :] = [words[0]]
        named.add("".join(stack))
    return named


def test_the_readme_names_every_module() -> None:
    """A newcomer finds every module in the README's architecture tree, and no module that
    has gone."""
    modules = {
        "introbot/" + p.relative_to(PACKAGE).as_posix()
        for p in sources.package_files()
        if p.name != "__init__.py"
    }
    named = {n for n in _readme_tree() if n.startswith("introbot/") and n.endswith(".py")}
    assert not modules - named, f"not in the README's tree: {sorted(modules - named)}"
    assert not named - modules, f"in the README's tree but gone: {sorted(named - modules)}"
