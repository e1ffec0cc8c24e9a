"""Streaming a list's rows for CSV: a server-side cursor in a read-only transaction.

Each list's query module builds its `Export` (the same conditions as the list screen, every
value already text or a number); `batches` reads it a few thousand rows at a time, so memory
stays flat however many rows there are.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

from app.db import Conn

BATCH = 2000


@dataclass(frozen=True, slots=True)
class Export:
    name: str  # what the file is called and the audit log's target: "ads", "users"…
    columns: tuple[str, ...]
    sql: str
    args: tuple[Any, ...] = ()


async def batches(conn: Conn, export: Export, size: int = BATCH) -> AsyncGenerator[list[Sequence[Any]]]:
    """The export's rows, `size` at a time, as tuples of plain values, from one snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(export.sql, *export.args)
        while rows := await cursor.fetch(size):
            yield [tuple(row) for row in rows]
