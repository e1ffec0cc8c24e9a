"""The bot's commands and texts edited in the panel (table bot_commands, sql/0050)."""

from __future__ import annotations

from dataclasses import dataclass

from app.db import Conn
from app.db.queries.panel_admin import notify_settings
from app.db.records import from_row, from_rows


@dataclass(frozen=True, slots=True)
class CommandRow:
    """One command: its menu description and its text, each per language ("en", "ru", "uz")."""

    name: str
    descriptions: dict[str, str]
    texts: dict[str, str]
    position: int


async def list_commands(conn: Conn) -> list[CommandRow]:
    rows = await conn.fetch(
        "SELECT name, descriptions, texts, position FROM bot_commands ORDER BY position, name"
    )
    return from_rows(CommandRow, rows)


async def get_command(conn: Conn, name: str) -> CommandRow | None:
    row = await conn.fetchrow(
        "SELECT name, descriptions, texts, position FROM bot_commands WHERE name = $1", name
    )
    return from_row(CommandRow, row) if row is not None else None


async def count_commands(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM bot_commands WHERE name NOT IN ('start', 'help')"))


async def upsert_command(conn: Conn, name: str, descriptions: dict[str, str], texts: dict[str, str]) -> None:
    await conn.execute(
        """INSERT INTO bot_commands (name, descriptions, texts, position)
           VALUES ($1, $2, $3, (SELECT coalesce(max(position), 0) + 1 FROM bot_commands))
           ON CONFLICT (name) DO UPDATE
              SET descriptions = EXCLUDED.descriptions, texts = EXCLUDED.texts, updated_at = now()""",
        name,
        descriptions,
        texts,
    )


async def delete_command(conn: Conn, name: str) -> bool:
    return await conn.fetchval("DELETE FROM bot_commands WHERE name = $1 RETURNING true", name) is not None


async def notify_changed(conn: Conn) -> None:
    """At commit every process reloads its commands (app/web/live.py follows SETTINGS_CHANNEL)."""
    await notify_settings(conn, {"event": "commands"})
