"""Broadcast use cases: create, count, start, feed, pause/resume/cancel, a test to oneself."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from app.db import Conn
from app.db.queries import broadcasts as q
from app.db.queries.broadcasts import Audience, Broadcast, BroadcastStatus, FailureReason, Progress
from app.domain import outbox
from app.domain import staff as staff_domain
from app.domain.actors import Actor, StaffMember
from app.domain.broadcasts.model import LANGUAGES, BroadcastError, check_buttons, render_text
from app.domain.broadcasts.photos import is_photo_key
from app.domain.staff import Role
from app.domain.users import Languages
from app.i18n import N_

log = logging.getLogger(__name__)

# Outbox rows a running broadcast keeps waiting: enough for the sender's pace between two feed
# ticks (30/s for 5 s), few enough that the outbox stays small and a pause takes back little.
FEED_WINDOW = 300
TEST_REF = "broadcast_test"


def _admin(actor: Actor) -> int:
    if not isinstance(actor, StaffMember) or not actor.staff.has_role(Role.ADMIN):
        raise BroadcastError(N_("Only an administrator can send broadcasts."))
    return actor.staff.id


def _payload(html_text: str, buttons: list[dict[str, str]], photo_key: str | None) -> dict[str, Any]:
    """sendMessage's params, or sendPhoto's (the photo uploaded from Storage, the text its caption)."""
    payload: dict[str, Any] = {"text": html_text, "parse_mode": "HTML"}
    if photo_key is not None:
        payload = {"photo": {outbox.STORAGE: photo_key}, "caption": html_text, "parse_mode": "HTML"}
    if buttons:
        payload["reply_markup"] = {"inline_keyboard": [[b] for b in buttons]}
    return payload


async def count_audience(conn: Conn, audience: Audience, languages: Languages) -> int:
    """How many users the segment reaches now (those who blocked the bot never count); a
    language condition counts the users who would get that language's variant."""
    return await q.count_audience(conn, audience, languages.enabled)


async def create(
    conn: Conn,
    actor: Actor,
    texts: dict[str, str],
    buttons: list[dict[str, str]],
    audience: Audience,
    photo_key: str | None = None,
) -> Broadcast:
    """A draft: `texts` has "default" and optionally a variant per language in LANGUAGES;
    `photo_key` an optional photo kept by `store_photo` (each text is then its caption)."""
    staff_id = _admin(actor)
    kept = {k: v.strip() for k, v in texts.items() if k in ("default", *LANGUAGES) and v.strip()}
    if "default" not in kept:
        raise BroadcastError(N_("Write the message text."))
    if photo_key is not None and not is_photo_key(photo_key):
        raise BroadcastError(N_("Upload the photo again."))
    caption = photo_key is not None
    buttons = check_buttons(buttons)  # the staff API gives them as data, not as the panel's lines
    payloads = {
        lang: _payload(render_text(text, caption=caption), buttons, photo_key) for lang, text in kept.items()
    }
    if any(lang not in LANGUAGES for lang in audience.languages):
        raise BroadcastError(N_("Choose languages from the list."))
    async with conn.transaction():
        made = await q.create(conn, staff_id, kept, payloads, buttons, audience, photo_key)
        await staff_domain.audit(
            conn,
            staff_id,
            "broadcast.create",
            f"broadcast:{made.id}",
            None,
            {**audience.as_json(), "photo": photo_key is not None},
        )
    return made


async def get(conn: Conn, broadcast_id: int) -> Broadcast | None:
    return await q.get(conn, broadcast_id)


async def recent(conn: Conn) -> list[Broadcast]:
    return await q.recent(conn)


async def progress(conn: Conn, broadcast_id: int) -> Progress:
    return await q.progress(conn, broadcast_id)


async def failure_reasons(conn: Conn, broadcast_id: int, limit: int = 20) -> list[FailureReason]:
    """Why messages failed, each reason counted (the final report)."""
    return await q.failure_reasons(conn, broadcast_id, limit)


async def send_test(conn: Conn, actor: Actor, broadcast_id: int, *, languages: Languages) -> int:
    """The broadcast, in the staff member's language variant, to their linked Telegram account
    (a transactional row: it does not wait behind broadcasts)."""
    _admin(actor)
    user_id = actor.user_id
    if user_id is None:
        raise BroadcastError(N_("Link your Telegram account first (Account page)."))
    language = await q.language_of(conn, user_id, languages.enabled)
    found = await q.payload_for(conn, broadcast_id, language)
    if found is None:
        raise BroadcastError(N_("This broadcast does not exist."))
    method, payload = found
    async with conn.transaction():
        return await outbox.enqueue(
            conn, method, {**payload, "chat_id": user_id}, ref_kind=TEST_REF, ref_id=broadcast_id
        )


async def schedule(conn: Conn, actor: Actor, broadcast_id: int, at: datetime | None) -> None:
    """Send a draft at a time (the scheduler's tick starts it then); None: not at a time."""
    staff_id = _admin(actor)
    if at is not None and at.tzinfo is None:
        raise ValueError("give an aware datetime")
    async with conn.transaction():
        if not await q.set_start_at(conn, broadcast_id, at, staff_id):
            raise BroadcastError(N_("This broadcast was already started."))
        after = {"start_at": at.isoformat() if at else None}
        await staff_domain.audit(
            conn, staff_id, "broadcast.schedule", f"broadcast:{broadcast_id}", None, after
        )


async def start(conn: Conn, actor: Actor, broadcast_id: int, *, languages: Languages) -> int:
    """Fix the recipients (one statement), each with the variant of their language as the bot
    resolves it (`languages`), and feed the first batch; returns how many."""
    staff_id = _admin(actor)
    return await _start(conn, staff_id, broadcast_id, languages)


async def _start(conn: Conn, staff_id: int, broadcast_id: int, languages: Languages) -> int:
    async with conn.transaction():
        broadcast = await q.get(conn, broadcast_id)
        if broadcast is None:
            raise BroadcastError(N_("This broadcast does not exist."))
        total = await q.start(conn, broadcast_id, Audience.of_json(broadcast.audience), languages.enabled)
        if total is None:
            raise BroadcastError(N_("This broadcast was already started."))
        await staff_domain.audit(
            conn, staff_id, "broadcast.start", f"broadcast:{broadcast_id}", None, {"total": total}
        )
        await q.feed(conn, broadcast_id, FEED_WINDOW)
        finished = await q.finish_if_done(conn, broadcast_id)
    log.info("broadcast %d started: %d recipient(s)", broadcast_id, total)
    if finished:
        await _log_finished(conn, broadcast_id)
    return total


async def _log_finished(conn: Conn, broadcast_id: int, how: str = "finished") -> None:
    """One INFO line when a broadcast ends (after its transaction: it did end)."""
    p = await q.progress(conn, broadcast_id)
    log.info(
        "broadcast %d %s: %d sent, %d failed, %d blocked, %d uncertain, %d not sent",
        broadcast_id,
        how,
        p.sent,
        p.failed,
        p.blocked,
        p.uncertain,
        p.left,
    )


async def _move(
    conn: Conn,
    actor: Actor,
    broadcast_id: int,
    to: BroadcastStatus,
    allowed: tuple[BroadcastStatus, ...],
    action: str,
) -> None:
    staff_id = _admin(actor)
    finished = False
    async with conn.transaction():
        if not await q.set_status(conn, broadcast_id, to, allowed):
            raise BroadcastError(N_("This broadcast cannot do that now; reload the page."))
        if to in (BroadcastStatus.PAUSED, BroadcastStatus.CANCELLED):
            await q.unfeed(conn, broadcast_id)  # rows nobody claimed yet do not go
        await staff_domain.audit(conn, staff_id, action, f"broadcast:{broadcast_id}", None, None)
        if to == BroadcastStatus.RUNNING:
            await q.feed(conn, broadcast_id, FEED_WINDOW)
            finished = await q.finish_if_done(conn, broadcast_id)
    if to == BroadcastStatus.CANCELLED:
        await _log_finished(conn, broadcast_id, "cancelled")
    elif finished:
        await _log_finished(conn, broadcast_id)


async def pause(conn: Conn, actor: Actor, broadcast_id: int) -> None:
    """Nothing more leaves until resumed (calls already under way finish)."""
    running = (BroadcastStatus.RUNNING,)
    await _move(conn, actor, broadcast_id, BroadcastStatus.PAUSED, running, "broadcast.pause")


async def resume(conn: Conn, actor: Actor, broadcast_id: int) -> None:
    paused = (BroadcastStatus.PAUSED,)
    await _move(conn, actor, broadcast_id, BroadcastStatus.RUNNING, paused, "broadcast.resume")


async def cancel(conn: Conn, actor: Actor, broadcast_id: int) -> None:
    """Stops for good: recipients not reached yet never get it."""
    await _move(
        conn,
        actor,
        broadcast_id,
        BroadcastStatus.CANCELLED,
        (BroadcastStatus.RUNNING, BroadcastStatus.PAUSED, BroadcastStatus.DRAFT),
        "broadcast.cancel",
    )


async def feed_running(conn: Conn, languages: Languages, window: int = FEED_WINDOW) -> int:
    """The scheduler's tick: start the drafts whose time came, top up each running broadcast
    to `window` open outbox rows and close the finished ones; returns how many rows it queued."""
    for broadcast_id, staff_id in await q.due_drafts(conn):
        with contextlib.suppress(BroadcastError):  # started by hand meanwhile
            await _start(conn, staff_id, broadcast_id, languages)
    fed = 0
    for broadcast_id in await q.running_ids(conn):
        async with conn.transaction():
            fed += await q.feed(conn, broadcast_id, window - await q.open_rows(conn, broadcast_id))
            finished = await q.finish_if_done(conn, broadcast_id)
        if finished:
            await _log_finished(conn, broadcast_id)
    return fed
