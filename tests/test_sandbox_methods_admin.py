"""Emulated Bot API methods of administrators, Stars, stickers, forums, games and inline mode."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot

from app.sandbox.driver import Persona, Sandbox
from app.sandbox.world import World
from tests.helpers import sandbox as kit
from tests.helpers.sandbox import BOT_ID, Api, jpeg

world, base, bot, sandbox, ali, http = kit.world, kit.base, kit.bot, kit.sandbox, kit.ali, kit.http
ALL_RIGHTS = {"can_restrict_members": True, "can_promote_members": True, "can_change_info": True,
              "can_invite_users": True, "can_delete_messages": True, "can_pin_messages": True,
              "can_manage_topics": True}  # fmt: skip


@pytest.fixture
def api(http: aiohttp.ClientSession, base: str, bot: Bot, world: World) -> Api:
    world.limits.enabled = False
    return Api(http, base)


async def test_ban_restrict_promote_and_chat_member_updates(api: Api, sandbox: Sandbox, ali: Persona) -> None:
    vali = await sandbox.user("Vali")
    group = await sandbox.group("Guruh", members=[vali], admins=[ali], bot_admin=True, bot_rights=ALL_RIGHTS)
    await api("getUpdates", offset=-1, allowed_updates=["chat_member", "message"])
    await api("getUpdates", offset=(await api("getUpdates"))[-1]["update_id"] + 1)
    assert await api(
        "restrictChatMember", chat_id=group.id, user_id=vali.id, permissions={"can_send_messages": False}
    )
    member = await api("getChatMember", chat_id=group.id, user_id=vali.id)
    assert (member["status"], member["is_member"], member["can_send_messages"]) == ("restricted", True, False)
    assert await api("promoteChatMember", chat_id=group.id, user_id=vali.id, can_delete_messages=True)
    assert await api(
        "setChatAdministratorCustomTitle", chat_id=group.id, user_id=vali.id, custom_title="Moderator"
    )
    member = await api("getChatMember", chat_id=group.id, user_id=vali.id)
    assert (member["status"], member["custom_title"], member["can_be_edited"]) == (
        "administrator",
        "Moderator",
        True,
    )
    assert await api("promoteChatMember", chat_id=group.id, user_id=vali.id)  # no rights: a member again
    assert await api("banChatMember", chat_id=group.id, user_id=vali.id)
    assert (await api("getChatMember", chat_id=group.id, user_id=vali.id))["status"] == "kicked"
    assert "can't remove chat owner" in await api.fails("banChatMember", chat_id=group.id, user_id=ali.id)
    assert await api("unbanChatMember", chat_id=group.id, user_id=vali.id, only_if_banned=True)
    assert (await api("getChatMember", chat_id=group.id, user_id=vali.id))["status"] == "left"
    changes = [
        (u["chat_member"]["old_chat_member"]["status"], u["chat_member"]["new_chat_member"]["status"])
        for u in await api("getUpdates")
        if "chat_member" in u
    ]
    assert changes == [
        ("member", "restricted"), ("restricted", "administrator"), ("administrator", "member"),
        ("member", "kicked"), ("kicked", "left"),
    ]  # fmt: skip


async def test_chat_info_permissions_and_invite_links(api: Api, sandbox: Sandbox, ali: Persona) -> None:
    vali = await sandbox.user("Vali")
    group = await sandbox.group("Eski", admins=[ali], bot_admin=True, bot_rights=ALL_RIGHTS)
    assert await api("setChatTitle", chat_id=group.id, title="Yangi")
    assert await api("setChatDescription", chat_id=group.id, description="Bozor guruhi")
    assert await api.upload("setChatPhoto", {"photo": (jpeg(500, 500), "g.jpg")}, chat_id=str(group.id))
    assert await api("setChatPermissions", chat_id=group.id, permissions={"can_send_messages": True})
    chat = await api("getChat", chat_id=group.id)
    assert (chat["title"], chat["description"]) == ("Yangi", "Bozor guruhi")
    assert chat["photo"]["big_file_unique_id"] and chat["permissions"]["can_send_photos"] is False
    services = [m for m in await group.messages() if "new_chat_title" in m or "new_chat_photo" in m]
    assert [("new_chat_title" in m) for m in services] == [True, False]
    assert await api("deleteChatPhoto", chat_id=group.id)
    assert "photo" not in await api("getChat", chat_id=group.id)

    primary = await api("exportChatInviteLink", chat_id=group.id)
    assert (await api("getChat", chat_id=group.id))["invite_link"] == primary
    link = await api("createChatInviteLink", chat_id=group.id, name="ads")
    edited = await api(
        "editChatInviteLink", chat_id=group.id, invite_link=link["invite_link"], creates_join_request=True
    )
    assert edited["creates_join_request"] is True and edited["name"] == "ads"
    await api("getUpdates", offset=-1, allowed_updates=["chat_join_request", "message"])
    pending = await sandbox.request(
        "POST", f"/chats/{group.id}/join", json={"user_id": vali.id, "invite_link": link["invite_link"]}
    )
    assert pending["join_request"] == "pending" and pending["status"] == "left"
    request = [u for u in await api("getUpdates") if "chat_join_request" in u][-1]["chat_join_request"]
    assert request["from"]["id"] == vali.id and request["invite_link"]["invite_link"] == link["invite_link"]
    assert await api("approveChatJoinRequest", chat_id=group.id, user_id=vali.id)
    assert (await api("getChatMember", chat_id=group.id, user_id=vali.id))["status"] == "member"
    revoked = await api("revokeChatInviteLink", chat_id=group.id, invite_link=link["invite_link"])
    assert revoked["is_revoked"] is True
    channel = await sandbox.channel(
        "Pullik", admins=[ali], bot_rights={"can_invite_users": True, "can_post_messages": True}
    )
    paid = await api(
        "createChatSubscriptionInviteLink",
        chat_id=channel.id,
        subscription_period=2592000,
        subscription_price=50,
    )
    assert paid["subscription_price"] == 50


async def test_stars_balance_transactions_refunds_gifts_and_premium(api: Api, ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    await api(
        "sendInvoice",
        chat_id=ali.id,
        title="Top",
        description="7 days",
        payload="ad:1",
        currency="XTR",
        prices=[{"label": "Top", "amount": 100}],
    )
    await ali.pay()
    query = [u for u in await api("getUpdates") if "pre_checkout_query" in u][-1]["pre_checkout_query"]
    assert await api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
    assert await api("getMyStarBalance") == {"amount": 100}
    (payment,) = (await api("getStarTransactions"))["transactions"]
    assert payment["amount"] == 100 and payment["source"]["user"]["id"] == ali.id
    charge = payment["id"]
    gifts = (await api("getAvailableGifts"))["gifts"]
    assert await api("sendGift", user_id=ali.id, gift_id=gifts[0]["id"], text="Rahmat!")
    owned = await api("getUserGifts", user_id=ali.id)
    assert owned["total_count"] == 1 and owned["gifts"][0]["text"] == "Rahmat!"
    assert await api("getMyStarBalance") == {"amount": 100 - gifts[0]["star_count"]}
    assert "BALANCE_TOO_LOW" in await api.fails(
        "refundStarPayment", user_id=ali.id, telegram_payment_charge_id=charge
    )
    assert "BALANCE_TOO_LOW" in await api.fails(
        "giftPremiumSubscription", user_id=ali.id, month_count=3, star_count=1000
    )

    await api(
        "sendInvoice",
        chat_id=ali.id,
        title="Top",
        description="again",
        payload="ad:2",
        currency="XTR",
        prices=[{"label": "Top", "amount": 50}],
    )
    await ali.pay()
    query = [u for u in await api("getUpdates") if "pre_checkout_query" in u][-1]["pre_checkout_query"]
    await api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
    assert await api("refundStarPayment", user_id=ali.id, telegram_payment_charge_id=charge)
    refunded = [m for m in await ali.chat() if "refunded_payment" in m]
    assert refunded[0]["refunded_payment"]["telegram_payment_charge_id"] == charge
    assert "CHARGE_ALREADY_REFUNDED" in await api.fails(
        "refundStarPayment", user_id=ali.id, telegram_payment_charge_id=charge
    )
    assert [p["status"] for p in await ali.payments()] == ["refunded", "paid"]
    link = await api(
        "createInvoiceLink",
        title="Pro",
        description="Monthly",
        payload="sub",
        currency="XTR",
        prices=[{"label": "Pro", "amount": 10}],
        subscription_period=2592000,
    )
    assert link.startswith("https://t.me/$")
    await sandbox_pay_link(api, ali, link)


async def sandbox_pay_link(api: Api, ali: Persona, link: str) -> None:
    """A user opens an invoice link: pre_checkout_query, then a subscription payment."""
    paid = await ali.sandbox.request("POST", f"/users/{ali.id}/pay", json={"invoice_link": link})
    query = [u for u in await api("getUpdates") if "pre_checkout_query" in u][-1]["pre_checkout_query"]
    assert query["id"] == paid["pre_checkout_query_id"] and query["invoice_payload"] == "sub"
    await api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
    payment = [m for m in await ali.chat() if "successful_payment" in m][-1]["successful_payment"]
    assert payment["is_recurring"] is True and payment["subscription_expiration_date"] > 0
    charge = payment["telegram_payment_charge_id"]
    assert await api(
        "editUserStarSubscription", user_id=ali.id, telegram_payment_charge_id=charge, is_canceled=True
    )


async def test_sticker_sets(api: Api, ali: Persona, bot: Bot) -> None:
    name = f"meva_by_bozor{BOT_ID}_bot"
    uploaded = await api.upload(
        "uploadStickerFile",
        {"sticker": (jpeg(512, 512, (200, 0, 0)), "a.png")},
        user_id=str(ali.id),
        sticker_format="static",
    )
    second = await api.upload(
        "uploadStickerFile",
        {"sticker": (jpeg(512, 512, (0, 200, 0)), "b.png")},
        user_id=str(ali.id),
        sticker_format="static",
    )
    stickers = [{"sticker": uploaded["file_id"], "format": "static", "emoji_list": ["🍎"]}]
    assert await api("createNewStickerSet", user_id=ali.id, name=name, title="Mevalar", stickers=stickers)
    assert "name is already occupied" in await api.fails(
        "createNewStickerSet", user_id=ali.id, name=name, title="x", stickers=stickers
    )
    assert await api(
        "addStickerToSet",
        user_id=ali.id,
        name=name,
        sticker={"sticker": second["file_id"], "format": "static", "emoji_list": ["🍏"]},
    )
    got = await api("getStickerSet", name=name)
    assert [s["emoji"] for s in got["stickers"]] == ["🍎", "🍏"] and got["title"] == "Mevalar"
    assert await api("setStickerPositionInSet", sticker=got["stickers"][1]["file_id"], position=0)
    assert await api("setStickerEmojiList", sticker=got["stickers"][0]["file_id"], emoji_list=["🍐"])
    assert await api("setStickerSetTitle", name=name, title="Meva")
    got = await api("getStickerSet", name=name)
    assert ([s["emoji"] for s in got["stickers"]], got["title"]) == (["🍏", "🍐"], "Meva")
    assert await api("deleteStickerFromSet", sticker=got["stickers"][0]["file_id"])
    assert len((await api("getStickerSet", name=name))["stickers"]) == 1
    assert await api("deleteStickerSet", name=name)
    assert "STICKERSET_INVALID" in await api.fails("getStickerSet", name=name)


async def test_forum_topics(api: Api, sandbox: Sandbox, ali: Persona) -> None:
    group = await sandbox.group("Forum", admins=[ali], bot_admin=True, bot_rights=ALL_RIGHTS)
    assert "not a forum" in await api.fails("createForumTopic", chat_id=group.id, name="Sotuv")
    await sandbox.request(
        "POST", "/chats", json={"type": "supergroup", "title": "F", "is_forum": True, "creator_id": ali.id}
    )
    forum = next(c for c in await sandbox.chats() if c["title"] == "F")
    await sandbox.request(
        "POST",
        f"/chats/{forum['id']}/members",
        json={"member_id": BOT_ID, "status": "administrator", **ALL_RIGHTS},
    )
    topic = await api("createForumTopic", chat_id=forum["id"], name="Sotuv")
    thread = topic["message_thread_id"]
    sent = await api("sendMessage", chat_id=forum["id"], message_thread_id=thread, text="Velosiped")
    assert (sent["message_thread_id"], sent["is_topic_message"]) == (thread, True)
    assert await api("editForumTopic", chat_id=forum["id"], message_thread_id=thread, name="Savdo")
    assert await api("closeForumTopic", chat_id=forum["id"], message_thread_id=thread)
    assert await api("reopenForumTopic", chat_id=forum["id"], message_thread_id=thread)
    assert await api("hideGeneralForumTopic", chat_id=forum["id"])
    assert await api("unhideGeneralForumTopic", chat_id=forum["id"])
    assert len(await api("getForumTopicIconStickers")) == 6
    assert await api("deleteForumTopic", chat_id=forum["id"], message_thread_id=thread)
    assert "TOPIC_ID_INVALID" in await api.fails(
        "closeForumTopic", chat_id=forum["id"], message_thread_id=thread
    )


async def test_games_and_inline_mode(api: Api, sandbox: Sandbox, ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    game = await api("sendGame", chat_id=ali.id, game_short_name="tez_savdo")
    assert (
        game["game"]["title"] == "Tez Savdo"
        and "callback_game" in game["reply_markup"]["inline_keyboard"][0][0]
    )
    scored = await api(
        "setGameScore", user_id=ali.id, score=42, chat_id=ali.id, message_id=game["message_id"]
    )
    assert "42" in scored["game"]["text"]
    assert "BOT_SCORE_NOT_MODIFIED" in await api.fails(
        "setGameScore", user_id=ali.id, score=10, chat_id=ali.id, message_id=game["message_id"]
    )
    high = await api("getGameHighScores", user_id=ali.id, chat_id=ali.id, message_id=game["message_id"])
    assert [(h["position"], h["score"]) for h in high] == [(1, 42)]

    (start,) = [u for u in await api("getUpdates") if "message" in u][:1]
    asked = await sandbox.request("POST", f"/users/{ali.id}/inline", json={"query": "velo"})
    query = [u for u in await api("getUpdates", offset=start["update_id"] + 1) if "inline_query" in u][-1][
        "inline_query"
    ]
    assert query["query"] == "velo" and query["id"] == asked["inline_query_id"]
    result = {
        "type": "article",
        "id": "a1",
        "title": "Velosiped",
        "input_message_content": {"message_text": "Velosiped, 500 000"},
    }
    assert await api("answerInlineQuery", inline_query_id=query["id"], results=[result])
    sent = await sandbox.request(
        "POST", f"/users/{ali.id}/inline/{query['id']}/choose", json={"result_id": "a1"}
    )
    assert sent["text"] == "Velosiped, 500 000" and sent["via_bot"]["id"] == BOT_ID
    prepared = await api("savePreparedInlineMessage", user_id=ali.id, result=result, allow_user_chats=True)
    assert prepared["id"] and prepared["expiration_date"] > 0
