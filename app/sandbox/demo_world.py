"""The demo world of `make run` in sandbox mode: four personas and a channel, ready to play."""

from __future__ import annotations

from dataclasses import dataclass

from .world import World

DEMO_CHANNEL_ID = -1001000000001
DEMO_CHANNEL_USERNAME = "bozor_demo"
POSTER_RIGHTS = {"can_post_messages": True, "can_edit_messages": True, "can_delete_messages": True}


@dataclass(frozen=True)
class Persona:
    id: int
    first_name: str
    username: str
    language_code: str
    role: str  # seller, admin or buyer: how the browser client introduces them


PERSONAS = (
    Persona(100000101, "Sardor", "sardor_sotuvchi", "uz", "seller"),
    Persona(100000102, "Dilnoza", "dilnoza_admin", "uz", "admin"),
    Persona(100000103, "Rustam", "rustam_admin", "ru", "admin"),
    Persona(100000104, "Malika", "malika_xaridor", "uz", "buyer"),
)


def seed_world(world: World, bot_token: str) -> list[int]:
    """Create the personas and the demo channel (idempotent); returns the admins' ids.

    Each persona has already written /start, as a real admin must before a bot may write to
    them, so every chat opens with the bot's greeting.
    """
    bot = world.add_bot(bot_token)
    for p in PERSONAS:
        world.add_user(p.first_name, id=p.id, username=p.username, language_code=p.language_code)
    admins = [p.id for p in PERSONAS if p.role == "admin"]
    if DEMO_CHANNEL_ID not in world.chats:
        world.add_chat("channel", "Bozor Demo", id=DEMO_CHANNEL_ID, username=DEMO_CHANNEL_USERNAME)
        world.set_member(DEMO_CHANNEL_ID, admins[0], "creator")
        for admin in admins[1:]:
            world.set_member(DEMO_CHANNEL_ID, admin, "administrator", **POSTER_RIGHTS)
        world.set_member(DEMO_CHANNEL_ID, bot.id, "administrator", **POSTER_RIGHTS)
        world.set_member(DEMO_CHANNEL_ID, PERSONAS[-1].id, "member")
    for p in PERSONAS:
        if not world.dialog(bot.id, p.id).started:
            world.user_sends_text(bot.id, p.id, "/start")
    return admins
