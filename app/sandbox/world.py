"""The in-memory Telegram world: bots, users, private chats, messages and update queues."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .formatting import auto_entities

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^(\d{1,15}):[A-Za-z0-9_-]{30,}$")
FIRST_USER_ID = 100_000_001
# Telegram's default when allowed_updates was never given (or given as an empty list).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CALLBACK_QUERY_TTL = 60.0
MAX_USER_TEXT = 4096
CHAT_ACTION_SECONDS = 5  # clients show "typing…" this long, or until the next message

Message = dict[str, Any]
# (event, bot_id, chat_id, message): "send" / "edit" / "delete" of a bot's message.
Listener = Callable[[str, int, int, Message], None]

BLOCKED = "Forbidden: bot was blocked by the user"
CHAT_NOT_FOUND = "Bad Request: chat not found"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class TelegramError(Exception):
    """A Bot API failure: HTTP status, Telegram's description, optional `parameters`."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class UserActionError(Exception):
    """A user-side request that cannot be done (HTTP 400 or 404 on the user API)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True, eq=False)
class User:
    """A Telegram account played by a test or a person; its private chat id is its id."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    _dict: dict[str, Any] | None = field(default=None, repr=False)
    _chat: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The Bot API User object (cached: messages share it, so never mutate it)."""
        if self._dict is None:
            d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
            for key in ("last_name", "username", "language_code"):
                if (value := getattr(self, key)) is not None:
                    d[key] = value
            self._dict = d
        return self._dict

    def chat_dict(self) -> dict[str, Any]:
        """The Bot API Chat object of the private chat with this user."""
        if self._chat is None:
            d: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
            for key in ("last_name", "username"):
                if (value := getattr(self, key)) is not None:
                    d[key] = value
            self._chat = d
        return self._chat

    def update(self, **fields: Any) -> None:
        for key, value in fields.items():
            setattr(self, key, value)
        self._dict = self._chat = None  # old messages keep the old snapshot, like Telegram


@dataclass(slots=True, eq=False)
class Webhook:
    """A bot's webhook settings plus the last delivery error, for getWebhookInfo."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class Bot:
    """A bot account: identity, settings and its queue of pending updates."""

    def __init__(self, bot_id: int, token: str, username: str, first_name: str):
        self.id = bot_id
        self.token = token
        self.username = username
        self.first_name = first_name
        self.updates: deque[tuple[int, str, dict[str, Any]]] = deque()
        self.next_update_id = 1
        self.allowed_updates: frozenset[str] | None = None  # None = Telegram's default set
        self.webhook: Webhook | None = None
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.poll_ticket = 0  # bumped by each getUpdates; an older waiter sees it and yields
        self._waiters: list[asyncio.Future[None]] = []
        self._dict: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The bot's User object as it appears in `from` of its messages."""
        if self._dict is None:
            self._dict = {
                "id": self.id,
                "is_bot": True,
                "first_name": self.first_name,
                "username": self.username,
            }
        return self._dict

    def wants(self, kind: str) -> bool:
        if self.allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self.allowed_updates

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update of `kind` unless the bot filtered that kind out; wake consumers."""
        if not self.wants(kind):
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        update = {"update_id": update_id, kind: payload}
        self.updates.append((update_id, kind, update))
        self.wake()
        return update

    def confirm(self, offset: int) -> None:
        """getUpdates offset: forget every update below it; negative keeps the last -offset."""
        q = self.updates
        if offset < 0:
            while len(q) > -offset:
                q.popleft()
            return
        while q and q[0][0] < offset:
            q.popleft()

    def pending(self, limit: int) -> list[dict[str, Any]]:
        return [u for _, _, u in itertools.islice(self.updates, limit)]

    def drop_pending(self) -> None:
        self.updates.clear()

    def wake(self) -> None:
        """Resolve every waiter (long polls, the webhook worker); cheap when none waits."""
        if self._waiters:
            for fut in self._waiters:
                if not fut.done():
                    fut.set_result(None)
            self._waiters.clear()

    async def wait(self, seconds: float | None) -> bool:
        """Sleep until `wake()` or for `seconds` (None: no limit); True when woken."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            async with asyncio.timeout(seconds):
                await fut
            return True
        except TimeoutError:
            return False
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)


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


class Dialog:
    """The private chat between one bot and one user, as both sides see it."""

    def __init__(self, bot: Bot, user: User, chat_instance: str):
        self.bot = bot
        self.user = user
        self.chat_instance = chat_instance
        self.messages: dict[int, Message] = {}  # message_id -> current version, in order
        self.deleted: set[int] = set()
        self.changed: dict[int, int] = {}  # message_id -> event of its last change
        self.keyboards: dict[int, dict[str, Any]] = {}  # reply keyboards sent with a message
        self.reply_keyboard: tuple[int, dict[str, Any]] | None = None  # (message_id, markup)
        self.callback_answers: list[dict[str, Any]] = []
        self.chat_action: tuple[str, int] | None = None
        self.next_message_id = 1
        self.event = 0
        self.started = False  # the user has written to the bot at least once
        self.blocked = False
        self._waiters: list[asyncio.Future[None]] = []

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

    def view(self, message_id: int) -> Message:
        """A message as the user API shows it: the stored dict plus sandbox-only keys."""
        msg = dict(self.messages[message_id])
        msg["event"] = self.changed.get(message_id, 0)
        if message_id in self.deleted:
            msg["deleted"] = True
        if (keyboard := self.keyboards.get(message_id)) is not None:
            msg["keyboard"] = keyboard
        return msg


class World:
    """Everything the emulated Telegram knows; synchronous, usable in-process."""

    def __init__(self, *, clock: Callable[[], float] = time.time, seed: int | None = None):
        self.clock = clock
        self.bots: dict[int, Bot] = {}
        self.users: dict[int, User] = {}
        self.dialogs: dict[tuple[int, int], Dialog] = {}
        self.callbacks: dict[str, CallbackQuery] = {}
        self.listeners: list[Listener] = []
        self.webhook_listeners: list[Callable[[Bot], None]] = []
        self.spec_violations: list[tuple[str, str]] = []
        self.validate = False
        self.closing = False  # the server is shutting down: long polls answer at once
        self.callback_query_ttl = CALLBACK_QUERY_TTL
        self._random = random.Random(seed)
        self._next_user_id = FIRST_USER_ID
        self._callback_ids = itertools.count(self._random.randrange(10**17, 10**18, 10**6))

    def now(self) -> int:
        return int(self.clock())

    def release_waiters(self) -> None:
        """End every long poll now, so a server shutdown is not held up for their timeouts."""
        self.closing = True
        for bot in self.bots.values():
            bot.wake()
        for dialog in self.dialogs.values():
            dialog.bump()

    # ------------------------------------------------------------ bots

    def bot_for_token(self, token: str) -> Bot | None:
        """The bot a token names, created on first use; None for a malformed or wrong token."""
        m = TOKEN_RE.match(token)
        if m is None:
            return None
        bot = self.bots.get(int(m.group(1)))
        if bot is None:
            return self.add_bot(token)
        return bot if bot.token == token else None

    def add_bot(self, token: str, *, username: str | None = None, first_name: str | None = None) -> Bot:
        """Register a bot by token (idempotent); username defaults to bozor{id}_bot."""
        m = TOKEN_RE.match(token)
        if m is None:
            raise ValueError(f"malformed bot token {token!r}")
        bot_id = int(m.group(1))
        if bot_id in self.users:
            raise ValueError(f"id {bot_id} already belongs to a user")
        bot = self.bots.get(bot_id)
        if bot is None:
            bot = Bot(bot_id, token, username or f"bozor{bot_id}_bot", first_name or f"Bozor {bot_id}")
            self.bots[bot_id] = bot
        elif bot.token != token:
            raise ValueError(f"bot {bot_id} already exists with another token")
        return bot

    def get_bot(self, bot_id: int | None) -> Bot:
        """The bot with that id; with None, the only bot (a user-side convenience)."""
        if bot_id is None:
            if len(self.bots) != 1:
                raise UserActionError(
                    400,
                    f"bot_id is required: {len(self.bots)} bots exist"
                    if self.bots
                    else "no bot exists yet: a bot appears when it first calls the Bot API",
                )
            return next(iter(self.bots.values()))
        bot = self.bots.get(bot_id)
        if bot is None:
            raise UserActionError(404, f"no bot with id {bot_id}")
        return bot

    def set_webhook(self, bot: Bot, webhook: Webhook | None) -> None:
        bot.webhook = webhook
        bot.wake()  # a waiting getUpdates must now answer 409
        for cb in self.webhook_listeners:
            cb(bot)

    # ------------------------------------------------------------ users

    def add_user(
        self,
        first_name: str | None = None,
        *,
        id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> User:
        """Create a user, or update the given fields of an existing one."""
        if id is not None and id in self.bots:
            raise UserActionError(400, f"id {id} belongs to a bot")
        user = self.users.get(id) if id is not None else None
        fields = {"last_name": last_name, "username": username, "language_code": language_code}
        if user is not None:
            if first_name is not None:
                fields["first_name"] = first_name
            user.update(**{k: v for k, v in fields.items() if v is not None})
            return user
        if not first_name:
            raise UserActionError(400, "first_name is required to create a user")
        if id is None:
            while self._next_user_id in self.users or self._next_user_id in self.bots:
                self._next_user_id += 1
            id = self._next_user_id
        user = User(id, first_name, last_name, username, language_code)
        self.users[id] = user
        return user

    def get_user(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise UserActionError(404, f"no user with id {user_id}")
        return user

    def dialog(self, bot_id: int | None, user_id: int) -> Dialog:
        """The chat of a bot and a user, created (not yet started) on first look."""
        bot = self.get_bot(bot_id)
        key = (bot.id, user_id)
        dialog = self.dialogs.get(key)
        if dialog is None:
            user = self.get_user(user_id)
            chat_instance = str(self._random.randrange(-(2**63), 2**63))
            dialog = self.dialogs[key] = Dialog(bot, user, chat_instance)
        return dialog

    # ------------------------------------------------------------ what users do

    def user_sends_text(self, bot_id: int | None, user_id: int, text: str) -> Message:
        """The user writes `text` to the bot: store it and queue a `message` update."""
        dialog = self.dialog(bot_id, user_id)
        if dialog.blocked:
            raise UserActionError(400, "the user has blocked this bot: unblock it first")
        if not text or not text.strip():
            raise UserActionError(400, "text must not be empty")
        if len(text) > MAX_USER_TEXT:
            raise UserActionError(400, f"text is longer than {MAX_USER_TEXT} characters")
        msg: Message = {
            "message_id": dialog.next_message_id,
            "from": dialog.user.as_dict(),
            "chat": dialog.user.chat_dict(),
            "date": self.now(),
            "text": text,
        }
        if entities := auto_entities(text):
            msg["entities"] = entities
        dialog.next_message_id += 1
        dialog.started = True
        dialog.messages[msg["message_id"]] = msg
        dialog.bump(msg["message_id"])
        dialog.bot.push_update("message", msg)
        return msg

    def user_presses(
        self,
        bot_id: int | None,
        user_id: int,
        *,
        message_id: int | None = None,
        button_text: str | None = None,
        callback_data: str | None = None,
    ) -> dict[str, Any]:
        """Press an inline button (or a reply-keyboard button, which sends its text).

        Without `message_id`, the newest bot message holding such a button is used.
        Returns {"callback_query_id"} / {"url"} / {"message"}, each with the chat "event".
        """
        dialog = self.dialog(bot_id, user_id)
        if dialog.blocked:
            raise UserActionError(400, "the user has blocked this bot: unblock it first")
        if button_text is None and callback_data is None:
            raise UserActionError(400, "give button_text or callback_data")
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

    def user_blocks(self, bot_id: int | None, user_id: int) -> bool:
        """Block the bot; queues my_chat_member (member -> kicked). False if already blocked."""
        return self._set_blocked(self.dialog(bot_id, user_id), True)

    def user_unblocks(self, bot_id: int | None, user_id: int) -> bool:
        """Unblock the bot; queues my_chat_member (kicked -> member). False if not blocked."""
        return self._set_blocked(self.dialog(bot_id, user_id), False)

    def _set_blocked(self, dialog: Dialog, blocked: bool) -> bool:
        if dialog.blocked == blocked:
            return False
        dialog.blocked = blocked
        bot_user = dialog.bot.as_dict()
        member = {"status": "member", "user": bot_user}
        kicked = {"status": "kicked", "user": bot_user, "until_date": 0}
        dialog.bot.push_update(
            "my_chat_member",
            {
                "chat": dialog.user.chat_dict(),
                "from": dialog.user.as_dict(),
                "date": self.now(),
                "old_chat_member": member if blocked else kicked,
                "new_chat_member": kicked if blocked else member,
            },
        )
        dialog.bump()
        return True

    # ------------------------------------------------------------ what bots do

    def _emit(self, event: str, bot_id: int, chat_id: int, msg: Message) -> None:
        for listener in self.listeners:
            try:
                listener(event, bot_id, chat_id, msg)
            except Exception:
                log.exception("sandbox listener %r failed on %s", listener, event)

    def bot_dialog(self, bot: Bot, chat_id: int | str, *, sending: bool = True) -> Dialog:
        """The chat a bot addresses by chat_id, or the TelegramError Telegram would give."""
        if isinstance(chat_id, str) or chat_id not in self.users:
            raise TelegramError(400, CHAT_NOT_FOUND)  # no groups/channels/@usernames yet
        dialog = self.dialogs.get((bot.id, chat_id))
        if dialog is None or not dialog.started:
            if not sending:
                raise TelegramError(400, CHAT_NOT_FOUND)
            raise TelegramError(403, "Forbidden: bot can't initiate conversation with a user")
        if sending and dialog.blocked:
            raise TelegramError(403, BLOCKED)
        return dialog

    def bot_sends(
        self,
        bot: Bot,
        chat_id: int | str,
        content: dict[str, Any],
        *,
        reply_markup: dict[str, Any] | None = None,
        reply_to: int | None = None,
    ) -> Message:
        """Store a bot message with `content` (e.g. text + entities) and return it."""
        dialog = self.bot_dialog(bot, chat_id)
        mid = dialog.next_message_id
        msg: Message = {
            "message_id": mid,
            "from": bot.as_dict(),
            "chat": dialog.user.chat_dict(),
            "date": self.now(),
        }
        if reply_to is not None:
            msg["reply_to_message"] = _without_reply(dialog.messages[reply_to])
        msg.update(content)
        if reply_markup is not None:
            if "inline_keyboard" in reply_markup:
                if reply_markup["inline_keyboard"]:
                    msg["reply_markup"] = reply_markup  # an empty keyboard shows nothing
            else:
                dialog.keyboards[mid] = reply_markup
                is_keyboard = "keyboard" in reply_markup
                dialog.reply_keyboard = (mid, reply_markup) if is_keyboard else None
        dialog.next_message_id += 1
        dialog.messages[mid] = msg
        dialog.chat_action = None  # sending ends "typing…" in clients
        dialog.bump(mid)
        self._emit("send", bot.id, dialog.user.id, msg)
        return msg

    def find_message(self, dialog: Dialog, message_id: int) -> Message | None:
        if message_id in dialog.deleted:
            return None
        return dialog.messages.get(message_id)

    def bot_edits(self, bot: Bot, chat_id: int | str, message_id: int, changes: dict[str, Any]) -> Message:
        """Apply `changes` (None removes a key) to a bot message; TelegramError if impossible.

        `edit_date` is set only when something other than reply_markup changes, as in
        Telegram where swapping a keyboard does not mark a message as edited.
        """
        dialog = self.bot_dialog(bot, chat_id, sending=False)
        if dialog.blocked:
            raise TelegramError(403, BLOCKED)
        old = self.find_message(dialog, message_id)
        if old is None:
            raise TelegramError(400, "Bad Request: message to edit not found")
        if old["from"]["id"] != bot.id:
            raise TelegramError(400, "Bad Request: message can't be edited")
        if all(old.get(k) == v for k, v in changes.items()):
            raise TelegramError(400, NOT_MODIFIED)
        new = dict(old)  # copy-on-write: updates already queued keep the old version
        for key, value in changes.items():
            if value is None:
                new.pop(key, None)
            else:
                new[key] = value
        if any(k != "reply_markup" for k in changes):
            new["edit_date"] = self.now()
        dialog.messages[message_id] = new
        dialog.bump(message_id)
        self._emit("edit", bot.id, dialog.user.id, new)
        return new

    def bot_deletes(self, bot: Bot, chat_id: int | str, message_id: int) -> None:
        dialog = self.bot_dialog(bot, chat_id, sending=False)
        msg = self.find_message(dialog, message_id)
        if msg is None:
            raise TelegramError(400, "Bad Request: message to delete not found")
        dialog.deleted.add(message_id)
        if dialog.reply_keyboard is not None and dialog.reply_keyboard[0] == message_id:
            dialog.reply_keyboard = None
        dialog.bump(message_id)
        self._emit("delete", bot.id, dialog.user.id, msg)

    def bot_answers_callback(self, bot: Bot, query_id: str, answer: dict[str, Any]) -> None:
        query = self.callbacks.get(query_id)
        if (
            query is None
            or query.bot_id != bot.id
            or query.answer is not None
            or self.clock() - query.created > self.callback_query_ttl
        ):
            raise TelegramError(400, QUERY_INVALID)
        query.answer = answer
        dialog = self.dialogs[(bot.id, query.user_id)]
        dialog.callback_answers.append(
            {
                "callback_query_id": query_id,
                "message_id": query.message_id,
                "data": query.data,
                "date": self.now(),
                **answer,
            }
        )
        dialog.bump()

    def bot_chat_action(self, bot: Bot, chat_id: int | str, action: str) -> None:
        dialog = self.bot_dialog(bot, chat_id)
        dialog.chat_action = (action, self.now())
        dialog.bump()

    # ------------------------------------------------------------ the user's view

    def chat_view(self, bot_id: int | None, user_id: int) -> dict[str, Any]:
        """The private chat as the user API returns it."""
        dialog = self.dialog(bot_id, user_id)
        keyboard = dialog.reply_keyboard[1] if dialog.reply_keyboard else None
        action = dialog.chat_action
        return {
            "event": dialog.event,
            "bot_id": dialog.bot.id,
            "blocked": dialog.blocked,
            "messages": [dialog.view(mid) for mid in dialog.messages],
            "callback_answers": list(dialog.callback_answers),
            "reply_keyboard": keyboard,
            "chat_action": action[0] if action and self.now() - action[1] <= CHAT_ACTION_SECONDS else None,
        }


def _without_reply(msg: Message) -> Message:
    """A replied-to message as Telegram nests it: one level deep only."""
    if "reply_to_message" not in msg:
        return msg
    return {k: v for k, v in msg.items() if k != "reply_to_message"}
