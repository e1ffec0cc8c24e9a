"""LLM drafts for operators (E6): a reply proposed from the knowledge base and the conversation.

Two ways in. An operator presses "Draft an answer" in a ticket: `prepare` reads what grounds the
draft, `ask` asks the endpoint (no connection held meanwhile, bounded by the time-out) and the
text goes into the reply box, where the operator edits and sends it as any answer. Or, with the
setting on, a user's message the knowledge base has nothing for gets a draft of its own from a
background task (`claim_auto` / `finish_auto`): it waits in the ticket until an operator sends it,
edited or not, or discards it. A failing endpoint leaves a note; nothing else waits for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.db import Conn
from app.db.queries import support_desk as desk_q
from app.db.queries import support_drafts as q
from app.db.queries.support_desk import DeskMessage, Ticket, TicketStatus
from app.db.queries.support_drafts import Draft
from app.db.queries.support_drafts import DraftStatus as DraftStatus  # callers name statuses by it
from app.domain.actors import Actor
from app.domain.support import desk, kb, matching
from app.domain.support.llm_settings import LlmKeyError, LlmSettings, endpoint
from app.domain.support.matching import Thresholds
from app.domain.support.ports import DeskMessages
from app.i18n import N_, Text, UserError
from app.llm import Endpoint, LlmFailure, Turn, complete

HISTORY = 12  # the conversation's last messages the LLM reads
QUESTION_MESSAGES = 3  # the user's last messages matched against the knowledge base
KB_ENTRIES = 3  # the best matching entries given to the LLM
STALE_AFTER = 30.0  # seconds past its time-out a draft still asking is given up (its process stopped)

LANGUAGE_NAMES = {"uz": "Uzbek (in Latin script)", "ru": "Russian", "en": "English"}

PROBLEMS = {
    "timeout": N_("The LLM did not answer within {seconds} s: no draft. Write the answer yourself."),
    "unreachable": N_("The LLM endpoint cannot be reached ({detail}): no draft."),
    "refused": N_(
        "The LLM endpoint refused the request ({detail}): check the key and the model in Settings."
    ),
    "empty": N_("The LLM answered nothing usable: no draft."),
    "key": N_("The stored LLM key cannot be read (was SECRET_KEY changed?): type it again in Settings."),
    "other": N_("The LLM failed ({detail}): no draft."),
}

SYSTEM = """You draft replies for the support operators of Bozor, a Telegram marketplace of \
classified ads in Uzbekistan. Write the message the operator will send to the user, in {language}: \
short, polite, plain text without markup, no greeting line if the conversation is under way. \
Answer from the knowledge-base entries below when they fit the question, and from the \
conversation; never invent prices, rules, dates or promises that are not there. When you do \
not know, say that an operator will check and answer soon.

Knowledge-base entries (id: answer):
{entries}"""


class DraftError(UserError):
    """No draft, and why; said to the operator."""


def problem_text(problem: str, detail: str | None, seconds: float | None) -> Text:
    """What the operator reads when the LLM gave no draft."""
    return Text(PROBLEMS.get(problem, PROBLEMS["other"]), detail=detail or "?", seconds=f"{seconds or 0:g}")


@dataclass(frozen=True, slots=True)
class DraftRequest:
    """Everything a call to the LLM needs, read beforehand: no connection is held while it answers."""

    ticket_id: int
    endpoint: Endpoint
    turns: tuple[Turn, ...]
    seconds: float
    entries: tuple[str, ...]  # the knowledge-base entries it is grounded in


# Grounding --------------------------------------------------------------------------------


async def _grounding(
    conn: Conn, ticket: Ticket, thresholds: Thresholds
) -> tuple[tuple[Turn, ...], tuple[str, ...]]:
    """The prompt: the best knowledge-base entries for the user's last messages, in the ticket's
    language, then the conversation's last messages (notes and files without text left out)."""
    conversation = [m for m in await desk_q.messages(conn, ticket.id) if _spoken(m)]
    asked = " ".join(m.text for m in [m for m in conversation if m.author == "user"][-QUESTION_MESSAGES:])
    result = await matching.match(conn, asked, ticket.language, thresholds)
    entries: list[tuple[str, str]] = []
    for candidate in result.candidates[:KB_ENTRIES]:
        answer = await kb.answer_for(conn, candidate.entry_id, ticket.language)
        if answer is not None and await kb.is_enabled(conn, candidate.entry_id):
            entries.append((candidate.key, " ".join(answer.text.split())))
    listed = "\n".join(f"- {key}: {text}" for key, text in entries) or "(none matches this question)"
    system = SYSTEM.format(language=LANGUAGE_NAMES.get(ticket.language, "English"), entries=listed)
    turns = [Turn("system", system)]
    for m in conversation[-HISTORY:]:
        turns.append(Turn("user" if m.author == "user" else "assistant", m.text))
    return tuple(turns), tuple(key for key, _text in entries)


def _spoken(m: DeskMessage) -> bool:
    return m.author in ("user", "operator") and bool(m.text.strip())


async def _request(
    conn: Conn, ticket: Ticket, settings: LlmSettings, thresholds: Thresholds, secret_key: str
) -> DraftRequest:
    where = await endpoint(conn, settings, secret_key=secret_key)
    turns, entries = await _grounding(conn, ticket, thresholds)
    return DraftRequest(ticket.id, where, turns, settings.timeout, entries)


async def ask(request: DraftRequest) -> str:
    """The LLM's draft (at most an answer's length), or DraftError saying why there is none."""
    try:
        text = await complete(request.endpoint, request.turns, seconds=request.seconds)
    except LlmFailure as exc:
        said = problem_text(exc.problem, exc.detail, request.seconds)
        raise DraftError(said.message, **said.values) from None
    return text[: desk.MAX_TEXT]


# "Draft an answer" ------------------------------------------------------------------------


async def prepare(
    conn: Conn,
    actor: Actor,
    ticket_id: int,
    *,
    settings: LlmSettings,
    thresholds: Thresholds,
    secret_key: str,
) -> DraftRequest:
    """An operator asks for a draft: what to ask the LLM (then `ask`, without the connection)."""
    desk.operator(actor)
    if not settings.enabled:
        raise DraftError(N_("LLM help is off: an admin switches it on in Settings."))
    ticket = await desk_q.get_ticket(conn, ticket_id)
    if ticket is None:
        raise desk.TicketNotFound()
    if ticket.status is TicketStatus.CLOSED:
        raise DraftError(N_("This ticket is closed; the user reopens it by writing again."))
    try:
        return await _request(conn, ticket, settings, thresholds, secret_key)
    except LlmKeyError as exc:
        raise DraftError(exc.message) from None


# Drafts on their own ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    draft_id: int
    request: DraftRequest


async def claim_auto(
    conn: Conn,
    ticket_id: int,
    message_id: int,
    *,
    settings: LlmSettings,
    thresholds: Thresholds,
    secret_key: str,
) -> Claim | None:
    """A user's message reached the desk: when drafts are made on their own, the message has
    text, is the user's newest, and the knowledge base has nothing for it, a draft is claimed
    (once, whichever process hears it first) and what to ask returned. Call in a transaction."""
    if not settings.drafts_on_their_own:
        return None
    message = await desk_q.get_message(conn, message_id)
    if message is None or message.author != "user" or not message.text.strip():
        return None
    ticket = await desk_q.get_ticket(conn, message.ticket_id)
    if ticket is None or ticket.status is TicketStatus.CLOSED:
        return None
    if await q.last_user_message(conn, ticket.id) != message_id:
        return None  # a newer message follows: its own draft answers both
    result = await matching.match(conn, message.text, ticket.language, thresholds)
    if not result.escalate:
        return None  # the knowledge base has something: the operator answers with it
    draft_id = await q.claim(conn, ticket.id, message_id, settings.timeout)
    if draft_id is None:
        return None
    await q.supersede_others(conn, ticket.id, draft_id)
    try:
        request = await _request(conn, ticket, settings, thresholds, secret_key)
    except LlmKeyError:
        await q.failed(conn, draft_id, "key", "")
        request = None
    await desk_q.notify(conn, {"event": "draft", "ticket_id": ticket.id})
    return Claim(draft_id, request) if request is not None else None


async def reply_of(request: DraftRequest) -> str | LlmFailure:
    """The LLM's answer to a claimed draft, or why there is none (bounded by its time-out)."""
    try:
        return await complete(request.endpoint, request.turns, seconds=request.seconds)
    except LlmFailure as exc:
        return exc


async def finish_auto(conn: Conn, claim: Claim, answer: str | LlmFailure) -> Draft | None:
    """The LLM's answer waits for an operator, or its failure is noted on the ticket. None when
    a newer message's draft took its place meanwhile."""
    if isinstance(answer, LlmFailure):
        draft = await q.failed(conn, claim.draft_id, answer.problem, answer.detail)
    else:
        draft = await q.answered(conn, claim.draft_id, answer[: desk.MAX_TEXT], list(claim.request.entries))
    if draft is not None:
        await desk_q.notify(conn, {"event": "draft", "ticket_id": draft.ticket_id})
    return draft


async def give_up_stale(conn: Conn, seconds: float) -> int:
    """Drafts whose process stopped while asking: failed (a note), so the ticket shows no
    "drafting…" for ever."""
    tickets = await q.expire_asking(conn, seconds + STALE_AFTER)
    for ticket_id in tickets:
        await desk_q.notify(conn, {"event": "draft", "ticket_id": ticket_id})
    return len(tickets)


# The operator decides ---------------------------------------------------------------------


async def shown(conn: Conn, ticket: Ticket) -> Draft | None:
    """The draft the ticket shows: the newest while it is being asked; while it waits, or its
    failure's note, until an operator answers the message otherwise (or the ticket closes)."""
    draft = await q.latest(conn, ticket.id)
    if draft is None:
        return None
    if draft.status is DraftStatus.ASKING:  # unless the process asking stopped long ago
        given_up = draft.created_at + dt.timedelta(seconds=(draft.seconds or 0) + STALE_AFTER)
        return None if dt.datetime.now(dt.UTC) > given_up else draft
    if draft.status not in (DraftStatus.PENDING, DraftStatus.FAILED) or ticket.status is TicketStatus.CLOSED:
        return None
    return None if await q.answered_since(conn, ticket.id, draft.question_id) else draft


async def _pending(conn: Conn, draft_id: int) -> Draft:
    draft = await q.get(conn, draft_id)
    if draft is None:
        raise DraftError(N_("This draft does not exist."))
    if draft.status is not DraftStatus.PENDING:
        raise DraftError(N_("This draft was already sent, discarded or replaced by a newer one."))
    return draft


async def get(conn: Conn, draft_id: int) -> Draft | None:
    return await q.get(conn, draft_id)


async def send(
    conn: Conn,
    actor: Actor,
    draft_id: int,
    text: str | None,
    *,
    msgs: DeskMessages,
    photo_key: str | None = None,
    ticket_id: int | None = None,
) -> desk.Sent:
    """Send a waiting draft as the operator's answer (through the outbox): as edited (`text`), or
    as drafted (None); `ticket_id`: the ticket the operator answers, which must be the draft's.
    Call in a transaction: a draft another operator decided first undoes it."""
    member = desk.operator(actor)
    draft = await _pending(conn, draft_id)
    if ticket_id is not None and draft.ticket_id != ticket_id:
        raise DraftError(N_("This draft does not exist."))
    text = draft.text if text is None else text
    sent = await desk.reply(conn, actor, draft.ticket_id, text, msgs=msgs, photo_key=photo_key)
    edited = text.strip() != draft.text.strip()
    decided = await q.decide(
        conn, draft.id, DraftStatus.SENT, member.staff.id, reply_id=sent.message_id, edited=edited
    )
    if decided is None:
        raise DraftError(N_("This draft was already sent, discarded or replaced by a newer one."))
    await desk_q.notify(conn, {"event": "draft", "ticket_id": draft.ticket_id})
    return sent


async def discard(conn: Conn, actor: Actor, draft_id: int) -> Draft:
    member = desk.operator(actor)
    draft = await _pending(conn, draft_id)
    decided = await q.decide(conn, draft.id, DraftStatus.DISCARDED, member.staff.id)
    if decided is None:
        raise DraftError(N_("This draft was already sent, discarded or replaced by a newer one."))
    await desk_q.notify(conn, {"event": "draft", "ticket_id": draft.ticket_id})
    return decided
