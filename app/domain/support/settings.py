"""The desk's settings: the matcher's thresholds, working hours, how long a closed ticket reopens."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.db import Conn
from app.db.queries import panel_admin as settings_q
from app.domain import staff as staff_domain
from app.domain.support.matching import DEFAULT_THRESHOLDS, Thresholds
from app.i18n import N_, UserError

PREFIX = "support_"
HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
MAX_REOPEN_DAYS = 90


class DeskSettingsError(UserError):
    """A desk setting that cannot be saved."""


@dataclass
class DeskSettings:
    """One per process, built at start from the settings table; the panel updates it in place
    after saving (and other processes on the settings notification), so the bot follows at once."""

    thresholds: Thresholds = DEFAULT_THRESHOLDS
    reopen_days: int = 7  # a user writing within this many days of closing reopens the ticket
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(18, 0)
    days: frozenset[int] = field(default_factory=lambda: frozenset({1, 2, 3, 4, 5}))  # ISO weekdays
    timezone: str = "Asia/Tashkent"

    def update(self, other: DeskSettings) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))

    @property
    def hours(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"

    def zone(self) -> dt.tzinfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return dt.UTC

    def next_opening(self, now: dt.datetime) -> dt.datetime | None:
        """None within working hours; else when operators are next at work (local time)."""
        local = now.astimezone(self.zone())
        if not self.days:
            return None  # no working days set: operators are always "at work"
        for ahead in range(8):
            day = (local + dt.timedelta(days=ahead)).date()
            if day.isoweekday() not in self.days:
                continue
            start = dt.datetime.combine(day, self.opens, local.tzinfo)
            end = dt.datetime.combine(day, self.closes, local.tzinfo)
            if ahead == 0 and start <= local < end:
                return None
            if local < start:
                return start
        return None


def from_stored(stored: Mapping[str, str]) -> DeskSettings:
    """The stored settings (keys support_*); missing or unreadable ones keep their default."""
    mine = {k.removeprefix(PREFIX): v for k, v in stored.items() if k.startswith(PREFIX)}
    out = DeskSettings()
    with contextlib.suppress(UserError):
        out.thresholds = Thresholds.from_mapping(mine)
    try:
        out.reopen_days = _reopen_days(mine.get("reopen_days", str(out.reopen_days)))
        out.opens, out.closes = _hours(mine.get("hours", out.hours))
        out.days = _days(mine.get("days", ",".join(map(str, sorted(out.days)))))
        out.timezone = _timezone(mine.get("timezone", out.timezone))
    except UserError:
        pass
    return out


async def load(conn: Conn) -> DeskSettings:
    return from_stored(await settings_q.get_settings(conn))


def parse_form(form: Mapping[str, str]) -> dict[str, str]:
    """The desk's settings as typed in the panel, checked; the values to store by name."""
    values: dict[str, str] = {}
    threshold_values = {f.name: form[f.name] for f in fields(Thresholds) if f.name in form}
    Thresholds.from_mapping(threshold_values)  # raises naming the bad one
    values.update({k: str(float(v)) for k, v in threshold_values.items()})
    values["reopen_days"] = str(_reopen_days(form.get("reopen_days", "")))
    opens, closes = _hours(form.get("hours", ""))
    values["hours"] = f"{opens:%H:%M}-{closes:%H:%M}"
    values["days"] = ",".join(map(str, sorted(_days(form.get("days", "")))))
    values["timezone"] = _timezone(form.get("timezone", "Asia/Tashkent"))
    return values


async def save(conn: Conn, staff_id: int, values: Mapping[str, str]) -> DeskSettings:
    """Store checked values (parse_form's); audited; other processes reload. In a transaction."""
    before = {k: v for k, v in (await settings_q.get_settings(conn)).items() if k.startswith(PREFIX)}
    for name, value in values.items():
        await settings_q.put_setting(conn, PREFIX + name, value, staff_id)
    await staff_domain.audit(
        conn,
        staff_id,
        "settings.support",
        "settings:support",
        before,
        {PREFIX + k: v for k, v in values.items()},
    )
    await settings_q.notify_settings(conn, {"event": "support"})
    return await load(conn)


def _reopen_days(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) > MAX_REOPEN_DAYS:
        raise DeskSettingsError(
            N_("Reopening takes a whole number of days from 0 to {top}."), top=MAX_REOPEN_DAYS
        )
    return int(text)


def _hours(value: str) -> tuple[dt.time, dt.time]:
    match = HOURS_RE.match(value.strip())
    if match is None:
        raise DeskSettingsError(N_("Working hours look like 09:00-18:00."))
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens = dt.time(h1, m1)
    closes = dt.time(23, 59) if h2 == 24 else dt.time(h2, m2)
    if closes <= opens:
        raise DeskSettingsError(N_("Working hours must end after they start."))
    return opens, closes


def _days(value: str) -> frozenset[int]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not all(p.isdigit() and 1 <= int(p) <= 7 for p in parts):
        raise DeskSettingsError(N_("Working days are numbers from 1 (Monday) to 7 (Sunday)."))
    return frozenset(int(p) for p in parts)


def _timezone(value: str) -> str:
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DeskSettingsError(
            N_("“{zone}” is not a time zone (e.g. Asia/Tashkent)."), zone=name[:64]
        ) from None
    return name
