"""How task messages look in Telegram: the TaskMessages port of app/domain/tasks, for the outbox."""

from __future__ import annotations

from app.domain.outbox import Call
from app.domain.tasks import Completion, Task
from app.i18n import Translator


class BotTaskMessages:
    """Plain texts in the reader's language."""

    def __init__(self, translator: Translator) -> None:
        self.translator = translator

    def screenshot_approved(self, task: Task, completion: Completion, balance: int, language: str) -> Call:
        _ = self.translator(language)
        text = _(
            "✅ Your screenshot for “{title}” is accepted: +{reward} points.\nYour balance: {balance} points."
        ).format(title=task.title(language), reward=completion.reward, balance=balance)
        return "sendMessage", {"text": text}

    def screenshot_rejected(self, task: Task, completion: Completion, language: str) -> Call:
        _ = self.translator(language)
        text = _(
            "❌ Your screenshot for “{title}” was not accepted: {reason}\n"
            "You can send another one from 🎯 Tasks."
        ).format(title=task.title(language), reason=completion.reject_reason or "")
        return "sendMessage", {"text": text}

    def taken_back(self, task: Task, completion: Completion, language: str) -> Call:
        _ = self.translator(language)
        text = _(
            "You left {chat} within {days} days of doing the task “{title}”, so its reward "
            "of {amount} points was taken back. Joining again does not pay a second time."
        ).format(
            chat=task.chat_title or task.chat_ref,
            days=task.leave_days or 0,
            title=task.title(language),
            amount=completion.taken_back or 0,
        )
        return "sendMessage", {"text": text}
