"""Offline notices (W4): someone on the web who leaves a message unread hears of it in Telegram.

A message for a member who talks on the web starts a clock (in the statement that stores it,
app/db/queries/chat.insert_message). The tick (run_notices, from the scheduler) sends one
notice once the grace period has passed and the member has no open page and has not read it;
further messages wait for the interval and are summarised in the next notice ("3 new
messages from Ali about …"). Each notice is an outbox row written in the tick's transaction
with the debounce state, so a crash sends it once or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.db import Conn
from app.db.queries import chat as q
from app.domain import outbox
from app.domain.chat.ports import NOTIFY, ChatEvents, ChatMessages, Event, Notice
from app.domain.users import Languages

NOTICE_REF = "chat_notice"
BATCH = 200


@dataclass(frozen=True, slots=True)
class Timing:
    """The settings (CHAT_NOTICE_GRACE_SECONDS, CHAT_NOTICE_INTERVAL_SECONDS)."""

    grace: dt.timedelta = dt.timedelta(seconds=30)
    interval: dt.timedelta = dt.timedelta(minutes=5)


async def run_notices(
    conn: Conn, now: dt.datetime, msgs: ChatMessages, languages: Languages, timing: Timing
) -> int:
    """Send the due notices; how many were sent. Call in a transaction (rows are locked)."""
    sent = 0
    for due in await q.claim_due_notices(conn, now, timing.grace, timing.interval, BATCH):
        if await q.is_online(conn, due.account_id, now):
            await q.notice_later(conn, due.conversation_id, due.account_id, now)
            continue
        unread = await q.unread_from(
            conn, due.conversation_id, due.peer_id, max(due.last_read_id, due.notified_upto)
        )
        target = await q.telegram_target(conn, due.account_id, languages.default)
        if unread.count == 0 or unread.last_id is None or target is None:
            await q.notice_settled(conn, due.conversation_id, due.account_id)  # read, or unreachable
            continue
        card = await q.conversation_view(conn, due.conversation_id, due.account_id)
        assert card is not None  # a notice row belongs to a member
        item = Notice(
            conversation_id=due.conversation_id,
            sender_name=card.peer_name,
            ad_title=card.ad.title if card.ad is not None else None,
            count=unread.count,
            first_body=unread.first_body if unread.count == 1 else None,
        )
        method, params = msgs.notice(item, languages.speak(target.language, target.language_code))
        await outbox.enqueue(
            conn,
            method,
            params | {"chat_id": target.user_id},
            ref_kind=NOTICE_REF,
            ref_id=due.conversation_id,
        )
        await q.notice_sent(conn, due.conversation_id, due.account_id, now, unread.last_id)
        sent += 1
    return sent


# --- presence: open pages, per process ---------------------------------------------------------------


async def page_opened(conn: Conn, account_id: int, node: str, events: ChatEvents = NOTIFY) -> None:
    """A page of this account opened on this process; its first one tells the peers "online"."""
    peers = await q.presence_moved(conn, account_id, node, 1)
    if peers:
        await events.publish(conn, _presence(account_id, peers, online=True))


async def page_closed(conn: Conn, account_id: int, node: str, events: ChatEvents = NOTIFY) -> None:
    """A page closed; when no page of the account is open anywhere, the peers see "offline"."""
    peers = await q.presence_moved(conn, account_id, node, -1)
    if peers:
        await events.publish(conn, _presence(account_id, peers, online=False))


def _presence(account_id: int, peers: list[int], *, online: bool) -> Event:
    # Published apart from the presence write: see conversations.send on NOTIFY.
    return {"kind": "presence", "to": peers, "account_id": account_id, "online": online}


async def still_here(conn: Conn, node: str) -> None:
    """A process's heartbeat for its open pages (a dead process stops counting after a while)."""
    await q.presence_refresh(conn, node)


async def node_gone(conn: Conn, node: str) -> None:
    await q.presence_clear(conn, node)


async def is_online(conn: Conn, account_id: int, now: dt.datetime | None) -> bool:
    """Whether the account has a page open (on a live process); `now` None: the database's."""
    return await q.is_online(conn, account_id, now)
