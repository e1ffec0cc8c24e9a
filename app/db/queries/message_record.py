"""The message record (S5): every message to and from the bot and every button press (sql/0090)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.db import Conn
from app.db.queries.outbox import FINISH, OutboxStatus
from app.db.records import from_rows


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Kind(StrEnum):
    """What a recorded message was; a press of an inline button is BUTTON, shown by its label."""

    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    EDIT = "edit"  # an incoming edited message, or an outgoing edit of a message's text/caption
    PHOTO = "photo"
    ALBUM = "album"
    VIDEO = "video"
    ANIMATION = "animation"
    DOCUMENT = "document"
    AUDIO = "audio"
    VOICE = "voice"
    VIDEO_NOTE = "video_note"
    STICKER = "sticker"
    CONTACT = "contact"
    LOCATION = "location"
    POLL = "poll"
    INVOICE = "invoice"
    PAYMENT = "payment"
    COPY = "copy"  # copyMessage / forwardMessage: the text is the original's, not known here
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Entry:
    """One message to record."""

    user_id: int | None
    chat_id: int | None
    direction: Direction
    kind: Kind
    text: str
    search: str  # the text in canonical form (words separated by spaces), for the tsvector
    at: dt.datetime | None = None  # when it was sent or received; None: now


@dataclass(frozen=True, slots=True)
class MessageLine:
    id: int
    at: dt.datetime
    user_id: int | None
    chat_id: int | None
    direction: Direction
    kind: Kind
    text: str
    username: str | None
    first_name: str | None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ends: the next page is older than this (keyset on (at, id))."""

    at: dt.datetime
    id: int


@dataclass(frozen=True, slots=True)
class Search:
    """The screen's filters; None means any."""

    tsquery: str | None = None  # to_tsquery('simple', …) input built from canonical words only
    user_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive
    direction: Direction | None = None
    kind: Kind | None = None
    before: Cursor | None = None
    ticket_holders_only: bool = False  # an operator's search: users who have (had) a ticket


# The commit is asynchronous, as the journal's (set_config is local to this statement's
# transaction): a crash of the database server may lose the last moment of the record, and the
# bot's other writes never queue behind its WAL flush.
INSERT = """
INSERT INTO message_record (at, user_id, chat_id, direction, kind, text, search)
SELECT coalesce(at, now()), user_id, chat_id, direction, kind, text, to_tsvector('simple', search)
FROM unnest($1::timestamptz[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
     WITH ORDINALITY AS e(at, user_id, chat_id, direction, kind, text, search, ord)
CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
ORDER BY ord
"""


def _columns(entries: Sequence[Entry]) -> list[list[Any]]:
    columns: list[list[Any]] = [[], [], [], [], [], [], []]
    for e in entries:
        values = (e.at, e.user_id, e.chat_id, e.direction.value, e.kind.value, e.text, e.search)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


async def insert_many(conn: Conn, entries: Sequence[Entry]) -> None:
    """Record many messages in one statement, in order."""
    if entries:
        await conn.execute(INSERT, *_columns(entries))


# An outbox row marked sent and its message recorded in one statement (one transaction).
FINISH_RECORDED = f"""
WITH done AS ({FINISH.strip()} RETURNING id), recorded AS (
    INSERT INTO message_record (user_id, chat_id, direction, kind, text, search)
    SELECT $6, $7, 'out', $8, $9, to_tsvector('simple', $10) FROM done
)
SELECT count(*) AS finished FROM done
"""


async def finish_sent(
    conn: Conn, outbox_id: int, attempt: int, result: dict[str, Any] | None, entry: Entry
) -> bool:
    """Mark an outbox row sent (as outbox.finish does) and record what it sent, atomically."""
    finished = await conn.fetchval(
        FINISH_RECORDED,
        outbox_id,
        attempt,
        OutboxStatus.SENT,
        result,
        None,
        entry.user_id,
        entry.chat_id,
        entry.kind.value,
        entry.text,
        entry.search,
    )
    return bool(finished)


class _Where:
    """A search's conditions with only the filters given (so each shape gets its own plan: a
    generic plan for "$n IS NULL OR …" would use no index), numbered in one argument list.
    `indexed` are those the time and user indexes answer; `rest` are checked row by row."""

    def __init__(self, s: Search) -> None:
        self.args: list[Any] = []
        self.indexed: list[str] = []
        self.rest: list[str] = []
        if s.user_id is not None:
            self._add(self.indexed, "m.user_id = {0}", s.user_id)
        if s.since is not None:
            self._add(self.indexed, "m.at >= {0}", s.since)
        if s.until is not None:
            self._add(self.indexed, "m.at < {0}", s.until)
        if s.before is not None:
            self._add(self.indexed, "(m.at, m.id) < ({0}, {1})", s.before.at, s.before.id)
        self.indexed_args = len(self.args)  # the indexed conditions' arguments come first
        self.word = f"${len(self.args) + 1}"  # the tsquery's placeholder
        if s.tsquery is not None:
            self._add(self.rest, "m.search @@ to_tsquery('simple', {0})", s.tsquery)
        if s.direction is not None:
            self._add(self.rest, "m.direction = {0}", s.direction.value)
        if s.kind is not None:
            self._add(self.rest, "m.kind = {0}", s.kind.value)
        if s.ticket_holders_only:
            self.rest.append("EXISTS (SELECT FROM support_tickets t WHERE t.user_id = m.user_id)")

    def _add(self, clauses: list[str], template: str, *values: Any) -> None:
        clauses.append(template.format(*(f"${len(self.args) + i + 1}" for i in range(len(values)))))
        self.args.extend(values)

    @staticmethod
    def joined(clauses: list[str]) -> str:
        return " AND ".join(clauses) or "true"


# A word search first reads the newest WINDOW messages that pass the user and date filters and
# keeps those with the word: a common word fills a page from them at once. When they hold fewer
# than a page, the word is rare there (or the window held every candidate): the rest come through
# the word index (GIN), which reads only the messages with the word. The planner alone cannot
# tell these apart: a rare or absent word, estimated common, had it walk every message by time.
WINDOW = 10_000


async def search(conn: Conn, s: Search, limit: int) -> list[MessageLine]:
    """Newest first, at most `limit`, older than `s.before`."""
    w = _Where(s)
    if s.tsquery is None:
        return await _page(conn, "message_record", w, w.indexed + w.rest, limit)
    indexed = w.joined(w.indexed)
    window = f"(SELECT * FROM message_record m WHERE {indexed} ORDER BY m.at DESC, m.id DESC LIMIT {WINDOW})"
    rows = await _page(conn, window, w, w.rest, limit)
    if len(rows) == limit:
        return rows
    candidates = await conn.fetchval(
        f"SELECT count(*) FROM (SELECT FROM message_record m WHERE {indexed} LIMIT {WINDOW + 1}) c",
        *w.args[: w.indexed_args],
    )
    if candidates <= WINDOW:
        return rows  # the window held every candidate: nothing older has the word
    # OFFSET 0 keeps the planner from folding the word index's subquery into the time walk.
    by_word = f"(SELECT * FROM message_record WHERE search @@ to_tsquery('simple', {w.word}) OFFSET 0)"
    return await _page(conn, by_word, w, w.indexed + w.rest, limit)


async def _page(conn: Conn, source: str, w: _Where, clauses: list[str], limit: int) -> list[MessageLine]:
    rows = await conn.fetch(
        f"""SELECT m.id, m.at, m.user_id, m.chat_id, m.direction, m.kind, m.text, u.username, u.first_name
            FROM {source} m LEFT JOIN users u ON u.id = m.user_id
            WHERE {w.joined(clauses)}
            ORDER BY m.at DESC, m.id DESC LIMIT ${len(w.args) + 1}""",
        *w.args,
        limit,
    )
    return from_rows(MessageLine, rows)


async def user_by_username(conn: Conn, username: str) -> int | None:
    """The id of the user with this @username (any case)."""
    value = await conn.fetchval(
        "SELECT id FROM users WHERE lower(username) = lower($1) ORDER BY last_seen DESC LIMIT 1", username
    )
    return None if value is None else int(value)


async def delete_before(conn: Conn, cutoff: dt.datetime, batch: int) -> int:
    """Delete up to `batch` of the oldest messages recorded before `cutoff`; how many went.
    Small batches, each its own statement: the purge never holds locks for long."""
    status = await conn.execute(
        """DELETE FROM message_record WHERE id IN (
               SELECT id FROM message_record WHERE at < $1 ORDER BY at LIMIT $2)""",
        cutoff,
        batch,
    )
    return int(status.rsplit(" ", 1)[1])
