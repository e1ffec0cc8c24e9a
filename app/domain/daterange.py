"""The panel's one date range: days from a form ("YYYY-MM-DD"), into a typed, checked range.

Every screen with dates uses it: the dashboard's charts, the desk's statistics, the lists and
their CSV exports. A day is a whole day: "to" includes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.i18n import N_, UserError

PRESETS = (7, 30, 90)  # the quick choices, in days ending today
DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)  # far dates overflow PostgreSQL's


class RangeError(UserError):
    """A date range that cannot be used."""


@dataclass(frozen=True, slots=True)
class DateRange:
    first: dt.date
    last: dt.date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def day_list(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range(self.days)]

    def since(self, zone: dt.tzinfo = dt.UTC) -> dt.datetime:
        """The moment the first day begins."""
        return dt.datetime.combine(self.first, dt.time(), zone)

    def until(self, zone: dt.tzinfo = dt.UTC) -> dt.datetime:
        """The moment after the last day ends (exclusive)."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), zone)

    def preset(self, today: dt.date) -> int | None:
        """Which quick choice this is (7, 30, 90 days ending today), if any."""
        return self.days if self.last == today and self.days in PRESETS else None

    def as_filter(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def last_days(days: int, today: dt.date) -> DateRange:
    return DateRange(today - dt.timedelta(days=days - 1), today)


def recent(value: str, today: dt.date, max_days: int = MAX_DAYS) -> DateRange:
    """`days` as any number of days ending today, 1 to `max_days` (the staff API's; the panel's
    form offers only its presets)."""
    value = value.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 4 and 1 <= int(value) <= max_days):
        raise RangeError(N_("Choose from 1 to {n} days."), n=max_days)
    return last_days(int(value), today)


def _day(value: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise RangeError(N_("Dates are written as YYYY-MM-DD.")) from None
    if not EARLIEST <= day <= LATEST:
        raise RangeError(N_("Choose days between 2000 and 2100."))
    return day


def parse(
    since: str,
    until: str,
    today: dt.date,
    *,
    days: str = "",
    default_days: int | None = DEFAULT_DAYS,
    max_days: int | None = MAX_DAYS,
) -> DateRange | None:
    """The range a form asks for. `days` (a preset: 7, 30, 90) wins over the two dates.

    Either date may be empty: an open end is today (or, without a start, `default_days` back;
    with `default_days` None and both empty, no range at all: a list shows every row).
    """
    if days.strip():
        if days.strip() not in {str(p) for p in PRESETS}:
            raise RangeError(N_("Choose 7, 30 or 90 days, or two dates."))
        return last_days(int(days), today)
    first, last = _day(since[:20]), _day(until[:20])
    if first is None and last is None and default_days is None:
        return None
    if last is None:
        last = max(today, first) if first is not None else today
    if first is None:
        if default_days is None:
            first = EARLIEST
        else:
            first = max(EARLIEST, last - dt.timedelta(days=default_days - 1))
    if first > last:
        raise RangeError(N_("The first day comes after the last one."))
    if max_days is not None and (last - first).days >= max_days:
        raise RangeError(N_("Choose at most {n} days."), n=max_days)
    return DateRange(first, last)
