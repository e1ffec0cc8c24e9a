"""Sandbox groups and channels: members, rights, channel posts and member updates, via aiogram."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from app.sandbox import spec
from app.sandbox.driver import Persona, Sandbox, SandboxError
from app.sandbox.world import World
from tests.helpers import sandbox as kit
from tests.helpers.sandbox import BOT_ID, OTHER_TOKEN, make_bot, next_updates, says

# The sandbox fixtures of test_sandbox, at module level so they win over conftest's.
world, base, bot, sandbox, ali, http = kit.world, kit.base, kit.bot, kit.sandbox, kit.ali, kit.http
MEMBER_UPDATES = ["message", "channel_post", "chat_member", "my_chat_member"]


async def test_channel_post_needs_admin_rights_and_is_signed_by_the_channel(
    sandbox: Sandbox, ali: Persona, bot: Bot
) -> None:
    channel = await sandbox.channel("Bozor Toshkent", username="bozor_tsh", admins=[ali], bot_admin=False)
    assert channel.id < -(10**12) and str(channel.id).startswith("-100")
    with pytest.raises(
        TelegramForbiddenError,
        match=says("Forbidden: bot is not a member of the channel chat"),
    ):
        await bot.send_message(channel.id, "Yangi e'lon")
    await channel.set_member(BOT_ID, "member")
    with pytest.raises(TelegramBadRequest, match="need administrator rights in the channel chat"):
        await bot.send_message("@bozor_tsh", "Yangi e'lon")
    await channel.set_member(BOT_ID, "administrator", can_post_messages=True)

    post = await bot.send_message("@bozor_tsh", "Yangi e'lon")  # @username works as chat_id
    assert post.chat.id == channel.id and post.chat.type == "channel" and post.chat.username == "bozor_tsh"
    assert post.sender_chat.id == channel.id and post.from_user is None
    (seen,) = await channel.posts()
    assert (
        seen["text"] == "Yangi e'lon"
        and "from" not in seen
        and seen["sender_chat"]["title"] == "Bozor Toshkent"
    )

    updates = await bot.get_updates()
    changes = [
        (u.my_chat_member.old_chat_member.status, u.my_chat_member.new_chat_member.status) for u in updates
    ]
    assert changes == [("left", "member"), ("member", "administrator")]
    promoted = updates[-1].my_chat_member
    assert promoted.chat.id == channel.id and promoted.from_user.id == ali.id  # the creator promoted it
    assert promoted.new_chat_member.can_post_messages is True
    assert promoted.new_chat_member.can_edit_messages is False


async def test_editing_and_deleting_channel_posts_follow_the_rights(
    sandbox: Sandbox, ali: Persona, bot: Bot
) -> None:
    channel = await sandbox.channel("Kanal", admins=[ali], bot_rights={"can_post_messages": True})
    post = await bot.send_message(channel.id, "Narx: 100")
    edited = await bot.edit_message_text("Narx: 90", chat_id=channel.id, message_id=post.message_id)
    assert edited.text == "Narx: 90" and edited.edit_date
    await ali.post(channel, "Admin's own post")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("hijacked", chat_id=channel.id, message_id=post.message_id + 1)
    with pytest.raises(TelegramBadRequest, match="message can't be deleted"):
        await bot.delete_message(channel.id, post.message_id + 1)
    await channel.set_member(BOT_ID, "administrator", can_post_messages=True, can_delete_messages=True)
    assert await bot.delete_message(channel.id, post.message_id + 1)
    await channel.set_member(BOT_ID, "kicked")
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the channel chat"):
        await bot.send_message(channel.id, "again")


async def test_admin_bot_sees_members_join_and_leave_when_it_asks(
    sandbox: Sandbox, ali: Persona, bot: Bot
) -> None:
    vali = await sandbox.user("Vali")
    group = await sandbox.group("Sotuvchilar", admins=[ali], bot_admin=True)
    await group.join(vali)  # the default allowed_updates leaves chat_member out
    updates = await bot.get_updates()
    assert [u.event_type for u in updates] == ["my_chat_member", "message", "message"]
    added, joined_service = updates[1].message, updates[2].message
    assert added.new_chat_members[0].id == BOT_ID and added.from_user.id == ali.id
    assert joined_service.new_chat_members[0].id == vali.id and joined_service.from_user.id == vali.id

    await bot.get_updates(offset=updates[-1].update_id + 1, allowed_updates=MEMBER_UPDATES)
    await group.leave(vali)
    await group.join(vali)
    left, _, joined, _ = await next_updates(bot, updates[-1].update_id)  # each with its service message
    assert (left.chat_member.old_chat_member.status, left.chat_member.new_chat_member.status) == (
        "member",
        "left",
    )
    assert (
        joined.chat_member.new_chat_member.user.id == vali.id and joined.chat_member.from_user.id == vali.id
    )


async def test_member_queries_pins_invite_links_and_leaving(sandbox: Sandbox, ali: Persona, bot: Bot) -> None:
    vali = await sandbox.user("Vali")
    group = await sandbox.group("Bozor chat", members=[vali], admins=[ali], bot_admin=True)
    chat = await bot.get_chat(group.id)
    assert (chat.id, chat.type, chat.title) == (group.id, "supergroup", "Bozor chat")
    assert (await bot.get_chat_member(group.id, vali.id)).status == "member"
    assert (await bot.get_chat_member(group.id, ali.id)).status == "creator"
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.id for a in admins} == {ali.id, BOT_ID}
    assert await bot.get_chat_member_count(group.id) == 3

    sent = await bot.send_message(group.id, "Qoidalar")
    assert await bot.pin_chat_message(group.id, sent.message_id)
    assert (await bot.get_chat(group.id)).pinned_message.message_id == sent.message_id
    assert await bot.unpin_chat_message(group.id)
    with pytest.raises(TelegramBadRequest, match="message to unpin not found"):
        await bot.unpin_chat_message(group.id)
    link = await bot.create_chat_invite_link(group.id, name="bozor", member_limit=10)
    assert link.invite_link.startswith("https://t.me/+") and link.creator.id == BOT_ID
    assert await bot.send_chat_action(group.id, "typing")
    assert await bot.leave_chat(group.id)
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the supergroup chat"):
        await bot.send_message(group.id, "still here?")
    with pytest.raises(TelegramBadRequest, match="chat member status can't be changed in private chats"):
        await bot.leave_chat(ali.id)


async def test_rights_are_checked_for_pins_and_invite_links(sandbox: Sandbox, ali: Persona, bot: Bot) -> None:
    group = await sandbox.group(
        "Guruh", admins=[ali], bot_admin=True, bot_rights={"can_delete_messages": True}
    )
    sent = await bot.send_message(group.id, "hi")
    with pytest.raises(TelegramBadRequest, match="not enough rights to manage pinned messages in the chat"):
        await bot.pin_chat_message(group.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="not enough rights to manage chat invite link"):
        await bot.create_chat_invite_link(group.id)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message("@no_such_channel", "hi")


async def test_group_bots_in_privacy_mode_see_commands_only(sandbox: Sandbox, ali: Persona, bot: Bot) -> None:
    group = await sandbox.group("Guruh", members=[ali])
    added, joined = await bot.get_updates(allowed_updates=["message"])
    assert added.my_chat_member.new_chat_member.status == "member"
    assert joined.message.new_chat_members[0].id == BOT_ID  # service messages reach every bot
    await ali.post(group, "just chatting")
    await ali.post(group, "/narx@bozor7001_bot")
    (update,) = await next_updates(bot, joined.update_id)
    assert update.message.text == "/narx@bozor7001_bot" and update.message.chat.id == group.id
    assert update.message.from_user.id == ali.id


async def test_a_chat_long_poll_wakes_on_a_post(sandbox: Sandbox, ali: Persona, bot: Bot) -> None:
    channel = await sandbox.channel("Kanal", admins=[ali])
    state = await channel.state()
    waiting = asyncio.create_task(channel.wait_for_post("E'lon", timeout=5))
    await asyncio.sleep(0.05)
    await bot.send_message(channel.id, "E'lon #1")
    post = await asyncio.wait_for(waiting, 5)
    assert post["event"] > state["event"]
    listed = {c["id"]: c for c in await sandbox.chats()}
    assert listed[channel.id]["member_count"] == 2 and listed[channel.id]["type"] == "channel"


async def test_other_admin_bots_receive_channel_posts(
    sandbox: Sandbox, base: str, ali: Persona, bot: Bot
) -> None:
    other = make_bot(base, OTHER_TOKEN)
    try:
        await other.get_me()
        channel = await sandbox.channel("Kanal", admins=[ali], bot_id=BOT_ID)
        await channel.set_member(7002, "administrator", can_post_messages=True)
        await other.get_updates()  # confirm its my_chat_member
        await bot.send_message(channel.id, "from bot one")
        (update,) = await other.get_updates(offset=-1)
        assert update.channel_post.text == "from bot one" and update.channel_post.sender_chat.id == channel.id
        group = await sandbox.group("Guruh", admins=[ali], bot_admin=True, bot_id=BOT_ID)
        await group.set_member(7002, "administrator")
        promoted = (await other.get_updates(offset=update.update_id + 1))[-1]
        await bot.send_message(group.id, "/start@bozor7002_bot")  # bots never see other bots' messages
        assert await other.get_updates(offset=promoted.update_id + 1) == []
    finally:
        await other.session.close()


async def test_user_api_chat_errors(sandbox: Sandbox, ali: Persona, world: World) -> None:
    with pytest.raises(SandboxError, match="type must be one of"):
        await sandbox.request("POST", "/chats", json={"type": "forum", "title": "x"})
    with pytest.raises(SandboxError, match="basic group cannot have a username"):
        await sandbox.group("G", type="group", username="guruh_x")
    group = await sandbox.group("G", type="group", bot_member=False)
    assert 0 > group.id > -(10**12)
    with pytest.raises(SandboxError, match="is not a member"):
        await ali.post(group, "hi")
    with pytest.raises(SandboxError, match="unknown fields: can_fly"):
        await group.set_member(ali.id, "administrator", can_fly=True)
    world.set_member(group.id, ali.id, "member")
    assert (await ali.post(group, "hi"))["from"]["id"] == ali.id


def test_member_objects_match_the_spec() -> None:
    world = World()
    user = world.add_user("Ali")
    for chat_type in ("group", "supergroup", "channel"):
        chat = world.add_chat(chat_type, "T")
        for status in ("creator", "administrator", "member", "left", "kicked"):
            rights = {"can_invite_users": True} if status == "administrator" else {}
            world.set_member(chat.id, user.id, status, **rights)
            assert spec.check_object("ChatMember", world.member_dict(chat, user.id)) == [], (
                chat_type,
                status,
            )
