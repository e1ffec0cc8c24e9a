"""Bot API methods over the World, one function each, found by case-insensitive name."""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import spec
from .errors import TelegramError
from .formatting import ParseError, parse, strip_text, with_auto_entities
from .world import Bot, Webhook, World

Params = dict[str, Any]
Handler = Callable[[World, Bot, Params], Any]

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_GET_UPDATES_TIMEOUT = 50
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_ENTITY_FIELDS = spec.known_fields("MessageEntity")
_BUTTON_FIELDS = spec.known_fields("InlineKeyboardButton")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True, slots=True)
class MethodEntry:
    name: str
    handler: Handler
    is_async: bool


METHODS: dict[str, MethodEntry] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for Bot API method `name` (other modules may add more)."""

    def register(fn: Handler) -> Handler:
        if spec.method(name) is None:
            raise ValueError(f"{name} is not a Bot API method")
        METHODS[name.lower()] = MethodEntry(name, fn, inspect.iscoroutinefunction(fn))
        return fn

    return register


async def call_method(world: World, bot: Bot, name: str, params: Params) -> Any:
    """Run Bot API method `name` for `bot`; raises TelegramError like Telegram would answer."""
    entry = METHODS.get(name.lower())
    if entry is None:
        known = spec.method(name)
        if known is None:
            raise TelegramError(404, "Not Found")
        # A 404 reads as a bad token to some clients: a known method says what it is.
        raise TelegramError(400, f"Bad Request: {known.name} is not emulated by the sandbox yet")
    if entry.name == "sendPoll":
        params = _plain_poll_options(params)
    typed, error = spec.coerce_params(entry.name, params)
    if error is not None:
        raise TelegramError(400, error)
    result = entry.handler(world, bot, typed)
    if entry.is_async:
        result = await result
    if world.validate:
        world.spec_violations.extend((entry.name, v) for v in spec.check_result(entry.name, result))
    return result


def _plain_poll_options(params: Params) -> Params:
    """Telegram still takes poll options as plain strings (aiogram sends them so)."""
    options = params.get("options")
    if isinstance(options, str) and options.startswith("["):
        try:
            options = json.loads(options)
        except ValueError:
            return params
    if isinstance(options, list) and any(isinstance(o, str) for o in options):
        return {**params, "options": [{"text": o} if isinstance(o, str) else o for o in options]}
    return params


# ---------------------------------------------------------------- helpers


def _formatted(
    raw: str, p: Params, entities_key: str, mode_key: str = "parse_mode"
) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of a text or caption: given entities, or parsed from parse_mode,
    plus the links, mentions, hashtags and commands Telegram detects by itself."""
    if p.get(entities_key):
        text, entities = raw, [_only(e, _ENTITY_FIELDS) for e in p[entities_key]]
    else:
        try:
            text, entities = parse(raw, p.get(mode_key))
        except ParseError as e:
            raise TelegramError(400, f"Bad Request: can't parse entities: {e}") from None
    text, entities = strip_text(text, entities)
    return text, with_auto_entities(text, entities)


def _text_content(p: Params) -> dict[str, Any]:
    """text + entities (None when there are none) from text, parse_mode or entities."""
    raw = p.get("text")
    if raw is None:
        raise TelegramError(400, "Bad Request: message text is empty")
    text, entities = _formatted(raw, p, "entities")
    if not text:
        raise TelegramError(400, "Bad Request: message text is empty")
    if len(text) > MAX_TEXT:
        raise TelegramError(400, "Bad Request: message is too long")
    return {"text": text, "entities": entities or None}


def _reply_markup(p: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
    markup = p.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise TelegramError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = [[_only(b, _BUTTON_FIELDS) for b in row] for row in markup["inline_keyboard"]]
        _check_inline_keyboard(rows)
        return {"inline_keyboard": rows}
    if inline_only:
        raise TelegramError(400, "Bad Request: inline keyboard expected")
    if "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise TelegramError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    return markup


def _only(obj: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """Drop fields the spec does not know, as Telegram ignores them instead of echoing them."""
    if obj.keys() <= fields:
        return obj
    return {k: v for k, v in obj.items() if k in fields}


def _check_inline_keyboard(rows: Any) -> None:
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not url.startswith(("http://", "https://", "tg://")):
                raise TelegramError(400, "Bad Request: BUTTON_URL_INVALID")
            if not button.get("text"):
                raise TelegramError(400, "Bad Request: BUTTON_TEXT_INVALID")
            if len(button) == 1:
                raise TelegramError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )


def _check_reply_keyboard(rows: Any) -> None:
    for row in rows:
        for button in row:
            text = button if isinstance(button, str) else button.get("text")
            if not text:
                raise TelegramError(400, "Bad Request: keyboard button text must be non-empty")


def _reply_to(world: World, bot: Bot, p: Params) -> int | None:
    params = p.get("reply_parameters")
    if not params:
        return None
    target = world.bot_target(bot, p["chat_id"], "read")
    mid = params.get("message_id")
    if target.find(mid) is None:
        if params.get("allow_sending_without_reply"):
            return None
        raise TelegramError(400, "Bad Request: message to be replied not found")
    return mid


def _message_target(p: Params) -> tuple[int | str, int]:
    if p.get("inline_message_id"):
        raise TelegramError(400, "Bad Request: MESSAGE_ID_INVALID")  # no inline mode yet
    if p.get("chat_id") is None:
        raise TelegramError(400, "Bad Request: chat_id is empty")
    if p.get("message_id") is None:
        raise TelegramError(400, "Bad Request: message identifier is not specified")
    return p["chat_id"], p["message_id"]


def _scope_key(p: Params) -> tuple[str, str]:
    scope = p.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), p.get("language_code") or ""


def _clamp(value: Any, low: int, high: int, default: int) -> int:
    return default if value is None else max(low, min(high, value))


# ---------------------------------------------------------------- identity and updates


@method("getMe")
def get_me(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    return {
        **bot.as_dict(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut")
def log_out(world: World, bot: Bot, p: Params) -> bool:
    return True


@method("close")
def close(world: World, bot: Bot, p: Params) -> bool:
    return True


@method("getUpdates")
async def get_updates(world: World, bot: Bot, p: Params) -> list[dict[str, Any]]:
    """Long poll: answers at once when updates wait, else when one arrives or at `timeout`."""
    if bot.webhook is not None:
        raise TelegramError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    if p.get("offset") is not None:
        bot.confirm(p["offset"])
    if "allowed_updates" in p:
        allowed = p["allowed_updates"]
        bot.allowed_updates = frozenset(allowed) if allowed else None
    limit = _clamp(p.get("limit"), 1, 100, 100)
    timeout = _clamp(p.get("timeout"), 0, MAX_GET_UPDATES_TIMEOUT, 0)
    bot.poll_ticket += 1
    ticket = bot.poll_ticket
    bot.wake()  # an older long poll for this bot must end with a conflict
    if bot.updates or timeout == 0:
        return bot.pending(limit)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not bot.updates and not world.closing:
        remaining = deadline - loop.time()
        if remaining <= 0 or not await bot.wait(remaining):
            break
        if bot.poll_ticket != ticket:
            raise TelegramError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        if bot.webhook is not None:
            raise TelegramError(409, "Conflict: can't use getUpdates method while webhook is active")
    return bot.pending(limit)


@method("setWebhook")
def set_webhook(world: World, bot: Bot, p: Params) -> bool:
    url = p.get("url") or ""
    if not url:  # Telegram reads an empty url as "remove the webhook"
        return delete_webhook(world, bot, p)
    secret = p.get("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise TelegramError(400, "Bad Request: secret token contains unallowed characters")
    _check_webhook_url(world, url)
    if "allowed_updates" in p:
        bot.allowed_updates = frozenset(p["allowed_updates"]) if p["allowed_updates"] else None
    if p.get("drop_pending_updates"):
        bot.drop_pending()
    hook = Webhook(
        url=url,
        secret_token=secret,
        max_connections=_clamp(p.get("max_connections"), 1, 100, 40),
        ip_address=p.get("ip_address"),
    )
    world.set_webhook(bot, hook)
    return True


WEBHOOK_PORTS = (443, 80, 88, 8443)


def _check_webhook_url(world: World, url: str) -> None:
    """HTTPS on 443, 80, 88 or 8443 at a public address, as Telegram demands; with the
    sandbox's http_webhooks option also http:// on any port and local addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TelegramError(400, "Bad Request: bad webhook: Wrong port number specified in the URL") from None
    if not parts.hostname:
        raise TelegramError(
            400, "Bad Request: bad webhook: Failed to resolve host: Name or service not known"
        )
    if world.http_webhooks and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https":
        raise TelegramError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if (port or 443) not in WEBHOOK_PORTS:
        raise TelegramError(
            400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
        )
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        address = None if parts.hostname.lower() != "localhost" else ipaddress.ip_address("127.0.0.1")
    if address is not None and not address.is_global:
        raise TelegramError(400, f"Bad Request: bad webhook: IP address {address} is reserved")


@method("deleteWebhook")
def delete_webhook(world: World, bot: Bot, p: Params) -> bool:
    if p.get("drop_pending_updates"):
        bot.drop_pending()
    if bot.webhook is not None:
        world.set_webhook(bot, None)
    return True


@method("getWebhookInfo")
def get_webhook_info(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if bot.allowed_updates is not None:
            info["allowed_updates"] = sorted(bot.allowed_updates)
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message or ""
    return info


# ---------------------------------------------------------------- messages


@method("sendMessage")
def send_message(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    from .methods_forum import thread_fields

    content = _text_content(p)
    if content["entities"] is None:
        del content["entities"]
    content = {**thread_fields(world, bot, p), **content}
    markup = _reply_markup(p)
    return world.bot_sends(bot, p["chat_id"], content, reply_markup=markup, reply_to=_reply_to(world, bot, p))


@method("editMessageText")
def edit_message_text(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat_id, message_id = _message_target(p)
    content = _text_content(p)
    # Telegram drops the inline keyboard when an edit does not repeat it.
    content["reply_markup"] = _reply_markup(p, inline_only=True)
    if content["reply_markup"] is not None and not content["reply_markup"]["inline_keyboard"]:
        content["reply_markup"] = None
    target = world.bot_target(bot, chat_id, "edit")
    old = target.find(message_id)
    if old is not None and "text" not in old and target.authors.get(message_id) == bot.id:
        raise TelegramError(400, "Bad Request: there is no text in the message to edit")
    return world.bot_edits(bot, chat_id, message_id, content)


@method("editMessageReplyMarkup")
def edit_message_reply_markup(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat_id, message_id = _message_target(p)
    markup = _reply_markup(p, inline_only=True)
    if markup is not None and not markup["inline_keyboard"]:
        markup = None
    return world.bot_edits(bot, chat_id, message_id, {"reply_markup": markup})


@method("deleteMessage")
def delete_message(world: World, bot: Bot, p: Params) -> bool:
    world.bot_deletes(bot, p["chat_id"], p["message_id"])
    return True


@method("answerCallbackQuery")
def answer_callback_query(world: World, bot: Bot, p: Params) -> bool:
    text = p.get("text") or ""
    if len(text) > MAX_CALLBACK_ANSWER:
        raise TelegramError(400, "Bad Request: MESSAGE_TOO_LONG")
    answer = {"text": text, "show_alert": bool(p.get("show_alert"))}
    if p.get("url"):
        answer["url"] = p["url"]
    world.bot_answers_callback(bot, p["callback_query_id"], answer)
    return True


@method("sendChatAction")
def send_chat_action(world: World, bot: Bot, p: Params) -> bool:
    if p["action"] not in CHAT_ACTIONS:
        raise TelegramError(400, "Bad Request: wrong parameter action in request")
    world.bot_chat_action(bot, p["chat_id"], p["action"])
    return True


# ---------------------------------------------------------------- chats and commands


@method("setMyCommands")
def set_my_commands(world: World, bot: Bot, p: Params) -> bool:
    commands = p["commands"]
    if len(commands) > 100:
        raise TelegramError(400, "Bad Request: too many commands")
    for c in commands:
        if not _COMMAND_RE.match(c["command"]):
            raise TelegramError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(c["description"]) <= 256:
            raise TelegramError(400, "Bad Request: command description must be 1-256 characters")
    key = _scope_key(p)
    if commands:
        bot.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
    else:
        bot.commands.pop(key, None)
    return True


@method("getMyCommands")
def get_my_commands(world: World, bot: Bot, p: Params) -> list[dict[str, str]]:
    return list(bot.commands.get(_scope_key(p), []))


@method("deleteMyCommands")
def delete_my_commands(world: World, bot: Bot, p: Params) -> bool:
    bot.commands.pop(_scope_key(p), None)
    return True


# Methods in other modules register themselves on import.
from . import (  # noqa: E402, F401
    methods_admin,
    methods_chats,
    methods_forum,
    methods_games,
    methods_media,
    methods_profile,
    methods_send,
    methods_stars,
    methods_stickers,
)
