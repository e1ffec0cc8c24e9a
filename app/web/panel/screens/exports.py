"""CSV exports of the areas' lists (the desk's tickets, tasks and their completions, the ledger,
withdrawals, promotions, broadcasts, chat reports): each with its list's role and filters and
the panel's date range, streamed and audited by app/web/panel/export.py."""

from __future__ import annotations

from aiohttp import web

from app.db.queries import exports as q
from app.domain import tasks
from app.domain.daterange import RangeError
from app.domain.staff import Role
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF
from app.web.panel.daterange import filters, query_range, utc_today
from app.web.panel.export import stream_csv
from app.web.panel.screens.support import STATUS_FILTERS, VIEWS

ROUTES = PanelRoutes()
COMPLETION_STATUSES = ("pending", "credited", "rejected", "taken_back")
CURRENCIES = ("points", "XTR")


def _moments(request: web.Request) -> tuple[object, object]:
    """The date range as moments (UTC days); no dates: every row. A bad range: 400."""
    try:
        rng = query_range(request, utc_today(), default_days=None, max_days=None)
    except RangeError as exc:
        raise web.HTTPBadRequest(text=exc.text(gettext(request))) from None
    return (None, None) if rng is None else (rng.since(), rng.until())


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    _ = gettext(request)
    value = request.query.get(name, "")
    if value and value not in allowed:
        raise web.HTTPBadRequest(text=_("Unknown filter value: choose one from the list."))
    return value or None


@ROUTES.get("/panel/support.csv", name="panel.support_csv")
@require(Role.OPERATOR)
async def tickets_csv(request: web.Request) -> web.StreamResponse:
    """The desk's tickets with the queue's view and status (and the date they were opened)."""
    view = request.query.get("view", "all")
    view = view if view in VIEWS else "all"
    status = request.query.get("status", "")
    statuses = STATUS_FILTERS.get(status, ("open", "waiting", "closed"))
    since, until = _moments(request)
    export = q.tickets(
        since, until, statuses, request[STAFF].id if view == "mine" else None, view == "unassigned"
    )
    return await stream_csv(request, export, filters(request, "view", "status"))


@ROUTES.get("/panel/tasks.csv", name="panel.tasks_csv")
@require(Role.ADMIN)
async def tasks_csv(request: web.Request) -> web.StreamResponse:
    return await stream_csv(request, q.tasks(*_moments(request)), filters(request))


@ROUTES.get("/panel/task-completions.csv", name="panel.task_completions_csv")
@require(tasks.REVIEWER)  # the review queue's role (see there why moderators keep it)
async def completions_csv(request: web.Request) -> web.StreamResponse:
    """Tasks done, with the reviews' decisions (the review screen's role)."""
    status = _choice(request, "status", COMPLETION_STATUSES)
    export = q.task_completions(*_moments(request), status)
    return await stream_csv(request, export, filters(request, "status"))


@ROUTES.get("/panel/ledger.csv", name="panel.ledger_csv")
@require(Role.ADMIN)
async def ledger_csv(request: web.Request) -> web.StreamResponse:
    """Every ledger entry: Stars payments, rewards, refunds, withdrawals, adjustments."""
    currency = _choice(request, "currency", CURRENCIES)
    return await stream_csv(request, q.ledger(*_moments(request), currency), filters(request, "currency"))


@ROUTES.get("/panel/withdrawals.csv", name="panel.withdrawals_csv")
@require(Role.ADMIN)
async def withdrawals_csv(request: web.Request) -> web.StreamResponse:
    return await stream_csv(request, q.withdrawals(*_moments(request)), filters(request))


@ROUTES.get("/panel/promotions.csv", name="panel.promotions_csv")
@require(Role.ADMIN)
async def promotions_csv(request: web.Request) -> web.StreamResponse:
    return await stream_csv(request, q.promotions(*_moments(request)), filters(request))


@ROUTES.get("/panel/broadcasts.csv", name="panel.broadcasts_csv")
@require(Role.ADMIN)
async def broadcasts_csv(request: web.Request) -> web.StreamResponse:
    return await stream_csv(request, q.broadcasts(*_moments(request)), filters(request))


@ROUTES.get("/panel/chat/reports.csv", name="panel.chat_reports_csv")
@require(Role.OPERATOR)
async def chat_reports_csv(request: web.Request) -> web.StreamResponse:
    return await stream_csv(request, q.chat_reports(*_moments(request)), filters(request))


@ROUTES.get("/panel/staff.csv", name="panel.staff_csv")
@require(Role.ADMIN)
async def staff_csv(request: web.Request) -> web.StreamResponse:
    return await stream_csv(request, q.staff(), {})


@ROUTES.get("/panel/channels.csv", name="panel.channels_csv")
@require(Role.ADMIN)
async def channels_csv(request: web.Request) -> web.StreamResponse:
    return await stream_csv(request, q.channels(), {})
