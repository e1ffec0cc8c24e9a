"""The web chat's WebSocket: one per browser tab, for every conversation of its account.

The page connects to /chat/ws?after=<the last message id it shows>. The server first sends what
the page missed (from the database), then live events. Frames from the page (send, read, typing)
are each authorised again: the session or API token that opened the socket must still be live
(ending one closes its sockets at once; before a frame in or out, the socket looks it up again
once its last look is TRUST_SECONDS old), and the conversation the account's.
A socket opened with a session cookie must come from our own pages (Origin checked); an API
client may connect with its bearer token instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiohttp import WSMsgType, web

from app.db.queries.chat import Via
from app.db.queries.chat_accounts import ChatAccount
from app.domain.chat import accounts, conversations
from app.domain.chat.conversations import ChatError
from app.urls import split
from app.web import keys
from app.web.chat.auth import CHAT_PREFIX, current_account, gettext, session_token
from app.web.chat.realtime import CATCH_UP, CHAT_HUB, RECHECK, Frame
from app.web.chat.services import chat_messages

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
MAX_FRAME = 64 * 1024
CATCH_UP_PAGES = 50
SESSION_REVOKED = 4401  # the close code a page gets when its session ended meanwhile
# How long a socket trusts its last check of what opened it, for the frames it receives and
# sends alike. Ending a session or revoking a token tells the account's sockets at once (a
# "signed_out" event: they check again and close); this bounds how late a socket learns it when
# that event was lost (a LISTEN connection down, an overflowing queue) or the session simply
# expired. A check per frame cost a round trip each.
TRUST_SECONDS = 30.0
SERVER_TROUBLE = 1011  # could not check the credential (database away): the page reconnects


def origin_ok(request: web.Request) -> bool:
    """The socket was opened by one of our pages: its Origin is this site."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    given = split(origin)
    if given is None:
        return False
    allowed = {f"{request.scheme}://{request.host}"}
    public = request.app[keys.CONFIG].public_url
    if public:
        parts = urlsplit(public)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return f"{given.scheme}://{given.netloc}" in allowed


def _bearer_secret(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None


async def _bearer_account(secret: str | None, request: web.Request) -> ChatAccount | None:
    if secret is None:
        return None
    async with request.app[keys.POOL].acquire() as conn:
        return await accounts.token_account(conn, secret)


@routes.get(CHAT_PREFIX + "/ws", name="chat.socket")
async def chat_socket(request: web.Request) -> web.StreamResponse:
    secret = _bearer_secret(request)
    bearer = await _bearer_account(secret, request)
    account = bearer or await current_account(request)
    if account is None:
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": {"code": "unauthorized", "message": "Sign in."}}),
            content_type="application/json",
        )
    if bearer is None and not origin_ok(request):
        raise web.HTTPForbidden(
            text=json.dumps({"error": {"code": "bad_origin", "message": "Not from this site."}}),
            content_type="application/json",
        )
    after = request.query.get("after", "0")
    last_seen = int(after) if after.isascii() and after.isdigit() and len(after) < 19 else 0
    # No per-message compression: chat frames are small, and a deflate context per socket
    # costs more memory than it saves bytes. Pings by aiohttp's heartbeat (no task of ours).
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME, compress=False)
    await ws.prepare(request)
    request.app[keys.WEBSOCKETS].add(ws)
    if bearer is not None:
        credential = Credential(secret, bearer=True)
    else:
        credential = Credential(session_token(request), bearer=False)
    session = Session(request, ws, account, credential)
    async with request.app[CHAT_HUB].subscribe(account.id) as listener:
        try:
            # What the page missed, then live events: those that came meanwhile waited in the
            # listener's inbox, and go out (with every later one) once the page is ready.
            await session.catch_up(last_seen)
            await session.send({"type": "ready", "latest": session.high})
            listener.start(session.deliver, session.accept)
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                if not await session.still_authorised():
                    break
                await session.handle(msg.data)
        except ConnectionResetError:
            pass
        finally:
            await listener.stop()
    return ws


@dataclass(frozen=True, slots=True)
class Credential:
    """What opened the socket: a session cookie's token or an API bearer token."""

    secret: str | None
    bearer: bool


class Session:
    """One socket's conversation with its page."""

    __slots__ = ("account", "credential", "high", "pool", "request", "sending", "trusted_until", "ws")

    def __init__(
        self, request: web.Request, ws: web.WebSocketResponse, account: ChatAccount, credential: Credential
    ) -> None:
        self.request, self.ws, self.account, self.credential = request, ws, account, credential
        self.pool = request.app[keys.POOL]
        self.high = 0  # the highest message id this page was sent
        self.sending: set[str] = set()  # client ids of this socket's messages: no echo for them
        self.trusted_until = 0.0  # loop time until which the last check of the credential holds

    async def authorised(self) -> bool:
        """Every frame: what opened the socket (a session or an API token) is still live and
        still this account's — looked up again once the last lookup is TRUST_SECONDS old, or at
        once after a `signed_out` event or a catch-up (they reset the trust)."""
        loop = asyncio.get_running_loop()
        if loop.time() < self.trusted_until:
            return True
        secret = self.credential.secret
        if secret is None:
            return False
        async with self.pool.acquire() as conn:
            if self.credential.bearer:
                found = await accounts.token_account(conn, secret)
            else:
                found = await accounts.session_account(conn, secret)
        if found is None or found.id != self.account.id:
            return False
        # Between half the trust and all of it: sockets that connected together (a restart, a
        # busy hour) would otherwise all look their credentials up in the same instant.
        self.trusted_until = loop.time() + TRUST_SECONDS * (0.5 + random.random() / 2)
        return True

    async def still_authorised(self) -> bool:
        """Before a live frame goes out: the credential still holds (looked up once the trust
        ran out); if not, or if it cannot be looked up, the socket is closed — never left open
        on a credential nobody checked."""
        try:
            if await self.authorised():
                return True
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            log.warning(
                "chat socket of account %s: credential not checked (%s); closing", self.account.id, exc
            )
            await self.ws.close(code=SERVER_TROUBLE, message=b"try again")
            return False
        await self.ws.close(code=SESSION_REVOKED, message=b"signed out")
        return False

    async def send(self, frame: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def catch_up(self, after: int) -> None:
        """What the page missed since `after`, from the database (the authority), page after
        page from the last id sent. Past CATCH_UP_PAGES pages a socket stops replaying: if newer
        messages are left, it tells the page to reload (a page loads its history from the
        database; an API client its conversations) and goes on live from the newest id."""
        self.high = max(self.high, after)  # the page has up to there: a later catch-up starts there
        cursor = 0
        for _page in range(CATCH_UP_PAGES):
            async with self.pool.acquire() as conn:
                missed = await conversations.missed(conn, self.account.id, after, cursor=cursor)
            for message in missed:
                await self.send({"type": "message", "message": message.as_json()})
            if missed:
                cursor = missed[-1].id
                self.high = max(self.high, cursor)
            if len(missed) < conversations.MAX_PAGE:
                return
        async with self.pool.acquire() as conn:
            latest = await conversations.latest_id(conn, self.account.id)
        if latest > max(cursor, after):  # unsent ones the page never had (not just the overlap's)
            self.high = max(self.high, latest)
            await self.send({"type": "reload", "latest": self.high})

    def accept(self, frame: Frame) -> bool:
        """Whether a live frame is for this page: not the echo of a message it just sent (its
        "sent" frame has it). Checked as the frame arrives, so an echo costs no send."""
        event = frame[0]
        if event is not CATCH_UP and event["type"] == "message":
            message = event["message"]
            if message["sender_id"] == self.account.id and message["client_id"] in self.sending:
                self.sending.discard(message["client_id"])
                return False
        return True

    async def deliver(self, frame: Frame) -> None:
        """One live frame for this page (its JSON encoded once for all sockets); a catch-up
        from the database when the hub says this page may have missed some."""
        event, text = frame
        try:
            if event is RECHECK or event is CATCH_UP:
                # A session or token of the account ended, or events may have been lost (a
                # sign-out among them): check now, not when the trust runs out.
                self.trusted_until = 0.0
            if not await self.still_authorised() or event is RECHECK:
                return
            if event is CATCH_UP:
                await self.catch_up(self.high)
                return
            if event["type"] == "message":
                self.high = max(self.high, int(event["message"]["id"]))
            if not self.ws.closed:
                await self.ws.send_str(text)
        except (ConnectionResetError, RuntimeError):
            pass  # the page went away mid-send

    async def handle(self, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            await self.send({"type": "error", "code": "bad_frame", "message": "Send JSON objects."})
            return
        kind = frame.get("type")
        conversation_id = _id(frame.get("conversation_id"))
        if kind not in ("send", "read", "typing") or conversation_id is None:
            await self.send({"type": "error", "code": "bad_frame", "message": "Unknown frame."})
            return
        client_id = frame.get("client_id") if isinstance(frame.get("client_id"), str) else None
        try:
            async with self.pool.acquire() as conn:
                if kind == "send":
                    body = frame.get("body")
                    if client_id is not None:
                        if len(self.sending) > 1000:  # echoes that never came (resends): forget
                            self.sending.clear()
                        self.sending.add(client_id[:64])
                    sent = await conversations.send(
                        conn,
                        self.account,
                        conversation_id,
                        body=body if isinstance(body, str) else "",
                        via=Via.WEB,
                        client_id=client_id,
                        msgs=chat_messages(self.request.app),
                        languages=self.request.app[keys.RUNNING_SETTINGS].languages,
                        events=self.request.app[CHAT_HUB],
                    )
                elif kind == "read":
                    upto = _id(frame.get("upto"))
                    if upto is not None:
                        await conversations.mark_read(
                            conn, self.account.id, conversation_id, upto, self.request.app[CHAT_HUB]
                        )
                    return
                else:
                    await conversations.typing(
                        conn, self.account.id, conversation_id, self.request.app[CHAT_HUB]
                    )
                    return
        except conversations.ConversationNotFound as exc:
            _ = gettext(self.request)  # only when there is something to say
            await self.send(
                {"type": "error", "code": "not_found", "message": exc.text(_), "client_id": client_id}
            )
            return
        except ChatError as exc:
            _ = gettext(self.request)
            await self.send(
                {"type": "error", "code": "refused", "message": exc.text(_), "client_id": client_id}
            )
            return
        if not sent.new and client_id is not None:
            self.sending.discard(client_id[:64])  # a resend: no notification follows
        await self.send({"type": "sent", "client_id": client_id, "message": sent.message.as_json()})


def _id(value: object) -> int | None:
    """A row id from a frame: a positive integer that fits a bigint, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**62:
        return value
    return None
