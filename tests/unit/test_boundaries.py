"""The layers of docs/architecture.md, held by reading the code itself.

All SQL lives in chat_server/store; services get typed records from it; web/ reaches the
store only through services. Each rule is checked on the parsed source, so a violation names
the file and line that broke it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import chat_server
import chat_server.store

PACKAGE = Path(chat_server.__file__).parent
DRIVERS = {"sqlite3", "aiosqlite", "psycopg", "psycopg_pool"}
# Uppercase SQL as the store writes it: a statement, not English prose.
SQL = re.compile(
    r"\b(SELECT\s+[\w*(].*\bFROM\b|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b"
    r"|CREATE\s+(TABLE|INDEX)\b|PRAGMA\s+\w+)",
    re.DOTALL,
)
DB_CALLS = {"execute", "executemany", "fetch_all", "fetch_one", "reader"}


def _modules(under: str = "") -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((PACKAGE / under).rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        yield rel, ast.parse(path.read_text(encoding="utf-8"), rel)


def _imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module


def _docstrings(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _outside_store() -> Iterator[tuple[str, ast.Module]]:
    for rel, tree in _modules():
        if not rel.startswith("chat_server/store/"):
            yield rel, tree


def test_only_the_store_imports_a_database_driver() -> None:
    found = [
        f"{rel}:{line} imports {name}"
        for rel, tree in _outside_store()
        for line, name in _imports(tree)
        if name.split(".")[0] in DRIVERS
    ]
    assert found == []


def test_web_reaches_the_store_only_through_services() -> None:
    found = [
        f"{rel}:{line} imports {name}"
        for rel, tree in _modules("web")
        for line, name in _imports(tree)
        if name == "chat_server.store" or name.startswith("chat_server.store.")
    ]
    assert found == []


def test_no_sql_text_outside_the_store() -> None:
    found = []
    for rel, tree in _outside_store():
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and SQL.search(node.value)
            ):
                found.append(f"{rel}:{node.lineno}: {node.value[:60]!r}")
    assert found == []


def test_no_statements_or_raw_reads_outside_the_store() -> None:
    found = []
    for rel, tree in _outside_store():
        # Redis pipelines have an execute() of their own.
        if rel.startswith("chat_server/bus/"):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in DB_CALLS
            ):
                found.append(f"{rel}:{node.lineno} calls .{node.func.attr}()")
    assert found == []


def _store_functions() -> Iterator[tuple[str, object]]:
    for info in pkgutil.iter_modules(chat_server.store.__path__):
        module = importlib.import_module(f"chat_server.store.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{module.__name__}.{name}", fn


def test_store_functions_return_typed_records() -> None:
    loose = re.compile(r"\bRow\b|dict\[str, Any\]|^Any$|\[Any\]|sqlite3\.")
    found = []
    for name, fn in _store_functions():
        returns = inspect.signature(fn).return_annotation  # type: ignore[arg-type]
        text = returns if isinstance(returns, str) else getattr(returns, "__name__", "")
        if loose.search(str(text)):
            found.append(f"{name} -> {text}")
    assert found == []


def test_the_checks_see_violations() -> None:
    """The scanners above would catch the forms they look for (a guard against a check that
    can never fail)."""
    tree = ast.parse(
        "import sqlite3\nfrom chat_server.store import rooms\n"
        "q = 'SELECT id FROM rooms WHERE x = ?'\ndb.fetch_all(q)\n"
    )
    assert {name for _, name in _imports(tree)} == {"sqlite3", "chat_server.store"}
    constants = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert any(isinstance(c, str) and SQL.search(c) for c in constants)
    calls = [
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    ]
    assert "fetch_all" in calls
    assert not SQL.search("Select a room from the list, then update the settings.")
