"""Reactions and users' edits: who reacted with what, and the updates bots get about it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .chats import Chat
from .errors import Message, TelegramError, UserActionError
from .formatting import auto_entities
from .media import rekey
from .timeline import Timeline

if TYPE_CHECKING:
    from .accounts import Bot

_EMOJI_RE = re.compile(r'"([^"]+)"')


def _allowed_emoji() -> frozenset[str]:
    """The reaction emoji the spec lists for ReactionTypeEmoji."""
    from . import spec

    fields = spec.raw()["types"]["ReactionTypeEmoji"]["fields"]
    return frozenset(_EMOJI_RE.findall(next(f for f in fields if f["name"] == "emoji")["description"]))


ALLOWED_EMOJI = _allowed_emoji()


def check_reactions(reactions: Any, limit: int) -> list[dict[str, Any]]:
    """ReactionType objects as Telegram takes them, or REACTION_INVALID / too many."""
    if not isinstance(reactions, list):
        raise TelegramError(400, "Bad Request: REACTION_INVALID")
    out = []
    for r in reactions:
        kind = r.get("type") if isinstance(r, dict) else None
        if kind == "emoji" and r.get("emoji") in ALLOWED_EMOJI:
            out.append({"type": "emoji", "emoji": r["emoji"]})
        elif kind == "custom_emoji" and r.get("custom_emoji_id"):
            out.append({"type": "custom_emoji", "custom_emoji_id": str(r["custom_emoji_id"])})
        elif kind == "paid":
            raise TelegramError(400, "Bad Request: paid reactions can't be set by bots")
        else:
            raise TelegramError(400, "Bad Request: REACTION_INVALID")
    if len(out) > limit:
        raise TelegramError(400, "Bad Request: REACTIONS_TOO_MANY")
    return out


class ReactionsMixin:
    """World methods for reactions and for users editing their messages (mixed into World)."""

    def react(self, target: Timeline, message_id: int, actor: Any, reactions: list[dict[str, Any]]) -> None:
        """Set `actor`'s reactions (a User or Bot) on a message; tell the bots that may know."""
        if target.find(message_id) is None:
            raise TelegramError(400, "Bad Request: message to react not found")
        per_message = target.reactions.setdefault(message_id, {})
        old = per_message.get(str(actor.id), [])
        if reactions:
            per_message[str(actor.id)] = reactions
        else:
            per_message.pop(str(actor.id), None)
        if not per_message:
            target.reactions.pop(message_id, None)
        target.bump(message_id)
        if old == reactions:
            return
        base = {"chat": target.chat_dict(), "message_id": message_id, "date": self.now()}  # type: ignore[attr-defined]
        if isinstance(target, Chat) and target.type == "channel":
            counts = _counts(target.reactions.get(message_id, {}))
            for bot in self._admin_bots(target):  # channel reactions are anonymous: counts only
                bot.push_update("message_reaction_count", {**base, "reactions": counts})
            return
        update = {**base, "user": actor.as_dict(), "old_reaction": old, "new_reaction": reactions}
        for bot in self._reaction_bots(target):
            if bot.id != actor.id:
                bot.push_update("message_reaction", update)

    def _admin_bots(self, chat: Chat) -> list[Bot]:
        return [self.bots[m] for m in chat.members if m in self.bots and chat.is_admin(m)]  # type: ignore[attr-defined]

    def _reaction_bots(self, target: Timeline) -> list[Bot]:
        """Who learns of reactions: the bot of a private chat, admin bots of a group."""
        if isinstance(target, Chat):
            return self._admin_bots(target)
        return [target.bot]  # type: ignore[attr-defined]

    def user_reacts(
        self,
        user_id: int,
        message_id: int,
        emoji: list[str],
        *,
        bot_id: int | None,
        chat_id: int | str | None,
    ) -> Timeline:
        """A user reacts (an empty list takes the reaction back): private chat or a group/channel."""
        user = self.get_user(user_id)  # type: ignore[attr-defined]
        target = self._user_target(user_id, bot_id, chat_id)
        if isinstance(target, Chat) and not (target.active(user_id) or target.username):
            raise UserActionError(400, f"user {user_id} is not a member of {target.title!r}")
        if target.find(message_id) is None:
            raise UserActionError(404, f"no message {message_id} in this chat")
        limit = 3 if user.extra.get("is_premium") else 1
        try:
            reactions = check_reactions([{"type": "emoji", "emoji": e} for e in emoji], limit)
        except TelegramError as e:
            raise UserActionError(400, e.description.removeprefix("Bad Request: ")) from None
        self.react(target, message_id, user, reactions)
        return target

    def _user_target(self, user_id: int, bot_id: int | None, chat_id: int | str | None) -> Timeline:
        if chat_id is not None:
            return self.get_chat(chat_id)  # type: ignore[attr-defined]
        dialog = self.dialog(bot_id, user_id)  # type: ignore[attr-defined]
        if dialog.blocked:
            raise UserActionError(400, "the user has blocked this bot: unblock it first")
        return dialog

    def user_edits(
        self,
        user_id: int,
        message_id: int,
        text: str,
        *,
        bot_id: int | None = None,
        chat_id: int | str | None = None,
    ) -> Message:
        """A user edits the text (or caption) of their own message: edited_message to bots."""
        target = self._user_target(user_id, bot_id, chat_id)
        old = target.find(message_id)
        if old is None or target.authors.get(message_id) != user_id:
            raise UserActionError(404, f"user {user_id} has no message {message_id} here")
        if not text.strip():
            raise UserActionError(400, "text must not be empty")
        key = "text" if "text" in old else "caption" if any(k in old for k in _CAPTIONED) else None
        if key is None:
            raise UserActionError(400, "this message has no text or caption to edit")
        limit = 4096 if key == "text" else 1024
        if len(text) > limit:
            raise UserActionError(400, f"{key} is longer than {limit} characters")
        entities_key = "entities" if key == "text" else "caption_entities"
        new = {k: v for k, v in old.items() if k != entities_key}
        new[key] = text
        if entities := auto_entities(text):
            new[entities_key] = entities
        if new == old:
            raise UserActionError(400, "the message is not modified")
        new["edit_date"] = self.now()  # type: ignore[attr-defined]
        target.messages[message_id] = new
        target.bump(message_id)
        if isinstance(target, Chat):
            kind = "edited_channel_post" if target.type == "channel" else "edited_message"
            self.deliver(target, kind, new, author_id=user_id)  # type: ignore[attr-defined]
        else:
            target.bot.push_update("edited_message", rekey(new, target.bot.id))  # type: ignore[attr-defined]
        return new


_CAPTIONED = ("photo", "video", "document", "audio", "animation", "voice", "paid_media", "live_photo")


def _counts(per_actor: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for chosen in per_actor.values():
        for reaction in chosen:
            key = reaction.get("emoji") or reaction.get("custom_emoji_id") or "paid"
            row = counts.setdefault(key, {"type": reaction, "total_count": 0})
            row["total_count"] += 1
    return sorted(counts.values(), key=lambda r: -r["total_count"])
