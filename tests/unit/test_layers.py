"""The layers, read from the source: the domain and the services import no storage
adapter and no database driver, and run no SQL.

Each module is parsed with ``ast`` (nothing is imported), so that what is checked is
what the file says, including imports made only for type checking or inside functions.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ayra_tickets"

DRIVERS = ("sqlite3", "sqlite_utils", "psycopg", "psycopg_pool", "psycopg2", "asyncpg")
ADAPTERS = ("ayra_tickets.storage.sqlite", "ayra_tickets.storage.postgres")
FORBIDDEN = DRIVERS + ADAPTERS
"""What the domain, the services and the wire layer must never import."""

DOMAIN_MAY_IMPORT = ("attrs", "dateutil", "ayra_tickets.domain", "ayra_tickets.extras")
"""Besides the standard library: the domain is pure. (``extras`` imports an optional
extra, pandas, when the figures are asked for as data frames, or says how to install it.)"""

RUNS_SQL = ("execute", "executemany", "executescript")
SQL = re.compile(
    r"\bSELECT\b.+\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\bPRAGMA\s+\w+|\b(CREATE|DROP|ALTER)\s+(TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|\bBEGIN(\s+IMMEDIATE)?\s*$|^\s*(COMMIT|ROLLBACK)\b",
    re.DOTALL,
)
"""A string that reads as a statement (upper-case keywords, as this project writes SQL)."""


def modules_of(*parts: str) -> list[Path]:
    found = []
    for part in parts:
        path = PACKAGE / part
        found += sorted(path.glob("*.py")) if path.is_dir() else [path]
    return found


DOMAIN = modules_of("domain")
SERVICES = modules_of("service.py", "wire.py", "transfer.py")
SERVICES += modules_of("webhooks.py")
SERVICES += modules_of("escalation.py")
SERVICES += modules_of("routing.py")
SERVICES += modules_of("sync.py")
NEUTRAL_STORAGE = modules_of("storage/__init__.py", "storage/port.py", "storage/errors.py")
NEUTRAL_STORAGE += modules_of("storage/findings.py")


def dotted(path: Path) -> str:
    """The module's name: ``ayra_tickets.domain.ticket``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """Every module the file imports (line, absolute name)."""
    package = dotted(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    return imports_in(path.read_text(encoding="utf-8"), ".".join(package))


def imports_in(source: str, package: str) -> Iterator[tuple[int, str]]:
    """Every module ``source`` (a module of ``package``) imports: relative imports
    resolved, and for ``from X import Y`` both ``X`` and ``X.Y`` (Y may be a module)."""
    tree = ast.parse(source)
    anchors = package.split(".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = anchors[: len(anchors) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of a module, its classes and its functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sql_run(path: Path) -> list[str]:
    """Where the file runs a statement (a call of ``execute``...) or holds one."""
    return sql_in(path.read_text(encoding="utf-8"))


def sql_in(source: str) -> list[str]:
    tree = ast.parse(source)
    skipped = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RUNS_SQL
        ):
            found.append(f"line {node.lineno}: calls .{node.func.attr}(...)")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skipped
            and SQL.search(node.value)
        ):
            found.append(f"line {node.lineno}: holds SQL {node.value[:60]!r}")
    return found


def name_of(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", DOMAIN + SERVICES + NEUTRAL_STORAGE, ids=name_of)
def test_the_domain_the_services_and_the_port_import_no_adapter_and_no_driver(
    path: Path,
) -> None:
    wrong = [f"line {line}: {name}" for line, name in imported(path) if within(name, FORBIDDEN)]
    assert not wrong, f"{name_of(path)} imports what only an adapter may: {wrong}"


@pytest.mark.parametrize("path", DOMAIN + SERVICES + NEUTRAL_STORAGE, ids=name_of)
def test_the_domain_the_services_and_the_port_run_no_sql(path: Path) -> None:
    found = sql_run(path)
    assert not found, f"{name_of(path)} runs SQL: {found}"


@pytest.mark.parametrize("path", DOMAIN, ids=name_of)
def test_the_domain_imports_only_the_standard_library_attrs_and_dateutil(path: Path) -> None:
    wrong = [
        f"line {line}: {name}"
        for line, name in imported(path)
        if not within(name, DOMAIN_MAY_IMPORT)
        and name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] != "__future__"
    ]
    assert not wrong, f"{name_of(path)} reaches out of the domain: {wrong}"


PROBE = '''
import sqlite3
from ..storage.sqlite import rows
from ..storage import sqlite


def f(conn):
    """SELECT * FROM tickets: a docstring may say so."""
    conn.execute("DELETE FROM tickets")
    return "PRAGMA data_version"
'''


def test_the_walk_sees_what_it_looks_for() -> None:
    """The checks themselves: a module that does what is forbidden is caught."""
    names = {name for _, name in imports_in(PROBE, "ayra_tickets.domain")}
    assert {"sqlite3", "ayra_tickets.storage.sqlite.rows", "ayra_tickets.storage.sqlite"} <= names
    assert len(sql_in(PROBE)) == 3  # the call, its statement and the pragma; not the doc
