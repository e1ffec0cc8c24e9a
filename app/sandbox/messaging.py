"""What bots do to messages in any chat: send, edit, delete, chat actions (a World mixin)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .chats import Chat
from .errors import BLOCKED, CHAT_NOT_FOUND, NOT_MODIFIED, QUERY_INVALID, Message, TelegramError
from .timeline import Timeline

if TYPE_CHECKING:
    from .world import Bot, Dialog

log = logging.getLogger(__name__)


class MessagingMixin:
    """World methods a bot's Bot API calls end in."""

    def _emit(self, event: str, bot_id: int, chat_id: int, msg: Message) -> None:
        for listener in self.listeners:  # type: ignore[attr-defined]
            try:
                listener(event, bot_id, chat_id, msg)
            except Exception:
                log.exception("sandbox listener %r failed on %s", listener, event)

    def bot_dialog(self, bot: Bot, chat_id: int | str, *, sending: bool = True) -> Dialog:
        """The private chat a bot addresses by chat_id, or the TelegramError Telegram would give."""
        if isinstance(chat_id, str) or chat_id not in self.users:  # type: ignore[attr-defined]
            raise TelegramError(400, CHAT_NOT_FOUND)
        dialog = self.dialogs.get((bot.id, chat_id))  # type: ignore[attr-defined]
        if dialog is None or not dialog.started:
            if not sending:
                raise TelegramError(400, CHAT_NOT_FOUND)
            raise TelegramError(403, "Forbidden: bot can't initiate conversation with a user")
        if sending and dialog.blocked:
            raise TelegramError(403, BLOCKED)
        return dialog

    def bot_target(self, bot: Bot, chat_id: int | str, action: str = "read") -> Timeline:
        """The chat (private, group or channel) a bot may `action` in: send/edit/delete/read."""
        chat = self.find_chat(chat_id)  # type: ignore[attr-defined]
        if chat is not None:
            self.bot_may(bot, chat, action)  # type: ignore[attr-defined]
            return chat
        dialog = self.bot_dialog(bot, chat_id, sending=action == "send")
        if action == "edit" and dialog.blocked:
            raise TelegramError(403, BLOCKED)
        return dialog

    def find_message(self, dialog: Timeline, message_id: int) -> Message | None:
        return dialog.find(message_id)

    def _header(self, bot: Bot, target: Timeline) -> Message:
        msg: Message = {"message_id": target.next_message_id}
        if isinstance(target, Chat) and target.type == "channel":
            msg["sender_chat"] = target.chat_dict()  # a channel post is signed by the channel
        else:
            msg["from"] = bot.as_dict()
        msg |= {"chat": target.chat_dict(), "date": self.now()}  # type: ignore[attr-defined]
        return msg

    def bot_sends(
        self,
        bot: Bot,
        chat_id: int | str,
        content: dict[str, Any],
        *,
        reply_markup: dict[str, Any] | None = None,
        reply_to: int | None = None,
        charge: bool = True,
    ) -> Message:
        """Store a bot message with `content` (e.g. text + entities) and return it."""
        target = self.bot_target(bot, chat_id, "send")
        if charge:
            self.rate.charge(bot, target, 1)  # type: ignore[attr-defined]
        msg = self._header(bot, target)
        mid = msg["message_id"]
        if reply_to is not None:
            msg["reply_to_message"] = _without_reply(target.messages[reply_to])
        msg.update({k: v for k, v in content.items() if v is not None})
        if reply_markup is not None:
            if "inline_keyboard" in reply_markup:
                if reply_markup["inline_keyboard"]:
                    msg["reply_markup"] = reply_markup  # an empty keyboard shows nothing
            else:
                target.keyboards[mid] = reply_markup
                is_keyboard = "keyboard" in reply_markup
                target.reply_keyboard = (mid, reply_markup) if is_keyboard else None
                target.keyboard_hidden = False
        target.chat_action = None  # sending ends "typing…" in clients
        if getattr(target, "draft", None) is not None:
            target.draft = None  # type: ignore[attr-defined]  # the final message replaces the draft
        target.store(msg, bot.id)
        self._emit("send", bot.id, target.chat_id, msg)
        if isinstance(target, Chat) and target.type == "channel":
            # Other admin bots see channel posts; in groups bots never see each other's messages.
            self.deliver(target, "channel_post", msg, author_id=bot.id)  # type: ignore[attr-defined]
        return msg

    def _can_edit(self, bot: Bot, target: Timeline, message_id: int) -> bool:
        if isinstance(target, Chat):
            return self.bot_can_edit(bot, target, message_id)  # type: ignore[attr-defined]
        return target.authors.get(message_id) == bot.id

    def bot_edits(self, bot: Bot, chat_id: int | str, message_id: int, changes: dict[str, Any]) -> Message:
        """Apply `changes` (None removes a key) to a bot message; TelegramError if impossible.

        `edit_date` is set only when something other than reply_markup changes, as in
        Telegram where swapping a keyboard does not mark a message as edited.
        """
        target = self.bot_target(bot, chat_id, "edit")
        old = target.find(message_id)
        if old is None:
            raise TelegramError(400, "Bad Request: message to edit not found")
        if not self._can_edit(bot, target, message_id):
            raise TelegramError(400, "Bad Request: message can't be edited")
        if all(old.get(k) == v for k, v in changes.items()):
            raise TelegramError(400, NOT_MODIFIED)
        self.rate.charge(bot, target, 1, edit=True)  # type: ignore[attr-defined]
        new = dict(old)  # copy-on-write: updates already queued keep the old version
        for key, value in changes.items():
            if value is None:
                new.pop(key, None)
            else:
                new[key] = value
        if any(k != "reply_markup" for k in changes):
            new["edit_date"] = self.now()  # type: ignore[attr-defined]
        target.messages[message_id] = new
        target.bump(message_id)
        self._emit("edit", bot.id, target.chat_id, new)
        if isinstance(target, Chat) and target.type == "channel":
            self.deliver(target, "edited_channel_post", new, author_id=bot.id)  # type: ignore[attr-defined]
        return new

    def bot_deletes(self, bot: Bot, chat_id: int | str, message_id: int) -> None:
        target = self.bot_target(bot, chat_id, "delete")
        msg = target.find(message_id)
        if msg is None:
            raise TelegramError(400, "Bad Request: message to delete not found")
        if isinstance(target, Chat) and not self.bot_can_delete(bot, target, message_id):  # type: ignore[attr-defined]
            raise TelegramError(400, "Bad Request: message can't be deleted")
        target.deleted.add(message_id)
        if target.reply_keyboard is not None and target.reply_keyboard[0] == message_id:
            target.reply_keyboard = None
        if message_id in target.pinned:
            target.pinned.remove(message_id)
        target.bump(message_id)
        self._emit("delete", bot.id, target.chat_id, msg)

    def bot_answers_callback(self, bot: Bot, query_id: str, answer: dict[str, Any]) -> None:
        query = self.callbacks.get(query_id)  # type: ignore[attr-defined]
        if (
            query is None
            or query.bot_id != bot.id
            or query.answer is not None
            or self.clock() - query.created > self.callback_query_ttl  # type: ignore[attr-defined]
        ):
            raise TelegramError(400, QUERY_INVALID)
        query.answer = answer
        dialog = self.dialogs[(bot.id, query.user_id)]  # type: ignore[attr-defined]
        dialog.callback_answers.append(
            {
                "callback_query_id": query_id,
                "message_id": query.message_id,
                "data": query.data,
                "date": self.now(),  # type: ignore[attr-defined]
                **answer,
            }
        )
        dialog.bump()

    def bot_chat_action(self, bot: Bot, chat_id: int | str, action: str) -> None:
        target = self.bot_target(bot, chat_id, "send")
        target.chat_action = (action, self.now())  # type: ignore[attr-defined]
        target.bump()


def _without_reply(msg: Message) -> Message:
    """A replied-to message as Telegram nests it: one level deep only."""
    if "reply_to_message" not in msg:
        return msg
    return {k: v for k, v in msg.items() if k != "reply_to_message"}
