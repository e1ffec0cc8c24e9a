"""What every chat shares: its messages in order, an event counter and a long-poll wait."""

from __future__ import annotations

import asyncio
from typing import Any

from .errors import Message


class Timeline:
    """Messages of one chat as its members see them; `event` grows on every visible change."""

    def __init__(self) -> None:
        self.messages: dict[int, Message] = {}  # message_id -> current version, in order
        self.deleted: set[int] = set()
        self.changed: dict[int, int] = {}  # message_id -> event of its last change
        self.authors: dict[int, int] = {}  # message_id -> user or bot id (channel posts have no from)
        self.keyboards: dict[int, dict[str, Any]] = {}  # reply keyboards sent with a message
        self.reply_keyboard: tuple[int, dict[str, Any]] | None = None  # (message_id, markup)
        self.chat_action: tuple[str, int] | None = None
        self.pinned: list[int] = []  # pinned message ids, the newest last
        self.keyboard_hidden = False  # a one-time reply keyboard was used: clients fold it away
        self.reactions: dict[int, dict[str, list[dict[str, Any]]]] = {}  # message_id -> actor -> reactions
        self.next_message_id = 1
        self.event = 0
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def chat_id(self) -> int:
        raise NotImplementedError

    def chat_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def store(self, msg: Message, author_id: int) -> Message:
        """Add a new message (its id taken from next_message_id) and announce it."""
        mid = msg["message_id"]
        self.next_message_id = max(self.next_message_id, mid + 1)
        self.messages[mid] = msg
        self.authors[mid] = author_id
        self.bump(mid)
        return msg

    def find(self, message_id: int | None) -> Message | None:
        if message_id is None or message_id in self.deleted:
            return None
        return self.messages.get(message_id)

    def bump(self, message_id: int | None = None) -> int:
        """Count a change visible to the user and wake whoever long-polls the chat."""
        self.event += 1
        if message_id is not None:
            self.changed[message_id] = self.event
        if self._waiters:
            for fut in self._waiters:
                if not fut.done():
                    fut.set_result(None)
            self._waiters.clear()
        return self.event

    async def wait(self, after_event: int, seconds: float) -> None:
        """Return once `event` exceeds `after_event`, or after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.event <= after_event:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                async with asyncio.timeout(remaining):
                    await fut
            except TimeoutError:
                return
            finally:
                if fut in self._waiters:
                    self._waiters.remove(fut)

    # ------------------------------------------------------------ what survives a restart

    def meta_state(self) -> dict[str, Any]:
        keyboard = self.reply_keyboard
        return {
            "next_message_id": self.next_message_id,
            "event": self.event,
            "pinned": self.pinned,
            "reply_keyboard": list(keyboard) if keyboard is not None else None,
            "keyboard_hidden": self.keyboard_hidden,
        }

    def restore_meta(self, state: dict[str, Any]) -> None:
        self.next_message_id = state["next_message_id"]
        self.event = state["event"]
        self.pinned = list(state["pinned"])
        keyboard = state.get("reply_keyboard")
        self.reply_keyboard = (keyboard[0], keyboard[1]) if keyboard else None
        self.keyboard_hidden = state.get("keyboard_hidden", False)

    def message_state(self, message_id: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "message": self.messages[message_id],
            "author": self.authors.get(message_id),
            "changed": self.changed.get(message_id, 0),
        }
        if message_id in self.deleted:
            row["deleted"] = True
        if (keyboard := self.keyboards.get(message_id)) is not None:
            row["keyboard"] = keyboard
        if reactions := self.reactions.get(message_id):
            row["reactions"] = reactions
        return row

    def restore_message(self, message_id: int, row: dict[str, Any]) -> None:
        self.messages[message_id] = row["message"]
        if row.get("author") is not None:
            self.authors[message_id] = row["author"]
        self.changed[message_id] = row.get("changed", 0)
        if row.get("deleted"):
            self.deleted.add(message_id)
        if "keyboard" in row:
            self.keyboards[message_id] = row["keyboard"]
        if "reactions" in row:
            self.reactions[message_id] = row["reactions"]

    def view(self, message_id: int) -> Message:
        """A message as the user API shows it: the stored dict plus sandbox-only keys."""
        msg = dict(self.messages[message_id])
        msg["event"] = self.changed.get(message_id, 0)
        if message_id in self.deleted:
            msg["deleted"] = True
        if (keyboard := self.keyboards.get(message_id)) is not None:
            msg["keyboard"] = keyboard
        if message_id in self.pinned:
            msg["pinned"] = True
        if reactions := self.reactions.get(message_id):
            msg["reactions"] = _tally(reactions)
        return msg

    def views(self, after_event: int = 0) -> list[Message]:
        """Every message (deleted ones flagged); with after_event, only those changed since."""
        return [self.view(mid) for mid in self.messages if self.changed.get(mid, 0) > after_event]


def _tally(reactions: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """{actor: [ReactionType...]} as ReactionCount-like rows: [{type, emoji?, count, actors}]."""
    counts: dict[str, dict[str, Any]] = {}
    for actor, chosen in reactions.items():
        for reaction in chosen:
            key = reaction.get("emoji") or reaction.get("custom_emoji_id") or reaction["type"]
            row = counts.setdefault(key, {**reaction, "count": 0, "actors": []})
            row["count"] += 1
            row["actors"].append(int(actor))
    return sorted(counts.values(), key=lambda r: -r["count"])
