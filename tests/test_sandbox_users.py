"""Users as Telegram users: one-time keyboards fold away, users edit messages and react."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

from app.sandbox.driver import Persona, Sandbox, SandboxError
from tests.helpers import sandbox as kit
from tests.helpers.sandbox import next_updates

world, base, bot, sandbox, ali, http = kit.world, kit.base, kit.bot, kit.sandbox, kit.ali, kit.http
REACTIONS = ["message", "edited_message", "message_reaction", "message_reaction_count", "channel_post"]


async def test_a_one_time_keyboard_disappears_after_use(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    once = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Ha"), KeyboardButton(text="Yo'q")]], one_time_keyboard=True
    )
    await bot.send_message(ali.id, "Tasdiqlaysizmi?", reply_markup=once)
    assert (await ali.chat_state())["reply_keyboard"]["keyboard"][0][0]["text"] == "Ha"
    await ali.press("Ha")
    state = await ali.chat_state()
    assert state["reply_keyboard"] is None  # folded away, as Telegram clients do
    assert state["hidden_reply_keyboard"]["one_time_keyboard"] is True  # the user may reopen it
    persistent = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Menu")]])
    await bot.send_message(ali.id, "Menu", reply_markup=persistent)
    await ali.press("Menu")
    assert (await ali.chat_state())["reply_keyboard"]["keyboard"][0][0]["text"] == "Menu"  # stays


async def test_a_user_edits_a_message_and_the_bot_gets_edited_message(ali: Persona, bot: Bot) -> None:
    sent = await ali.send("Velosiped 500 000")
    edited = await ali.edit(sent["message_id"], "Velosiped 450 000 #sport")
    assert edited["text"] == "Velosiped 450 000 #sport" and edited["edit_date"]
    assert edited["entities"] == [{"type": "hashtag", "offset": 18, "length": 6}]
    first, second = await bot.get_updates()
    assert first.message.text == "Velosiped 500 000"
    assert second.edited_message.message_id == sent["message_id"]
    assert second.edited_message.text == "Velosiped 450 000 #sport" and second.edited_message.edit_date
    reply = await bot.send_message(ali.id, "OK")
    with pytest.raises(SandboxError, match="has no message"):
        await ali.edit(reply.message_id, "not mine")
    with pytest.raises(SandboxError, match="not modified"):
        await ali.edit(sent["message_id"], "Velosiped 450 000 #sport")


async def test_reactions_reach_the_bot_where_telegram_allows(
    sandbox: Sandbox, ali: Persona, bot: Bot
) -> None:
    await ali.send("/start")
    (start,) = await bot.get_updates(allowed_updates=REACTIONS)
    sent = await bot.send_message(ali.id, "Yangi e'lon")
    reacted = await ali.react(sent.message_id, "👍")
    assert reacted["reactions"] == [{"type": "emoji", "emoji": "👍", "count": 1, "actors": [ali.id]}]
    await ali.react(sent.message_id, "🔥")
    await ali.react(sent.message_id, [])
    updates = await next_updates(bot, start.update_id)
    changes = [
        (
            [r.emoji for r in u.message_reaction.old_reaction],
            [r.emoji for r in u.message_reaction.new_reaction],
        )
        for u in updates
    ]
    assert changes == [([], ["👍"]), (["👍"], ["🔥"]), (["🔥"], [])]
    assert updates[0].message_reaction.user.id == ali.id
    assert updates[0].message_reaction.message_id == sent.message_id
    with pytest.raises(SandboxError, match="REACTION_INVALID"):
        await ali.react(sent.message_id, "🍕")
    with pytest.raises(SandboxError, match="REACTIONS_TOO_MANY"):
        await ali.react(sent.message_id, ["👍", "🔥"])  # one reaction unless premium

    channel = await sandbox.channel("Kanal", admins=[ali])
    post = await bot.send_message(channel.id, "Post")
    await ali.react(post.message_id, "❤", chat=channel)
    (count,) = await next_updates(bot, updates[-1].update_id)
    assert count.message_reaction_count.reactions[0].total_count == 1  # anonymous in channels
    assert count.message_reaction_count.reactions[0].type.emoji == "❤"


async def test_reactions_are_not_sent_to_bots_that_did_not_ask(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    sent = await bot.send_message(ali.id, "Hi")
    await ali.react(sent.message_id, "👍")
    assert [u.message.text for u in await bot.get_updates()] == ["/start"]  # Telegram's default set
    assert (await ali.chat())[-1]["reactions"][0]["count"] == 1


async def test_a_lone_surrogate_is_refused_as_telegram_does_and_updates_keep_flowing(
    ali: Persona, bot: Bot, http, base: str
) -> None:
    # Raw JSON: "\ud800" is a lone surrogate, which no UTF-8 text (so no Telegram message) holds.
    for action, body in (
        ("send", b'{"text": "bad \\ud800 text"}'),
        ("send_photo", b'{"photo": {"data": ""}, "caption": "\\udfff"}'),
    ):
        status, answer = await kit.raw(
            http,
            "POST",
            f"{base}/api/users/{ali.id}/{action}",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        assert status == 400 and "UTF-8" in answer["error"], (action, status, answer)
    await ali.send("still here")
    assert [u.message.text for u in await next_updates(bot)] == ["still here"]  # getUpdates answers
