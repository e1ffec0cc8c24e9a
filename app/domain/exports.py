"""CSV exports: who took which list, with which filters, and how many rows (the audit log)."""

from __future__ import annotations

from collections.abc import Mapping

from app.db import Conn
from app.domain import staff
from app.domain.actors import StaffMember

ACTION = "export.csv"


async def record(
    conn: Conn, actor: StaffMember, name: str, filters: Mapping[str, str], rows: int, complete: bool
) -> int:
    """One audit entry per export: the list, its filters, the rows sent and whether it finished."""
    return await staff.audit(
        conn,
        actor.staff.id,
        ACTION,
        f"export:{name}",
        None,
        {"filters": dict(filters), "rows": rows, "complete": complete},
    )
