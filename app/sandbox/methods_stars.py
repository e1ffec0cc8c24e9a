"""Telegram Stars: invoice links, shipping, balance, transactions, refunds, subscriptions, gifts."""

from __future__ import annotations

import secrets
from typing import Any

from .errors import QUERY_INVALID, TelegramError
from .media import Upload
from .methods import Params, _formatted, method
from .world import Bot, World

PREMIUM_PRICES = {3: 1000, 6: 1500, 12: 2500}  # months -> Stars, Telegram's fixed prices
GIFTS = (
    ("5170145012310081615", "💝", 15),
    ("5170233102089322756", "🧸", 15),
    ("5168103777563050263", "🌹", 25),
)
SUBSCRIPTION_PERIOD = 2592000


def _invoice(p: Params) -> tuple[dict[str, Any], str]:
    prices = p["prices"]
    if p["currency"] != "XTR" and not p.get("provider_token"):
        raise TelegramError(400, "Bad Request: PAYMENT_PROVIDER_INVALID")
    if p["currency"] == "XTR" and len(prices) != 1:
        raise TelegramError(400, "Bad Request: STARS_INVOICE_INVALID")
    total = sum(price["amount"] for price in prices)
    if total <= 0:
        raise TelegramError(400, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID")
    if not 1 <= len(p["payload"].encode()) <= 128:
        raise TelegramError(400, "Bad Request: INVOICE_PAYLOAD_INVALID")
    invoice = {"title": p["title"], "description": p["description"], "start_parameter": ""}
    return invoice | {"currency": p["currency"], "total_amount": total}, p["payload"]


@method("createInvoiceLink")
def create_invoice_link(world: World, bot: Bot, p: Params) -> str:
    invoice, payload = _invoice(p)
    if p.get("subscription_period"):
        if p["subscription_period"] != SUBSCRIPTION_PERIOD or p["currency"] != "XTR":
            raise TelegramError(400, "Bad Request: SUBSCRIPTION_PERIOD_INVALID")
        invoice["subscription_period"] = p["subscription_period"]
    slug = secrets.token_urlsafe(12)
    world.registry.setdefault("invoice_links", {})[slug] = {
        "bot_id": bot.id,
        "invoice": invoice,
        "payload": payload,
    }
    return f"https://t.me/${slug}"


@method("answerShippingQuery")
def answer_shipping_query(world: World, bot: Bot, p: Params) -> bool:
    query = world.registry.get("shipping_queries", {}).get(p["shipping_query_id"])
    if query is None or query["bot_id"] != bot.id or query.get("answered"):
        raise TelegramError(400, QUERY_INVALID)
    if p["ok"] and not p.get("shipping_options"):
        raise TelegramError(400, "Bad Request: SHIPPING_OPTIONS_EMPTY")
    if not p["ok"] and not p.get("error_message"):
        raise TelegramError(400, "Bad Request: ERROR_MESSAGE_EMPTY")
    query["answered"] = True
    dialog = world.dialogs[(bot.id, query["user_id"])]
    payment = next(x for x in dialog.payments if x.get("shipping_query_id") == p["shipping_query_id"])
    if not p["ok"]:
        payment |= {"status": "declined", "error_message": p["error_message"]}
        dialog.bump()
        return True
    option = p["shipping_options"][0]  # the user picks the first option
    shipping = sum(price["amount"] for price in option["prices"])
    invoice = dict(dialog.messages[query["message_id"]]["invoice"])
    invoice |= {"total_amount": invoice["total_amount"] + shipping, "shipping_option_id": option["id"]}
    world._pre_checkout(dialog, query["message_id"], invoice, query["payload"], payment)
    return True


@method("getMyStarBalance")
def get_my_star_balance(world: World, bot: Bot, p: Params) -> dict[str, int]:
    return {"amount": world.star_balance(bot.id)}


@method("getStarTransactions")
def get_star_transactions(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    offset = max(p.get("offset") or 0, 0)
    limit = p.get("limit") or 100
    if not 1 <= limit <= 100:
        raise TelegramError(400, "Bad Request: limit must be between 1 and 100")
    return {"transactions": world.stars(bot.id)["transactions"][offset : offset + limit]}


def _payment(world: World, bot: Bot, user_id: int, charge_id: str) -> dict[str, Any]:
    for t in world.stars(bot.id)["transactions"]:
        if t["id"] == charge_id and "source" in t and t["source"]["user"]["id"] == user_id:
            return t
    raise TelegramError(400, "Bad Request: CHARGE_ID_INVALID")


@method("refundStarPayment")
def refund_star_payment(world: World, bot: Bot, p: Params) -> bool:
    """The Stars go back to the user, who sees a refunded_payment message in the chat."""
    paid = _payment(world, bot, p["user_id"], p["telegram_payment_charge_id"])
    refunds = world.stars(bot.id).setdefault("refunded", [])
    if paid["id"] in refunds:
        raise TelegramError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
    if world.star_balance(bot.id) < paid["amount"]:
        raise TelegramError(400, "Bad Request: BALANCE_TOO_LOW")
    refunds.append(paid["id"])
    user = world.users[p["user_id"]]
    receiver = {"type": "user", "transaction_type": "invoice_payment", "user": user.as_dict()}
    receiver["invoice_payload"] = paid["source"].get("invoice_payload", "")
    world.stars(bot.id)["transactions"].append(
        {"id": f"{paid['id']}-refund", "amount": paid["amount"], "date": world.now(), "receiver": receiver}
    )
    dialog = world.dialogs[(bot.id, user.id)]
    for entry in dialog.payments:
        if entry.get("telegram_payment_charge_id") == paid["id"]:
            entry["status"] = "refunded"
    refunded = {
        "currency": "XTR",
        "total_amount": paid["amount"],
        "invoice_payload": receiver["invoice_payload"],
        "telegram_payment_charge_id": paid["id"],
    }
    world.user_sends(bot.id, user.id, {"refunded_payment": refunded})  # Telegram's service message
    return True


@method("editUserStarSubscription")
def edit_user_star_subscription(world: World, bot: Bot, p: Params) -> bool:
    paid = _payment(world, bot, p["user_id"], p["telegram_payment_charge_id"])
    if not paid["source"].get("subscription_period"):
        raise TelegramError(400, "Bad Request: SUBSCRIPTION_ID_INVALID")
    canceled = world.stars(bot.id).setdefault("canceled_subscriptions", [])
    if p["is_canceled"] and paid["id"] not in canceled:
        canceled.append(paid["id"])
    elif not p["is_canceled"] and paid["id"] in canceled:
        canceled.remove(paid["id"])
    return True


# ---------------------------------------------------------------- gifts and Premium


def _gift(world: World, bot: Bot, gift_id: str) -> dict[str, Any]:
    from .imaging import sample_png

    for i, (gid, emoji, stars) in enumerate(GIFTS):
        if gid == gift_id:
            png = sample_png(64, 64, (230, 80 + 40 * i, 120))
            stored = world.store_file(
                "sticker", Upload(png, f"gift{i}.png", "image/png"), emoji=emoji, format="static"
            )
            return {"id": gid, "sticker": world.file_object(stored, bot.id), "star_count": stars}
    raise TelegramError(400, "Bad Request: STARGIFT_INVALID")


@method("getAvailableGifts")
def get_available_gifts(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    return {"gifts": [_gift(world, bot, gid) for gid, _, _ in GIFTS]}


def _spend(world: World, bot: Bot, amount: int, receiver: dict[str, Any]) -> None:
    if world.star_balance(bot.id) < amount:
        raise TelegramError(400, "Bad Request: BALANCE_TOO_LOW")
    world.stars(bot.id)["transactions"].append(
        {"id": world._charge_id(), "amount": amount, "date": world.now(), "receiver": receiver}
    )


@method("sendGift")
def send_gift(world: World, bot: Bot, p: Params) -> bool:
    gift = _gift(world, bot, p["gift_id"])
    text, entities = (
        ("", []) if not p.get("text") else _formatted(p["text"], p, "text_entities", "text_parse_mode")
    )
    if len(text) > 128:
        raise TelegramError(400, "Bad Request: STARGIFT_MESSAGE_TOO_LONG")
    owned: dict[str, Any] = {
        "type": "regular",
        "gift": gift,
        "sender_user": bot.as_dict(),
        "send_date": world.now(),
    }
    owned["owned_gift_id"] = world._charge_id()
    if text:
        owned["text"] = text
        if entities:
            owned["entities"] = entities
    if p.get("user_id"):
        user = world.users.get(p["user_id"])
        if user is None:
            raise TelegramError(400, "Bad Request: user not found")
        _spend(
            world,
            bot,
            gift["star_count"],
            {"type": "user", "transaction_type": "gift_purchase", "user": user.as_dict(), "gift": gift},
        )
        user.extra.setdefault("gifts", []).append(owned)
        if (dialog := world.dialogs.get((bot.id, user.id))) is not None and dialog.started:
            info = {"gift": gift, "owned_gift_id": owned["owned_gift_id"], **({"text": text} if text else {})}
            world.bot_sends(bot, user.id, {"gift": info}, charge=False)
        return True
    chat = world.find_chat(p.get("chat_id") or "")
    if chat is None or chat.type != "channel":
        raise TelegramError(400, "Bad Request: gifts can be sent to users and channels only")
    _spend(world, bot, gift["star_count"], {"type": "chat", "chat": chat.chat_dict(), "gift": gift})
    chat.info.setdefault("gifts", []).append(owned)
    chat.bump()
    return True


@method("giftPremiumSubscription")
def gift_premium_subscription(world: World, bot: Bot, p: Params) -> bool:
    user = world.users.get(p["user_id"])
    if user is None:
        raise TelegramError(400, "Bad Request: user not found")
    if PREMIUM_PRICES.get(p["month_count"]) != p["star_count"]:
        raise TelegramError(400, "Bad Request: PREMIUM_GIFT_INVALID")
    receiver = {"type": "user", "transaction_type": "premium_purchase", "user": user.as_dict()}
    _spend(world, bot, p["star_count"], receiver | {"premium_subscription_duration": p["month_count"]})
    user.update(extra={**user.extra, "is_premium": True})
    return True


def _owned(gifts: list[dict[str, Any]], p: Params) -> dict[str, Any]:
    offset = int(p.get("offset") or 0)
    limit = p.get("limit") or 100
    page = gifts[offset : offset + limit]
    out: dict[str, Any] = {"total_count": len(gifts), "gifts": page}
    if offset + limit < len(gifts):
        out["next_offset"] = str(offset + limit)
    return out


@method("getUserGifts")
def get_user_gifts(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    user = world.users.get(p["user_id"])
    if user is None:
        raise TelegramError(400, "Bad Request: user not found")
    return _owned(user.extra.get("gifts", []), p)


@method("getChatGifts")
def get_chat_gifts(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat = world.find_chat(p["chat_id"])
    if chat is None:
        raise TelegramError(400, "Bad Request: chat not found")
    return _owned(chat.info.get("gifts", []), p)
