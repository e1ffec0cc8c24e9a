"""Queries on conversations, their members and messages, blocks and reports; chat notifications."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.db import Conn
from app.db.queries.ads import AdStatus
from app.db.records import from_row, from_rows, maybe

CHANNEL = "bozor_chat"  # NOTIFY channel: every event of the web chat, routed by account ids


class Via:
    WEB = "web"
    TELEGRAM = "telegram"
    API = "api"


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    ad_id: int | None
    starter_id: int
    other_id: int
    created_at: dt.datetime
    last_message_id: int
    reported_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Member:
    conversation_id: int
    account_id: int
    peer_id: int
    last_read_id: int
    relay: bool


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: int
    conversation_id: int
    sender_id: int
    body: str
    photo_key: str | None
    via: str
    client_id: str | None
    created_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "sender_id": self.sender_id,
            "body": self.body,
            "photo": self.photo_key is not None,
            "via": self.via,
            "client_id": self.client_id,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class AdCard:
    """What heads a conversation about an ad."""

    id: int
    title: str
    price: Decimal | None
    currency: str | None
    negotiable: bool
    status: AdStatus
    photo_key: str | None
    seller_id: int


@dataclass(frozen=True, slots=True)
class ConversationView:
    """One conversation as one of its members sees it."""

    id: int
    account_id: int
    peer_id: int
    peer_name: str
    peer_telegram_id: int | None
    last_read_id: int
    peer_read_id: int
    last_message_id: int
    relay: bool
    reported_at: dt.datetime | None
    blocked_by_me: bool
    blocked_by_peer: bool
    ad: AdCard | None


@dataclass(frozen=True, slots=True)
class ConversationLine:
    """One line of someone's conversation list."""

    id: int
    peer_name: str
    ad_id: int | None
    ad_title: str | None
    ad_status: AdStatus | None
    last_message_id: int
    last_body: str | None
    last_photo: bool
    last_at: dt.datetime | None
    unread: int


@dataclass(frozen=True, slots=True)
class Report:
    conversation_id: int
    reports: int
    last_reason: str
    reported_at: dt.datetime
    starter_name: str
    other_name: str
    ad_title: str | None


MESSAGE = "m.id, m.conversation_id, m.sender_id, m.body, m.photo_key, m.via, m.client_id, m.created_at"
CONVERSATION = "c.id, c.ad_id, c.starter_id, c.other_id, c.created_at, c.last_message_id, c.reported_at"


async def open_conversation(conn: Conn, starter_id: int, other_id: int, ad_id: int | None) -> Conversation:
    """The conversation of these two about this ad, made with its two members when new."""
    row = await conn.fetchrow(
        f"""WITH made AS (
                INSERT INTO chat_conversations AS c (starter_id, other_id, ad_id) VALUES ($1, $2, $3)
                ON CONFLICT (starter_id, other_id, coalesce(ad_id, 0)) DO NOTHING
                RETURNING {CONVERSATION}),
            members AS (
                INSERT INTO chat_members (conversation_id, account_id, peer_id)
                SELECT id, starter_id, other_id FROM made
                UNION ALL SELECT id, other_id, starter_id FROM made)
            SELECT * FROM made
            UNION ALL
            SELECT {CONVERSATION} FROM chat_conversations c
            WHERE c.starter_id = $1 AND c.other_id = $2 AND coalesce(c.ad_id, 0) = coalesce($3, 0)""",
        starter_id,
        other_id,
        ad_id,
    )
    if row is None:  # made by a parallel call and not yet visible to this statement
        row = await conn.fetchrow(
            f"""SELECT {CONVERSATION} FROM chat_conversations c
                WHERE c.starter_id = $1 AND c.other_id = $2 AND coalesce(c.ad_id, 0) = coalesce($3, 0)""",
            starter_id,
            other_id,
            ad_id,
        )
    return from_row(Conversation, row)


async def get_member(conn: Conn, conversation_id: int, account_id: int) -> Member | None:
    row = await conn.fetchrow(
        """SELECT conversation_id, account_id, peer_id, last_read_id, relay FROM chat_members
           WHERE conversation_id = $1 AND account_id = $2""",
        conversation_id,
        account_id,
    )
    return maybe(Member, row)


async def members_of(conn: Conn, conversation_id: int) -> list[Member]:
    rows = await conn.fetch(
        """SELECT conversation_id, account_id, peer_id, last_read_id, relay FROM chat_members
           WHERE conversation_id = $1 ORDER BY account_id""",
        conversation_id,
    )
    return from_rows(Member, rows)


async def conversation_view(conn: Conn, conversation_id: int, account_id: int) -> ConversationView | None:
    row = await conn.fetchrow(
        """SELECT c.id, me.account_id, me.peer_id, p.display_name AS peer_name,
                  p.telegram_user_id AS peer_telegram_id, me.last_read_id, peer.last_read_id AS peer_read_id,
                  c.last_message_id, me.relay, c.reported_at,
                  EXISTS (SELECT 1 FROM chat_blocks WHERE blocker_id = me.account_id
                          AND blocked_id = me.peer_id) AS blocked_by_me,
                  EXISTS (SELECT 1 FROM chat_blocks WHERE blocker_id = me.peer_id
                          AND blocked_id = me.account_id) AS blocked_by_peer,
                  a.id AS ad_id, a.title, a.price, a.currency, a.negotiable, a.status, a.seller_id,
                  (SELECT storage_key FROM ad_photos
                   WHERE ad_id = a.id ORDER BY position LIMIT 1) AS photo_key
           FROM chat_members me
           JOIN chat_conversations c ON c.id = me.conversation_id
           JOIN chat_members peer ON peer.conversation_id = c.id AND peer.account_id = me.peer_id
           JOIN chat_accounts p ON p.id = me.peer_id
           LEFT JOIN ads a ON a.id = c.ad_id
           WHERE me.conversation_id = $1 AND me.account_id = $2""",
        conversation_id,
        account_id,
    )
    if row is None:
        return None
    ad = None
    if row["ad_id"] is not None:
        ad = AdCard(
            row["ad_id"],
            row["title"],
            row["price"],
            row["currency"],
            row["negotiable"],
            AdStatus(row["status"]),
            row["photo_key"],
            row["seller_id"],
        )
    values = {name: row[name] for name in ConversationView.__dataclass_fields__ if name != "ad"}
    return ConversationView(**values, ad=ad)


async def conversation_lines(
    conn: Conn, account_id: int, search: str | None, limit: int
) -> list[ConversationLine]:
    """Someone's conversations, the latest first, with unread counts; `search` keeps those whose
    peer, ad title or messages contain it."""
    rows = await conn.fetch(
        """SELECT c.id, p.display_name AS peer_name, c.ad_id, a.title AS ad_title, a.status AS ad_status,
                  c.last_message_id, lm.body AS last_body, lm.photo_key IS NOT NULL AS last_photo,
                  lm.created_at AS last_at,
                  (SELECT count(*) FROM chat_messages u WHERE u.conversation_id = c.id
                     AND u.id > me.last_read_id AND u.sender_id <> me.account_id) AS unread
           FROM chat_members me
           JOIN chat_conversations c ON c.id = me.conversation_id
           JOIN chat_accounts p ON p.id = me.peer_id
           LEFT JOIN ads a ON a.id = c.ad_id
           LEFT JOIN chat_messages lm ON lm.id = nullif(c.last_message_id, 0)
           WHERE me.account_id = $1
             AND ($2::text IS NULL
                  OR p.display_name ILIKE '%' || $2 || '%'
                  OR a.title ILIKE '%' || $2 || '%'
                  OR EXISTS (SELECT 1 FROM chat_messages s WHERE s.conversation_id = c.id
                             AND s.body ILIKE '%' || $2 || '%'))
           ORDER BY c.last_message_id DESC, c.id DESC
           LIMIT $3""",
        account_id,
        search,
        limit,
    )
    return from_rows(ConversationLine, rows)


async def unread_total(conn: Conn, account_id: int) -> int:
    count = await conn.fetchval(
        """SELECT count(*) FROM chat_members me
           JOIN chat_messages u ON u.conversation_id = me.conversation_id
           WHERE me.account_id = $1 AND u.id > me.last_read_id AND u.sender_id <> me.account_id""",
        account_id,
    )
    return int(count or 0)


@dataclass(frozen=True, slots=True)
class SendContext:
    """What sending a message needs to know, read in one round trip."""

    peer_id: int
    blocked: bool  # either side blocked the other
    recent: int  # messages the sender sent within the rate window
    earlier_id: int | None  # a message of this sender with the same client id, in this conversation
    peer_relay: bool  # the peer talks in Telegram: relay every message
    peer_telegram_id: int | None  # None: no Telegram linked, or they blocked the bot
    peer_language: str | None
    peer_language_code: str | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try at storing a message found out, and the message when it was stored."""

    context: SendContext | None  # None: the sender is not a member of the conversation
    message: ChatMessage | None  # None: not stored (a check failed, a resend, or a relay is due)


_CONTEXT = """SELECT me.peer_id,
                  EXISTS (SELECT 1 FROM chat_blocks
                          WHERE (blocker_id, blocked_id) IN ((me.account_id, me.peer_id),
                                                             (me.peer_id, me.account_id))) AS blocked,
                  (SELECT count(*) FROM chat_messages r
                   WHERE r.sender_id = $2 AND r.created_at > now() - $7::interval) AS recent,
                  (SELECT e.id FROM chat_messages e
                   WHERE $6::text IS NOT NULL AND e.sender_id = $2 AND e.client_id = $6
                     AND e.conversation_id = $1) AS earlier_id,
                  peer.relay AS peer_relay, u.id AS peer_telegram_id,
                  coalesce(pa.language, u.language) AS peer_language, u.language_code AS peer_language_code
           FROM chat_members me
           JOIN chat_members peer
             ON peer.conversation_id = me.conversation_id AND peer.account_id = me.peer_id
           JOIN chat_accounts pa ON pa.id = me.peer_id
           LEFT JOIN users u ON u.id = pa.telegram_user_id AND u.blocked_bot_at IS NULL
           WHERE me.conversation_id = $1 AND me.account_id = $2"""


async def try_to_send(
    conn: Conn,
    *,
    conversation_id: int,
    sender_id: int,
    body: str,
    photo_key: str | None,
    via: str,
    client_id: str | None,
    window: dt.timedelta,
    limit: int,
    valid: bool,
    may_relay: bool,
) -> Attempt:
    """The checks and the common case in one statement: the message is stored (the latest id
    moved, the sender's read mark, the peer's notice clock) only when the sender is a member,
    the text is `valid`, nobody blocked anyone, the sender is under `limit` messages in
    `window`, the client id is new, and the peer needs no relay through the bot (with
    `may_relay`) — that one is written with its outbox row in a transaction (insert_message)."""
    row = await conn.fetchrow(
        f"""WITH ctx AS ({_CONTEXT}),
            m AS (
                INSERT INTO chat_messages (conversation_id, sender_id, body, photo_key, via, client_id)
                SELECT $1, $2, $3, $4, $5, $6 FROM ctx
                WHERE $9 AND NOT ctx.blocked AND ctx.recent < $8 AND ctx.earlier_id IS NULL
                  AND NOT (ctx.peer_telegram_id IS NOT NULL AND ctx.peer_relay AND $10)
                ON CONFLICT (sender_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
                RETURNING *),
            bumped AS (UPDATE chat_conversations c SET last_message_id = m.id
                       FROM m WHERE c.id = m.conversation_id),
            seen AS (UPDATE chat_members me SET last_read_id = m.id FROM m
                     WHERE me.conversation_id = m.conversation_id AND me.account_id = m.sender_id),
            clock AS (
                INSERT INTO chat_notices AS n (conversation_id, account_id, pending_since)
                SELECT m.conversation_id, ctx.peer_id, now() FROM m, ctx
                WHERE ctx.peer_telegram_id IS NOT NULL AND NOT ctx.peer_relay
                ON CONFLICT (conversation_id, account_id)
                DO UPDATE SET pending_since = coalesce(n.pending_since, now()))
            SELECT ctx.*, m.id AS m_id, m.conversation_id AS m_conversation_id, m.sender_id AS m_sender_id,
                   m.body AS m_body, m.photo_key AS m_photo_key, m.via AS m_via, m.client_id AS m_client_id,
                   m.created_at AS m_created_at
            FROM ctx LEFT JOIN m ON true""",
        conversation_id,
        sender_id,
        body,
        photo_key,
        via,
        client_id,
        window,
        limit,
        valid,
        may_relay,
    )
    if row is None:
        return Attempt(None, None)
    context = from_row(SendContext, row)
    message = None
    if row["m_id"] is not None:
        message = ChatMessage(**{name: row[f"m_{name}"] for name in ChatMessage.__dataclass_fields__})
    return Attempt(context, message)


async def insert_message(
    conn: Conn,
    *,
    conversation_id: int,
    sender_id: int,
    peer_id: int,
    body: str,
    photo_key: str | None,
    via: str,
    client_id: str | None,
    schedule_notice: bool = False,
) -> ChatMessage | None:
    """Store a message in one statement: the conversation's latest id moves to it, the sender
    has read it and, with `schedule_notice`, the peer's offline notice clock starts. None when
    this sender already sent one with this client id (a resend after a lost answer)."""
    row = await conn.fetchrow(
        f"""WITH m AS (
                INSERT INTO chat_messages (conversation_id, sender_id, body, photo_key, via, client_id)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (sender_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
                RETURNING *),
            bumped AS (UPDATE chat_conversations c SET last_message_id = m.id
                       FROM m WHERE c.id = m.conversation_id),
            seen AS (UPDATE chat_members me SET last_read_id = m.id FROM m
                     WHERE me.conversation_id = m.conversation_id AND me.account_id = m.sender_id),
            clock AS (
                INSERT INTO chat_notices AS n (conversation_id, account_id, pending_since)
                SELECT m.conversation_id, $7, now() FROM m WHERE $8
                ON CONFLICT (conversation_id, account_id)
                DO UPDATE SET pending_since = coalesce(n.pending_since, now()))
            SELECT {MESSAGE} FROM m""",
        conversation_id,
        sender_id,
        body,
        photo_key,
        via,
        client_id,
        peer_id,
        schedule_notice,
    )
    return maybe(ChatMessage, row)


async def message_by_client_id(conn: Conn, sender_id: int, client_id: str) -> ChatMessage | None:
    row = await conn.fetchrow(
        f"SELECT {MESSAGE} FROM chat_messages m WHERE m.sender_id = $1 AND m.client_id = $2",
        sender_id,
        client_id,
    )
    return maybe(ChatMessage, row)


async def photo_reported(conn: Conn, photo_key: str) -> bool:
    """Whether a message of a reported conversation carries this photo (reported ones first:
    few, indexed, and each conversation's messages by its index)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT FROM chat_conversations c "
            "JOIN chat_messages m ON m.conversation_id = c.id "
            "WHERE c.reported_at IS NOT NULL AND m.photo_key = $1)",
            photo_key,
        )
    )


async def get_message(conn: Conn, message_id: int) -> ChatMessage | None:
    row = await conn.fetchrow(f"SELECT {MESSAGE} FROM chat_messages m WHERE m.id = $1", message_id)
    return maybe(ChatMessage, row)


async def messages_before(
    conn: Conn, conversation_id: int, before_id: int | None, limit: int
) -> list[ChatMessage]:
    """A page of history, newest first: messages older than `before_id` (None: the latest)."""
    rows = await conn.fetch(
        f"""SELECT {MESSAGE} FROM chat_messages m
            WHERE m.conversation_id = $1 AND ($2::bigint IS NULL OR m.id < $2)
            ORDER BY m.id DESC LIMIT $3""",
        conversation_id,
        before_id,
        limit,
    )
    return from_rows(ChatMessage, rows)


async def messages_after(conn: Conn, conversation_id: int, after_id: int, limit: int) -> list[ChatMessage]:
    rows = await conn.fetch(
        f"""SELECT {MESSAGE} FROM chat_messages m WHERE m.conversation_id = $1 AND m.id > $2
            ORDER BY m.id LIMIT $3""",
        conversation_id,
        after_id,
        limit,
    )
    return from_rows(ChatMessage, rows)


# Ids are given in order but transactions commit in any order: a catch-up also repeats the last
# seconds' messages (pages drop ids they show), so one committed late behind a higher id is not lost.
OVERLAP = dt.timedelta(seconds=30)


async def missed_messages(
    conn: Conn, account_id: int, after_id: int, cursor: int, limit: int
) -> list[ChatMessage]:
    """A page, oldest first, of every message of this account's conversations after `after_id`
    (and of the last OVERLAP): what a reconnecting page missed. `cursor` is the last id of the
    previous page (0 for the first): the overlap may hold more than a page, so pages go on from
    it, never from `after_id` again."""
    rows = await conn.fetch(
        f"""SELECT {MESSAGE} FROM chat_members me
            JOIN chat_messages m ON m.conversation_id = me.conversation_id
            WHERE me.account_id = $1 AND m.id > $5
              AND (m.id > $2 OR m.created_at > now() - $4::interval)
            ORDER BY m.id LIMIT $3""",
        account_id,
        after_id,
        limit,
        OVERLAP,
        cursor,
    )
    return from_rows(ChatMessage, rows)


async def latest_message_id(conn: Conn, account_id: int) -> int:
    value = await conn.fetchval(
        """SELECT coalesce(max(c.last_message_id), 0) FROM chat_members me
           JOIN chat_conversations c ON c.id = me.conversation_id WHERE me.account_id = $1""",
        account_id,
    )
    return int(value or 0)


async def mark_read(conn: Conn, conversation_id: int, account_id: int, upto: int) -> int | None:
    """Move the reader's mark forward to `upto` (never past the latest message, never back);
    the new mark, or None when it did not move."""
    value = await conn.fetchval(
        """UPDATE chat_members me SET last_read_id = least($3, c.last_message_id)
           FROM chat_conversations c
           WHERE me.conversation_id = $1 AND me.account_id = $2 AND c.id = me.conversation_id
             AND least($3, c.last_message_id) > me.last_read_id
           RETURNING me.last_read_id""",
        conversation_id,
        account_id,
        upto,
    )
    return None if value is None else int(value)


async def set_relay(conn: Conn, conversation_id: int, account_id: int, relay: bool) -> None:
    await conn.execute(
        "UPDATE chat_members SET relay = $3 WHERE conversation_id = $1 AND account_id = $2 AND relay <> $3",
        conversation_id,
        account_id,
        relay,
    )


async def block(conn: Conn, blocker_id: int, blocked_id: int) -> None:
    await conn.execute(
        "INSERT INTO chat_blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        blocker_id,
        blocked_id,
    )


async def unblock(conn: Conn, blocker_id: int, blocked_id: int) -> None:
    await conn.execute(
        "DELETE FROM chat_blocks WHERE blocker_id = $1 AND blocked_id = $2", blocker_id, blocked_id
    )


async def insert_report(conn: Conn, conversation_id: int, reporter_id: int, reason: str) -> int:
    report_id = await conn.fetchval(
        """WITH r AS (INSERT INTO chat_reports (conversation_id, reporter_id, reason) VALUES ($1, $2, $3)
                      RETURNING id),
                c AS (UPDATE chat_conversations SET reported_at = now() WHERE id = $1)
           SELECT id FROM r""",
        conversation_id,
        reporter_id,
        reason,
    )
    return int(report_id)


async def reported(conn: Conn, limit: int) -> list[Report]:
    rows = await conn.fetch(
        """SELECT c.id AS conversation_id, count(r.id) AS reports,
                  (array_agg(r.reason ORDER BY r.id DESC))[1] AS last_reason, c.reported_at,
                  s.display_name AS starter_name, o.display_name AS other_name, a.title AS ad_title
           FROM chat_conversations c
           JOIN chat_reports r ON r.conversation_id = c.id
           JOIN chat_accounts s ON s.id = c.starter_id
           JOIN chat_accounts o ON o.id = c.other_id
           LEFT JOIN ads a ON a.id = c.ad_id
           WHERE c.reported_at IS NOT NULL
           GROUP BY c.id, s.display_name, o.display_name, a.title
           ORDER BY c.reported_at DESC LIMIT $1""",
        limit,
    )
    return from_rows(Report, rows)


async def get_conversation(conn: Conn, conversation_id: int) -> Conversation | None:
    row = await conn.fetchrow(
        f"SELECT {CONVERSATION} FROM chat_conversations c WHERE c.id = $1", conversation_id
    )
    return maybe(Conversation, row)


NOTIFY_BYTES = 7900  # NOTIFY payloads stop at 8000 bytes
MESSAGE_BYTES = 6000  # a message whose text is longer travels as its id alone (read by the listener)


def notify_text(event: dict[str, Any]) -> str:
    """An event as a NOTIFY payload: a long message goes as its id, to be read from the table."""
    message = event.get("message")
    if isinstance(message, dict) and len(str(message.get("body", "")).encode()) >= MESSAGE_BYTES:
        event = {key: value for key, value in event.items() if key != "message"}
    return json.dumps(event, ensure_ascii=False)


async def notify(conn: Conn, event: dict[str, Any]) -> None:
    """Tell every process (their sockets) about an event; sent when the transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, notify_text(event))


async def notify_many(conn: Conn, payloads: list[str]) -> None:
    """Several payloads in one statement: one transaction, one commit, delivered in this order."""
    await conn.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", CHANNEL, payloads)


@dataclass(frozen=True, slots=True)
class TelegramTarget:
    """Where and in which language a member is reached in Telegram (None when they blocked the bot)."""

    user_id: int
    language: str | None
    language_code: str | None


async def telegram_target(conn: Conn, account_id: int, default: str) -> TelegramTarget | None:
    row = await conn.fetchrow(
        """SELECT u.id AS user_id, coalesce(a.language, u.language) AS language, u.language_code
           FROM chat_accounts a JOIN users u ON u.id = a.telegram_user_id
           WHERE a.id = $1 AND u.blocked_bot_at IS NULL""",
        account_id,
    )
    return maybe(TelegramTarget, row)


async def conversation_of_sent(conn: Conn, chat_id: int, message_id: int, kinds: list[str]) -> int | None:
    """The conversation an outbox row about it sent this Telegram message for."""
    found = await conn.fetchval(
        """SELECT ref_id FROM outbox
           WHERE chat_id = $1 AND ref_kind = ANY($3::text[]) AND status = 'sent'
             AND (result->>'message_id')::bigint = $2
           ORDER BY id DESC LIMIT 1""",
        chat_id,
        message_id,
        kinds,
    )
    return None if found is None else int(found)


# --- offline notices ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueNotice:
    conversation_id: int
    account_id: int
    peer_id: int
    last_read_id: int
    notified_upto: int


@dataclass(frozen=True, slots=True)
class Unread:
    count: int
    first_id: int | None
    last_id: int | None
    first_body: str | None


async def claim_due_notices(
    conn: Conn, now: dt.datetime, grace: dt.timedelta, interval: dt.timedelta, limit: int
) -> list[DueNotice]:
    """Pending notices past their grace and their interval, locked for this transaction."""
    rows = await conn.fetch(
        """SELECT n.conversation_id, n.account_id, me.peer_id, me.last_read_id, n.notified_upto
           FROM chat_notices n
           JOIN chat_members me ON me.conversation_id = n.conversation_id AND me.account_id = n.account_id
           WHERE n.pending_since IS NOT NULL AND n.pending_since <= $1::timestamptz - $2::interval
             AND (n.last_sent_at IS NULL OR n.last_sent_at <= $1::timestamptz - $3::interval)
           ORDER BY n.pending_since LIMIT $4
           FOR UPDATE OF n SKIP LOCKED""",
        now,
        grace,
        interval,
        limit,
    )
    return from_rows(DueNotice, rows)


async def unread_from(conn: Conn, conversation_id: int, sender_id: int, after_id: int) -> Unread:
    row = await conn.fetchrow(
        """SELECT count(*) AS count, min(id) AS first_id, max(id) AS last_id,
                  (SELECT body FROM chat_messages WHERE conversation_id = $1 AND sender_id = $2 AND id > $3
                   ORDER BY id LIMIT 1) AS first_body
           FROM chat_messages WHERE conversation_id = $1 AND sender_id = $2 AND id > $3""",
        conversation_id,
        sender_id,
        after_id,
    )
    return from_row(Unread, row)


async def notice_sent(conn: Conn, conversation_id: int, account_id: int, now: dt.datetime, upto: int) -> None:
    await conn.execute(
        """UPDATE chat_notices SET pending_since = NULL, last_sent_at = $3, notified_upto = $4
           WHERE conversation_id = $1 AND account_id = $2""",
        conversation_id,
        account_id,
        now,
        upto,
    )


async def notice_settled(conn: Conn, conversation_id: int, account_id: int) -> None:
    """Nothing to tell (read meanwhile): no notice pending."""
    await conn.execute(
        "UPDATE chat_notices SET pending_since = NULL WHERE conversation_id = $1 AND account_id = $2",
        conversation_id,
        account_id,
    )


async def notice_later(conn: Conn, conversation_id: int, account_id: int, now: dt.datetime) -> None:
    """They are on the web right now: look again after another grace period."""
    await conn.execute(
        "UPDATE chat_notices SET pending_since = $3 WHERE conversation_id = $1 AND account_id = $2",
        conversation_id,
        account_id,
        now,
    )


# --- presence ---------------------------------------------------------------------------------------

PRESENCE_TTL = dt.timedelta(seconds=90)


async def presence_moved(conn: Conn, account_id: int, node: str, delta: int) -> list[int] | None:
    """Count a page opened (+1) or closed (-1) on this process, in one round trip. The
    account's peers when they should hear of it — its first page here opened, or its last
    page anywhere (on a live process) closed — else None."""
    row = await conn.fetchrow(
        """WITH p AS (
               INSERT INTO chat_presence AS p (account_id, node, sockets) VALUES ($1, $2, greatest($3, 0))
               ON CONFLICT (account_id, node)
               DO UPDATE SET sockets = greatest(p.sockets + $3, 0), seen_at = now()
               RETURNING sockets)
           SELECT CASE WHEN ($3 > 0 AND p.sockets = 1)
                         OR ($3 < 0 AND p.sockets = 0
                             AND NOT EXISTS (SELECT 1 FROM chat_presence o
                                             WHERE o.account_id = $1 AND o.node <> $2 AND o.sockets > 0
                                               AND o.seen_at > now() - $4::interval))
                       THEN ARRAY(SELECT DISTINCT peer_id FROM chat_members WHERE account_id = $1)
                  END AS peers
           FROM p""",
        account_id,
        node,
        delta,
        PRESENCE_TTL,
    )
    peers = None if row is None else row["peers"]
    return None if peers is None else [int(peer) for peer in peers]


async def presence_refresh(conn: Conn, node: str) -> None:
    await conn.execute("UPDATE chat_presence SET seen_at = now() WHERE node = $1 AND sockets > 0", node)


async def presence_clear(conn: Conn, node: str) -> None:
    await conn.execute("DELETE FROM chat_presence WHERE node = $1", node)


async def is_online(conn: Conn, account_id: int, now: dt.datetime | None = None) -> bool:
    """An open page on any process that is still alive (`now`: the database's, when None)."""
    found = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM chat_presence
                          WHERE account_id = $1 AND sockets > 0
                            AND seen_at > coalesce($2::timestamptz, now()) - $3::interval)""",
        account_id,
        now,
        PRESENCE_TTL,
    )
    return bool(found)


async def member_names(conn: Conn, conversation_id: int) -> dict[int, str]:
    rows = await conn.fetch(
        """SELECT a.id, a.display_name FROM chat_members me JOIN chat_accounts a ON a.id = me.account_id
           WHERE me.conversation_id = $1""",
        conversation_id,
    )
    return {int(r["id"]): str(r["display_name"]) for r in rows}
