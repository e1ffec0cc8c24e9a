"""Queries behind the panel's admin screens: staff list, plain settings, the audit log."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from app.db import Conn
from app.db.queries.exports import Export, utc
from app.db.queries.staff import Role
from app.db.records import from_rows


@dataclass(frozen=True, slots=True)
class Member:
    """A staff account as the Staff screen lists it."""

    id: int
    username: str
    display_name: str | None
    role: Role
    telegram_user_id: int | None
    active: bool
    last_login_at: dt.datetime | None
    has_password: bool
    channel_ids: list[int]


@dataclass(frozen=True, slots=True)
class ChannelModerator:
    id: int
    username: str
    display_name: str | None


@dataclass(frozen=True, slots=True)
class AuditLine:
    id: int
    at: dt.datetime
    staff_id: int | None
    username: str | None
    action: str
    target: str | None
    before: Any  # JSON snapshots
    after: Any


SETTINGS_CHANNEL = "bozor_settings"  # every process reloads what it keeps of the settings


async def notify_settings(conn: Conn, payload: dict[str, object]) -> None:
    """Tell every process that settings changed; PostgreSQL delivers it at commit only."""
    await conn.execute("SELECT pg_notify($1, $2::jsonb::text)", SETTINGS_CHANNEL, payload)


async def list_staff(conn: Conn) -> list[Member]:
    rows = await conn.fetch(
        """SELECT s.id, s.username, s.display_name, s.role, s.telegram_user_id, s.active,
                  s.last_login_at, s.password_hash IS NOT NULL AS has_password,
                  coalesce(array_agg(sc.channel_id ORDER BY sc.channel_id)
                           FILTER (WHERE sc.channel_id IS NOT NULL), '{}') AS channel_ids
           FROM staff s LEFT JOIN staff_channels sc ON sc.staff_id = s.id
           GROUP BY s.id ORDER BY s.id"""
    )
    return from_rows(Member, rows)


async def set_staff_active(conn: Conn, staff_id: int, active: bool) -> None:
    await conn.execute("UPDATE staff SET active = $2 WHERE id = $1", staff_id, active)


async def set_staff_role(conn: Conn, staff_id: int, role: Role) -> None:
    await conn.execute("UPDATE staff SET role = $2 WHERE id = $1", staff_id, role.value)


async def count_active_admins(conn: Conn) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM staff WHERE role = 'admin' AND active")
    return count


async def channel_staff(conn: Conn, channel_id: int) -> list[ChannelModerator]:
    rows = await conn.fetch(
        """SELECT s.id, s.username, s.display_name FROM staff_channels sc
           JOIN staff s ON s.id = sc.staff_id WHERE sc.channel_id = $1 ORDER BY s.id""",
        channel_id,
    )
    return from_rows(ChannelModerator, rows)


async def get_settings(conn: Conn) -> dict[str, str]:
    return {r["name"]: r["value"] for r in await conn.fetch("SELECT name, value FROM settings")}


async def put_setting(conn: Conn, name: str, value: str, by: int | None) -> None:
    await conn.execute(
        """INSERT INTO settings (name, value, updated_by) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value,
               updated_by = excluded.updated_by, updated_at = now()""",
        name,
        value,
        by,
    )


AUDIT_COLUMNS = ("id", "at", "staff_id", "staff", "action", "target", "before", "after")


def audit_export(
    *,
    staff_id: int | None,
    action: str | None,
    target: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Export:
    """The whole log the screen shows with these filters, newest first, JSON as text."""
    return Export(
        "audit",
        AUDIT_COLUMNS,
        f"""SELECT a.id, {utc("a.at")}, a.staff_id, s.username, a.action, a.target, a.before::text,
                  a.after::text
           FROM audit_log a LEFT JOIN staff s ON s.id = a.staff_id
           WHERE ($1::bigint IS NULL OR a.staff_id = $1)
             AND ($2::text IS NULL OR a.action LIKE
                  replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')
             AND ($3::text IS NULL OR a.target = $3)
             AND ($4::timestamptz IS NULL OR a.at >= $4)
             AND ($5::timestamptz IS NULL OR a.at < $5)
           ORDER BY a.id DESC""",
        (staff_id, action, target, since, until),
    )


async def audit_page(
    conn: Conn,
    *,
    staff_id: int | None,
    action: str | None,
    target: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    before_id: int | None,
    limit: int = 50,
) -> list[AuditLine]:
    """Newest first; `before_id` is the keyset cursor (ids grow with time)."""
    rows = await conn.fetch(
        """SELECT a.id, a.at, a.staff_id, s.username, a.action, a.target, a.before, a.after
           FROM audit_log a LEFT JOIN staff s ON s.id = a.staff_id
           WHERE ($1::bigint IS NULL OR a.staff_id = $1)
             AND ($2::text IS NULL OR a.action LIKE  -- a plain prefix: LIKE's wildcards escaped
                  replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')
             AND ($3::text IS NULL OR a.target = $3)
             AND ($4::timestamptz IS NULL OR a.at >= $4)
             AND ($5::timestamptz IS NULL OR a.at < $5)
             AND ($6::bigint IS NULL OR a.id < $6)
           ORDER BY a.id DESC LIMIT $7""",
        staff_id,
        action,
        target,
        since,
        until,
        before_id,
        limit,
    )
    return [
        AuditLine(
            r["id"],
            r["at"],
            r["staff_id"],
            r["username"],
            r["action"],
            r["target"],
            _json(r["before"]),
            _json(r["after"]),
        )
        for r in rows
    ]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
