"""The desk's statistics (S6): a table per day over a date range, and the same as streamed CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator

from aiohttp import web

from app.db.queries.support_stats import DeskDay, OperatorFigures
from app.domain.daterange import DateRange, RangeError
from app.domain.staff import Role
from app.domain.support import stats
from app.i18n import Gettext
from app.web import keys
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.daterange import control, list_control, query_range
from app.web.panel.export import send_csv

ROUTES = PanelRoutes()
CSV_COLUMNS = (
    "day",
    "messages_in",
    "messages_out",
    "tickets_opened",
    "tickets_closed",
    "tickets_answered",
    "first_response_p50_seconds",
    "first_response_p95_seconds",
    "auto_answered",
    "suggestions_shown",
    "suggestions_chosen",
    "thumbs_up",
    "thumbs_down",
    "resolution_p50_seconds",
    "resolution_p95_seconds",
)
OPERATOR_COLUMNS = (
    "staff_id",
    "operator",
    "answers",
    "tickets_closed",
    "first_answers",
    "first_response_p50_seconds",
    "first_response_p95_seconds",
    "resolution_p50_seconds",
    "resolution_p95_seconds",
)


def _range(request: web.Request) -> tuple[DateRange, dt.date]:
    """The shared control's range (the last 30 days by default) in the desk's local days."""
    today = stats.today(request.app[keys.RUNNING_SETTINGS].desk, dt.datetime.now(dt.UTC))
    rng = query_range(request, today)
    assert rng is not None  # with a default, there is always a range
    return rng, today


def _chart(_: Gettext, days: list[DeskDay]) -> dict[str, object]:
    """What the page's chart draws: messages per day as bars, the median first response as a line."""
    return {
        "days": [d.day.isoformat() for d in days],
        "series": [
            {"label": _("Messages in"), "data": [d.messages_in for d in days], "color": "#0d6efd"},
            {"label": _("Answers out"), "data": [d.messages_out for d in days], "color": "#198754"},
            {"label": _("Auto-answered"), "data": [d.auto_answered for d in days], "color": "#ffc107"},
        ],
        "response": {
            "label": _("First response, median (minutes)"),
            "data": [
                None if d.first_response_p50 is None else round(d.first_response_p50 / 60, 1) for d in days
            ],
        },
    }


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def duration(seconds: float | None) -> str:
    """A first-response time as people read it: 45 s, 12 min, 3.5 h."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@ROUTES.get("/panel/support/stats", name="panel.support_stats", ok_status=200)
@require(Role.ADMIN)
async def stats_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    context: dict[str, object] = {"error": None, "days": [], "operators": [], "duration": duration}
    try:
        rng, today = _range(request)
    except RangeError as exc:
        context.update(error=exc.text(_), dr=list_control(request, _))
        return await render(request, "panel/support_stats.html", context, status=400)
    settings = request.app[keys.RUNNING_SETTINGS].desk
    async with request.app[keys.POOL].acquire() as conn:
        days = await stats.daily(conn, rng.first, rng.last, settings)
        operators = await stats.per_operator(conn, rng.first, rng.last, settings)
    context.update(
        days=days,
        operators=operators,
        chart=_chart(_, days),
        dr=control(request, rng, today, _),
        export_url=str(request.app.router["panel.support_stats_csv"].url_for().with_query(rng.as_filter())),
        operators_url=str(
            request.app.router["panel.support_operators_csv"].url_for().with_query(rng.as_filter())
        ),
    )
    return await render(request, "panel/support_stats.html", context)


@ROUTES.get("/panel/support/stats.csv", name="panel.support_stats_csv")
@require(Role.ADMIN)
async def stats_csv(request: web.Request) -> web.StreamResponse:
    """The same figures through the panel's CSV export (seconds for the response times)."""
    rng = _csv_range(request)
    async with request.app[keys.POOL].acquire() as conn:
        days = await stats.daily(conn, rng.first, rng.last, request.app[keys.RUNNING_SETTINGS].desk)
    return await _send(request, "support-stats", CSV_COLUMNS, [_csv_row(d) for d in days], rng)


def _csv_row(d: DeskDay) -> tuple[object, ...]:
    p50, p95 = _seconds(d.first_response_p50), _seconds(d.first_response_p95)
    row = (d.day.isoformat(), d.messages_in, d.messages_out, d.opened, d.closed, d.answered, p50, p95)
    bot = (d.auto_answered, d.offered, d.picked, d.helpful, d.unhelpful)
    return (*row, *bot, _seconds(d.resolution_p50), _seconds(d.resolution_p95))


@ROUTES.get("/panel/support/operators.csv", name="panel.support_operators_csv")
@require(Role.ADMIN)
async def operators_csv(request: web.Request) -> web.StreamResponse:
    """The per-operator table through the panel's CSV export (seconds for the times)."""
    rng = _csv_range(request)
    desk = request.app[keys.RUNNING_SETTINGS].desk
    async with request.app[keys.POOL].acquire() as conn:
        operators = await stats.per_operator(conn, rng.first, rng.last, desk)
    rows = [_operator_row(o) for o in operators]
    return await _send(request, "support-operators", OPERATOR_COLUMNS, rows, rng)


def _csv_range(request: web.Request) -> DateRange:
    """An export's range, as the page's; a refused one is a 400 with the reason."""
    try:
        return _range(request)[0]
    except RangeError as exc:
        raise web.HTTPBadRequest(text=exc.text(gettext(request))) from None


async def _send(
    request: web.Request, name: str, columns: tuple[str, ...], rows: list[tuple[object, ...]], rng: DateRange
) -> web.StreamResponse:
    async def lines() -> AsyncGenerator[list[tuple[object, ...]]]:
        yield rows

    return await send_csv(request, name, columns, lines(), rng.as_filter())


def _operator_row(o: OperatorFigures) -> tuple[object, ...]:
    times = (o.first_response_p50, o.first_response_p95, o.resolution_p50, o.resolution_p95)
    return (o.staff_id, o.name, o.answers, o.closed, o.first_responses, *(_seconds(t) for t in times))
