"""How the desk's messages look in Telegram: the DeskMessages port of app/domain, for the outbox.

Everything a user or an operator typed goes out as plain text (no parse_mode): nothing typed
becomes Telegram markup."""

from __future__ import annotations

from typing import Any

from app.bot.callbacks import SupportCb
from app.db.queries.support_desk import Ticket
from app.domain.outbox import STORAGE, Call
from app.i18n import Translator

NOTICE_MARKS = ("🆕", "✉️")  # how every notice to an operator begins, in every language


class BotDeskMessages:
    def __init__(self, translator: Translator, operator_language: str) -> None:
        self.translator = translator
        self.operator_language = operator_language  # operators read notices in the default language

    def answer(self, language: str, text: str, photo_key: str | None) -> Call:
        _ = self.translator(language)
        body = _("💬 Support: {text}").format(text=text) if text else _("💬 Support")
        if photo_key:
            return "sendPhoto", {"photo": {STORAGE: photo_key}, "caption": body[:1024]}
        return "sendMessage", {"text": body[:4096]}

    def closed(self, language: str, ticket_id: int) -> Call:
        _ = self.translator(language)
        buttons: list[list[dict[str, Any]]] = [
            [
                {"text": "⭐" * n, "callback_data": SupportCb(action="rate", id=ticket_id, value=n).pack()}
                for n in range(1, 6)
            ]
        ]
        text = _(
            "Your request #{id} is closed. If something is still unclear, just write here. How did we do?"
        )
        return "sendMessage", {
            "text": text.format(id=ticket_id),
            "reply_markup": {"inline_keyboard": buttons},
        }

    def notice(
        self,
        ticket: Ticket,
        user_name: str,
        text: str,
        *,
        new: bool,
        language: str | None,
        file: tuple[str, str] | None = None,
    ) -> Call:
        _ = self.translator(language if language in ("uz", "ru", "en") else self.operator_language)
        head = _("🆕 Ticket #{id} from {name}") if new else _("✉️ Ticket #{id}, {name} writes")
        hint = _("Reply to this message to answer.")
        body = f"{head.format(id=ticket.id, name=user_name)}\n\n{text}\n\n{hint}"
        if file is not None:  # the user's own photo or document, by Telegram's file id
            kind, file_id = file
            return ("sendPhoto" if kind == "photo" else "sendDocument"), {
                kind: file_id,
                "caption": body[:1024],
            }
        return "sendMessage", {"text": body}
