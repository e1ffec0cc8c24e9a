"""The panel's date-range control: the query's range (typed) and what the macro draws.

Every screen reads the same fields: `from` and `to` (days, "to" included) or `days` (a
preset: 7, 30 or 90 days ending today); `since`/`until` are the desk statistics' old names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aiohttp import web

from app.domain import daterange
from app.domain.daterange import DateRange
from app.i18n import Gettext

RANGE_FIELDS = ("from", "to", "since", "until", "days")


def query_range(
    request: web.Request,
    today: dt.date,
    *,
    default_days: int | None = daterange.DEFAULT_DAYS,
    max_days: int | None = daterange.MAX_DAYS,
) -> DateRange | None:
    """The range the address asks for; `daterange.RangeError` (a clear msgid) when it cannot be used."""
    query = request.query
    return daterange.parse(
        query.get("from") or query.get("since") or "",
        query.get("to") or query.get("until") or "",
        today,
        days=query.get("days", "")[:4],
        default_days=default_days,
        max_days=max_days,
    )


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class Preset:
    label: str
    url: str
    active: bool


@dataclass(frozen=True, slots=True)
class RangeControl:
    """What templates/panel/_daterange.html draws: the two days and the quick choices."""

    first: str  # "YYYY-MM-DD" or ""
    last: str
    presets: tuple[Preset, ...]
    clear_url: str | None  # lists only: back to every date


def control(
    request: web.Request, rng: DateRange | None, today: dt.date, _: Gettext, *, clearable: bool = False
) -> RangeControl:
    """The control for this page: each preset keeps the page's other filters."""
    kept = {k: v for k, v in request.query.items() if k not in RANGE_FIELDS and k not in ("after", "before")}
    active = rng.preset(today) if rng is not None else None
    presets = tuple(
        Preset(
            _("{n} days").format(n=days),
            str(request.rel_url.with_query({**kept, "days": str(days)})),
            days == active,
        )
        for days in daterange.PRESETS
    )
    return RangeControl(
        rng.first.isoformat() if rng else "",
        rng.last.isoformat() if rng else "",
        presets,
        str(request.rel_url.with_query(kept)) if clearable and rng is not None else None,
    )


def list_control(request: web.Request, _: Gettext) -> RangeControl:
    """A list's control as the list was asked for (no dates: every date; a bad one: empty)."""
    today = utc_today()
    try:
        rng = query_range(request, today, default_days=None, max_days=None)
    except daterange.RangeError:
        rng = None
    return control(request, rng, today, _, clearable=True)


def list_days(request: web.Request) -> tuple[str, str]:
    """A list's `from` and `to` as text, a preset (`days`) turned into its two days."""
    days = request.query.get("days", "").strip()
    if days:
        rng = daterange.parse("", "", utc_today(), days=days[:4])
        assert rng is not None  # a preset always gives a range
        return rng.first.isoformat(), rng.last.isoformat()
    return request.query.get("from", "").strip(), request.query.get("to", "").strip()


def filters(request: web.Request, *extra: str) -> dict[str, str]:
    """The page's filters as they were asked for (what an export link and its audit entry carry)."""
    names = (*RANGE_FIELDS, *extra)
    return {k: v[:200] for k, v in request.query.items() if k in names and v}


def export_url(request: web.Request, route: str, *extra: str) -> str:
    """The CSV export of this list with its current filters (no page cursor)."""
    return str(request.app.router[route].url_for().with_query(filters(request, *extra)))
