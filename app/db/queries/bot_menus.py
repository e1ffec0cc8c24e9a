"""The bot's main menu, a tree of buttons (tables menu_nodes and menu_state, sql/0055)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.db import Conn
from app.db.queries.panel_admin import notify_settings
from app.db.records import from_row, from_rows

NODE_COLUMNS = "id, parent_id, position, kind, labels, texts, url, kb_entry_id, action, wide"


class NodeKind(StrEnum):
    TEXT = "text"  # an answer text
    SUBMENU = "submenu"  # more buttons
    URL = "url"  # opens a link
    KB = "kb"  # a knowledge-base entry's answer
    ACTION = "action"  # one of the bot's own features (post an ad, my ads…)


@dataclass(frozen=True, slots=True)
class MenuNodeRow:
    id: int
    parent_id: int | None
    position: int
    kind: NodeKind
    labels: dict[str, str]
    texts: dict[str, str]
    url: str | None
    kb_entry_id: int | None
    action: str | None
    wide: bool


@dataclass(frozen=True, slots=True)
class NodeValues:
    """What an admin sets on a node (its place is set apart)."""

    kind: NodeKind
    labels: dict[str, str]
    texts: dict[str, str]
    url: str | None
    kb_entry_id: int | None
    action: str | None
    wide: bool


async def version(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT version FROM menu_state"))


async def list_nodes(conn: Conn) -> list[MenuNodeRow]:
    rows = await conn.fetch(f"SELECT {NODE_COLUMNS} FROM menu_nodes ORDER BY position, id")
    return from_rows(MenuNodeRow, rows)


async def begin_change(conn: Conn) -> int:
    """The next version; its row lock holds other edits until this transaction ends."""
    return int(await conn.fetchval("UPDATE menu_state SET version = version + 1 RETURNING version"))


async def insert_node(conn: Conn, parent_id: int | None, values: NodeValues) -> MenuNodeRow:
    """A node at the end of its parent's buttons."""
    row = await conn.fetchrow(
        f"""INSERT INTO menu_nodes (parent_id, position, kind, labels, texts, url, kb_entry_id, action, wide)
            VALUES ($1, (SELECT coalesce(max(position), 0) + 1 FROM menu_nodes
                         WHERE parent_id IS NOT DISTINCT FROM $1),
                    $2, $3, $4, $5, $6, $7, $8)
            RETURNING {NODE_COLUMNS}""",
        parent_id,
        values.kind,
        values.labels,
        values.texts,
        values.url,
        values.kb_entry_id,
        values.action,
        values.wide,
    )
    return from_row(MenuNodeRow, row)


async def update_node(conn: Conn, node_id: int, values: NodeValues) -> None:
    await conn.execute(
        """UPDATE menu_nodes SET kind = $2, labels = $3, texts = $4, url = $5, kb_entry_id = $6,
                  action = $7, wide = $8, updated_at = now()
            WHERE id = $1""",
        node_id,
        values.kind,
        values.labels,
        values.texts,
        values.url,
        values.kb_entry_id,
        values.action,
        values.wide,
    )


async def move_to(conn: Conn, node_id: int, parent_id: int | None) -> None:
    """Under another parent, after its buttons."""
    await conn.execute(
        """UPDATE menu_nodes
              SET parent_id = $2, updated_at = now(),
                  position = (SELECT coalesce(max(position), 0) + 1 FROM menu_nodes
                              WHERE parent_id IS NOT DISTINCT FROM $2)
            WHERE id = $1""",
        node_id,
        parent_id,
    )


async def set_positions(conn: Conn, ordered_ids: list[int]) -> None:
    """Siblings in this order (1, 2, 3…)."""
    await conn.execute(
        """UPDATE menu_nodes n SET position = o.position, updated_at = now()
             FROM unnest($1::bigint[]) WITH ORDINALITY AS o(id, position)
            WHERE n.id = o.id AND n.position <> o.position""",
        ordered_ids,
    )


async def delete_node(conn: Conn, node_id: int) -> None:
    """The node and everything under it."""
    await conn.execute("DELETE FROM menu_nodes WHERE id = $1", node_id)


async def delete_all(conn: Conn) -> None:
    await conn.execute("DELETE FROM menu_nodes")


async def notify_changed(conn: Conn, new_version: int) -> None:
    """At commit every process reloads its menu (app/web/live.py follows SETTINGS_CHANNEL)."""
    await notify_settings(conn, {"event": "menu", "version": new_version})
