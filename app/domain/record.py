"""Everything on record (PRODUCT S5): each message to and from the bot and each button press,
searchable by staff in the panel, kept for a retention period an admin sets.

The words are stored in the support matcher's one Latin form (support/normalize.py canonical),
so a word is found whatever script it was typed in: Uzbek in Latin or Cyrillic, Russian in
Cyrillic or in Latin letters ("dostavka" finds "доставка"). A searched word matches the words
that begin with its stem, so "доставку" finds "доставка" too."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.db import UNFIT_VALUES, Conn
from app.db.queries import message_record as q
from app.db.queries import panel_admin as settings_q
from app.db.queries.message_record import Cursor, Direction, Entry, Kind, MessageLine, Search
from app.domain import staff as staff_domain
from app.domain.staff import Staff
from app.domain.support.normalize import canonical, stem
from app.domain.users import reads_messages, sees_private_messages, serves_only_ticket_holders
from app.i18n import N_, UserError

log = logging.getLogger(__name__)

__all__ = [
    "Cursor",
    "Direction",
    "Entry",
    "Kind",
    "MessageLine",
    "entry",
    "find_messages",
    "outgoing",
    "purge",
    "record",
    "retention_days",
    "retention_from",
    "save_retention",
]

MAX_TEXT = 4096  # Telegram's own limit for a message's text
RETENTION_SETTING = "message_record_days"
DEFAULT_RETENTION_DAYS = 365
MAX_RETENTION_DAYS = 36_500
PURGE_BATCH = 5_000
PAGE = 50
MAX_WORDS = 8


class RecordError(UserError):
    """A search or a setting of the message record that cannot be used."""


def searchable(text: str) -> str:
    """The text's words in canonical form (the same as `canonical(text)`). What the bot sends
    again and again (menus, answers) comes from a cache of whole texts; names, prices and ad
    titles make the rest new, but their words repeat: word by word through a second cache
    (normalising a whole text took ~40 µs)."""
    return _text(text) if len(text) <= CACHED_TEXT else _by_word(text)


CACHED_TEXT = 1000


@lru_cache(maxsize=2048)
def _text(text: str) -> str:
    return _by_word(text)


def _by_word(text: str) -> str:
    words = (w if w.isdigit() and w.isascii() else _word(w) for w in text.split())
    return " ".join(w for w in words if w)


@lru_cache(maxsize=20_000)
def _word(word: str) -> str:
    # canonical works within runs of letters and digits, and whitespace ends every run: the
    # canonical form of a text is its words' canonical forms joined.
    return canonical(word) if len(word) <= 64 else canonical(word[:64])


def entry(
    user_id: int | None,
    chat_id: int | None,
    direction: Direction,
    kind: Kind,
    text: str,
    at: dt.datetime | None = None,
) -> Entry:
    """A message to record (at `at`, else when it is written); its search form is computed here."""
    clipped = _UNSTORABLE.sub("\ufffd", text[:MAX_TEXT])  # what text columns refuse, as U+FFFD
    return Entry(user_id, chat_id, direction, kind, clipped, searchable(clipped), at)


# What text columns refuse: NUL, and (not being UTF-8) a lone surrogate a forged update may carry.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


async def record(conn: Conn, entries: Sequence[Entry]) -> None:
    """Record messages in one statement (the bot's, buffered: what it heard and what it said).
    On a connection outside a transaction. Should PostgreSQL refuse one entry's values, the
    others are recorded one at a time, in one transaction (a connection lost meanwhile writes
    none, so a retry writes none twice), and the refused one is logged and left out: kept, it
    would be refused again on every retry, and hold back everything recorded after it."""
    try:
        await q.insert_many(conn, entries)
    except UNFIT_VALUES as exc:
        log.warning("the record refused %d message(s) (%.300s); recording them one by one", len(entries), exc)
        async with conn.transaction():
            for one in entries:
                try:
                    async with conn.transaction():  # a savepoint: a refused entry undoes only itself
                        await q.insert_many(conn, [one])
                except UNFIT_VALUES as refused:
                    log.error(
                        "a %s message of user %s left off the record: %.300s", one.kind, one.user_id, refused
                    )


async def record_outbox_sent(
    conn: Conn, outbox_id: int, attempt: int, result: dict[str, Any] | None, sent: Entry
) -> bool:
    """An outbox row was delivered: mark it sent and record its message, in one statement."""
    return await q.finish_sent(conn, outbox_id, attempt, result, sent)


# How a Bot API call reads on record ----------------------------------------------------------

# Calls that put a message in a chat (or change one), by their Bot API name; others (answers to
# button presses, deletions, chat administration) are not messages and are not recorded.
SENT_KINDS = {
    "sendMessage": Kind.TEXT,
    "sendPhoto": Kind.PHOTO,
    "sendMediaGroup": Kind.ALBUM,
    "sendVideo": Kind.VIDEO,
    "sendAnimation": Kind.ANIMATION,
    "sendDocument": Kind.DOCUMENT,
    "sendAudio": Kind.AUDIO,
    "sendVoice": Kind.VOICE,
    "sendVideoNote": Kind.VIDEO_NOTE,
    "sendSticker": Kind.STICKER,
    "sendContact": Kind.CONTACT,
    "sendLocation": Kind.LOCATION,
    "sendVenue": Kind.LOCATION,
    "sendPoll": Kind.POLL,
    "sendInvoice": Kind.INVOICE,
    "copyMessage": Kind.COPY,
    "forwardMessage": Kind.COPY,
    "editMessageText": Kind.EDIT,
    "editMessageCaption": Kind.EDIT,
    "editMessageMedia": Kind.EDIT,
}


def outgoing(method: str, param: Callable[[str], Any], at: dt.datetime | None = None) -> Entry | None:
    """The record of a call the bot made (`param` reads one of its parameters: from an aiogram
    method object or from an outbox row's params); None for a call that sends no message."""
    kind = SENT_KINDS.get(method)
    if kind is None:
        return None
    chat_id = param("chat_id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        if method.startswith("edit") and param("inline_message_id"):
            return None  # an inline message: no chat to file it under
        chat_id = None
    text = param("text") or param("caption") or param("title") or param("question") or ""
    if kind is Kind.ALBUM:
        text = "\n".join(c for c in (_caption(m) for m in param("media") or ()) if c)
    elif kind is Kind.EDIT and method == "editMessageMedia":
        text = _caption(param("media")) or ""
    return entry(
        chat_id if chat_id is not None and chat_id > 0 else None,
        chat_id,
        Direction.OUT,
        kind,
        text if isinstance(text, str) else "",
        at,
    )


def _caption(media: Any) -> str | None:
    caption = media.get("caption") if isinstance(media, Mapping) else getattr(media, "caption", None)
    return caption if isinstance(caption, str) else None


# Searching -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """What staff look for; empty fields match everything."""

    words: str = ""
    user: str = ""  # a user id or @username
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive
    direction: Direction | None = None
    kind: Kind | None = None
    before: Cursor | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[MessageLine]
    next: Cursor | None  # where the next (older) page starts; None on the last page


NOT_SERVED = N_("Operators read the messages of users who have written to support; this user has not.")


class NotAllowed(RecordError):
    """Moderators decide ads, not conversations: they do not read the record."""


def tsquery(words: str) -> str | None:
    """The text-search query for what was typed: each word's stem as a prefix, all required.
    Only [a-z0-9] reach it (canonical), so nothing typed can break the query syntax."""
    terms = list(dict.fromkeys(stem(w) for w in canonical(words).split()))[:MAX_WORDS]
    return " & ".join(f"{t}:*" for t in terms if t) or None


async def find_messages(conn: Conn, staff: Staff, query: MessageQuery) -> MessagePage:
    """A page of recorded messages, newest first: admins every user's, operators those of the
    users who have (or had) a support ticket."""
    if not reads_messages(staff):
        raise NotAllowed(N_("Your role does not give access to this page."))
    user_id: int | None = None
    who = query.user.strip().removeprefix("@")
    if who:
        if who.isascii() and who.isdigit() and len(who) <= 15:
            user_id = int(who)
        else:
            found = await q.user_by_username(conn, who)
            if found is None:
                raise RecordError(N_("No user is called @{username}."), username=who)
            user_id = found
        if not await sees_private_messages(conn, staff, user_id):
            raise RecordError(NOT_SERVED)
    words = query.words.strip()
    terms = tsquery(words) if words else None
    if words and terms is None:
        return MessagePage([], None)  # only punctuation: no word to look for
    search = Search(
        terms,
        user_id,
        query.since,
        query.until,
        query.direction,
        query.kind,
        query.before,
        ticket_holders_only=serves_only_ticket_holders(staff),
    )
    rows = await q.search(conn, search, PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return MessagePage(rows, Cursor(rows[-1].at, rows[-1].id) if more else None)


# Retention -------------------------------------------------------------------------------------


def retention_from(stored: Mapping[str, str]) -> int:
    """The retention in days among the stored settings (the default when none is stored)."""
    value = stored.get(RETENTION_SETTING) or ""
    return int(value) if value.isdigit() else DEFAULT_RETENTION_DAYS


async def retention_days(conn: Conn) -> int:
    """How many days messages are kept; 0 keeps them for ever."""
    return retention_from(await settings_q.get_settings(conn))


async def save_retention(conn: Conn, staff_id: int, days: int | None) -> int:
    """An admin sets the retention (0: keep for ever); audited. Call in a transaction."""
    if days is None or not 0 <= days <= MAX_RETENTION_DAYS:
        raise RecordError(
            N_("Keep messages for a whole number of days from 0 to {top} (0 keeps them for ever)."),
            top=MAX_RETENTION_DAYS,
        )
    before = retention_from(await settings_q.get_settings(conn))
    await settings_q.put_setting(conn, RETENTION_SETTING, str(days), staff_id)
    await staff_domain.audit(
        conn, staff_id, "settings.message_record", "settings:message_record", {"days": before}, {"days": days}
    )
    return days


async def purge(conn: Conn, now: dt.datetime, *, batch: int = PURGE_BATCH) -> int:
    """Delete the messages older than the retention, a batch per statement (never a long lock);
    how many went. Call outside a transaction, so that each batch commits on its own.

    The dashboard's messages out are counted from the record (sql/0093): the roll-up counts a
    message once it is 2 minutes old, every minute; the retention is at least a day, so a
    message is counted long before it may be purged."""
    days = await retention_days(conn)
    if days == 0:
        return 0
    cutoff = now - dt.timedelta(days=days)
    removed = 0
    while True:
        count = await q.delete_before(conn, cutoff, batch)
        removed += count
        if count < batch:
            return removed
