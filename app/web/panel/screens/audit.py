"""Audit log screen (admins): who did what, when, before and after; filtered, keyset-paged."""

from __future__ import annotations

import datetime as dt
import json

from aiohttp import web

from app.db.queries import panel_admin as q
from app.domain import daterange
from app.domain.staff import Role
from app.i18n import N_
from app.web import keys
from app.web.forms import BadFilter, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.daterange import export_url, filters, list_control, list_days
from app.web.panel.export import stream_csv

ROUTES = PanelRoutes()

PAGE = 50
MAX_TEXT = 100
BAD_NUMBERS = N_("Filters: staff and page are numbers, dates look like 2026-01-31.")
BAD_TEXT = N_("Filters: action and target are plain text of at most 100 characters.")


def _number(value: str) -> int | None:
    """An id from the query (staff, page cursor): ASCII digits that fit a bigint."""
    if not value:
        return None
    number = whole_number(value, 18)
    if number is None:
        raise BadFilter(BAD_NUMBERS)
    return number


def _date(value: str, *, end: bool = False) -> dt.datetime | None:
    """The start of a UTC day; with end=True the start of the next one ("to" includes its day)."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end else 0)
    except (ValueError, OverflowError):  # OverflowError: the day after 9999-12-31
        raise BadFilter(BAD_NUMBERS) from None
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _days(request: web.Request) -> tuple[str, str]:
    try:
        return list_days(request)
    except daterange.RangeError:
        raise BadFilter(BAD_NUMBERS) from None


def _text(value: str) -> str | None:
    if len(value) > MAX_TEXT or not value.isprintable():  # PostgreSQL text cannot hold NUL
        raise BadFilter(BAD_TEXT)
    return value or None


@ROUTES.get("/panel/audit", name="panel.audit")
@require(Role.ADMIN)
async def audit_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    f = {k: request.query.get(k, "").strip() for k in ("staff", "action", "target", "from", "to", "before")}
    async with request.app[keys.POOL].acquire() as conn:
        staff = await q.list_staff(conn)
        try:
            f["from"], f["to"] = _days(request)
            staff_id, before_id = _number(f["staff"]), _number(f["before"])
            since, until = _date(f["from"]), _date(f["to"], end=True)
            action, target = _text(f["action"]), _text(f["target"])
        except BadFilter as exc:
            return await render(
                request,
                "panel/audit.html",
                {
                    "rows": [],
                    "f": f,
                    "next_url": None,
                    "staff_list": staff,
                    "error": _(str(exc)),
                    "dr": list_control(request, _),
                },
                status=400,
            )
        rows = await q.audit_page(
            conn,
            staff_id=staff_id,
            action=action,
            target=target,
            since=since,
            until=until,
            before_id=before_id,
            limit=PAGE,
        )
    next_url = None
    if len(rows) == PAGE:
        next_url = request.rel_url.update_query(before=rows[-1].id)
    return await render(
        request,
        "panel/audit.html",
        {
            "rows": rows,
            "as_json": _json,
            "f": f,
            "next_url": next_url,
            "staff_list": staff,
            "error": None,
            "export_url": export_url(request, "panel.audit_csv", *AUDIT_FILTERS),
            "dr": list_control(request, _),
        },
    )


AUDIT_FILTERS = ("staff", "action", "target")


@ROUTES.get("/panel/audit.csv", name="panel.audit_csv")
@require(Role.ADMIN)
async def audit_csv(request: web.Request) -> web.StreamResponse:
    """The whole log with the screen's filters, as CSV (this export is itself audited)."""
    _ = gettext(request)
    f = {k: request.query.get(k, "").strip() for k in ("staff", "action", "target", "from", "to")}
    try:
        f["from"], f["to"] = _days(request)
        export = q.audit_export(
            staff_id=_number(f["staff"]),
            action=_text(f["action"]),
            target=_text(f["target"]),
            since=_date(f["from"]),
            until=_date(f["to"], end=True),
        )
    except BadFilter as exc:
        raise web.HTTPBadRequest(text=_(str(exc))) from None
    return await stream_csv(request, export, filters(request, *AUDIT_FILTERS))


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
