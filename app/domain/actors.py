"""Who acts on something: a Telegram user in the bot, or a staff member in the panel."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.staff import Staff


@dataclass(frozen=True, slots=True)
class TelegramUser:
    """Someone pressing a button in the bot, known by their Telegram id."""

    user_id: int


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A logged-in staff member in the panel (or the staff API)."""

    staff: Staff

    @property
    def user_id(self) -> int | None:
        """Their linked Telegram account, if any (a decision records it as the decider)."""
        return self.staff.telegram_user_id


# Each use case that someone performs takes one Actor, never two optional ids.
Actor = TelegramUser | StaffMember
