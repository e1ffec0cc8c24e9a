"""Conversations (W2, W3): starting one about an ad, sending, reading, history, blocking, reporting.

Every function runs in the caller's transaction. A message is stored, its conversation's latest
id moved, the other side told (NOTIFY, delivered at commit) and, when they talk in Telegram,
relayed through the outbox — all in one transaction, so nothing is half done. Someone who is
not a member of a conversation gets ConversationNotFound: to them it does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.db import Conn
from app.db.queries import chat as q
from app.db.queries.ads import AdStatus
from app.db.queries.chat import ChatMessage, Conversation, ConversationLine, ConversationView, Report
from app.db.queries.chat_accounts import ChatAccount
from app.domain import ads as ads_domain
from app.domain import outbox
from app.domain import staff as staff_domain
from app.domain.chat import accounts
from app.domain.chat.ports import NOTIFY, ChatEvents, ChatMessages, Event, Relayed
from app.domain.staff import Staff
from app.domain.users import Languages
from app.i18n import N_, UserError

MAX_TEXT = 4096
RATE_WINDOW = dt.timedelta(minutes=1)
RATE_LIMIT = 30  # messages per account per minute
PAGE = 50
MAX_PAGE = 200
RELAY_REF = "chat"  # outbox rows relaying a message: ref_id is the conversation


class ChatError(UserError):
    """Something the person must correct (an empty message, a block, too many messages)."""


class ConversationNotFound(ChatError):
    """No such conversation, or not one of theirs (the same to them)."""

    def __init__(self) -> None:
        super().__init__(N_("This conversation does not exist."))


class RateLimited(ChatError):
    """Too many messages in a short time."""

    def __init__(self) -> None:
        super().__init__(N_("You are sending messages too fast. Wait a minute and try again."))


@dataclass(frozen=True, slots=True)
class Sent:
    message: ChatMessage
    new: bool  # False: a resend of a message already stored (same client id); nothing else done


async def start_about_ad(conn: Conn, buyer: ChatAccount, ad_id: int) -> Conversation:
    """The buyer's conversation with the seller of a published ad (the same one every time)."""
    ad = await ads_domain.published_ad(conn, ad_id)
    if ad is None:
        raise ChatError(N_("This ad is no longer available."))
    seller = await accounts.account_for_telegram(conn, ad.seller_id)
    if seller.id == buyer.id:
        raise ChatError(N_("This is your own ad."))
    conversation = await q.open_conversation(conn, buyer.id, seller.id, ad.id)
    if not seller.ever_on_web:  # they can only answer in Telegram: every message goes there
        await q.set_relay(conn, conversation.id, seller.id, True)
    return conversation


async def view(conn: Conn, account_id: int, conversation_id: int) -> ConversationView:
    found = await q.conversation_view(conn, conversation_id, account_id)
    if found is None:
        raise ConversationNotFound()
    return found


async def conversations(
    conn: Conn, account_id: int, search: str | None = None, limit: int = 100
) -> list[ConversationLine]:
    """Someone's conversations, latest first, with unread counts; searched when `search` is given."""
    search = " ".join((search or "").split())[:100] or None
    if search is not None:
        search = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return await q.conversation_lines(conn, account_id, search, min(limit, MAX_PAGE))


async def unread_total(conn: Conn, account_id: int) -> int:
    return await q.unread_total(conn, account_id)


async def history(
    conn: Conn, account_id: int, conversation_id: int, *, before: int | None, limit: int = PAGE
) -> list[ChatMessage]:
    """A page of history, oldest first, of the messages before `before` (None: the latest)."""
    await view(conn, account_id, conversation_id)
    page = await q.messages_before(conn, conversation_id, before, max(1, min(limit, MAX_PAGE)))
    return page[::-1]


async def newer(
    conn: Conn, account_id: int, conversation_id: int, *, after: int, limit: int = PAGE
) -> list[ChatMessage]:
    await view(conn, account_id, conversation_id)
    return await q.messages_after(conn, conversation_id, after, max(1, min(limit, MAX_PAGE)))


async def missed(
    conn: Conn, account_id: int, after: int, *, cursor: int = 0, limit: int = MAX_PAGE
) -> list[ChatMessage]:
    """A page of what a reconnecting page missed in any of its account's conversations, oldest
    first; the next page goes on from the last id of this one (`cursor`)."""
    return await q.missed_messages(conn, account_id, after, cursor, limit)


async def latest_id(conn: Conn, account_id: int) -> int:
    return await q.latest_message_id(conn, account_id)


def clean_text(body: str) -> str:
    body = body.replace("\r\n", "\n").strip()
    if len(body) > MAX_TEXT:
        raise ChatError(N_("A message has at most {n} characters."), n=MAX_TEXT)
    return body


async def send(
    conn: Conn,
    sender: ChatAccount,
    conversation_id: int,
    *,
    body: str,
    via: str,
    msgs: ChatMessages | None,
    languages: Languages,
    photo_key: str | None = None,
    client_id: str | None = None,
    events: ChatEvents = NOTIFY,
) -> Sent:
    """Store a message and deliver it: to open pages (NOTIFY) and, for a member who talks in
    Telegram, through the bot. A resend with the same client id returns the stored message.

    The hot path of the chat (bench/webchat.py): one statement checks, stores the message,
    moves the marks and starts the peer's notice clock; one notifies. It needs no transaction
    of the caller's: a relay through the bot (the message and its outbox row) is written in a
    transaction of its own (a savepoint inside the caller's)."""
    client_id = (client_id or "")[:64] or None
    problem: ChatError | None = None
    try:
        body = clean_text(body)
        if not body and photo_key is None:
            problem = ChatError(N_("Write something first."))
    except ChatError as exc:
        body, problem = "", exc
    attempt = await q.try_to_send(
        conn,
        conversation_id=conversation_id,
        sender_id=sender.id,
        body=body,
        photo_key=photo_key,
        via=via,
        client_id=client_id,
        window=RATE_WINDOW,
        limit=RATE_LIMIT,
        valid=problem is None,
        may_relay=msgs is not None,
    )
    context = attempt.context
    if context is None:
        raise ConversationNotFound()
    if context.earlier_id is not None:
        return Sent(await _stored(conn, context.earlier_id), new=False)
    if problem is not None:
        raise problem
    if context.blocked:
        raise ChatError(N_("You cannot write in this conversation: one of you blocked the other."))
    if context.recent >= RATE_LIMIT:
        raise RateLimited()
    message = attempt.message
    if message is None and msgs is not None and context.peer_telegram_id is not None and context.peer_relay:
        async with conn.transaction():  # the message and its relay through the bot, together
            message = await q.insert_message(
                conn,
                conversation_id=conversation_id,
                sender_id=sender.id,
                peer_id=context.peer_id,
                body=body,
                photo_key=photo_key,
                via=via,
                client_id=client_id,
            )
            if message is not None:
                await _relay(conn, message, sender, context, msgs, languages)
    if message is None:  # the same client id, sent in parallel: the first one stands
        assert client_id is not None
        earlier = await q.message_by_client_id(conn, sender.id, client_id)
        assert earlier is not None
        return Sent(earlier, new=False)
    # Told apart from storing: PostgreSQL holds one lock for every notifying transaction
    # through its commit, and a commit that stores waits for the disk. Notified alone, the
    # commits of many senders go to the disk together. (In a caller's transaction it is sent
    # at that commit, as before; a crash between the two leaves the message for the pages'
    # catch-up by last seen id.)
    await events.publish(conn, message_event(message, [sender.id, context.peer_id]))
    return Sent(message, new=True)


def message_event(message: ChatMessage, to: list[int]) -> Event:
    return {"kind": "message", "to": to, "id": message.id, "message": message.as_json()}


async def _stored(conn: Conn, message_id: int) -> ChatMessage:
    found = await q.get_message(conn, message_id)
    assert found is not None  # messages are never deleted while their conversation lives
    return found


async def _relay(
    conn: Conn,
    message: ChatMessage,
    sender: ChatAccount,
    context: q.SendContext,
    msgs: ChatMessages,
    languages: Languages,
) -> None:
    """A peer who talks in Telegram gets the message through the bot at once (an outbox row);
    one on the web gets a notice later if they do not read it (app.domain.chat.notices)."""
    assert context.peer_telegram_id is not None
    card = await q.conversation_view(conn, message.conversation_id, context.peer_id)
    item = Relayed(
        conversation_id=message.conversation_id,
        sender_name=sender.display_name,
        ad_title=card.ad.title if card is not None and card.ad is not None else None,
        body=message.body,
        photo_key=message.photo_key,
    )
    language = languages.speak(context.peer_language, context.peer_language_code)
    method, params = msgs.relay(item, language)
    chat_id = context.peer_telegram_id
    await outbox.enqueue(
        conn, method, params | {"chat_id": chat_id}, ref_kind=RELAY_REF, ref_id=message.conversation_id
    )


async def mark_read(
    conn: Conn, account_id: int, conversation_id: int, upto: int, events: ChatEvents = NOTIFY
) -> int | None:
    """Read up to a message; the other side's page shows the receipt. None when nothing moved."""
    member = await q.get_member(conn, conversation_id, account_id)
    if member is None:
        raise ConversationNotFound()
    moved = await q.mark_read(conn, conversation_id, account_id, upto)
    if moved is not None:
        event = {"kind": "read", "to": [member.peer_id, account_id], "conversation_id": conversation_id}
        await events.publish(conn, event | {"reader_id": account_id, "upto": moved})
    return moved


async def typing(conn: Conn, account_id: int, conversation_id: int, events: ChatEvents = NOTIFY) -> None:
    """Someone is typing: the other side's open pages say so for a moment (nothing is stored)."""
    member = await q.get_member(conn, conversation_id, account_id)
    if member is None:
        raise ConversationNotFound()
    event = {"kind": "typing", "to": [member.peer_id], "conversation_id": conversation_id}
    await events.publish(conn, event | {"account_id": account_id})


async def set_relay(conn: Conn, account_id: int, conversation_id: int, relay: bool) -> None:
    """Talk in Telegram (every message through the bot) or on the web (a notice when away)."""
    if await q.get_member(conn, conversation_id, account_id) is None:
        raise ConversationNotFound()
    await q.set_relay(conn, conversation_id, account_id, relay)


async def block(conn: Conn, account_id: int, conversation_id: int, blocked: bool = True) -> None:
    """Block (or unblock) the other side of a conversation: neither can write to the other."""
    member = await q.get_member(conn, conversation_id, account_id)
    if member is None:
        raise ConversationNotFound()
    if blocked:
        await q.block(conn, account_id, member.peer_id)
    else:
        await q.unblock(conn, account_id, member.peer_id)


async def report(conn: Conn, account_id: int, conversation_id: int, reason: str) -> int:
    """Report a conversation: operators may read it in the panel from now on (audited)."""
    if await q.get_member(conn, conversation_id, account_id) is None:
        raise ConversationNotFound()
    reason = " ".join(reason.split())[:1000]
    if not reason:
        raise ChatError(N_("Say briefly what is wrong."))
    return await q.insert_report(conn, conversation_id, account_id, reason)


async def member_ids(conn: Conn, conversation_id: int) -> list[int]:
    return [m.account_id for m in await q.members_of(conn, conversation_id)]


async def conversation_of_relay(conn: Conn, telegram_user_id: int, message_id: int) -> int | None:
    """The conversation whose relayed message (or notice) this Telegram message is."""
    return await q.conversation_of_sent(conn, telegram_user_id, message_id, [RELAY_REF, "chat_notice"])


# --- staff: reported conversations only --------------------------------------------------------


async def reported_conversations(conn: Conn, limit: int = 100) -> list[Report]:
    return await q.reported(conn, limit)


async def read_reported(
    conn: Conn, staff: Staff, conversation_id: int
) -> tuple[Conversation, list[ChatMessage]]:
    """A reported conversation as an operator reads it; every reading is audited. Conversations
    nobody reported stay closed to staff (ConversationNotFound)."""
    conversation = await q.get_conversation(conn, conversation_id)
    if conversation is None or conversation.reported_at is None:
        raise ConversationNotFound()
    await staff_domain.audit(
        conn, staff.id, "chat.read_reported", f"conversation:{conversation_id}", None, None
    )
    messages = await q.messages_before(conn, conversation_id, None, MAX_PAGE)
    return conversation, messages[::-1]


def is_sold(card_status: AdStatus | None) -> bool:
    return card_status is AdStatus.SOLD


async def photo_key(conn: Conn, account_id: int, message_id: int) -> str:
    """The Storage key of a message's photo, for a member of its conversation only."""
    message = await q.get_message(conn, message_id)
    if message is None or message.photo_key is None:
        raise ConversationNotFound()
    if await q.get_member(conn, message.conversation_id, account_id) is None:
        raise ConversationNotFound()
    return message.photo_key


async def photo_in_report(conn: Conn, photo_key: str) -> bool:
    """Whether a reported conversation shows this photo: the staff who read reports may see it."""
    return await q.photo_reported(conn, photo_key)


async def message(conn: Conn, message_id: int) -> ChatMessage | None:
    """A message by id, for the code that fans out notifications (it knows the recipients)."""
    return await q.get_message(conn, message_id)


async def member_names(conn: Conn, conversation_id: int) -> dict[int, str]:
    """Each member's display name, for staff reading a reported conversation."""
    return await q.member_names(conn, conversation_id)
