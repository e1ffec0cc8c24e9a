"""An async Python driver for the sandbox's user API, for tests: play users over HTTP."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

import aiohttp

Message = dict[str, Any]
Match = str | Callable[[Message], bool]
AlbumItem = bytes | tuple[bytes, str] | dict[str, Any]
# What a bot admin of a channel usually may do; groups use the same minus posting.
CHANNEL_ADMIN = {"can_post_messages": True, "can_edit_messages": True, "can_delete_messages": True}
GROUP_ADMIN = {"can_delete_messages": True, "can_pin_messages": True, "can_invite_users": True}


class SandboxError(Exception):
    """The user API refused a request (its {"error"} message and HTTP status)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"sandbox user API {status}: {message}")
        self.status = status
        self.message = message


class Sandbox:
    """The user side of a running sandbox at `base_url` (e.g. http://127.0.0.1:PORT/sandbox)."""

    def __init__(self, base_url: str, *, bot_id: int | None = None):
        self.base_url = base_url.rstrip("/")
        self.bot_id = bot_id  # default bot for new personas; None = the only bot
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the user API; raise SandboxError with its message on 4xx."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(method, f"{self.base_url}/api{path}", **kwargs) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                error = data.get("error") if isinstance(data, dict) else data
                raise SandboxError(resp.status, str(error))
            return data

    async def bots(self) -> list[dict[str, Any]]:
        return await self.request("GET", "/bots")

    async def add_bot(self, token: str, **fields: str) -> dict[str, Any]:
        return await self.request("POST", "/bots", json={"token": token, **fields})

    async def user(
        self,
        first_name: str,
        *,
        id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        bot_id: int | None = None,
    ) -> Persona:
        """Create (or update) a user and return a Persona that acts as them."""
        body = {
            "id": id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
        data = await self.request("POST", "/users", json={k: v for k, v in body.items() if v is not None})
        return Persona(self, data, bot_id if bot_id is not None else self.bot_id)

    async def _bot_id(self, bot_id: int | None) -> int:
        if bot_id is not None or self.bot_id is not None:
            return bot_id if bot_id is not None else self.bot_id  # type: ignore[return-value]
        bots = await self.bots()
        if len(bots) != 1:
            raise SandboxError(400, f"give bot_id: {len(bots)} bots exist")
        return bots[0]["id"]

    async def channel(
        self,
        title: str,
        *,
        username: str | None = None,
        admins: Iterable[Persona] = (),
        creator: Persona | None = None,
        bot_admin: bool = True,
        bot_id: int | None = None,
        bot_rights: dict[str, bool] | None = None,
    ) -> ChatHandle:
        """A channel; the creator (default: the first admin) and admins may post in it, and
        with bot_admin the bot is an administrator that may post, edit and delete."""
        return await self._chat(
            "channel", title, username, list(admins), creator, bot_admin, bot_id, bot_rights or CHANNEL_ADMIN
        )

    async def group(
        self,
        title: str,
        *,
        type: str = "supergroup",
        username: str | None = None,
        members: Iterable[Persona] = (),
        admins: Iterable[Persona] = (),
        creator: Persona | None = None,
        bot_admin: bool = False,
        bot_member: bool = True,
        bot_id: int | None = None,
        bot_rights: dict[str, bool] | None = None,
    ) -> ChatHandle:
        """A group or supergroup with these members; the bot joins as member (or admin)."""
        chat = await self._chat(
            type, title, username, list(admins), creator, bot_admin, bot_id, bot_rights or GROUP_ADMIN
        )
        for persona in members:
            await chat.join(persona)
        if bot_member and not bot_admin:
            await chat.set_member(await self._bot_id(bot_id), "member")
        return chat

    async def _chat(
        self,
        type: str,
        title: str,
        username: str | None,
        admins: list[Persona],
        creator: Persona | None,
        bot_admin: bool,
        bot_id: int | None,
        bot_rights: dict[str, bool],
    ) -> ChatHandle:
        creator = creator or (admins.pop(0) if admins else None)
        body: dict[str, Any] = {"type": type, "title": title, "username": username}
        if creator is not None:
            body["creator_id"] = creator.id
        data = await self.request("POST", "/chats", json={k: v for k, v in body.items() if v is not None})
        chat = ChatHandle(self, data)
        for persona in admins:
            await chat.set_member(persona.id, "administrator", **CHANNEL_ADMIN)
        if bot_admin:
            await chat.set_member(await self._bot_id(bot_id), "administrator", **bot_rights)
        return chat

    async def chats(self) -> list[dict[str, Any]]:
        return await self.request("GET", "/chats")

    async def faults(self, **plan: Any) -> dict[str, Any]:
        """Set the fault plan (errors/latency/timeouts/storm/seed/clear); see Faults.configure."""
        return await self.request("POST", "/faults", json=plan)

    async def limits(self, **values: Any) -> dict[str, Any]:
        """Change limits, e.g. enabled=False or private_burst=1."""
        return await self.request("POST", "/limits", json=values)

    async def file(self, file_id: str) -> tuple[bytes, str]:
        """A file's bytes and content type, by any bot's file_id or a file_unique_id."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.get(f"{self.base_url}/api/files/{file_id}") as resp:
            if resp.status >= 400:
                raise SandboxError(resp.status, (await resp.json(content_type=None)).get("error", ""))
            return await resp.read(), resp.content_type


class ChatHandle:
    """A group or channel as the test sees it: members, posts, waiting for the bot's posts."""

    def __init__(self, sandbox: Sandbox, data: dict[str, Any]):
        self.sandbox = sandbox
        self.data = data
        self.id: int = data["id"]
        self.username: str | None = data.get("username")
        self.mark = 0

    async def set_member(self, member_id: int, status: str, **rights: Any) -> dict[str, Any]:
        body = {"member_id": member_id, "status": status, **rights}
        return await self.sandbox.request("POST", f"/chats/{self.id}/members", json=body)

    async def join(self, persona: Persona) -> dict[str, Any]:
        return await self.sandbox.request("POST", f"/chats/{self.id}/join", json={"user_id": persona.id})

    async def leave(self, persona: Persona) -> dict[str, Any]:
        return await self.sandbox.request("POST", f"/chats/{self.id}/leave", json={"user_id": persona.id})

    async def state(self, *, after_event: int | None = None, wait: float = 0) -> dict[str, Any]:
        params = {} if after_event is None else {"after_event": after_event, "wait": wait}
        return await self.sandbox.request("GET", f"/chats/{self.id}/messages", params=params)

    async def messages(self) -> list[Message]:
        """Every message in order (deleted ones flagged)."""
        return (await self.state())["messages"]

    async def posts(self) -> list[Message]:
        """The messages that are not deleted."""
        return [m for m in await self.messages() if not m.get("deleted")]

    async def wait_for_post(
        self,
        match: Match,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is part of the assertion
        *,
        since: int | None = None,
    ) -> Message:
        """The first message sent or edited after event `since` (default: the last wait) that
        matches `match` (text/caption contains a str, or a callable is true)."""
        test = _matcher(match)
        since = self.mark if since is None else since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        state = await self.state()
        while True:
            for m in state["messages"]:
                if m["event"] > since and not m.get("deleted") and test(m):
                    self.mark = m["event"]
                    return m
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no post matching {match!r} within {timeout}s in chat {self.id}:\n{format_chat(state)}"
                )
            state = await self.state(after_event=state["event"], wait=remaining)


class Persona:
    """One user talking to one bot: send, press, read the chat, wait for the bot, block."""

    def __init__(self, sandbox: Sandbox, user: dict[str, Any], bot_id: int | None):
        self.sandbox = sandbox
        self.user = user
        self.id: int = user["id"]
        self.bot_id = bot_id
        self.mark = 0  # chat event of the last action; wait_for_bot looks only past it

    def _bot(self) -> dict[str, Any]:
        return {} if self.bot_id is None else {"bot_id": self.bot_id}

    async def send(self, text: str, *, reply_to: int | None = None) -> Message:
        """Write `text` to the bot (as a reply to its message `reply_to`); returns the message as
        stored (plus "event")."""
        body: dict[str, Any] = {"text": text, **self._bot()}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        msg = await self.sandbox.request("POST", f"/users/{self.id}/send", json=body)
        self.mark = msg["event"]
        return msg

    async def press(
        self,
        button_text: str | None = None,
        *,
        callback_data: str | None = None,
        message_id: int | None = None,
        forged: bool = False,
    ) -> dict[str, Any]:
        """Press a button by text or data: inline on `message_id` or the newest bot message
        holding it, else a reply-keyboard button (sent as text). Returns the server's answer
        ({"callback_query_id"} / {"message"} / {"url"}). `forged`: any data, on any message."""
        given = {
            "button_text": button_text,
            "callback_data": callback_data,
            "message_id": message_id,
            "forged": forged or None,
        }
        body = {k: v for k, v in given.items() if v is not None} | self._bot()
        result = await self.sandbox.request("POST", f"/users/{self.id}/press", json=body)
        self.mark = result["event"]
        return result

    async def chat_state(self, *, after_event: int | None = None, wait: float = 0) -> dict[str, Any]:
        params: dict[str, Any] = {} if self.bot_id is None else {"bot_id": self.bot_id}
        if after_event is not None:
            params |= {"after_event": after_event, "wait": wait}
        return await self.sandbox.request("GET", f"/users/{self.id}/chat", params=params)

    async def chat(self) -> list[Message]:
        """Every message of the chat in order, both directions (deleted ones flagged)."""
        return (await self.chat_state())["messages"]

    async def bot_messages(self) -> list[Message]:
        """The bot's messages that are not deleted."""
        return [m for m in await self.chat() if m["from"]["is_bot"] and not m.get("deleted")]

    async def last_bot_message(self) -> Message | None:
        messages = await self.bot_messages()
        return messages[-1] if messages else None

    async def wait_for_bot(
        self,
        match: Match,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is part of the assertion
        *,
        since: int | None = None,
    ) -> Message:
        """The first bot message sent or edited after the last send/press (or chat event
        `since`) whose text contains `match` (a str) or satisfies it (a callable)."""
        test = _matcher(match)
        since = self.mark if since is None else since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        state = await self.chat_state()
        while True:
            for m in state["messages"]:
                if m["event"] > since and m["from"]["is_bot"] and not m.get("deleted") and test(m):
                    return m
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no bot message matching {match!r} within {timeout}s after event {since}; "
                    f"chat of user {self.id}:\n{format_chat(state)}"
                )
            state = await self.chat_state(after_event=state["event"], wait=remaining)

    async def callback_answer(
        self,
        callback_query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is part of the assertion
    ) -> dict[str, Any]:
        """Wait until the bot answers that callback query; returns the answer (text, show_alert)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        state = await self.chat_state()
        while True:
            for answer in state["callback_answers"]:
                if answer["callback_query_id"] == callback_query_id:
                    return answer
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"callback query {callback_query_id} not answered in {timeout}s")
            state = await self.chat_state(after_event=state["event"], wait=remaining)

    async def _send(self, body: dict[str, Any], chat: ChatHandle | int | str | None) -> Any:
        if chat is not None:
            body["chat_id"] = chat.id if isinstance(chat, ChatHandle) else chat
        else:
            body |= self._bot()
        sent = await self.sandbox.request("POST", f"/users/{self.id}/send", json=body)
        if chat is None:
            self.mark = (sent[-1] if isinstance(sent, list) else sent)["event"]
        return sent

    async def send_photo(
        self,
        data: bytes | str,
        caption: str | None = None,
        *,
        chat: ChatHandle | int | str | None = None,
        reply_to: int | None = None,
    ) -> Message:
        """Send a photo (PNG/JPEG bytes, or a file_id) to the bot (as a reply to its message
        `reply_to`), or into `chat`."""
        body: dict[str, Any] = {"photo": _file(data, caption)}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        return await self._send(body, chat)

    async def send_album(
        self, items: Sequence[AlbumItem], *, chat: ChatHandle | int | str | None = None
    ) -> list[Message]:
        """2-10 photos as one album: bytes, (bytes, caption) or dicts like the user API's."""
        album = []
        for item in items:
            if isinstance(item, dict):
                album.append(item)
            elif isinstance(item, tuple):
                album.append(_file(*item))
            else:
                album.append(_file(item, None))
        return await self._send({"album": album}, chat)

    async def send_document(
        self,
        data: bytes,
        file_name: str,
        caption: str | None = None,
        *,
        mime_type: str | None = None,
        chat: ChatHandle | int | str | None = None,
    ) -> Message:
        doc = _file(data, caption) | {"file_name": file_name}
        if mime_type:
            doc["mime_type"] = mime_type
        return await self._send({"document": doc}, chat)

    async def share_contact(
        self, phone_number: str, *, first_name: str | None = None, last_name: str | None = None
    ) -> Message:
        """Share a contact; without first_name it is the user's own (with their user_id)."""
        contact = {"phone_number": phone_number, "first_name": first_name, "last_name": last_name}
        return await self._send({"contact": {k: v for k, v in contact.items() if v}}, None)

    async def send_location(self, latitude: float, longitude: float) -> Message:
        return await self._send({"location": {"latitude": latitude, "longitude": longitude}}, None)

    async def post(self, chat: ChatHandle | int | str, text: str) -> Message:
        """Write `text` in a group (or post it in a channel the user may post in)."""
        return await self._send({"text": text}, chat)

    async def pay(self, message_id: int | None = None) -> dict[str, Any]:
        """Press Pay on an invoice (the newest by default); returns {"pre_checkout_query_id"}."""
        body = self._bot() | ({} if message_id is None else {"message_id": message_id})
        result = await self.sandbox.request("POST", f"/users/{self.id}/pay", json=body)
        self.mark = result["event"]
        return result

    async def edit(
        self, message_id: int, text: str, *, chat: ChatHandle | int | str | None = None
    ) -> Message:
        """Edit the text (or caption) of one's own message; the bot gets edited_message."""
        return await self._act("edit", {"message_id": message_id, "text": text}, chat)

    async def react(
        self, message_id: int, emoji: str | list[str], *, chat: ChatHandle | int | str | None = None
    ) -> Message:
        """React to a message ([] takes it back); returns the message with its "reactions"."""
        return await self._act("react", {"message_id": message_id, "emoji": emoji}, chat)

    async def _act(self, action: str, body: dict[str, Any], chat: ChatHandle | int | str | None) -> Message:
        if chat is not None:
            body["chat_id"] = chat.id if isinstance(chat, ChatHandle) else chat
        else:
            body |= self._bot()
        msg = await self.sandbox.request("POST", f"/users/{self.id}/{action}", json=body)
        if chat is None:
            self.mark = msg["event"]
        return msg

    async def payments(self) -> list[dict[str, Any]]:
        """Invoices paid or tried: status pending/paid/declined (with the bot's error_message)."""
        return (await self.chat_state())["payments"]

    async def block(self) -> None:
        await self.sandbox.request("POST", f"/users/{self.id}/block", json=self._bot())

    async def unblock(self) -> None:
        await self.sandbox.request("POST", f"/users/{self.id}/unblock", json=self._bot())


def _file(data: bytes | str, caption: str | None) -> dict[str, Any]:
    item: dict[str, Any] = (
        {"file_id": data} if isinstance(data, str) else {"data": base64.b64encode(data).decode()}
    )
    if caption:
        item["caption"] = caption
    return item


def _matcher(match: Match) -> Callable[[Message], bool]:
    if isinstance(match, str):
        return lambda m: match in (m.get("text") or m.get("caption") or "")
    return match


def format_chat(state: dict[str, Any]) -> str:
    """A readable transcript of a chat view, for assertion messages."""
    lines = []
    for m in state["messages"]:
        sender = m.get("from") or m.get("sender_chat") or {}
        who = "bot " if sender.get("is_bot") else "chat" if "title" in sender else "user"
        flags = " (deleted)" if m.get("deleted") else " (edited)" if "edit_date" in m else ""
        buttons = [b["text"] for row in m.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        extra = f" {buttons}" if buttons else ""
        lines.append(f"  #{m['message_id']} [event {m['event']}] {who}: {_summary(m)!r}{extra}{flags}")
    return "\n".join(lines) or "  (empty)"


def _summary(m: Message) -> str:
    text = m.get("text") or m.get("caption") or ""
    for kind in ("photo", "document", "contact", "location", "invoice", "successful_payment"):
        if kind in m:
            return f"[{kind}] {text}".strip()
    return text
