"""An async Python driver for the sandbox's user API, for tests: play users over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Self

import aiohttp

Message = dict[str, Any]
Match = str | Callable[[Message], bool]


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

    async def send(self, text: str) -> Message:
        """Write `text` to the bot; returns the message as stored (plus "event")."""
        msg = await self.sandbox.request("POST", f"/users/{self.id}/send", json={"text": text, **self._bot()})
        self.mark = msg["event"]
        return msg

    async def press(
        self,
        button_text: str | None = None,
        *,
        callback_data: str | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """Press a button by text or data: inline on `message_id` or the newest bot message
        holding it, else a reply-keyboard button (sent as text). Returns the server's answer
        ({"callback_query_id"} / {"message"} / {"url"})."""
        given = {"button_text": button_text, "callback_data": callback_data, "message_id": message_id}
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

    async def block(self) -> None:
        await self.sandbox.request("POST", f"/users/{self.id}/block", json=self._bot())

    async def unblock(self) -> None:
        await self.sandbox.request("POST", f"/users/{self.id}/unblock", json=self._bot())


def _matcher(match: Match) -> Callable[[Message], bool]:
    if isinstance(match, str):
        return lambda m: match in (m.get("text") or m.get("caption") or "")
    return match


def format_chat(state: dict[str, Any]) -> str:
    """A readable transcript of a chat view, for assertion messages."""
    lines = []
    for m in state["messages"]:
        who = "bot " if m["from"]["is_bot"] else "user"
        flags = " (deleted)" if m.get("deleted") else " (edited)" if "edit_date" in m else ""
        buttons = [b["text"] for row in m.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        extra = f" {buttons}" if buttons else ""
        lines.append(f"  #{m['message_id']} [event {m['event']}] {who}: {m.get('text', '')!r}{extra}{flags}")
    return "\n".join(lines) or "  (empty)"
