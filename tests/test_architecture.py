"""The layout's rules, read from the source: what each floor may import, where SQL lives, typed rows.

These hold the house together as areas are added (CONTRIBUTING.md): a new module that breaks
one fails here with its file and line, not in a reviewer's memory.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bot.handlers import message_routing

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
QUERY_METHODS = {"fetch", "fetchrow", "fetchval", "execute", "executemany", "copy_records_to_table"}


def python_files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_no_test_file_imports_another() -> None:
    """Shared helpers live in tests/helpers; a test file is never a library for another."""
    found = [
        f"{where(path, line)} imports {name}"
        for path in python_files(ROOT / "tests")
        for line, name in imports(parsed(path))
        if name.startswith(("tests.test_", "tests.conftest"))
    ]
    assert found == []


def test_sql_lives_in_app_db_only() -> None:
    """Queries are named functions in app/db; nothing else talks SQL to the pool."""
    found = []
    for path in python_files(APP):
        if path.is_relative_to(APP / "db") or path.is_relative_to(APP / "sandbox"):
            continue  # the sandbox keeps its own world in SQLite, apart from Bozor's database
        for node in ast.walk(parsed(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in QUERY_METHODS
                and node.args
                and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
            ):
                found.append(where(path, node.lineno))
    assert found == []


@pytest.mark.parametrize("floor", ["domain", "db"])
def test_the_inner_floors_never_import_the_outer_ones(floor: str) -> None:
    """Arrows point one way: bot/web/scheduler -> domain -> db. The domain knows no Telegram
    library and no web framework; the queries know no business rule."""
    banned = (
        "aiogram",
        "aiohttp",
        "app.bot",
        "app.web",
        "app.scheduler",
        "app.sandbox",
        "app.cli",
        "app.main",
    )
    if floor == "db":
        banned += ("app.domain",)
    found = [
        f"{where(path, line)} imports {name}"
        for path in python_files(APP / floor)
        for line, name in imports(parsed(path))
        if name.startswith(banned)
    ]
    assert found == []


def test_queries_return_typed_records_not_rows() -> None:
    """Handlers and templates never see an asyncpg.Record: every public query returns a typed
    record, a plain value or None."""
    found = []
    for path in python_files(APP / "db" / "queries"):
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and not node.name.startswith("_"):
                returns = ast.unparse(node.returns) if node.returns else ""
                if "Record" in returns:
                    found.append(f"{where(path, node.lineno)} {node.name} -> {returns}")
    assert found == []


def test_messages_are_offered_to_the_areas_in_the_stated_order() -> None:
    """A wizard step is answered before anything else looks at the message; the fallback last."""
    order = message_routing().order
    # The whole sequence, pinned: a new destination or a changed stage must be a decision.
    assert [(stage.name, name) for stage, name in order] == [
        ("PAYMENT", "promotion: a successful payment"),
        ("FLOW_STEP", "ad wizard: a photo"),
        ("FLOW_STEP", "ad wizard: an answer"),
        ("FLOW_STEP", "ad wizard: anything else"),
        ("FLOW_STEP", "reject flow: the typed reason"),
        ("FLOW_STEP", "edit flow: the new text"),
        ("FLOW_STEP", "withdrawal: the amount"),
        ("CHAT_RELAY", "chat relay: a reply to a relayed message"),
        ("CHAT_RELAY", "chat relay: writing here"),
        ("SCREENSHOT", "task screenshot"),
        ("OPEN_TICKET", "support: an operator's reply on Telegram"),
        ("OPEN_TICKET", "support: a message in the open ticket"),
        ("KNOWLEDGE_BASE", "support: a question for the knowledge base"),
        ("FALLBACK", "fallback: a hint and the menu"),
    ]


def test_web_views_read_bodies_through_app_web_forms() -> None:
    """request.post() / request.json() turn a broken body into a 500; read_form / read_json
    (app/web/forms.py) turn it into a clear 400, so no view calls them directly."""
    found = [
        where(path, node.lineno)
        for path in python_files(APP / "web")
        if path.name != "forms.py"
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("post", "json")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "request"
    ]
    assert found == [], f"read the body with app.web.forms.read_form/read_json: {found}"
