"""Channels as data (M10): created and configured from the command line, validated in the domain."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import asyncpg
import pytest

from app.domain import channels
from app.domain.channels import ChannelError
from app.domain.demo import seed_demo
from tests.helpers.processes import run_bozor


def cli(database_url: str, tmp_path: Path, *args: str):
    return run_bozor({"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path)}, *args)


def test_an_operator_sets_up_a_channel_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    added = cli(
        database_url,
        tmp_path,
        "channel",
        "add",
        "--title",
        "Bozor Toshkent",
        "--chat",
        "@bozor_tsh",
        "--language",
        "ru",
    )
    assert added.returncode == 0, added.stderr
    assert "channel #1 added: Bozor Toshkent" in added.stdout

    changed = cli(
        database_url,
        tmp_path,
        "channel",
        "set",
        "@bozor_tsh",
        "--repost-minutes",
        "45",
        "--quiet-hours",
        "23:00-07:00",
        "--checkin-days",
        "2",
    )
    assert changed.returncode == 0, changed.stderr
    assert "re-post every 45 min, quiet 23:00-07:00, check-in every 2 d" in changed.stdout

    admin = cli(database_url, tmp_path, "channel", "admin", "1", "555001")
    assert "user 555001 is now an admin of Bozor Toshkent" in admin.stdout


def test_a_bad_setting_is_one_clear_line_and_changes_nothing(database_url: str, tmp_path: Path) -> None:
    cli(database_url, tmp_path, "channel", "add", "--title", "Bozor", "--chat", "@bozor_sam")
    result = cli(database_url, tmp_path, "channel", "set", "@bozor_sam", "--quiet-hours", "late")
    assert result.returncode == 2
    assert result.stderr.strip() == "bozor: Quiet hours look like 23:00-07:00."
    listed = cli(database_url, tmp_path, "channel", "list")
    assert "quiet" not in listed.stdout and "re-post every 30 min" in listed.stdout
    missing = cli(database_url, tmp_path, "channel", "admin", "@nowhere_chan", "5")
    assert missing.returncode == 2 and "No channel “@nowhere_chan”" in missing.stderr


async def test_settings_are_validated_before_anything_is_stored(db: asyncpg.Connection) -> None:
    channel = await channels.create_channel(db, title="Bozor", chat_ref="t.me/bozor_nam")
    assert channel.username == "bozor_nam" and channel.language == "uz"
    for bad in (
        {"repost_minutes": 0},
        {"language": "fr"},
        {"timezone": "Mars/Olympus"},
        {"checkin_max_asks": 0},
        {"quiet_hours": "07:00-07:00"},
        {"title": " "},
    ):
        with pytest.raises(ChannelError):
            await channels.update_settings(db, channel.id, **bad)
    row = await channels.update_settings(
        db, channel.id, repost_minutes=10, quiet_hours="22:30-06:00", keep_old_posts=True
    )
    assert row.repost_every == timedelta(minutes=10)
    assert (row.quiet_from, row.quiet_to) == (time(22, 30), time(6, 0))
    with pytest.raises(ChannelError, match="already exists"):
        await channels.create_channel(db, title="Again", chat_ref="@bozor_nam")
    with pytest.raises(ChannelError, match="negative"):
        await channels.create_channel(db, title="Wrong", chat_ref="12345")


async def test_banned_words_are_normalised_and_replaced(db: asyncpg.Connection) -> None:
    channel = await channels.create_channel(db, title="Bozor", chat_ref="@bozor_fer")
    words = await channels.set_banned_words(db, channel.id, [" Kazino ", "КАЗИНО", "kazino", ""])
    assert words == ["kazino", "казино"]
    assert await channels.set_banned_words(db, channel.id, ["spam"]) == ["spam"]
    stored = await db.fetch("SELECT word FROM banned_words WHERE channel_id = $1", channel.id)
    assert [r["word"] for r in stored] == ["spam"]


async def test_the_demo_marketplace_is_seeded_once(db: asyncpg.Connection) -> None:
    first = await seed_demo(db, [100000102, 100000103])
    second = await seed_demo(db, [100000102])
    assert first.id == second.id
    assert await db.fetchval("SELECT count(*) FROM categories WHERE channel_id = $1", first.id) == 6
    assert await db.fetchval("SELECT count(*) FROM channel_admins") == 2
    names = await db.fetchrow("SELECT name_uz, name_ru FROM categories WHERE hashtag = 'realty'")
    assert tuple(names) == ("Ko'chmas mulk", "Недвижимость")
