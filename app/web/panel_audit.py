"""Audit log screen (admins): who did what, when, before and after; filtered, keyset-paged."""

from __future__ import annotations

import datetime as dt
import json

from aiohttp import web

from app.db.queries import panel_admin as q
from app.domain.staff import Role
from app.web import keys
from app.web.auth import REGISTRY, gettext, render, require

PAGE = 50


def _date(value: str) -> dt.datetime | None:
    return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC) if value else None


@REGISTRY.get("/panel/audit", name="panel.audit")
@require(Role.ADMIN)
async def audit_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    f = {k: request.query.get(k, "").strip() for k in ("staff", "action", "target", "from", "to", "before")}
    try:
        staff_id = int(f["staff"]) if f["staff"] else None
        before_id = int(f["before"]) if f["before"] else None
        since, until = _date(f["from"]), _date(f["to"])
    except ValueError:
        return await render(request, "panel/audit.html", {
            "rows": [], "f": f, "next_url": None, "staff": [],
            "error": _("Filters: staff and page are numbers, dates look like 2026-01-31.")}, status=400)
    if until is not None:
        until += dt.timedelta(days=1)  # "to" includes the whole day
    async with request.app[keys.POOL].acquire() as conn:
        rows = await q.audit_page(conn, staff_id=staff_id, action=f["action"] or None,
                                  target=f["target"] or None, since=since, until=until,
                                  before_id=before_id, limit=PAGE)
        staff = await q.list_staff(conn)
    shown = [{**dict(r), "before": _json(r["before"]), "after": _json(r["after"])} for r in rows]
    next_url = None
    if len(rows) == PAGE:
        next_url = request.rel_url.update_query(before=rows[-1]["id"])
    return await render(request, "panel/audit.html", {
        "rows": shown, "f": f, "next_url": next_url, "staff_list": staff, "error": None})


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
