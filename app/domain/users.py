"""Users who contact the bot: recording each contact, their language, whether they blocked us."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from app.db import UNFIT_VALUES, Conn
from app.db.queries import panel_users
from app.db.queries import users as q
from app.db.queries.users import Arrival
from app.domain import staff as staff_domain
from app.domain.staff import Role, Staff
from app.i18n import N_, UserError

log = logging.getLogger(__name__)
LANGUAGES = ("uz", "ru", "en")


@dataclass(frozen=True, slots=True)
class Seen:
    """The outcome of recording one update: the user's language and whether this is news."""

    language: str
    is_new_user: bool
    journal_id: int | None  # None when the same update was stored before (a re-delivery)
    fsm_state: str | None = None
    fsm_data: str | None = None  # the conversation's data as JSON; None when it has none
    banned: bool = False  # blocked by staff: answer with a polite refusal only
    support_ticket: bool = False  # has a support ticket that is not closed: messages go there
    unfit: str | None = None  # why PostgreSQL refused the update as it came: it is not handled


@dataclass
class Languages:
    """The languages the bot offers and the default for everyone else. One per process, built
    at start from the settings; the panel updates it in place after saving, so the bot and its
    notifications follow at once."""

    enabled: tuple[str, ...] = LANGUAGES
    default: str = LANGUAGES[0]

    def update(self, other: Languages) -> None:
        self.enabled, self.default = other.enabled, other.default

    def speak(self, chosen: str | None, telegram_code: str | None) -> str:
        """The language to use with a user (see resolve_language)."""
        return resolve_language(chosen, telegram_code, self.default, self.enabled)


def resolve_language(
    chosen: str | None, telegram_code: str | None, default: str, enabled: Collection[str] = LANGUAGES
) -> str:
    """The language to speak: the user's choice, else Telegram's language_code, else the default.

    Only enabled languages count: a user whose language an admin disabled gets the next one
    that is enabled (their Telegram language, else the default). Their choice stays stored,
    so enabling the language again brings it back."""
    if chosen is not None and chosen in enabled:
        return chosen
    if telegram_code:
        primary = telegram_code.split("-", 1)[0].lower()
        if primary in enabled:
            return primary
    return default


async def record_updates(
    conn: Conn, arrivals: Sequence[Arrival], languages: Languages, *, replay: bool = False
) -> list[Seen]:
    """Journal a batch of updates and upsert their users (one statement); a message clears a
    block. Each update's conversation state and data under its FSM key come back in the same round trip;
    an update journaled before (a re-delivery) comes back with no journal id. On a connection
    outside a transaction.

    An update whose values PostgreSQL refuses must not hold back the others (the batch would be
    retried, and refused, forever): the batch is then journaled one update at a time, in one
    transaction, so a connection lost meanwhile stores none and the batch is retried whole; an
    update refused on its own is journaled as far as it goes (see _record_unfit)."""
    if not arrivals:
        return []
    try:
        rows = await q.journal_batch(conn, arrivals[0].inbound.bot_id, arrivals, replay=replay)
    except UNFIT_VALUES as exc:
        log.warning("journal refused a batch of %d (%.300s); journaling them one by one", len(arrivals), exc)
        return await _record_one_by_one(conn, arrivals, languages, replay=replay)
    return [_seen(a, row, languages) for a, row in zip(arrivals, rows, strict=True)]


def _seen(arrival: Arrival, row: q.Journaled, languages: Languages) -> Seen:
    return Seen(
        language=languages.speak(row.language, row.language_code) if arrival.contact else languages.default,
        is_new_user=row.is_new,
        journal_id=row.journal_id,
        fsm_state=row.fsm_state,
        fsm_data=row.fsm_data,
        banned=row.banned,
        support_ticket=row.support_ticket,
    )


async def _record_one_by_one(
    conn: Conn, arrivals: Sequence[Arrival], languages: Languages, *, replay: bool
) -> list[Seen]:
    seen: list[Seen] = []
    async with conn.transaction():
        for arrival in arrivals:
            try:
                async with conn.transaction():  # a savepoint: a refused update undoes only itself
                    [row] = await q.journal_batch(conn, arrival.inbound.bot_id, [arrival], replay=replay)
            except UNFIT_VALUES as exc:
                note = await _record_unfit(conn, arrival, exc)
                seen.append(Seen(languages.default, is_new_user=False, journal_id=None, unfit=note))
            else:
                seen.append(_seen(arrival, row, languages))
    return seen


BIGINT = range(-(2**63), 2**63)


async def _record_unfit(conn: Conn, arrival: Arrival, exc: Exception) -> str:
    """Journal an update PostgreSQL refused, marked handled with the refusal as its error, and
    not handle it (what refused it would likely break its handler too): with its whole payload
    but without upserting its user, else as its update id, kind and ids alone. An update that
    not even that can store (its id is out of range) is logged at ERROR and acknowledged, so
    that the updates after it are not held back forever. Returns the note."""
    # As ASCII: the refused value may be what cannot be stored (a lone surrogate).
    note = f"not journaled as received: {type(exc).__name__}: {exc}"
    note = note.encode("ascii", "backslashreplace").decode()
    update_id, contact = arrival.inbound.update_id, arrival.contact
    user_id = contact.id if contact is not None and contact.id in BIGINT else None
    chat_id = arrival.inbound.chat_id
    chat_id = chat_id if chat_id is not None and chat_id in BIGINT else None
    whole = replace(arrival.inbound, chat_id=chat_id)
    bare = replace(whole, payload_json=json.dumps({"update_id": update_id}))
    for inbound, form in ((whole, "without its user"), (bare, "as its ids only")):
        try:
            async with conn.transaction():
                await q.journal_unfit(conn, inbound, user_id, note)
        except UNFIT_VALUES:
            continue
        log.error("update %s journaled %s and not handled: %.500s", update_id, form, note)
        return note
    log.error("update %s could not be journaled at all; acknowledged without it: %.500s", update_id, note)
    return note


async def mark_handled(conn: Conn, journal_ids: Sequence[int]) -> None:
    """The handlers of these journaled updates have started: a sweep will not replay them."""
    await q.mark_handled(conn, journal_ids)


async def claim_unhandled(conn: Conn, bot_id: int, *, older_than_seconds: float, limit: int) -> list[str]:
    """Journaled updates whose handling never started (their process stopped), claimed."""
    return await q.claim_unhandled(conn, bot_id, older_than_seconds, limit)


async def choose_language(
    conn: Conn, user_id: int, language: str, enabled: Collection[str] = LANGUAGES
) -> None:
    """Store the user's choice; only a language the bot offers can be chosen."""
    if language not in enabled:
        raise ValueError(f"unsupported language {language!r}")
    await q.set_language(conn, user_id, language)


async def mark_blocked(conn: Conn, user_id: int, blocked: bool) -> None:
    """The user blocked (or unblocked) the bot: nothing is sent to a blocked user."""
    await q.set_blocked(conn, user_id, blocked)


class BlockRefused(UserError):
    """This staff member may not block (or unblock) this user."""


async def user_scope(conn: Conn, staff: Staff) -> list[int] | None:
    """The channels whose sellers this staff member may see: a moderator's own; None (every
    user) for admins and for operators, who serve users rather than channels."""
    if staff.role is Role.MODERATOR:
        return await staff_domain.moderated_channel_ids(conn, staff)
    return None


async def may_see(conn: Conn, staff: Staff, user_id: int) -> bool:
    """A moderator sees only the sellers of their channels."""
    channels = await user_scope(conn, staff)
    return channels is None or await panel_users.sells_in(conn, user_id, channels)


def reads_messages(staff: Staff) -> bool:
    """Whether the Messages screen opens at all: admins read everyone's, operators those of the
    users they serve (see sees_private_messages); moderators decide ads, not conversations."""
    return staff.role in (Role.ADMIN, Role.OPERATOR)


def serves_only_ticket_holders(staff: Staff) -> bool:
    """Operators serve the users who turned to support: only their messages are theirs to read."""
    return staff.role is Role.OPERATOR


async def sees_private_messages(conn: Conn, staff: Staff, user_id: int) -> bool:
    """What a user typed to the bot (which can hold an admin's typed rejection reasons): admins
    see everyone's; an operator only a user who has (or had) a support ticket, the users they
    serve; moderators nobody's."""
    if not reads_messages(staff):
        return False
    return not serves_only_ticket_holders(staff) or await panel_users.has_support_ticket(conn, user_id)


async def _check_block(conn: Conn, user_id: int, staff: Staff) -> bool:
    """Who may block whom: staff block only users they may see, and nobody blocks a channel's
    admin or a staff member's Telegram account (it would silently stop their decisions in the
    bot): an admin removes them from the channel's admins, or unlinks the account, first."""
    if not await may_see(conn, staff, user_id):
        return False
    if await panel_users.moderates(conn, user_id):
        raise BlockRefused(
            N_(
                "This user moderates a channel: a block would stop their decisions. Remove them "
                "from the channel's admins (or unlink their staff account) first."
            )
        )
    return True


async def block(conn: Conn, user_id: int, staff: Staff, reason: str | None) -> bool:
    """Staff block a user: their messages get a polite refusal. False when there is no such
    user (for this staff member); BlockRefused for a user who moderates; audited in the
    caller's transaction."""
    if not await _check_block(conn, user_id, staff):
        return False
    staff_id = staff.id
    before = await panel_users.lock_banned(conn, user_id)
    if before is None:
        return False
    reason = (reason or "").strip()[:500] or None
    await panel_users.set_ban(conn, user_id, staff_id, reason)
    await staff_domain.audit(
        conn,
        staff_id,
        "user.block",
        f"user:{user_id}",
        {"banned": before},
        {"banned": True, "reason": reason},
    )
    return True


async def unblock(conn: Conn, user_id: int, staff: Staff) -> bool:
    """Lift a staff block; audited. False when the user was not blocked (or is not this staff
    member's to see)."""
    if not await may_see(conn, staff, user_id):
        return False
    staff_id = staff.id
    changed = await panel_users.clear_ban(conn, user_id)
    if changed:
        await staff_domain.audit(
            conn, staff_id, "user.unblock", f"user:{user_id}", {"banned": True}, {"banned": False}
        )
    return changed


async def lift_blocks_of_admins(conn: Conn, user_ids: Sequence[int], channel_id: int) -> list[int]:
    """People who just became a channel's admins are no longer blocked: a block would silently
    refuse their moderation buttons ("access limited"). Each lifted block is audited (by nobody:
    becoming an admin lifted it). The ids whose block was lifted."""
    lifted = await panel_users.clear_bans(conn, user_ids)
    for ban in lifted:
        await staff_domain.audit(
            conn,
            None,
            "user.unblock",
            f"user:{ban.user_id}",
            {"banned": True, "banned_by": ban.banned_by, "reason": ban.banned_reason},
            {"banned": False, "because": f"became an admin of channel:{channel_id}"},
        )
        log.info("user %s became an admin of channel %s: their block is lifted", ban.user_id, channel_id)
    return [ban.user_id for ban in lifted]


async def language_of(conn: Conn, user_id: int, languages: Languages) -> str:
    """The language to write to one user in (the default for an unknown user)."""
    chosen, telegram_code = (await q.language_settings(conn, [user_id])).get(user_id, (None, None))
    return languages.speak(chosen, telegram_code)
