"""What the tasks area tells users on its own, as a port the bot layer renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.db import Conn
from app.db.queries.tasks import Completion, Task
from app.domain import ledger
from app.domain.outbox import Call, enqueue
from app.domain.users import Languages, language_of


class TaskMessages(Protocol):
    """How the messages look (app/bot/task_messages.py); the domain decides when they go.
    Methods return a call without chat_id."""

    def screenshot_approved(self, task: Task, completion: Completion, balance: int, language: str) -> Call:
        """The screenshot was accepted: the reward is credited."""

    def screenshot_rejected(self, task: Task, completion: Completion, language: str) -> Call:
        """The screenshot was refused, why, and that another may be sent."""

    def taken_back(self, task: Task, completion: Completion, language: str) -> Call:
        """The user left the chat within the window: the reward (or what was left of it) is gone."""


async def tell(
    conn: Conn, user_id: int, call: Callable[[str], Call], languages: Languages, ref_id: int
) -> int:
    """Queue a message to a user, in their language, in the caller's transaction."""
    method, params = call(await language_of(conn, user_id, languages))
    return await enqueue(
        conn,
        method,
        {**params, "chat_id": user_id},
        chat_id=user_id,
        ref_kind="task_completion",
        ref_id=ref_id,
    )


__all__ = ["TaskMessages", "ledger", "tell"]
