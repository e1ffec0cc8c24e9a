"""How the web chat's messages look in Telegram: the ChatMessages port of app/domain/chat."""

from __future__ import annotations

from typing import Any

from app.bot.callbacks import ChatCb
from app.domain.chat.ports import Notice, Relayed
from app.domain.outbox import STORAGE, Call
from app.i18n import Gettext, Translator

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


def chat_buttons(_: Gettext, conversation_id: int) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [
                {"text": _("↩️ Reply"), "callback_data": ChatCb(action="reply", value=conversation_id).pack()},
                {
                    "text": _("🌐 Open chat"),
                    "callback_data": ChatCb(action="open", value=conversation_id).pack(),
                },
            ]
        ]
    }


class BotChatMessages:
    """Renders in the reader's language; the sender is named, never their phone or username."""

    def __init__(self, translator: Translator) -> None:
        self.translator = translator

    def _head(self, _: Gettext, name: str, title: str | None) -> str:
        if title:
            return _("💬 {name} about “{title}”:").format(name=name, title=title)
        return _("💬 {name}:").format(name=name)

    def relay(self, item: Relayed, language: str) -> Call:
        _ = self.translator(language)
        head = self._head(_, item.sender_name, item.ad_title)
        markup = chat_buttons(_, item.conversation_id)
        if item.photo_key is not None:
            caption = f"{head}\n{item.body}" if item.body else head
            params = {
                "photo": {STORAGE: item.photo_key},
                "caption": caption[:CAPTION_LIMIT],
                "reply_markup": markup,
            }
            return "sendPhoto", params
        return "sendMessage", {"text": f"{head}\n{item.body}"[:TEXT_LIMIT], "reply_markup": markup}

    def notice(self, item: Notice, language: str) -> Call:
        _ = self.translator(language)
        if item.first_body is not None:
            body = item.first_body or _("📷 Photo")
            text = f"{self._head(_, item.sender_name, item.ad_title)}\n{body}"
        elif item.ad_title:
            text = _("💬 {count} new messages from {name} about “{title}”").format(
                count=item.count, name=item.sender_name, title=item.ad_title
            )
        else:
            text = _("💬 {count} new messages from {name}").format(count=item.count, name=item.sender_name)
        return "sendMessage", {
            "text": text[:TEXT_LIMIT],
            "reply_markup": chat_buttons(_, item.conversation_id),
        }
