"""The in-memory Telegram world: bots, users, private chats, messages and update queues."""

from __future__ import annotations

import itertools
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .accounts import DEFAULT_EXCLUDED_UPDATES, Bot, User, Webhook
from .buttons import ButtonsMixin, CallbackQuery
from .chats import ChatsMixin
from .errors import (
    BLOCKED,
    CHAT_NOT_FOUND,
    NOT_MODIFIED,
    QUERY_INVALID,
    Message,
    TelegramError,
    UserActionError,
)
from .faults import Faults
from .formatting import auto_entities
from .limits import Limits, RateLimiter
from .media import MediaMixin
from .messaging import MessagingMixin
from .payments import PaymentsMixin, PreCheckout
from .reactions import ReactionsMixin
from .store import WorldStore, save_quietly
from .timeline import Timeline
from .userside import UserSideMixin

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^(\d{1,15}):[A-Za-z0-9_-]{30,}$")
FIRST_USER_ID = 100_000_001
CALLBACK_QUERY_TTL = 60.0
MAX_USER_TEXT = 4096
MAX_KEPT_ANSWERS = 50  # callback answers a restart keeps per chat (clients show the newest)
DRAFT_SECONDS = 30  # a streamed draft shows this long unless the message replaces it
CHAT_ACTION_SECONDS = 5  # clients show "typing…" this long, or until the next message

__all__ = [
    "BLOCKED",
    "CHAT_NOT_FOUND",
    "DEFAULT_EXCLUDED_UPDATES",
    "NOT_MODIFIED",
    "QUERY_INVALID",
    "Bot",
    "CallbackQuery",
    "TelegramError",
    "User",
    "UserActionError",
    "Webhook",
]

# (event, bot_id, chat_id, message): "send" / "edit" / "delete" of a bot's message.
Listener = Callable[[str, int, int, Message], None]


class Dialog(Timeline):
    """The private chat between one bot and one user, as both sides see it."""

    def __init__(self, bot: Bot, user: User, chat_instance: str):
        super().__init__()
        self.bot = bot
        self.user = user
        self.chat_instance = chat_instance
        self.callback_answers: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []  # invoices the user paid or tried to pay
        self.started = False  # the user has written to the bot at least once
        self.blocked = False
        self.draft: dict[str, Any] | None = None  # sendMessageDraft's preview, shown for 30 s

    @property
    def chat_id(self) -> int:
        return self.user.id

    @property
    def type(self) -> str:
        return "private"

    def chat_dict(self) -> dict[str, Any]:
        return self.user.chat_dict()

    def state(self) -> dict[str, Any]:
        return {
            "bot_id": self.bot.id,
            "user_id": self.user.id,
            "chat_instance": self.chat_instance,
            "callback_answers": self.callback_answers[-MAX_KEPT_ANSWERS:],
            "payments": self.payments,
            "started": self.started,
            "blocked": self.blocked,
            "timeline": self.meta_state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.callback_answers = state["callback_answers"]
        self.payments = state["payments"]
        self.started = state["started"]
        self.blocked = state["blocked"]
        self.restore_meta(state["timeline"])


class World(
    MessagingMixin, ButtonsMixin, ChatsMixin, MediaMixin, PaymentsMixin, ReactionsMixin, UserSideMixin
):
    """Everything the emulated Telegram knows; synchronous, usable in-process."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        path: Path | str | None = None,
    ):
        """An empty world, or with `path` the world kept in that SQLite file (see store.py)."""
        self.clock = clock
        self.bots: dict[int, Bot] = {}
        self.users: dict[int, User] = {}
        self.dialogs: dict[tuple[int, int], Dialog] = {}
        self.callbacks: dict[str, CallbackQuery] = {}
        self.listeners: list[Listener] = []
        self.webhook_listeners: list[Callable[[Bot], None]] = []
        self.spec_violations: list[tuple[str, str]] = []
        self.validate = False
        self.http_webhooks = False  # setWebhook takes http:// and local addresses (tests, make run)
        self.closing = False  # the server is shutting down: long polls answer at once
        self.callback_query_ttl = CALLBACK_QUERY_TTL
        self._random = random.Random(seed)
        self.limits = Limits()
        self.rate = RateLimiter(self)
        self.faults = Faults(seed)
        self._init_chats()
        self._init_media()
        self._init_payments()
        self._next_user_id = FIRST_USER_ID
        self._callback_ids = itertools.count(self._random.randrange(10**17, 10**18, 10**6))
        # World-wide state of the newer features (JSON values): Stars ledgers, sticker sets,
        # games' scores, gifts, invoice links, prepared messages.
        self.registry: dict[str, Any] = {}
        self.store: WorldStore | None = None
        if path is not None:
            self.store = WorldStore(path)
            self.store.load(self)

    def save(self) -> None:
        """Write what changed to the world's file, if it has one (after every request)."""
        save_quietly(self)

    def close(self) -> None:
        """Save and close the world's file (it reopens on the next save)."""
        if self.store is not None:
            save_quietly(self)
            self.store.close()

    def misc_state(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "invoice_payloads": [[*key, payload] for key, payload in self.invoice_payloads.items()],
            "pre_checkouts": [asdict(q) for q in self.pre_checkouts.values()],
        }

    def restore_misc(self, state: dict[str, Any]) -> None:
        self.registry = state["registry"]
        self.invoice_payloads = {(b, c, m): payload for b, c, m, payload in state["invoice_payloads"]}
        self.pre_checkouts = {q["id"]: PreCheckout(**q) for q in state["pre_checkouts"]}

    def now(self) -> int:
        return int(self.clock())

    def release_waiters(self) -> None:
        """End every long poll now, so a server shutdown is not held up for their timeouts."""
        self.closing = True
        for bot in self.bots.values():
            bot.wake()
        for dialog in self.dialogs.values():
            dialog.bump()
        for chat in self.chats.values():
            chat.bump()

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

    def dialog(self, bot_id: int | None, user_id: int, *, chat_instance: str | None = None) -> Dialog:
        """The chat of a bot and a user, created (not yet started) on first look."""
        bot = self.get_bot(bot_id)
        key = (bot.id, user_id)
        dialog = self.dialogs.get(key)
        if dialog is None:
            user = self.get_user(user_id)
            chat_instance = chat_instance or str(self._random.randrange(-(2**63), 2**63))
            dialog = self.dialogs[key] = Dialog(bot, user, chat_instance)
        return dialog

    # ------------------------------------------------------------ what users do

    def user_sends_text(self, bot_id: int | None, user_id: int, text: str) -> Message:
        """The user writes `text` to the bot: store it and queue a `message` update."""
        return self.user_sends(bot_id, user_id, text_content(text))

    def user_sends(self, bot_id: int | None, user_id: int, content: dict[str, Any]) -> Message:
        """The user sends a message with `content` (text, photo, contact...) to the bot."""
        dialog = self.dialog(bot_id, user_id)
        if dialog.blocked:
            raise UserActionError(400, "the user has blocked this bot: unblock it first")
        msg: Message = {
            "message_id": dialog.next_message_id,
            "from": dialog.user.as_dict(),
            "chat": dialog.user.chat_dict(),
            "date": self.now(),
            **content,
        }
        dialog.started = True
        if _uses_keyboard(dialog.reply_keyboard, content):
            dialog.keyboard_hidden = True  # a one-time keyboard folds away once used
        dialog.store(msg, user_id)
        dialog.bot.push_update("message", msg)
        return msg

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

    # ------------------------------------------------------------ the user's view

    def chat_view(self, bot_id: int | None, user_id: int) -> dict[str, Any]:
        """The private chat as the user API returns it."""
        dialog = self.dialog(bot_id, user_id)
        keyboard = dialog.reply_keyboard[1] if dialog.reply_keyboard else None
        hidden = keyboard if dialog.keyboard_hidden else None
        action = dialog.chat_action
        return {
            "event": dialog.event,
            "bot_id": dialog.bot.id,
            "chat": dialog.chat_dict(),
            "blocked": dialog.blocked,
            "messages": [dialog.view(mid) for mid in dialog.messages],
            "callback_answers": list(dialog.callback_answers),
            "payments": list(dialog.payments),
            "reply_keyboard": None if hidden else keyboard,
            "hidden_reply_keyboard": hidden,  # used one-time keyboard: the client may reopen it
            "chat_action": action[0] if action and self.now() - action[1] <= CHAT_ACTION_SECONDS else None,
            "draft": draft
            if (draft := dialog.draft) and self.now() - draft["date"] <= DRAFT_SECONDS
            else None,
        }


def _uses_keyboard(keyboard: tuple[int, dict[str, Any]] | None, content: dict[str, Any]) -> bool:
    """Is this user message a press of the shown one-time keyboard (a label, a contact...)?"""
    if keyboard is None or not keyboard[1].get("one_time_keyboard"):
        return False
    for row in keyboard[1].get("keyboard", ()):
        for button in row:
            label = button if isinstance(button, str) else button.get("text")
            if content.get("text") == label:
                return True
            if isinstance(button, dict) and (
                (button.get("request_contact") and "contact" in content)
                or (button.get("request_location") and "location" in content)
            ):
                return True
    return False


def text_content(text: str) -> dict[str, Any]:
    """A user's text message content, with the entities Telegram detects in it."""
    if not text or not text.strip():
        raise UserActionError(400, "text must not be empty")
    if len(text) > MAX_USER_TEXT:
        raise UserActionError(400, f"text is longer than {MAX_USER_TEXT} characters")
    content: dict[str, Any] = {"text": text}
    if entities := auto_entities(text):
        content["entities"] = entities
    return content
