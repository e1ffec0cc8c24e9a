"""Users who contact the bot: recording each contact, their language, whether they blocked us."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from app.db import Conn
from app.db.queries import panel_users
from app.db.queries import users as q
from app.db.queries.users import Arrival
from app.domain import staff as staff_domain
from app.domain.staff import Role, Staff
from app.i18n import N_, UserError

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
    an update journaled before (a re-delivery) comes back with no journal id."""
    if not arrivals:
        return []
    rows = await q.journal_batch(conn, arrivals[0].inbound.bot_id, arrivals, replay=replay)
    return [
        Seen(
            language=languages.speak(row.language, row.language_code) if a.contact else languages.default,
            is_new_user=row.is_new,
            journal_id=row.journal_id,
            fsm_state=row.fsm_state,
            fsm_data=row.fsm_data,
            banned=row.banned,
            support_ticket=row.support_ticket,
        )
        for a, row in zip(arrivals, rows, strict=True)
    ]


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


def sees_private_messages(staff: Staff) -> bool:
    """What users typed to the bot (which can hold an admin's typed rejection reasons): for
    admins, and for operators who serve the users; moderators decide ads, not conversations."""
    return staff.role in (Role.ADMIN, Role.OPERATOR)


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


async def language_of(conn: Conn, user_id: int, languages: Languages) -> str:
    """The language to write to one user in (the default for an unknown user)."""
    chosen, telegram_code = (await q.language_settings(conn, [user_id])).get(user_id, (None, None))
    return languages.speak(chosen, telegram_code)
