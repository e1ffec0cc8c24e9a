"""The panel's home: the dashboard every staff member lands on."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from babel.dates import format_date

from app.db.queries import dashboard as q
from app.db.queries import stats as stats_q
from app.db.queries.stats import Metric, MetricDay
from app.domain import ads, stats
from app.domain.ads import AdStatus
from app.domain.daterange import DEFAULT_DAYS, DateRange, RangeError, last_days
from app.i18n import N_, Gettext
from app.web import keys
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext, language
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF
from app.web.panel.daterange import control, query_range
from app.web.panel.export import send_csv

ROUTES = PanelRoutes()

# Bootstrap's palette, so the charts match the badges on other pages.
COLORS = {
    AdStatus.PENDING: "#ffc107",
    AdStatus.PUBLISHED: "#198754",
    AdStatus.REJECTED: "#dc3545",
    AdStatus.SOLD: "#0d6efd",
    AdStatus.EXPIRED: "#6c757d",
    AdStatus.WITHDRAWN: "#adb5bd",
}


def day_labels(days: list[date], lang: str) -> list[str]:
    return [format_date(d, "d MMM", locale=lang) for d in days]


def chart_data(
    lang: str,
    _: Gettext,
    days: list[date],
    per_day: list[q.StatusDay],
    decisions: list[q.DecisionTimes],
    reposts: list[q.DayCount],
) -> dict[str, Any]:
    """What static/dashboard.js draws: labels already translated, numbers per day."""
    index = {d: i for i, d in enumerate(days)}
    series = {status: [0] * len(days) for status in AdStatus}
    for row in per_day:
        if row.day in index:
            series[row.status][index[row.day]] += row.n
    repost_counts = [0] * len(days)
    for repost in reposts:
        if repost.day in index:
            repost_counts[index[repost.day]] = repost.n
    return {
        "days": day_labels(days, lang),
        "ads": [
            {"status": s.value, "label": ads.status_label(s, _), "color": COLORS[s], "data": series[s]}
            for s in AdStatus
        ],
        "decisions": {
            "channels": [r.title for r in decisions],
            "p50": [round(r.p50, 1) for r in decisions],
            "p95": [round(r.p95, 1) for r in decisions],
            "decided": [r.decided for r in decisions],
            "labels": {"p50": _("Median, minutes"), "p95": _("95th percentile, minutes")},
        },
        "reposts": {"label": _("Re-posts"), "data": repost_counts},
    }


# How each area and series looks (which areas there are, their series and who sees them is
# the domain's: `stats.CHARTS`, `stats.areas_for`). A series is (label, color, amount):
# amounts (points, Stars) are drawn on their own axis, on the right.
AREA_TITLES = {
    "users": N_("Users"),
    "messages": N_("Messages"),
    "support": N_("Support desk"),
    "chat": N_("Web chat"),
    "tasks": N_("Tasks"),
    "payments": N_("Payments"),
    "broadcasts": N_("Broadcasts"),
}
SERIES_LOOK: dict[Metric, tuple[str, str, bool]] = {
    Metric.NEW_USERS: (N_("New"), "#0d6efd", False),
    Metric.ACTIVE_USERS: (N_("Active"), "#198754", False),
    Metric.BLOCKED_BOT: (N_("Blocked the bot"), "#6c757d", False),
    Metric.BANNED: (N_("Blocked by staff"), "#dc3545", False),
    Metric.MESSAGES_IN: (N_("From users"), "#0d6efd", False),
    Metric.MESSAGES_OUT: (N_("Sent by Bozor"), "#198754", False),
    Metric.UPDATES: (N_("Updates (messages, buttons…)"), "#adb5bd", False),
    Metric.TICKETS_OPENED: (N_("Tickets opened"), "#0d6efd", False),
    Metric.TICKETS_CLOSED: (N_("Tickets closed"), "#198754", False),
    Metric.SUPPORT_IN: (N_("Messages in"), "#6f42c1", False),
    Metric.SUPPORT_OUT: (N_("Answers out"), "#fd7e14", False),
    Metric.CONVERSATIONS: (N_("Conversations started"), "#0d6efd", False),
    Metric.CHAT_MESSAGES: (N_("Messages"), "#198754", False),
    Metric.CHAT_REPORTS: (N_("Reports"), "#dc3545", False),
    Metric.COMPLETIONS: (N_("Done"), "#0d6efd", False),
    Metric.CREDITED: (N_("Credited"), "#198754", False),
    Metric.POINTS_REWARDED: (N_("Points paid"), "#ffc107", True),
    Metric.PROMOTIONS_PAID: (N_("Promotions paid"), "#0d6efd", False),
    Metric.WITHDRAWALS: (N_("Withdrawal requests"), "#6c757d", False),
    Metric.STARS_PAID: (N_("Stars paid"), "#ffc107", True),
    Metric.BROADCASTS_STARTED: (N_("Broadcasts started"), "#0d6efd", False),
    Metric.BROADCAST_OUT: (N_("Messages queued"), "#198754", False),
}


def area_charts(
    _: Gettext, days: list[date], figures: list[MetricDay], areas: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Each of `areas`' series per day of the range, with their totals (what the cards say)."""
    index = {d: i for i, d in enumerate(days)}
    values: dict[Metric, list[int]] = {}
    for row in figures:
        if row.day in index:
            values.setdefault(row.metric, [0] * len(days))[index[row.day]] += row.n
    return [
        {
            "id": area_id,
            "title": _(AREA_TITLES[area_id]),
            "series": [
                {
                    "metric": metric.value,
                    "label": _(SERIES_LOOK[metric][0]),
                    "color": SERIES_LOOK[metric][1],
                    "amount": SERIES_LOOK[metric][2],
                    "data": (data := values.get(metric, [0] * len(days))),
                    "total": sum(data),
                }
                for metric in stats.CHARTS[area_id]
            ],
        }
        for area_id in areas
    ]


# The series come from per-day tables (sql/0011's for ads, sql/0085's for the logs) and time
# indexes (~25 ms with a million ads, mostly the exact decision-time percentiles); a
# minute-old chart is as good as a fresh one, so each scope and range is kept a minute and a
# busy panel asks for them once a minute.
SERIES_TTL = 60.0
_series: weakref.WeakKeyDictionary[web.Application, dict] = weakref.WeakKeyDictionary()


async def cached_series(app: web.Application, channels: list[int] | None, run, rng: DateRange) -> tuple:
    cache = _series.setdefault(app, {})
    key = (None if channels is None else tuple(sorted(channels)), rng)
    hit = cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    since, until = rng.since(), rng.until()
    pool = app[keys.POOL]

    async def figures() -> list[MetricDay]:
        """Every area's per-day figures: for admins and operators (they are not per channel)."""
        if channels is not None:
            return []

        async def one(query, *args) -> list[MetricDay]:
            async with pool.acquire() as conn:
                return await query(conn, *args)

        parts = await asyncio.gather(
            one(stats_q.logs, rng.first, rng.last),
            *(one(stats_q.area, name, since, until) for name in stats_q.AREAS),
        )
        return [row for part in parts for row in part]

    # Side by side: the percentiles sort ~80k integers on a big site; the others are quick.
    series = tuple(
        await asyncio.gather(
            run(q.ads_per_day, since, until),
            run(q.decision_times, since, until),
            run(q.reposts_per_day, since, until),
            figures(),
        )
    )
    for stale in [k for k, v in cache.items() if v[0] <= time.monotonic()]:
        del cache[stale]
    cache[key] = (time.monotonic() + SERIES_TTL, series)
    return series


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    counts: dict[str, Any]
    failed: list[Any]
    data: dict[str, Any]  # what static/dashboard.js draws
    decisions: list[Any]
    scoped: bool  # a moderator's: their channels only


async def _figures(request: web.Request, rng: DateRange, today: datetime) -> Figures:
    """The dashboard's figures for the range as the reader may see them: a moderator's ads are
    their channels' and they get no site-wide areas; an operator gets the areas of their work."""
    staff = request[STAFF]
    _ = gettext(request)
    pool = request.app[keys.POOL]
    async with pool.acquire() as conn:
        channels = await stats.ad_channels(conn, staff)  # a moderator's; None: every channel

    async def run(query, *args):
        async with pool.acquire() as conn:
            return await query(conn, channels, *args)

    ad_counts, series, failed = await asyncio.gather(
        run(q.ad_counts, today), cached_series(request.app, channels, run, rng), run(q.failed_deliveries)
    )
    per_day, decisions, reposts, figures = series
    counts = dataclasses.asdict(ad_counts)
    if channels is None:
        async with pool.acquire() as conn:
            counts.update(dataclasses.asdict(await q.global_counts(conn)))
    days = rng.day_list()
    data = chart_data(language(request), _, days, per_day, decisions, reposts)
    data["areas"] = area_charts(_, days, figures, stats.areas_for(staff))
    return Figures(counts, failed, data, decisions, channels is not None)


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@ROUTES.get("/panel", name="panel.home")
@require()
async def home(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    today = _today()
    try:
        rng = query_range(request, today.date())
        assert rng is not None  # with a default, there is always a range
        error = None
    except RangeError as exc:
        rng, error = last_days(DEFAULT_DAYS, today.date()), exc.text(_)
    shown = await _figures(request, rng, today)
    return await render(
        request,
        "panel/home.html",
        {
            "counts": shown.counts,
            "failed": shown.failed,
            "data": shown.data,
            "scoped": shown.scoped,
            "decisions": shown.decisions,
            "range": rng,
            "dr": control(request, rng, today.date(), _),
            "range_error": error,
            "export_url": str(request.app.router["panel.stats_csv"].url_for().with_query(rng.as_filter())),
        },
        status=400 if error else 200,
    )


@ROUTES.get("/panel/stats.csv", name="panel.stats_csv")
@require()
async def stats_csv(request: web.Request) -> web.StreamResponse:
    """The dashboard's per-day figures for the same range and reader, one row a day: ads by
    status, re-posts, then each area's series the reader sees (the charts' numbers)."""
    _ = gettext(request)
    today = _today()
    try:
        rng = query_range(request, today.date())
        assert rng is not None  # with a default, there is always a range
    except RangeError as exc:
        raise web.HTTPBadRequest(text=exc.text(_)) from None
    data = (await _figures(request, rng, today)).data
    series = [
        *((f"ads_{s['status']}", s["data"]) for s in data["ads"]),
        ("reposts", data["reposts"]["data"]),
        *((s["metric"], s["data"]) for area in data["areas"] for s in area["series"]),
    ]
    columns = ["day", *(name for name, _values in series)]

    async def rows() -> AsyncGenerator[list[tuple[object, ...]]]:
        days = rng.day_list()
        yield [(day.isoformat(), *(values[i] for _name, values in series)) for i, day in enumerate(days)]

    return await send_csv(request, "stats", columns, rows(), rng.as_filter())
