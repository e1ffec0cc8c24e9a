"""The desk's settings: working hours and the "when to expect an answer" notice, checked input."""

from __future__ import annotations

import datetime as dt

import pytest

from app.domain.support import settings
from app.domain.support.settings import DeskSettings, DeskSettingsError

TASHKENT = dt.timezone(dt.timedelta(hours=5))


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in Tashkent in the week of Monday 2026-12-07 (day 1 = Monday)."""
    return dt.datetime(2026, 12, 6 + day, hour, minute, tzinfo=TASHKENT)


def test_within_working_hours_there_is_no_notice() -> None:
    assert DeskSettings().next_opening(at(1, 9)) is None
    assert DeskSettings().next_opening(at(5, 17, 59)) is None


@pytest.mark.parametrize(
    ("now", "opening"),
    [
        (at(1, 8, 30), at(1, 9)),  # before opening: today
        (at(3, 18), at(4, 9)),  # after closing: tomorrow
        (at(5, 20), at(8, 9)),  # Friday evening: Monday
        (at(6, 12), at(8, 9)),  # Saturday
    ],
)
def test_outside_working_hours_the_next_opening_is_named(now: dt.datetime, opening: dt.datetime) -> None:
    found = DeskSettings().next_opening(now.astimezone(dt.UTC))  # the bot asks in UTC
    assert found == opening


def test_the_form_is_checked_and_nothing_bad_is_stored() -> None:
    good = {"hours": "08:30-17:00", "days": "1,2,3", "timezone": "Asia/Tashkent", "reopen_days": "3"}
    assert settings.parse_form(good) == {**good, "days": "1,2,3"}
    for field, value, message in (
        ("hours", "18:00-09:00", "Working hours must end after they start."),
        ("hours", "nine", "Working hours look like 09:00-18:00."),
        ("days", "1,8", "Working days are numbers from 1 (Monday) to 7 (Sunday)."),
        ("timezone", "Mars/Base", "“Mars/Base” is not a time zone (e.g. Asia/Tashkent)."),
        ("reopen_days", "-1", "Reopening takes a whole number of days from 0 to 90."),
    ):
        with pytest.raises(DeskSettingsError) as caught:
            settings.parse_form({**good, field: value})
        assert str(caught.value) == message


def test_stored_settings_that_cannot_be_read_keep_their_defaults() -> None:
    loaded = settings.from_stored({"support_hours": "garbage", "support_auto_answer": "7"})
    assert loaded.hours == "09:00-18:00" and loaded.thresholds.auto_answer == 0.45
