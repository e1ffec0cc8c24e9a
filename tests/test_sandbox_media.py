"""Sandbox media: photos, documents, albums, file ids, downloads and size limits, via aiogram."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramEntityTooLarge
from aiogram.types import BufferedInputFile, InputMediaDocument, InputMediaPhoto

from app.sandbox.driver import Persona, Sandbox
from app.sandbox.media import image_size, sample_png
from app.sandbox.world import World
from tests.helpers import sandbox as kit
from tests.helpers.sandbox import BOT_ID, OTHER_TOKEN, TOKEN, jpeg, keyboard, make_bot, raw, says

world, base, bot, sandbox, ali, http = kit.world, kit.base, kit.bot, kit.sandbox, kit.ali, kit.http

PNG = sample_png(640, 480)
JPEG = jpeg(800, 600)


def photo(data: bytes = PNG, name: str = "p.png") -> BufferedInputFile:
    return BufferedInputFile(data, filename=name)


@pytest.fixture
async def chat(ali: Persona, world: World) -> int:
    world.limits.enabled = False  # these tests send in bursts; rate limits have their own tests
    await ali.send("/start")
    return ali.id


def test_image_size_reads_png_and_jpeg_headers() -> None:
    assert image_size(PNG) == (640, 480)
    assert image_size(JPEG) == (800, 600)
    assert image_size(b"GIF89a....") is None


async def test_a_photo_becomes_telegrams_ladder_of_jpegs(chat: int, base: str, bot: Bot) -> None:
    sent = await bot.send_photo(chat, photo(), caption="<b>Olma</b> 5 kg", parse_mode="HTML")
    assert [(s.width, s.height) for s in sent.photo] == [(90, 68), (320, 240), (640, 480)]
    assert len({s.file_unique_id for s in sent.photo}) == 3 and len({s.file_id for s in sent.photo}) == 3
    assert sent.caption == "Olma 5 kg" and sent.caption_entities[0].type == "bold"
    large = sent.photo[-1]
    for size in sent.photo:  # each size is a JPEG of its own, as big as it says
        file = await bot.get_file(size.file_id)
        data = (await bot.download_file(file.file_path)).read()
        assert data[:3] == b"\xff\xd8\xff" and image_size(data) == (size.width, size.height)
        assert file.file_size == size.file_size == len(data) and file.file_path.endswith(".jpg")
    assert sent.photo[0].file_size < sent.photo[1].file_size < large.file_size
    big = await bot.send_photo(chat, photo(jpeg(2000, 1500), "big.jpg"))
    assert [(s.width, s.height) for s in big.photo] == [(90, 68), (320, 240), (800, 600), (1280, 960)]
    again = await bot.send_photo(chat, sent.photo[0].file_id)  # by file_id (any size): no upload
    assert again.photo == sent.photo
    same_bytes = await bot.send_photo(chat, photo(PNG, "copy.png"))
    assert same_bytes.photo[-1].file_unique_id == large.file_unique_id
    with pytest.raises(TelegramBadRequest, match="PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(chat, photo(sample_png(2100, 100)))  # 21:1

    other = make_bot(base, OTHER_TOKEN)
    try:
        with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
            await other.get_file(large.file_id)  # a file id belongs to one bot
    finally:
        await other.session.close()
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_photo(chat, "https://example.com/olma.jpg")  # no internet in the sandbox
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(chat, photo(b"not an image"))


async def test_documents_and_wrong_kinds(chat: int, bot: Bot, sandbox: Sandbox) -> None:
    doc = await bot.send_document(
        chat, BufferedInputFile(b"%PDF-1.4 tiny", filename="narx.pdf"), caption="Narxlar"
    )
    assert (doc.document.file_name, doc.document.mime_type) == ("narx.pdf", "application/pdf")
    assert await sandbox.file(doc.document.file_id) == (b"%PDF-1.4 tiny", "application/pdf")
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(chat, doc.document.file_id)


async def test_albums_of_two_to_ten(chat: int, bot: Bot, ali: Persona) -> None:
    items = [InputMediaPhoto(media=photo(sample_png(10 + i, 10)), caption=f"#{i}") for i in range(3)]
    album = await bot.send_media_group(chat, items)
    assert len(album) == 3 and len({m.media_group_id for m in album}) == 1 and album[0].media_group_id
    assert [m.caption for m in album] == ["#0", "#1", "#2"]
    seen = await ali.bot_messages()
    assert [m["media_group_id"] for m in seen] == [album[0].media_group_id] * 3
    assert all("reply_markup" not in m for m in seen)

    with pytest.raises(TelegramBadRequest, match=says("Bad Request: media group must include 2-10 items")):
        await bot.send_media_group(chat, items[:1])
    with pytest.raises(
        TelegramBadRequest,
        match=says("Bad Request: too many messages to send as an album"),
    ):
        await bot.send_media_group(chat, [InputMediaPhoto(media=album[0].photo[-1].file_id)] * 11)
    docs = [InputMediaDocument(media=BufferedInputFile(b"a%d" % i, filename=f"{i}.txt")) for i in range(2)]
    assert len(await bot.send_media_group(chat, docs)) == 2
    with pytest.raises(TelegramBadRequest, match="document can't be mixed"):
        await bot.send_media_group(chat, [items[0], docs[0]])


async def test_captions_edits_copies_forwards_and_bulk_delete(chat: int, bot: Bot, ali: Persona) -> None:
    with pytest.raises(TelegramBadRequest, match=says("Bad Request: message caption is too long")):
        await bot.send_photo(chat, photo(), caption="x" * 1025)
    sent = await bot.send_photo(chat, photo(), caption="x" * 1024, reply_markup=keyboard(("Buy", "buy")))
    edited = await bot.edit_message_caption(chat_id=chat, message_id=sent.message_id, caption="Sotildi")
    assert edited.caption == "Sotildi" and edited.reply_markup is None and edited.edit_date
    swapped = await bot.edit_message_media(
        InputMediaPhoto(media=photo(JPEG, "b.jpg"), caption="New"), chat_id=chat, message_id=sent.message_id
    )
    assert swapped.photo[-1].width == 800 and swapped.caption == "New"
    text = await bot.send_message(chat, "plain")
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=chat, message_id=text.message_id, caption="x")

    copy = await bot.copy_message(chat, chat, sent.message_id, caption="Copied")
    forward = await bot.forward_message(chat, chat, 1)  # the user's /start
    assert forward.forward_origin.type == "user" and forward.forward_origin.sender_user.id == ali.id
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(chat, chat, 999)
    assert await bot.delete_messages(chat, [copy.message_id, forward.message_id, 999])
    deleted = [m["message_id"] for m in await ali.chat() if m.get("deleted")]
    assert deleted == [copy.message_id, forward.message_id]


async def test_size_limits(chat: int, world: World, bot: Bot, base: str, http: aiohttp.ClientSession) -> None:
    world.limits.update(upload_bytes=20_000, photo_bytes=len(PNG) + 100, download_bytes=500)
    with pytest.raises(TelegramEntityTooLarge):
        await bot.send_document(chat, BufferedInputFile(b"x" * 30_000, filename="big.bin"))
    form = aiohttp.FormData({"chat_id": str(chat)})
    form.add_field("document", b"x" * 30_000, filename="big.bin")
    assert await raw(http, "POST", f"{base}/bot{TOKEN}/sendDocument", data=form) == (
        413,
        {"ok": False, "error_code": 413, "description": "Request Entity Too Large"},
    )
    with pytest.raises(TelegramBadRequest, match="PHOTO_SAVE_FILE_INVALID"):
        await bot.send_photo(chat, photo(PNG + b"\0" * 1000))
    doc = await bot.send_document(chat, BufferedInputFile(b"y" * 600, filename="ok.bin"))
    with pytest.raises(TelegramBadRequest, match=says("Bad Request: file is too big")):
        await bot.get_file(doc.document.file_id)


async def test_users_send_photos_albums_documents_contacts_and_locations(
    sandbox: Sandbox, ali: Persona, bot: Bot
) -> None:
    await ali.send_photo(PNG, caption="Olma #meva")
    album = await ali.send_album([JPEG, (PNG, "second")])
    await ali.send_document(b"hello", "note.txt")
    await ali.share_contact("+998901234567")
    await ali.send_location(41.3111, 69.2797)
    updates = await bot.get_updates()
    single, first, second, doc, contact, location = (u.message for u in updates)
    assert single.photo[-1].width == 640 and single.caption == "Olma #meva"
    assert [s.width for s in single.photo] == [90, 320, 640]  # users' photos are re-encoded too
    assert single.caption_entities[0].type == "hashtag"
    assert first.media_group_id == second.media_group_id == album[0]["media_group_id"]
    assert (first.photo[-1].width, second.caption) == (800, "second")
    assert (doc.document.file_name, doc.document.mime_type) == ("note.txt", "text/plain")
    assert (contact.contact.phone_number, contact.contact.user_id) == ("+998901234567", ali.id)
    assert (location.location.latitude, location.location.longitude) == (41.3111, 69.2797)
    file = await bot.get_file(single.photo[-1].file_id)  # the bot may download what users send
    largest = (await bot.download_file(file.file_path)).read()
    assert image_size(largest) == (640, 480)
    assert await sandbox.file(single.photo[-1].file_unique_id) == (largest, "image/jpeg")


async def test_a_group_photo_gets_each_bots_own_file_id(
    sandbox: Sandbox, ali: Persona, bot: Bot, base: str
) -> None:
    other = make_bot(base, OTHER_TOKEN)
    try:
        await other.get_me()
        group = await sandbox.group("Guruh", members=[ali], bot_admin=True, bot_id=BOT_ID)
        await group.set_member(7002, "administrator", can_delete_messages=True)
        await ali.send_photo(PNG, caption="in the group", chat=group)
        mine = (await bot.get_updates(offset=-1))[0].message.photo[-1]
        theirs = (await other.get_updates(offset=-1))[0].message.photo[-1]
        assert mine.file_unique_id == theirs.file_unique_id and mine.file_id != theirs.file_id
        assert (await other.get_file(theirs.file_id)).file_size == theirs.file_size
    finally:
        await other.session.close()


async def test_the_parent_apps_body_limit_answers_like_telegram(chat: int, bot: Bot) -> None:
    """Mounted under a parent app with aiohttp's default 1 MiB limit, the sandbox still says 413."""
    with pytest.raises(TelegramEntityTooLarge, match="Request Entity Too Large"):
        await bot.send_document(chat, BufferedInputFile(b"z" * (1024 * 1024 + 10), filename="big.bin"))


async def test_browser_style_endpoints(
    sandbox: Sandbox, ali: Persona, bot: Bot, base: str, http: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData({"caption": "Ikki rasm", "bot_id": str(BOT_ID)})
    form.add_field("photo", PNG, filename="a.png", content_type="image/png")
    form.add_field("photo", JPEG, filename="b.jpg", content_type="image/jpeg")
    status, album = await raw(http, "POST", f"{base}/api/users/{ali.id}/send_photo", data=form)
    assert status == 200 and [m["caption"] for m in album if "caption" in m] == ["Ikki rasm"]
    assert album[0]["media_group_id"] == album[1]["media_group_id"]
    body = {"phone_number": "+998901112233", "first_name": "Ali"}
    status, contact = await raw(http, "POST", f"{base}/api/users/{ali.id}/send_contact", json=body)
    assert status == 200 and contact["contact"]["phone_number"] == "+998901112233"
    body = {"latitude": 41.3, "longitude": 69.2}
    status, location = await raw(http, "POST", f"{base}/api/users/{ali.id}/send_location", json=body)
    assert status == 200 and location["location"]["latitude"] == 41.3
    async with http.get(f"{base}/api/users/0/send_photo") as probe:
        assert probe.status == 405  # how a client finds out the endpoint exists
    assert len(await bot.get_updates()) == 4

    group = await sandbox.group("Guruh", members=[ali])
    members = await sandbox.request("GET", f"/chats/{group.id}/members")
    assert {(m["user"]["id"], m["status"]) for m in members} == {(ali.id, "member"), (BOT_ID, "member")}
