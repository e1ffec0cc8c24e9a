"""The support desk (S3): tickets opened by users, answered by operators in the panel or on Telegram.

Every function runs in the caller's transaction. What the user or an operator on Telegram gets
on our initiative goes through the outbox; the panel learns of changes from notifications on
the bozor_support channel.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from app import crypto
from app.db import Conn
from app.db.queries import support as kb_q
from app.db.queries import support_desk as q
from app.db.queries import users as users_q
from app.db.queries.support_desk import NewMessage, Operator, Ticket, TicketStatus
from app.domain import outbox
from app.domain import staff as staff_domain
from app.domain.actors import Actor, StaffMember, TelegramUser
from app.domain.staff import Role
from app.domain.support import kb
from app.domain.support.ports import DeskMessages
from app.domain.support.settings import DeskSettings
from app.i18n import N_, UserError

MAX_TEXT = 4096
MAX_CAPTION = 1024
SUBJECT_LENGTH = 120
LINK_TTL_MINUTES = 30
NOTICE_PREVIEW = 1000


class DeskError(UserError):
    """Something the desk cannot do as asked; the message says why."""


class TicketNotFound(DeskError):
    def __init__(self) -> None:
        super().__init__(N_("This ticket does not exist."))


@dataclass(frozen=True, slots=True)
class Taken:
    """A user's message joined a ticket: which, and whether it was (re)opened by it."""

    ticket: Ticket
    message_id: int
    opened: bool  # a new ticket, or a closed one reopened: the user is told it is with an operator
    reopened: bool


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int
    outbox_id: int


# The user's side --------------------------------------------------------------------------


async def take_message(
    conn: Conn,
    user: TelegramUser,
    message: NewMessage,
    *,
    language: str,
    settings: DeskSettings,
    msgs: DeskMessages,
) -> Taken:
    """A user's message (text, a photo, a document) joins their open ticket; with none open, it
    reopens the ticket closed within the last N days, or opens a new one. Operators hear of it."""
    opened = reopened = False
    ticket = await q.active_ticket(conn, user.user_id, lock=True)
    if ticket is None:
        closed = (
            await q.reopenable(conn, user.user_id, settings.reopen_days) if settings.reopen_days else None
        )
        if closed is not None:
            ticket = await q.set_status(conn, closed.id, TicketStatus.OPEN)
            opened = reopened = True
        else:
            ticket = await q.insert_ticket(conn, user.user_id, language, _subject(message))
            if ticket is None:  # a message of the same user opened one meanwhile
                ticket = await q.active_ticket(conn, user.user_id, lock=True)
                assert ticket is not None
            else:
                opened = True
    elif ticket.status is TicketStatus.WAITING:
        ticket = await q.set_status(conn, ticket.id, TicketStatus.OPEN)
    else:
        await q.touch(conn, ticket.id)
    message_id = await q.insert_message(conn, ticket.id, message)
    await _tell_operators(conn, ticket, message, msgs, new=opened)
    await q.notify(
        conn,
        {"event": "ticket" if opened else "message", "ticket_id": ticket.id, "message_id": message_id},
    )
    return Taken(ticket, message_id, opened, reopened)


async def has_active_ticket(conn: Conn, user_id: int) -> bool:
    return await q.active_ticket(conn, user_id) is not None


async def rate(conn: Conn, user: TelegramUser, ticket_id: int, rating: int) -> bool:
    """The user rates their closed ticket 1-5 (again: the last rating counts)."""
    if not 1 <= rating <= 5:
        return False
    done = await q.rate(conn, ticket_id, user.user_id, rating)
    if done:
        await q.notify(conn, {"event": "rated", "ticket_id": ticket_id, "rating": rating})
    return done


def _subject(message: NewMessage) -> str:
    text = " ".join(message.text.split())
    if not text:
        return "📷" if message.file_kind == "photo" else f"📎 {message.file_name or ''}".strip()
    return text if len(text) <= SUBJECT_LENGTH else text[: SUBJECT_LENGTH - 1] + "…"


async def _tell_operators(
    conn: Conn, ticket: Ticket, message: NewMessage, msgs: DeskMessages, *, new: bool
) -> None:
    """Operators who linked their Telegram get the ticket there: a new one all of them, a further
    message its assignee (everyone while nobody has taken it)."""
    operators = await q.linked_operators(conn)
    if ticket.assignee_id is not None and not new:
        mine = [o for o in operators if o.id == ticket.assignee_id]
        operators = mine
    if not operators:
        return
    user = await users_q.get_user(conn, ticket.user_id)
    name = user.handle if user else str(ticket.user_id)
    text = message.text or _subject(message)
    if len(text) > NOTICE_PREVIEW:
        text = text[: NOTICE_PREVIEW - 1] + "…"
    file = (message.file_kind, message.file_id) if message.file_kind and message.file_id else None
    calls = []
    for o in operators:
        if o.telegram_user_id is None or o.telegram_user_id == ticket.user_id:
            continue
        method, params = msgs.notice(ticket, name, text, new=new, language=o.language, file=file)
        calls.append(
            outbox.Outgoing(
                method, {**params, "chat_id": o.telegram_user_id}, None, "support_notice", ticket.id
            )
        )
    if calls:
        await outbox.enqueue_many(conn, calls)


# The operators' side ----------------------------------------------------------------------


def operator(actor: Actor) -> StaffMember:
    """The staff member working on the desk; DeskError for anyone else."""
    return _operator(actor)


def _operator(actor: Actor) -> StaffMember:
    if not isinstance(actor, StaffMember) or not actor.staff.has_role(Role.OPERATOR):
        raise DeskError(N_("Only operators and admins work on tickets."))
    return actor


async def _ticket(conn: Conn, ticket_id: int) -> Ticket:
    ticket = await q.get_ticket(conn, ticket_id, lock=True)
    if ticket is None:
        raise TicketNotFound()
    return ticket


async def reply(
    conn: Conn,
    actor: Actor,
    ticket_id: int,
    text: str,
    *,
    msgs: DeskMessages,
    photo_key: str | None = None,
    entry_key: str | None = None,
    via: str = "panel",
) -> Sent:
    """An operator's answer: stored, sent to the user through the outbox (its delivery state shows
    on the message), the ticket waits for the user and is the operator's if it was nobody's.
    With `entry_key` and no text, the entry's answer in the ticket's language is sent."""
    member = _operator(actor)
    ticket = await _ticket(conn, ticket_id)
    entry_id = None
    if entry_key:
        entry = await kb_q.get_entry_by_key(conn, entry_key)
        if entry is None:
            raise DeskError(N_("There is no entry “{key}”."), key=entry_key[:64])
        entry_id = entry.id
        if not text.strip():
            answer = await kb.answer_for(conn, entry.id, ticket.language)
            text = answer.text if answer else ""
            photo_key = photo_key or (answer.photo_key if answer else None)
    text = text.strip()
    if not text and photo_key is None:
        raise DeskError(N_("Write an answer or attach a photo."))
    limit = MAX_CAPTION if photo_key else MAX_TEXT
    if len(text) > limit:
        raise DeskError(N_("An answer has at most {limit} characters."), limit=limit)
    if ticket.status is TicketStatus.CLOSED:
        raise DeskError(N_("This ticket is closed; the user reopens it by writing again."))
    message_id = await q.insert_message(
        conn,
        ticket.id,
        NewMessage(
            "operator",
            text,
            staff_id=member.staff.id,
            file_kind="photo" if photo_key else None,
            storage_key=photo_key,
            kb_entry_id=entry_id,
            via=via,
        ),
    )
    method, params = msgs.answer(ticket.language, text, photo_key)
    outbox_id = await outbox.enqueue(
        conn,
        method,
        {**params, "chat_id": ticket.user_id},
        ref_kind="support_message",
        ref_id=message_id,
    )
    await q.set_outbox(conn, message_id, outbox_id)
    await q.set_status(conn, ticket.id, TicketStatus.WAITING)
    await q.assign_if_unassigned(conn, ticket.id, member.staff.id)
    await q.notify(conn, {"event": "message", "ticket_id": ticket.id, "message_id": message_id})
    return Sent(message_id, outbox_id)


async def note(conn: Conn, actor: Actor, ticket_id: int, text: str) -> int:
    """An internal note on the ticket: operators see it, the user never does."""
    member = _operator(actor)
    ticket = await _ticket(conn, ticket_id)
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise DeskError(N_("A note has 1 to {limit} characters."), limit=MAX_TEXT)
    message_id = await q.insert_message(
        conn, ticket.id, NewMessage("note", text, staff_id=member.staff.id, via="panel")
    )
    await q.notify(conn, {"event": "message", "ticket_id": ticket.id, "message_id": message_id})
    return message_id


async def assign(conn: Conn, actor: Actor, ticket_id: int, staff_id: int | None) -> Ticket:
    """Give the ticket to an operator (None: to nobody); audited."""
    member = _operator(actor)
    ticket = await _ticket(conn, ticket_id)
    if staff_id is not None:
        target = await staff_domain.get_staff(conn, staff_id)
        if target is None or not target.has_role(Role.OPERATOR):
            raise DeskError(N_("Tickets go to operators and admins only."))
    updated = await q.assign(conn, ticket.id, staff_id)
    assert updated is not None
    await staff_domain.audit(
        conn,
        member.staff.id,
        "support.assign",
        f"ticket:{ticket.id}",
        {"assignee": ticket.assignee_id},
        {"assignee": staff_id},
    )
    await q.notify(conn, {"event": "changed", "ticket_id": ticket.id})
    return updated


async def close(conn: Conn, actor: Actor, ticket_id: int, *, msgs: DeskMessages) -> Ticket:
    """Close the ticket: the user is told and may rate it 1-5. Closing a closed ticket is a no-op."""
    member = _operator(actor)
    ticket = await _ticket(conn, ticket_id)
    if ticket.status is TicketStatus.CLOSED:
        return ticket
    closed = await q.set_status(conn, ticket.id, TicketStatus.CLOSED, member.staff.id)
    method, params = msgs.closed(ticket.language, ticket.id)
    await outbox.enqueue(
        conn, method, {**params, "chat_id": ticket.user_id}, ref_kind="support_closed", ref_id=ticket.id
    )
    await q.insert_message(
        conn, ticket.id, NewMessage("system", "closed", staff_id=member.staff.id, via="panel")
    )
    await staff_domain.audit(
        conn,
        member.staff.id,
        "support.close",
        f"ticket:{ticket.id}",
        {"status": ticket.status},
        {"status": "closed"},
    )
    await q.notify(conn, {"event": "changed", "ticket_id": ticket.id})
    return closed


async def add_question_to_entry(conn: Conn, actor: Actor, message_id: int) -> tuple[str, str]:
    """The desk teaches the knowledge base: the user's question before an answer given with an
    entry becomes a phrasing of that entry (in the ticket's language). Returns (entry key, question)."""
    _operator(actor)
    answer = await q.get_message(conn, message_id)
    if answer is None or answer.author != "operator" or answer.kb_entry_key is None:
        raise DeskError(N_("This answer was not given with a knowledge-base entry."))
    question = await q.question_before(conn, answer.ticket_id, answer.id)
    if question is None:
        raise DeskError(N_("There is no question of the user before this answer."))
    ticket = await _ticket(conn, answer.ticket_id)
    added = await kb.add_phrasing(conn, answer.kb_entry_key, ticket.language, question[: kb.MAX_PHRASING])
    if not added:
        raise DeskError(N_("The entry already has this question."))
    return answer.kb_entry_key, question


# Canned replies ---------------------------------------------------------------------------


async def add_canned(conn: Conn, actor: Actor, title: str, text: str) -> q.Canned:
    member = _operator(actor)
    title, text = " ".join(title.split()), text.strip()
    if not 1 <= len(title) <= 100 or not 1 <= len(text) <= MAX_TEXT:
        raise DeskError(N_("A canned reply has a title (up to 100 characters) and a text."))
    row = await q.insert_canned(conn, title, text, member.staff.id)
    if row is None:
        raise DeskError(N_("There is already a canned reply “{title}”."), title=title)
    return row


async def delete_canned(conn: Conn, actor: Actor, canned_id: int) -> bool:
    _operator(actor)
    return await q.delete_canned(conn, canned_id)


# Operators on Telegram --------------------------------------------------------------------


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def link_token(conn: Conn, actor: Actor) -> str:
    """A single-use token for the deep link that links this staff member's Telegram account."""
    member = _operator(actor)
    token = crypto.new_token()[:32]
    await q.insert_link_token(conn, _hash(token), member.staff.id, LINK_TTL_MINUTES)
    return token


async def link_telegram(conn: Conn, token: str, telegram_user_id: int) -> Operator | None:
    """The bot's side of the deep link: the staff member whose token it is gets this Telegram
    account; None for an unknown, used or expired token."""
    if not token or len(token) > 64:
        return None
    staff_id = await q.use_link_token(conn, _hash(token))
    if staff_id is None or not await q.link_telegram(conn, staff_id, telegram_user_id):
        return None
    await staff_domain.audit(
        conn,
        staff_id,
        "staff.link_telegram",
        f"staff:{staff_id}",
        None,
        {"telegram_user_id": telegram_user_id},
    )
    return await q.operator_by_telegram(conn, telegram_user_id)


async def ticket_replied_to(
    conn: Conn, telegram_user_id: int, message_id: int
) -> tuple[Operator, int] | None:
    """When a linked operator replies on Telegram to a ticket's notice: who, and which ticket."""
    operator = await q.operator_by_telegram(conn, telegram_user_id)
    if operator is None:
        return None
    ticket_id = await q.ticket_of_notice(conn, telegram_user_id, message_id)
    return None if ticket_id is None else (operator, ticket_id)
