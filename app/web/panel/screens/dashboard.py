"""The panel's home: the dashboard every staff member lands on."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from babel.dates import format_date

from app.db.queries import dashboard as q
from app.domain import ads
from app.domain import staff as staff_domain
from app.domain.ads import AdStatus
from app.domain.staff import Role
from app.i18n import Gettext
from app.web import keys
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext, language
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()

WINDOW_DAYS = 30
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


# The 30-day series come from sql/0011's per-day tables (~25 ms with a million ads, mostly the
# exact decision-time percentiles); a minute-old chart is as good as a fresh one, so each
# scope's series is still kept a minute and a busy panel asks for them once a minute.
SERIES_TTL = 60.0
_series: weakref.WeakKeyDictionary[web.Application, dict] = weakref.WeakKeyDictionary()


async def cached_series(app: web.Application, channels: list[int] | None, run, since: datetime) -> tuple:
    cache = _series.setdefault(app, {})
    key = (None if channels is None else tuple(sorted(channels)), since)
    hit = cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    # Side by side: the percentiles sort ~80k integers on a big site; the others are quick.
    series = tuple(
        await asyncio.gather(
            run(q.ads_per_day, since), run(q.decision_times, since), run(q.reposts_per_day, since)
        )
    )
    for stale in [k for k, v in cache.items() if v[0] <= time.monotonic()]:
        del cache[stale]
    cache[key] = (time.monotonic() + SERIES_TTL, series)
    return series


@ROUTES.get("/panel", name="panel.home")
@require()
async def home(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    _ = gettext(request)
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=WINDOW_DAYS - 1)
    days = [since.date() + timedelta(days=i) for i in range(WINDOW_DAYS)]
    pool = request.app[keys.POOL]
    async with pool.acquire() as conn:
        # Moderators see their channels; admins and operators see every channel.
        channels = (
            await staff_domain.moderated_channel_ids(conn, staff) if staff.role is Role.MODERATOR else None
        )

    async def run(query, *args):
        async with pool.acquire() as conn:
            return await query(conn, channels, *args)

    ad_counts, series, failed = await asyncio.gather(
        run(q.ad_counts, today), cached_series(request.app, channels, run, since), run(q.failed_deliveries)
    )
    per_day, decisions, reposts = series
    counts = dataclasses.asdict(ad_counts)
    if channels is None:
        async with pool.acquire() as conn:
            counts.update(dataclasses.asdict(await q.global_counts(conn)))
    data = chart_data(language(request), _, days, per_day, decisions, reposts)
    return await render(
        request,
        "panel/home.html",
        {
            "counts": counts,
            "failed": failed,
            "data": data,
            "scoped": channels is not None,
            "decisions": decisions,
            "window_days": WINDOW_DAYS,
        },
    )
