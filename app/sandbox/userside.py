"""What users do beyond messages (a World mixin): vote in polls, inline queries, boosts."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from .chats import Chat
from .errors import Message, UserActionError
from .formatting import auto_entities
from .timeline import Timeline

if TYPE_CHECKING:
    from .world import Dialog

BOOST_DAYS = 365


class UserSideMixin:
    """Polls, inline mode and boosts from the users' side (mixed into World)."""

    def user_votes(self, target: Timeline, user_id: int, message_id: int, options: list[int]) -> None:
        msg = target.find(message_id)
        if msg is None or "poll" not in msg:
            raise UserActionError(404, f"no poll in message {message_id}")
        poll = msg["poll"]
        record = self.registry.get("polls", {}).get(poll["id"])  # type: ignore[attr-defined]
        if poll["is_closed"] or record is None:
            raise UserActionError(400, "the poll is closed")
        if any(not 0 <= o < len(poll["options"]) for o in options) or len(set(options)) != len(options):
            raise UserActionError(400, "no such option")
        if len(options) > 1 and not poll["allows_multiple_answers"]:
            raise UserActionError(400, "this poll takes one answer")
        votes = record["votes"]
        if str(user_id) in votes and (not poll["allows_revoting"] or poll["type"] == "quiz"):
            raise UserActionError(400, "the vote can't be changed")
        if options:
            votes[str(user_id)] = options
        else:
            votes.pop(str(user_id), None)
        counts = [0] * len(poll["options"])
        for chosen in votes.values():
            for o in chosen:
                counts[o] += 1
        new_poll = {**poll, "total_voter_count": len(votes)}
        new_poll["options"] = [
            {**opt, "voter_count": c} for opt, c in zip(poll["options"], counts, strict=True)
        ]
        target.messages[message_id] = {**msg, "poll": new_poll}
        target.bump(message_id)
        bot = self.bots[record["bot_id"]]  # type: ignore[attr-defined]
        bot.push_update("poll", new_poll)
        if not poll["is_anonymous"]:
            answer = {"poll_id": poll["id"], "user": self.users[user_id].as_dict(), "option_ids": options}  # type: ignore[attr-defined]
            answer["option_persistent_ids"] = [poll["options"][o]["persistent_id"] for o in options]
            bot.push_update("poll_answer", answer)

    def user_inline_query(self, bot_id: int | None, user_id: int, query: str) -> dict[str, Any]:
        dialog: Dialog = self.dialog(bot_id, user_id)  # type: ignore[attr-defined]
        if len(query) > 256:
            raise UserActionError(400, "an inline query is at most 256 characters")
        query_id = str(next(self._callback_ids))  # type: ignore[attr-defined]
        record = {"id": query_id, "bot_id": dialog.bot.id, "user_id": user_id, "query": query}
        self.registry.setdefault("inline_queries", {})[query_id] = record  # type: ignore[attr-defined]
        update = {
            "id": query_id,
            "from": dialog.user.as_dict(),
            "query": query,
            "offset": "",
            "chat_type": "sender",
        }
        dialog.bot.push_update("inline_query", update)
        return {"inline_query_id": query_id}

    def user_chooses_inline(self, user_id: int, query_id: str, result_id: str) -> Message:
        record = self.registry.get("inline_queries", {}).get(query_id)  # type: ignore[attr-defined]
        if record is None or record["user_id"] != user_id:
            raise UserActionError(404, "no such inline query")
        result = next((r for r in record.get("results", []) if str(r.get("id")) == result_id), None)
        if result is None:
            raise UserActionError(404, f"no result {result_id!r}: the bot has not answered with it")
        content = _inline_content(self, result, record["bot_id"])
        bot = self.bots[record["bot_id"]]  # type: ignore[attr-defined]
        msg = self.user_sends(bot.id, user_id, {**content, "via_bot": bot.as_dict()})  # type: ignore[attr-defined]
        chosen = {"result_id": result_id, "from": self.users[user_id].as_dict(), "query": record["query"]}  # type: ignore[attr-defined]
        bot.push_update("chosen_inline_result", chosen)
        return msg

    def user_boosts(self, chat_id: int | str, user_id: int) -> dict[str, Any]:
        chat: Chat = self.get_chat(chat_id)  # type: ignore[attr-defined]
        user = self.get_user(user_id)  # type: ignore[attr-defined]
        if not user.extra.get("is_premium"):
            raise UserActionError(400, "only Premium users boost chats")
        now = self.now()  # type: ignore[attr-defined]
        boost = {"boost_id": secrets.token_hex(8), "user_id": user_id, "add_date": now}
        boost["expiration_date"] = now + BOOST_DAYS * 86400
        chat.info.setdefault("boosts", []).append(boost)
        from .methods_profile import boost_object

        obj = boost_object(self, boost)  # type: ignore[arg-type]
        for member in chat.members:
            if member in self.bots and chat.is_admin(member):  # type: ignore[attr-defined]
                self.bots[member].push_update("chat_boost", {"chat": chat.chat_dict(), "boost": obj})  # type: ignore[attr-defined]
        chat.bump()
        return obj


def _inline_content(world: Any, result: dict[str, Any], bot_id: int) -> dict[str, Any]:
    """The message an inline result sends: its input_message_content text, or its photo."""
    content = result.get("input_message_content") or {}
    if "message_text" in content:
        text = content["message_text"]
        out: dict[str, Any] = {"text": text}
        if entities := auto_entities(text):
            out["entities"] = entities
        return out
    if result.get("type") == "photo" and result.get("photo_file_id"):
        stored = world.file_for(result["photo_file_id"], bot_id, "photo")
        return world.media_object(stored, 0)
    raise UserActionError(400, "the sandbox sends article results and photos by file_id only")
