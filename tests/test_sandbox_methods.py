"""The Bot API methods the sandbox emulates: coverage of the spec, and each group for real."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.types import MenuButtonWebApp, WebAppInfo

from app.sandbox import methods, spec
from app.sandbox.driver import Persona, Sandbox
from app.sandbox.world import World
from tests.helpers import sandbox as kit
from tests.helpers.sandbox import BOT_ID, TOKEN, Api, jpeg, raw

world, base, bot, sandbox, ali, http = kit.world, kit.base, kit.bot, kit.sandbox, kit.ali, kit.http
THRESHOLD = 0.80


@pytest.fixture
def api(http: aiohttp.ClientSession, base: str, bot: Bot, world: World) -> Api:
    world.limits.enabled = False  # these tests send in bursts; limits have their own tests
    return Api(http, base)


def test_at_least_four_in_five_of_the_specs_methods_are_emulated() -> None:
    names = list(spec.raw()["methods"])
    emulated = [n for n in names if n.lower() in methods.METHODS]
    missing = sorted(set(names) - set(emulated))
    share = len(emulated) / len(names)
    assert share >= THRESHOLD, f"{len(emulated)}/{len(names)} emulated ({share:.0%}); missing: {missing}"
    assert all(spec.method(entry.name) for entry in methods.METHODS.values())


async def test_unknown_is_404_and_not_yet_emulated_is_400(
    base: str, bot: Bot, http: aiohttp.ClientSession
) -> None:
    assert await raw(http, "POST", f"{base}/bot{TOKEN}/sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    missing = next(n for n in spec.raw()["methods"] if n.lower() not in methods.METHODS)
    status, body = await raw(http, "POST", f"{base}/bot{TOKEN}/{missing}")
    assert (status, body["error_code"]) == (400, 400)
    assert body["description"] == f"Bad Request: {missing} is not emulated by the sandbox yet"


async def test_bot_profile_and_menu_are_read_back(api: Api, bot: Bot, ali: Persona) -> None:
    await ali.send("/start")
    assert await api("setMyName", name="Bozor Market")
    assert await api("setMyName", name="Bozor Bozori", language_code="uz")
    assert await api("getMyName") == {"name": "Bozor Market"}
    assert await api("getMyName", language_code="uz") == {"name": "Bozor Bozori"}
    assert (await bot.get_me()).first_name == "Bozor Market"
    assert await api("setMyDescription", description="Buy and sell")
    assert await api("getMyDescription", language_code="ru") == {"description": "Buy and sell"}
    assert await api("setMyShortDescription", short_description="Market")
    assert await api("getMyShortDescription") == {"short_description": "Market"}
    assert "SHORT_DESCRIPTION_INVALID" in await api.fails(
        "setMyShortDescription", short_description="x" * 121
    )
    assert await api("getChatMenuButton") == {"type": "commands"}
    button = MenuButtonWebApp(text="Shop", web_app=WebAppInfo(url="https://shop.example"))
    assert await bot.set_chat_menu_button(chat_id=ali.id, menu_button=button)
    assert (await bot.get_chat_menu_button(chat_id=ali.id)).text == "Shop"
    assert await api("getChatMenuButton") == {"type": "commands"}  # the default is untouched
    required = [f["name"] for f in spec.raw()["types"]["ChatAdministratorRights"]["fields"] if f["required"]]
    rights = {name: name in ("can_manage_chat", "can_delete_messages") for name in required}
    assert await api("setMyDefaultAdministratorRights", rights=rights, for_channels=True)
    got = await api("getMyDefaultAdministratorRights", for_channels=True)
    assert got["can_delete_messages"] is True and got["can_post_messages"] is False
    assert (await api("getMyDefaultAdministratorRights"))["can_delete_messages"] is False
    assert await api.upload(
        "setMyProfilePhoto",
        {"p": (jpeg(300, 300), "me.jpg")},
        photo={"type": "static", "photo": "attach://p"},
    )
    photos = await api("getUserProfilePhotos", user_id=BOT_ID)
    assert photos["total_count"] == 1 and photos["photos"][0][-1]["width"] == 300
    assert await api("removeMyProfilePhoto")
    assert (await api("getUserProfilePhotos", user_id=BOT_ID))["total_count"] == 0


async def test_places_contacts_dice_and_polls_are_messages_in_the_chat(
    api: Api, sandbox: Sandbox, ali: Persona
) -> None:
    await ali.send("/start")
    live = await api("sendLocation", chat_id=ali.id, latitude=41.31, longitude=69.24, live_period=600)
    moved = await api(
        "editMessageLiveLocation",
        chat_id=ali.id,
        message_id=live["message_id"],
        latitude=41.32,
        longitude=69.25,
    )
    assert moved["location"]["latitude"] == 41.32 and moved["edit_date"]
    await api("stopMessageLiveLocation", chat_id=ali.id, message_id=live["message_id"])
    assert "can't be edited" in await api.fails(
        "editMessageLiveLocation", chat_id=ali.id, message_id=live["message_id"], latitude=1.0, longitude=1.0
    )
    venue = await api(
        "sendVenue", chat_id=ali.id, latitude=41.3, longitude=69.2, title="Chorsu", address="Toshkent"
    )
    assert venue["venue"]["title"] == "Chorsu"
    contact = await api("sendContact", chat_id=ali.id, phone_number="+998901234567", first_name="Sardor")
    assert contact["contact"]["first_name"] == "Sardor"
    dice = await api("sendDice", chat_id=ali.id, emoji="🎯")
    assert dice["dice"]["emoji"] == "🎯" and 1 <= dice["dice"]["value"] <= 6
    poll = await api(
        "sendPoll",
        chat_id=ali.id,
        question="Qaysi narx?",
        options=[{"text": "100"}, {"text": "200"}],
        is_anonymous=False,
    )
    voted = await sandbox.request(
        "POST", f"/users/{ali.id}/vote", json={"message_id": poll["message_id"], "option_ids": [1]}
    )
    assert voted["poll"]["options"][1]["voter_count"] == 1
    stopped = await api("stopPoll", chat_id=ali.id, message_id=poll["message_id"])
    assert stopped["is_closed"] and stopped["total_voter_count"] == 1
    kinds = [
        next(k for k in ("venue", "location", "contact", "dice", "poll") if k in m)
        for m in await ali.bot_messages()
    ]
    assert kinds == ["location", "venue", "contact", "dice", "poll"]  # the user sees each of them
    updates = await api("getUpdates", allowed_updates=["message", "poll", "poll_answer"])
    assert [next(k for k in u if k != "update_id") for u in updates][-2:] == ["poll", "poll_answer"]


async def test_other_media_kinds_are_stored_and_returned_faithfully(
    api: Api, ali: Persona, sandbox: Sandbox
) -> None:
    await ali.send("/start")
    audio = await api.upload(
        "sendAudio",
        {"audio": (b"ID3 mp3 bytes", "song.mp3")},
        chat_id=str(ali.id),
        duration="184",
        performer="Yulduz",
        title="Bahor",
    )
    assert (audio["audio"]["duration"], audio["audio"]["performer"], audio["audio"]["mime_type"]) == (
        184,
        "Yulduz",
        "audio/mpeg",
    )
    video = await api.upload(
        "sendVideo",
        {"video": (b"mp4 bytes", "clip.mp4"), "thumb": (jpeg(640, 360), "t.jpg")},
        chat_id=str(ali.id),
        width="1280",
        height="720",
        duration="12",
        thumbnail="attach://thumb",
        caption="Velosiped #video",
    )
    assert (video["video"]["width"], video["video"]["height"], video["video"]["duration"]) == (1280, 720, 12)
    assert video["video"]["thumbnail"]["width"] == 320 and video["caption_entities"][0]["type"] == "hashtag"
    voice = await api.upload("sendVoice", {"voice": (b"OggS", "v.ogg")}, chat_id=str(ali.id), duration="3")
    assert voice["voice"]["mime_type"] == "audio/ogg"
    note = await api.upload(
        "sendVideoNote", {"video_note": (b"round", "n.mp4")}, chat_id=str(ali.id), length="240"
    )
    assert note["video_note"]["length"] == 240
    gif = await api.upload("sendAnimation", {"animation": (b"GIF89a", "a.gif")}, chat_id=str(ali.id))
    assert gif["animation"]["file_name"] == "a.gif"
    sticker = await api.upload(
        "sendSticker", {"sticker": (jpeg(512, 512), "s.webp")}, chat_id=str(ali.id), emoji="😀"
    )
    assert (sticker["sticker"]["width"], sticker["sticker"]["emoji"]) == (512, "😀")
    again = await api("sendVideo", chat_id=ali.id, video=video["video"]["file_id"])  # by file_id
    assert again["video"]["file_unique_id"] == video["video"]["file_unique_id"]
    data, _ = await sandbox.file(audio["audio"]["file_id"])
    assert data == b"ID3 mp3 bytes"
    kinds = ["audio", "video", "voice", "video_note", "animation", "sticker", "video"]
    assert [next(k for k in kinds if k in m) for m in await ali.bot_messages()] == kinds


async def test_copies_forwards_and_reactions_of_a_bot(api: Api, ali: Persona, sandbox: Sandbox) -> None:
    await ali.send("/start")
    a = await api("sendMessage", chat_id=ali.id, text="one")
    b = await api("sendMessage", chat_id=ali.id, text="two")
    copies = await api(
        "copyMessages",
        chat_id=ali.id,
        from_chat_id=ali.id,
        message_ids=[a["message_id"], b["message_id"], 999],
    )
    assert len(copies) == 2
    forwards = await api(
        "forwardMessages", chat_id=ali.id, from_chat_id=ali.id, message_ids=[a["message_id"]]
    )
    (forwarded,) = [m for m in await ali.chat() if m["message_id"] == forwards[0]["message_id"]]
    assert forwarded["text"] == "one" and forwarded["forward_origin"]["type"] == "user"
    assert await api(
        "setMessageReaction", chat_id=ali.id, message_id=1, reaction=[{"type": "emoji", "emoji": "👍"}]
    )
    (start,) = [m for m in await ali.chat() if m["message_id"] == 1]
    assert start["reactions"] == [{"type": "emoji", "emoji": "👍", "count": 1, "actors": [BOT_ID]}]
    assert "REACTION_INVALID" in await api.fails(
        "setMessageReaction", chat_id=ali.id, message_id=1, reaction=[{"type": "emoji", "emoji": "🍕"}]
    )
    group = await sandbox.group("Guruh", members=[ali], bot_admin=True)
    post = await ali.post(group, "hello")
    await ali.react(post["message_id"], "🔥", chat=group)
    assert await api("deleteMessageReaction", chat_id=group.id, message_id=post["message_id"], user_id=ali.id)
    assert "reactions" not in (await group.messages())[-1]


async def test_the_user_side_of_profiles(api: Api, sandbox: Sandbox, ali: Persona) -> None:
    await ali.send("/start")
    assert await api("setUserEmojiStatus", user_id=ali.id, emoji_status_custom_emoji_id="5368324170671202286")
    assert (await api("getChat", chat_id=ali.id))["emoji_status_custom_emoji_id"] == "5368324170671202286"
    assert await api("getUserProfileAudios", user_id=ali.id) == {"total_count": 0, "audios": []}
    assert await api("verifyUser", user_id=ali.id, custom_description="Trusted seller")
    assert await api("removeUserVerification", user_id=ali.id)
    assert "not verified" in await api.fails("removeUserVerification", user_id=ali.id)
    channel = await sandbox.channel("Ali's", admins=[ali])
    await api("sendMessage", chat_id=channel.id, text="personal post")
    await sandbox.request(
        "POST", "/users", json={"id": ali.id, "personal_chat_id": channel.id, "is_premium": True}
    )
    assert [m["text"] for m in await api("getUserPersonalChatMessages", user_id=ali.id, limit=5)] == [
        "personal post"
    ]
    boost = await sandbox.request("POST", f"/chats/{channel.id}/boost", json={"user_id": ali.id})
    boosts = await api("getUserChatBoosts", chat_id=channel.id, user_id=ali.id)
    assert boosts["boosts"][0]["boost_id"] == boost["boost_id"]
