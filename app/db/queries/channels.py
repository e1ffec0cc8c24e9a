"""Queries on channels, their categories, admins, banned words and canned reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from app.db import Conn
from app.db.records import from_row, from_rows, maybe

CHANNEL_COLUMNS = """id, chat_id, username, title, language, timezone, repost_every, quiet_from,
    quiet_to, keep_old_posts, checkin_every, checkin_max_asks, ads_per_day, active, created_at,
    over_limit"""


@dataclass(frozen=True, slots=True)
class Channel:
    """A marketplace channel and its settings (M10)."""

    id: int
    chat_id: int | None  # Telegram's numeric id, once the bot has seen the channel
    username: str | None
    title: str
    language: str
    timezone: str
    repost_every: timedelta
    quiet_from: time | None
    quiet_to: time | None
    keep_old_posts: bool
    checkin_every: timedelta
    checkin_max_asks: int
    ads_per_day: int
    active: bool
    created_at: datetime
    over_limit: str  # past ads_per_day: 'flag' the ad for the admins, or 'refuse' it

    @property
    def ref(self) -> str:
        """How to name the channel to Telegram: its numeric id, else its @username."""
        return str(self.chat_id) if self.chat_id is not None else f"@{self.username}"


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    channel_id: int
    hashtag: str
    name_uz: str
    name_ru: str
    name_en: str
    position: int

    def name(self, language: str) -> str:
        return {"uz": self.name_uz, "ru": self.name_ru}.get(language, self.name_en)


@dataclass(frozen=True, slots=True)
class RejectReason:
    """A canned rejection reason of a channel, in each language."""

    id: int
    channel_id: int
    text_uz: str
    text_ru: str
    text_en: str
    position: int

    def text(self, language: str) -> str:
        return {"uz": self.text_uz, "ru": self.text_ru}.get(language, self.text_en)


async def insert_channel(
    conn: Conn, *, title: str, chat_id: int | None, username: str | None, language: str
) -> Channel:
    row = await conn.fetchrow(
        f"INSERT INTO channels (title, chat_id, username, language) VALUES ($1, $2, $3, $4) "
        f"RETURNING {CHANNEL_COLUMNS}",
        title,
        chat_id,
        username,
        language,
    )
    return from_row(Channel, row)


async def update_channel(conn: Conn, channel_id: int, changes: dict[str, object]) -> Channel | None:
    """Set the given columns (names come from the domain's whitelist, never from input)."""
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=2))
    row = await conn.fetchrow(
        f"UPDATE channels SET {sets} WHERE id = $1 RETURNING {CHANNEL_COLUMNS}", channel_id, *changes.values()
    )
    return maybe(Channel, row)


async def get_channel(conn: Conn, channel_id: int) -> Channel | None:
    row = await conn.fetchrow(f"SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1", channel_id)
    return maybe(Channel, row)


async def find_channel(conn: Conn, ref: str) -> Channel | None:
    """A channel by its id, its Telegram chat id, or its @username."""
    row = await conn.fetchrow(
        f"""SELECT {CHANNEL_COLUMNS} FROM channels
            WHERE ($1 ~ '^-?[0-9]+$' AND (id = $1::bigint OR chat_id = $1::bigint))
               OR lower(username) = lower(ltrim($1, '@'))
            ORDER BY id LIMIT 1""",
        ref,
    )
    return maybe(Channel, row)


async def list_channels(conn: Conn, *, active_only: bool = False) -> list[Channel]:
    rows = await conn.fetch(
        f"SELECT {CHANNEL_COLUMNS} FROM channels WHERE active OR NOT $1 ORDER BY id", active_only
    )
    return from_rows(Channel, rows)


async def insert_category(
    conn: Conn, channel_id: int, hashtag: str, names: dict[str, str], position: int | None
) -> Category:
    row = await conn.fetchrow(
        """INSERT INTO categories (channel_id, hashtag, name_uz, name_ru, name_en, position)
           VALUES ($1, $2, $3, $4, $5, coalesce($6, (SELECT coalesce(max(position) + 1, 0)
                                                      FROM categories WHERE channel_id = $1)))
           RETURNING *""",
        channel_id,
        hashtag,
        names["uz"],
        names["ru"],
        names["en"],
        position,
    )
    return from_row(Category, row)


async def list_categories(conn: Conn, channel_id: int) -> list[Category]:
    rows = await conn.fetch(
        "SELECT * FROM categories WHERE channel_id = $1 ORDER BY position, id", channel_id
    )
    return from_rows(Category, rows)


async def insert_admin(conn: Conn, channel_id: int, user_id: int, source: str) -> bool:
    status = await conn.execute(
        "INSERT INTO channel_admins (channel_id, user_id, source) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        channel_id,
        user_id,
        source,
    )
    return status.endswith("1")


async def delete_admin(conn: Conn, channel_id: int, user_id: int) -> bool:
    status = await conn.execute(
        "DELETE FROM channel_admins WHERE channel_id = $1 AND user_id = $2", channel_id, user_id
    )
    return status.endswith("1")


async def list_admin_ids(conn: Conn, channel_id: int) -> list[int]:
    rows = await conn.fetch(
        "SELECT user_id FROM channel_admins WHERE channel_id = $1 ORDER BY added_at, user_id", channel_id
    )
    return [r["user_id"] for r in rows]


async def channels_of_admin(conn: Conn, user_id: int) -> list[int]:
    rows = await conn.fetch("SELECT channel_id FROM channel_admins WHERE user_id = $1", user_id)
    return [r["channel_id"] for r in rows]


async def replace_banned_words(conn: Conn, channel_id: int, words: list[str]) -> None:
    await conn.execute("DELETE FROM banned_words WHERE channel_id = $1", channel_id)
    await conn.executemany(
        "INSERT INTO banned_words (channel_id, word) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(channel_id, word) for word in words],
    )


async def list_banned_words(conn: Conn, channel_id: int) -> list[str]:
    rows = await conn.fetch("SELECT word FROM banned_words WHERE channel_id = $1 ORDER BY word", channel_id)
    return [r["word"] for r in rows]


async def insert_reason(conn: Conn, channel_id: int, texts: dict[str, str]) -> RejectReason:
    row = await conn.fetchrow(
        """INSERT INTO reject_reasons (channel_id, text_uz, text_ru, text_en, position)
           VALUES ($1, $2, $3, $4, (SELECT coalesce(max(position) + 1, 0) FROM reject_reasons
                                     WHERE channel_id = $1))
           RETURNING *""",
        channel_id,
        texts["uz"],
        texts["ru"],
        texts["en"],
    )
    return from_row(RejectReason, row)


async def list_reasons(conn: Conn, channel_id: int) -> list[RejectReason]:
    rows = await conn.fetch(
        "SELECT * FROM reject_reasons WHERE channel_id = $1 ORDER BY position, id", channel_id
    )
    return from_rows(RejectReason, rows)


async def set_chat_id(conn: Conn, channel_id: int, chat_id: int) -> None:
    await conn.execute("UPDATE channels SET chat_id = $2 WHERE id = $1", channel_id, chat_id)


async def replace_telegram_admins(conn: Conn, channel_id: int, user_ids: list[int]) -> None:
    """The channel's own administrators as Telegram lists them; manual grants stay."""
    await conn.execute(
        "DELETE FROM channel_admins WHERE channel_id = $1 AND source = 'telegram' "
        "AND NOT (user_id = ANY($2::bigint[]))",
        channel_id,
        user_ids,
    )
    await conn.executemany(
        "INSERT INTO channel_admins (channel_id, user_id, source) VALUES ($1, $2, 'telegram') "
        "ON CONFLICT DO NOTHING",
        [(channel_id, uid) for uid in user_ids],
    )


async def get_category(conn: Conn, category_id: int) -> Category | None:
    return maybe(Category, await conn.fetchrow("SELECT * FROM categories WHERE id = $1", category_id))


async def update_category(conn: Conn, category_id: int, names: dict[str, str], position: int) -> None:
    await conn.execute(
        "UPDATE categories SET name_uz = $2, name_ru = $3, name_en = $4, position = $5 WHERE id = $1",
        category_id,
        names["uz"],
        names["ru"],
        names["en"],
        position,
    )


async def delete_category(conn: Conn, category_id: int) -> None:
    await conn.execute("DELETE FROM categories WHERE id = $1", category_id)


async def get_reason(conn: Conn, reason_id: int) -> RejectReason | None:
    return maybe(RejectReason, await conn.fetchrow("SELECT * FROM reject_reasons WHERE id = $1", reason_id))


async def delete_reason(conn: Conn, reason_id: int) -> None:
    await conn.execute("DELETE FROM reject_reasons WHERE id = $1", reason_id)
