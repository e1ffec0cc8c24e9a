"""Buttons: a user presses an inline button (a callback query) or a reply-keyboard button."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import UserActionError

if TYPE_CHECKING:
    from .world import Dialog


@dataclass(slots=True, eq=False)
class CallbackQuery:
    """A button press the bot has to answer with answerCallbackQuery."""

    id: str
    bot_id: int
    user_id: int
    message_id: int
    data: str
    created: float
    answer: dict[str, Any] | None = None


class ButtonsMixin:
    """World methods for pressing buttons (mixed into World)."""

    def user_presses(
        self,
        bot_id: int | None,
        user_id: int,
        *,
        message_id: int | None = None,
        button_text: str | None = None,
        callback_data: str | None = None,
        forged: bool = False,
    ) -> dict[str, Any]:
        """Press an inline button (or a reply-keyboard button, which sends its text).

        Without `message_id`, the newest bot message holding such a button is used. `forged`
        sends `callback_data` from `message_id` (or the bot's newest message) whatever its
        buttons are: what a modified client, or a button from a long-gone keyboard, delivers.
        Returns {"callback_query_id"} / {"url"} / {"message"}, each with the chat "event".
        """
        dialog = self.dialog(bot_id, user_id)
        if dialog.blocked:
            raise UserActionError(400, "the user has blocked this bot: unblock it first")
        if button_text is None and callback_data is None:
            raise UserActionError(400, "give button_text or callback_data")
        if forged and callback_data is not None:
            mids = [m for m in reversed(dialog.messages) if m not in dialog.deleted]
            mid = message_id if message_id is not None else next(iter(mids), None)
            if mid is None:
                raise UserActionError(404, "no message to press a forged button on")
            return self._press_inline(dialog, mid, {"text": "forged", "callback_data": callback_data})
        found = self._find_inline_button(dialog, message_id, button_text, callback_data)
        reply_mid = self._reply_keyboard_match(dialog, button_text)
        if found is not None and (reply_mid is None or message_id is not None or found[0] > reply_mid):
            mid, button = found
            return self._press_inline(dialog, mid, button)
        if reply_mid is not None and button_text is not None:
            msg = self.user_sends_text(dialog.bot.id, user_id, button_text)
            return {"message": msg, "event": dialog.event}
        where = f"message {message_id}" if message_id is not None else "any message of the bot"
        what = f"text {button_text!r}" if button_text is not None else f"data {callback_data!r}"
        raise UserActionError(404, f"no button with {what} on {where}")

    def _find_inline_button(
        self, dialog: Dialog, message_id: int | None, text: str | None, data: str | None
    ) -> tuple[int, dict[str, Any]] | None:
        if message_id is not None:
            if message_id not in dialog.messages or message_id in dialog.deleted:
                raise UserActionError(404, f"no message {message_id} in this chat")
            candidates = [message_id]
        else:
            candidates = [m for m in reversed(dialog.messages) if m not in dialog.deleted]
        for mid in candidates:
            msg = dialog.messages[mid]
            if msg["from"]["id"] != dialog.bot.id:
                continue
            for row in msg.get("reply_markup", {}).get("inline_keyboard", ()):
                for button in row:
                    if (text is None or button["text"] == text) and (
                        data is None or button.get("callback_data") == data
                    ):
                        return mid, button
        return None

    def _reply_keyboard_match(self, dialog: Dialog, text: str | None) -> int | None:
        if text is None or dialog.reply_keyboard is None:
            return None
        mid, markup = dialog.reply_keyboard
        for row in markup.get("keyboard", ()):
            for button in row:
                label = button if isinstance(button, str) else button.get("text")
                if label == text:
                    return mid
        return None

    def _press_inline(self, dialog: Dialog, mid: int, button: dict[str, Any]) -> dict[str, Any]:
        if "url" in button:
            return {"url": button["url"], "event": dialog.event}
        if "callback_data" not in button:
            raise UserActionError(400, f"button {button['text']!r} is not a callback button")
        query = CallbackQuery(
            id=str(next(self._callback_ids)),
            bot_id=dialog.bot.id,
            user_id=dialog.user.id,
            message_id=mid,
            data=button["callback_data"],
            created=self.clock(),
        )
        self.callbacks[query.id] = query
        dialog.bot.push_update(
            "callback_query",
            {
                "id": query.id,
                "from": dialog.user.as_dict(),
                "message": dialog.messages[mid],
                "chat_instance": dialog.chat_instance,
                "data": query.data,
            },
        )
        return {"callback_query_id": query.id, "event": dialog.event}
