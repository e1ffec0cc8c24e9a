"""Games and their high scores, inline mode, prepared inline messages and keyboard buttons."""

from __future__ import annotations

import re
import secrets
from typing import Any

from .errors import QUERY_INVALID, Message, TelegramError
from .imaging import sample_png
from .media import Upload
from .methods import Params, _reply_markup, method
from .methods_send import send
from .world import Bot, World

_GAME_RE = re.compile(r"^[A-Za-z0-9_]{3,64}$")
PREPARED_SECONDS = 24 * 3600


def _game(world: World, bot: Bot, short_name: str) -> dict[str, Any]:
    """A game as @BotFather would have made it; the sandbox makes it on first use."""
    if not _GAME_RE.match(short_name):
        raise TelegramError(400, "Bad Request: GAME_SHORTNAME_INVALID")
    stored = world.store_file("photo", Upload(sample_png(640, 360, (40, 90, 160)), "game.png", "image/png"))
    title = short_name.replace("_", " ").title()
    return {
        "title": title,
        "description": f"{title}, a game of @{bot.username}",
        "photo": world.photo_sizes(stored, bot.id),
    }


@method("sendGame")
def send_game(world: World, bot: Bot, p: Params) -> Message:
    game = _game(world, bot, p["game_short_name"])
    if world.find_chat(p["chat_id"]) is not None and world.find_chat(p["chat_id"]).type == "channel":  # type: ignore[union-attr]
        raise TelegramError(400, "Bad Request: games can't be sent to channels")
    markup = _reply_markup(p, inline_only=True)
    if markup is None or not markup["inline_keyboard"]:
        p = {
            **p,
            "reply_markup": {"inline_keyboard": [[{"text": f"Play {game['title']}", "callback_game": {}}]]},
        }
    elif "callback_game" not in markup["inline_keyboard"][0][0]:
        raise TelegramError(400, "Bad Request: the first button must launch the game")
    return send(world, bot, p, {"game": game})


def _scores(world: World, bot: Bot, p: Params) -> tuple[dict[str, int], int | str, int]:
    if p.get("inline_message_id"):
        raise TelegramError(400, "Bad Request: MESSAGE_ID_INVALID")  # no inline game messages
    if p.get("chat_id") is None or p.get("message_id") is None:
        raise TelegramError(400, "Bad Request: chat_id and message_id are required")
    target = world.bot_target(bot, p["chat_id"], "read")
    msg = target.find(p["message_id"])
    if msg is None or "game" not in msg or target.authors.get(p["message_id"]) != bot.id:
        raise TelegramError(400, "Bad Request: message with the game not found")
    if p["user_id"] not in world.users:
        raise TelegramError(400, "Bad Request: user not found")
    key = f"{bot.id}:{msg['chat']['id']}:{p['message_id']}"
    return world.registry.setdefault("game_scores", {}).setdefault(key, {}), p["chat_id"], p["message_id"]


@method("setGameScore")
def set_game_score(world: World, bot: Bot, p: Params) -> Message | bool:
    scores, chat_id, message_id = _scores(world, bot, p)
    if p["score"] < 0:
        raise TelegramError(400, "Bad Request: SCORE_INVALID")
    old = scores.get(str(p["user_id"]))
    if old is not None and p["score"] <= old and not p.get("force"):
        raise TelegramError(400, "Bad Request: BOT_SCORE_NOT_MODIFIED")
    scores[str(p["user_id"])] = p["score"]
    if p.get("disable_edit_message"):
        return True
    target = world.bot_target(bot, chat_id, "read")
    msg = dict(target.messages[message_id])
    leader = max(scores.items(), key=lambda kv: kv[1])
    name = world.users[int(leader[0])].first_name
    game = {**msg["game"], "text": f"{name} leads with {leader[1]}"}
    return world.bot_edits(bot, chat_id, message_id, {"game": game})


@method("getGameHighScores")
def get_game_high_scores(world: World, bot: Bot, p: Params) -> list[dict[str, Any]]:
    scores, _, _ = _scores(world, bot, p)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    rows = [
        {"position": i + 1, "user": world.users[int(uid)].as_dict(), "score": s}
        for i, (uid, s) in enumerate(ranked)
    ]
    mine = next((i for i, r in enumerate(rows) if r["user"]["id"] == p["user_id"]), None)
    if mine is None:
        return rows[:3]
    return [r for i, r in enumerate(rows) if i < 3 or abs(i - mine) <= 1]  # the top and the user's neighbours


# ---------------------------------------------------------------- inline mode and prepared messages


@method("answerInlineQuery")
def answer_inline_query(world: World, bot: Bot, p: Params) -> bool:
    query = world.registry.get("inline_queries", {}).get(p["inline_query_id"])
    if query is None or query["bot_id"] != bot.id or "results" in query:
        raise TelegramError(400, QUERY_INVALID)
    results = p["results"]
    if len(results) > 50:
        raise TelegramError(400, "Bad Request: RESULTS_TOO_MUCH")
    ids = [r.get("id") for r in results]
    if len(set(ids)) != len(ids) or any(not i or len(str(i).encode()) > 64 for i in ids):
        raise TelegramError(400, "Bad Request: RESULT_ID_DUPLICATE")
    query |= {
        "results": results,
        "next_offset": p.get("next_offset") or "",
        "cache_time": p.get("cache_time", 300),
    }
    if (dialog := world.dialogs.get((bot.id, query["user_id"]))) is not None:
        dialog.bump()
    return True


def _prepared(world: World, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    prepared_id = secrets.token_urlsafe(12)
    expires = world.now() + PREPARED_SECONDS
    world.registry.setdefault(kind, {})[prepared_id] = {**value, "expiration_date": expires}
    return {"id": prepared_id, "expiration_date": expires}


@method("savePreparedInlineMessage")
def save_prepared_inline_message(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    if p["user_id"] not in world.users:
        raise TelegramError(400, "Bad Request: user not found")
    targets = {
        k: bool(p.get(k))
        for k in ("allow_user_chats", "allow_bot_chats", "allow_group_chats", "allow_channel_chats")
    }
    if not any(targets.values()):
        raise TelegramError(400, "Bad Request: at least one chat type must be allowed")
    return _prepared(
        world,
        "prepared_messages",
        {"bot_id": bot.id, "user_id": p["user_id"], "result": p["result"], **targets},
    )


@method("savePreparedKeyboardButton")
def save_prepared_keyboard_button(world: World, bot: Bot, p: Params) -> dict[str, str]:
    if p["user_id"] not in world.users:
        raise TelegramError(400, "Bad Request: user not found")
    button = p["button"]
    if not any(k in button for k in ("request_users", "request_chat", "request_managed_bot")):
        raise TelegramError(400, "Bad Request: the button must request users, a chat or a managed bot")
    saved = _prepared(
        world, "prepared_buttons", {"bot_id": bot.id, "user_id": p["user_id"], "button": button}
    )
    return {"id": saved["id"]}
