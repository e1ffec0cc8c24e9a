"""The seller's wizard (M2): one question at a time, bad answers explained, the draft kept in FSM."""

from __future__ import annotations

import contextlib
import logging

import asyncpg
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from app.bot.callbacks import AdCb, MenuCb
from app.bot.filters import HasPhoto, OnMessage, TextOrContact
from app.bot.guard import STALE_BUTTON
from app.bot.keyboards import main_menu
from app.bot.routing import MessageRouting, Stage
from app.domain import ads
from app.domain import channels as channels_domain
from app.domain.ads import (
    MAX_PHOTOS,
    AdError,
    AdMessages,
    Draft,
    Photo,
    caption,
    caption_excess,
    parse_contact,
    parse_description,
    parse_place,
    parse_price,
    parse_title,
)
from app.domain.support.menus import MenuTree
from app.domain.users import Languages
from app.i18n import N_, Gettext
from app.storage import NotFound, Storage

log = logging.getLogger(__name__)


class PostAd(StatesGroup):
    channel = State()
    category = State()
    title = State()
    description = State()
    price = State()
    photos = State()
    district = State()
    contact = State()
    preview = State()


ORDER = ["channel", "category", "title", "description", "price", "photos", "district", "contact", "preview"]
EDITABLE = {
    "category": "🗂",
    "title": "🏷",
    "description": "📝",
    "price": "💰",
    "photos": "📷",
    "district": "📍",
    "contact": "📞",
}


CANCEL = N_("✖️ Cancel")
DONE_PHOTOS = N_("✅ Done with photos")  # the photo step's texts name this button as it reads


def _cancel_row(_: Gettext) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=_(CANCEL), callback_data=AdCb(action="cancel").pack())]


async def _draft(state: FSMContext) -> Draft:
    return Draft.from_data((await state.get_data())["draft"])


async def _save(state: FSMContext, draft: Draft) -> None:
    await state.update_data(draft=draft.to_data())


# --- starting ------------------------------------------------------------------------------


async def on_post(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
) -> None:
    await query.answer()
    data = await state.get_data()
    if data.get("draft") and (in_wizard(await state.get_state()) or data.get("paused")):
        keyboard = [
            [
                InlineKeyboardButton(text=_("▶️ Continue"), callback_data=AdCb(action="resume").pack()),
                InlineKeyboardButton(text=_("🆕 Start over"), callback_data=AdCb(action="restart").pack()),
            ]
        ]
        await message.answer(
            _("You have an unfinished ad. Continue it?"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=keyboard),
        )
        return
    await _begin(message, state, pool, bot, _, lang)


async def on_resume(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
) -> None:
    current, data = await state.get_state(), await state.get_data()
    step = (current or "").split(":")[-1] if in_wizard(current) else data.get("paused") or ""
    if not data.get("draft"):  # the draft was submitted or cancelled since
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    await state.update_data(paused=None)
    await _ask(message, step if step in ORDER else "title", state, pool, bot, _, lang)


async def on_restart(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
) -> None:
    await query.answer()
    await _begin(message, state, pool, bot, _, lang)


async def _begin(
    message: Message, state: FSMContext, pool: asyncpg.Pool, bot: Bot, _: Gettext, lang: str
) -> None:
    async with pool.acquire() as conn:
        channels = await channels_domain.taking_ads(conn)
    if not channels:
        await message.answer(_("No channel takes ads yet. Please try again later."))
        return
    await state.clear()
    await _save(state, Draft(channel_id=channels[0].id))
    await _ask(message, "channel" if len(channels) > 1 else "category", state, pool, bot, _, lang)


# --- asking --------------------------------------------------------------------------------


async def _ask(
    message: Message, step: str, state: FSMContext, pool: asyncpg.Pool, bot: Bot, _: Gettext, lang: str
) -> None:
    """Put the wizard on `step` and ask its question."""
    await state.set_state(getattr(PostAd, step))
    if step == "channel":
        async with pool.acquire() as conn:
            channels = await channels_domain.taking_ads(conn)
        rows = [
            [InlineKeyboardButton(text=c.title, callback_data=AdCb(action="channel", value=c.id).pack())]
            for c in channels
        ]
        await message.answer(
            _("Which channel is the ad for?"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row(_)]),
        )
    elif step == "category":
        await _ask_category(message, state, pool, _, lang)
    elif step == "photos":
        done = [InlineKeyboardButton(text=_(DONE_PHOTOS), callback_data=AdCb(action="photos_done").pack())]
        count = len((await _draft(state)).photos)
        await message.answer(
            _(
                "Send 1 to 10 photos, one by one or as an album. You have {n} now. "
                "Press “{done}” when finished."
            ).format(n=count, done=_(DONE_PHOTOS)),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[done, _cancel_row(_)]),
        )
    elif step == "contact":
        share = ReplyKeyboardMarkup(  # a reply keyboard cannot carry the inline Cancel: its own
            keyboard=[
                [KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)],
                [KeyboardButton(text=_(CANCEL))],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        await message.answer(
            _(
                "How should buyers reach you? Press the button to share your "
                "phone, or type a phone number or @username."
            ),
            reply_markup=share,
        )
    elif step == "preview":
        await _preview(message, state, bot, pool, _, lang)
    else:
        await message.answer(
            QUESTIONS[step](_), reply_markup=InlineKeyboardMarkup(inline_keyboard=[_cancel_row(_)])
        )


QUESTIONS = {
    "title": lambda _: _("Send the title of the ad (up to 80 characters), e.g. “Stels bicycle”."),
    "description": lambda _: _("Describe the item: condition, size, what is included."),
    "price": lambda _: _("What is the price? E.g. 1500000, 1200$, or “negotiable”."),
    "district": lambda _: _("Which district or city is it in?"),
}


async def _ask_category(
    message: Message, state: FSMContext, pool: asyncpg.Pool, _: Gettext, lang: str
) -> None:
    draft = await _draft(state)
    async with pool.acquire() as conn:
        categories = await channels_domain.categories_of(conn, draft.channel_id)
    buttons = [
        InlineKeyboardButton(text=c.name(lang), callback_data=AdCb(action="category", value=c.id).pack())
        for c in categories
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await message.answer(
        _("Choose a category:"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row(_)])
    )


async def _next(
    message: Message, done_step: str, state: FSMContext, pool: asyncpg.Pool, bot: Bot, _: Gettext, lang: str
) -> None:
    """After an answer: back to the preview when editing, else the following step."""
    if (await state.get_data()).get("editing"):
        await state.update_data(editing=False)
        await _ask(message, "preview", state, pool, bot, _, lang)
        return
    await _ask(message, ORDER[ORDER.index(done_step) + 1], state, pool, bot, _, lang)


# --- answers -------------------------------------------------------------------------------


async def on_channel(
    query: CallbackQuery,
    message: Message,
    callback_data: AdCb,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
) -> None:
    async with pool.acquire() as conn:
        offered = {c.id for c in await channels_domain.taking_ads(conn)}
    if callback_data.value not in offered:  # forged, or the channel stopped taking ads
        await query.answer(_(STALE_BUTTON), show_alert=True)
        return
    await query.answer()
    draft = await _draft(state)
    draft.channel_id, draft.category_id = callback_data.value, None
    await _save(state, draft)
    await message.edit_reply_markup(reply_markup=None)
    await _next(message, "channel", state, pool, bot, _, lang)


async def on_category(
    query: CallbackQuery,
    message: Message,
    callback_data: AdCb,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
) -> None:
    draft = await _draft(state)
    async with pool.acquire() as conn:
        category = await channels_domain.get_category(conn, callback_data.value)
    if category is None or category.channel_id != draft.channel_id:  # forged, gone, or another channel's
        await query.answer(_(STALE_BUTTON), show_alert=True)
        return
    await query.answer()
    draft.category_id = callback_data.value
    await _save(state, draft)
    await message.edit_reply_markup(reply_markup=None)
    await _next(message, "category", state, pool, bot, _, lang)


async def on_text_answer(
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
    ad_messages: AdMessages,
    menu_tree: MenuTree,
) -> None:
    """Title, description, price, district and contact: each checked, then the next step."""
    step = (await state.get_state() or "").split(":")[-1]
    if message.text is None and not (step == "contact" and message.contact):
        await message.answer(_("Please answer with a text message."))
        return
    if step == "contact" and message.text == _(CANCEL):
        await state.clear()
        await message.answer(_("The ad is cancelled."), reply_markup=ReplyKeyboardRemove())
        await message.answer(_("Choose what you want to do:"), reply_markup=main_menu(_, lang, menu_tree))
        return
    if step == "contact" and message.contact and message.contact.user_id != message.chat.id:
        await message.answer(
            _(
                "That is someone else's contact. Press “{share}” to share your own, "
                "or type the phone number or @username buyers should use."
            ).format(share=_("📱 Share my phone number"))
        )
        return
    draft = await _draft(state)
    try:
        _apply(step, draft, message, _, ad_messages)
    except AdError as exc:
        await message.answer(exc.text(_))
        return
    await _save(state, draft)
    if step == "contact":
        await message.answer(_("Thank you!"), reply_markup=ReplyKeyboardRemove())
    await _next(message, step, state, pool, bot, _, lang)


def _apply(step: str, draft: Draft, message: Message, _: Gettext, msgs: AdMessages) -> None:
    text = message.text
    if step == "title":
        draft.title = parse_title(text)
    elif step == "description":
        draft.description = parse_description(text, draft.title, _, msgs.link(10**9))
    elif step == "price":
        draft.price = parse_price(text)
    elif step == "district":
        draft.district = parse_place(text)
    elif step == "contact":
        draft.contact = parse_contact(message.contact.phone_number if message.contact else text)


# What a step that is answered with its buttons says to a message instead.
BUTTON_STEPS = {
    "channel": N_("Please choose a channel with the buttons above."),
    "category": N_("Please choose a category with the buttons above."),
    "preview": N_("Please use the buttons under the preview: submit, edit or cancel."),
}


async def on_wrong_kind(message: Message, state: FSMContext, _: Gettext) -> None:
    """A message the step cannot take (a sticker, a file, a photo where text was asked for, any
    message where a button was): say what the step expects; the draft stays as it was."""
    step = (await state.get_state() or "").split(":")[-1]
    if step == "photos":
        text = (
            _("Please send it as a photo, not as a file.")
            if message.document
            else _("Please send a photo, or press “{done}” when you have sent them all.").format(
                done=_(DONE_PHOTOS)
            )
        )
    elif step in BUTTON_STEPS:
        text = _(BUTTON_STEPS[step])
    elif step == "contact":
        text = _(
            "Send a phone number like +998901234567 or a Telegram @username, "
            "or press the button to share your contact."
        )
    else:
        text = _("Please answer with a text message.")
    await message.answer(text)


async def on_photo(message: Message, state: FSMContext, bot: Bot, _: Gettext) -> None:
    """Each photo is added; an album (one update per photo, handled one at a time per user) is
    answered once: its first photo's reply is edited as the others arrive."""
    data = await state.get_data()
    draft = Draft.from_data(data["draft"])
    if len(draft.photos) >= MAX_PHOTOS:
        await message.answer(
            _("An ad has at most {limit} photos; this one was not added. Press “{done}” to go on.").format(
                limit=MAX_PHOTOS, done=_(DONE_PHOTOS)
            )
        )
        return
    assert message.photo, "routed here by HasPhoto"
    size = message.photo[-1]  # the largest size Telegram made
    key = f"photos/{size.file_unique_id}"
    draft.photos.append(Photo(size.file_id, size.file_unique_id, key))
    text = _("Photo {n} of at most {limit} added.").format(n=len(draft.photos), limit=MAX_PHOTOS)
    album = data.get("album") or {}
    group = message.media_group_id
    if group and album.get("group") == group:
        await state.update_data(draft=draft.to_data())
        with contextlib.suppress(TelegramBadRequest):  # e.g. the reply was deleted: no answer then
            await bot.edit_message_text(text, chat_id=message.chat.id, message_id=album["reply"])
        return
    reply = await message.answer(text)
    await state.update_data(
        draft=draft.to_data(), album={"group": group, "reply": reply.message_id} if group else None
    )


async def on_photos_done(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
) -> None:
    if not (await _draft(state)).photos:
        await query.answer(_("Send at least one photo first."), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await _next(message, "photos", state, pool, bot, _, lang)


# --- preview, edit, submit ---------------------------------------------------------------


async def show_preview(
    message: Message, state: FSMContext, pool: asyncpg.Pool, bot: Bot, _: Gettext, lang: str
) -> None:
    """Open the preview (My ads' "Edit" starts here with a stored ad's draft)."""
    await _ask(message, "preview", state, pool, bot, _, lang)


async def _preview(
    message: Message, state: FSMContext, bot: Bot, pool: asyncpg.Pool, _: Gettext, lang: str
) -> None:
    draft = await _draft(state)
    async with pool.acquire() as conn:
        category = await channels_domain.get_category(conn, draft.category_id) if draft.category_id else None
    hashtag = category.hashtag if category else None
    link = f"https://t.me/{(await bot.me()).username}"
    excess = caption_excess(draft, _, hashtag=hashtag, link=link + "?start=ad_1000000000")
    if excess:
        await state.update_data(editing=True)
        await message.answer(
            _(
                "The ad is {excess} characters too long for the channel. Please send a shorter description."
            ).format(excess=excess)
        )
        await _ask(message, "description", state, pool, bot, _, lang)
        return
    text = caption(draft, _, hashtag=hashtag, link=link)
    if len(draft.photos) == 1:
        await message.answer_photo(draft.photos[0].file_id, caption=text)
    else:
        await message.answer_media_group(
            [
                InputMediaPhoto(media=p.file_id, caption=text if i == 0 else None)
                for i, p in enumerate(draft.photos)
            ]
        )
    edit = _("Edit")
    rows = [
        [
            InlineKeyboardButton(
                text=f"{icon} {edit}: {_(LABELS[name])}", callback_data=AdCb(action="edit", field=name).pack()
            )
        ]
        for name, icon in EDITABLE.items()
    ]
    rows.append(
        [
            InlineKeyboardButton(text=_("✅ Submit"), callback_data=AdCb(action="submit").pack()),
            *_cancel_row(_),
        ]
    )
    await message.answer(
        _("This is how your ad will look. Submit it for review?"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


LABELS = {
    "category": N_("category"),
    "title": N_("title"),
    "description": N_("description"),
    "price": N_("price"),
    "photos": N_("photos"),
    "district": N_("district"),
    "contact": N_("contact"),
}


async def on_edit(
    query: CallbackQuery,
    message: Message,
    callback_data: AdCb,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
) -> None:
    if callback_data.field not in EDITABLE:
        await query.answer()
        return
    await query.answer()
    await state.update_data(editing=True)
    if callback_data.field == "photos":
        draft = await _draft(state)
        draft.photos = []
        await _save(state, draft)
    await message.edit_reply_markup(reply_markup=None)
    await _ask(message, callback_data.field, state, pool, bot, _, lang)


async def on_submit(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    media: Storage,
    ad_messages: AdMessages,
    languages: Languages,
    _: Gettext,
    lang: str,
    menu_tree: MenuTree,
) -> None:
    draft = await _draft(state)
    await query.answer()
    await _keep_photos(bot, media, draft)
    editing_ad_id = (await state.get_data()).get("editing_ad_id")
    try:
        async with pool.acquire() as conn, conn.transaction():
            if editing_ad_id:
                ad = await ads.edit(conn, editing_ad_id, query.from_user.id, draft, ad_messages, languages)
            else:
                ad = await ads.submit(conn, draft, query.from_user.id, ad_messages, languages)
    except AdError as exc:
        await message.answer(exc.text(_))
        return
    await state.clear()
    if editing_ad_id:
        await message.edit_text(
            _(
                "Your changes to ad #{id} are sent for review. Its post "
                "in the channel is updated once they are approved."
            ).format(id=ad.id),
            reply_markup=main_menu(_, lang, menu_tree),
        )
        return
    text = _("Your ad #{id} is sent for review. I will tell you when it is published.").format(id=ad.id)
    for flag in ad.flags:
        if flag["kind"] == "daily_limit":  # the channel flags rather than refuses: say so
            text += "\n\n" + _(
                "This is your ad number {count} in this channel in 24 hours, past its limit of "
                "{limit}: the admins will see that when they review it."
            ).format(count=flag["count"], limit=flag["limit"])
    await message.edit_text(text, reply_markup=main_menu(_, lang, menu_tree))


async def _keep_photos(bot: Bot, storage: Storage, draft: Draft) -> None:
    """Copy the photos into our Storage, so re-posts and the panel never depend on Telegram."""
    for index, photo in enumerate(draft.photos):
        if photo.storage_key is None:  # kept before without our copy: Telegram's stays
            continue
        try:
            await storage.get(photo.storage_key)
            continue
        except NotFound:
            pass
        try:
            data = await bot.download(photo.file_id)
            if data is None:
                raise RuntimeError("Telegram sent no file")
            await storage.put(photo.storage_key, data.read(), "image/jpeg")
        except Exception as exc:  # the ad goes on with Telegram's copy; re-posts use the file_id
            log.warning("could not keep photo %s: %s", photo.file_unique_id, exc)
            draft.photos[index] = Photo(photo.file_id, photo.file_unique_id, None)


async def on_cancel(
    query: CallbackQuery, message: Message, state: FSMContext, _: Gettext, lang: str, menu_tree: MenuTree
) -> None:
    if not in_wizard(await state.get_state()):  # a Cancel left on an old question
        await query.answer(_("This button is no longer valid."), show_alert=True)
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_reply_markup(reply_markup=None)
        return
    await state.clear()
    await query.answer(_("The ad is cancelled."))
    await message.edit_text(
        _("The ad is cancelled. Choose what you want to do:"), reply_markup=main_menu(_, lang, menu_tree)
    )


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name="post_ad")
    router.callback_query.filter(OnMessage())  # every button here edits or answers its message
    router.callback_query.register(on_post, MenuCb.filter(F.action == "post"))
    router.callback_query.register(on_resume, AdCb.filter(F.action == "resume"))
    router.callback_query.register(on_restart, AdCb.filter(F.action == "restart"))
    router.callback_query.register(on_cancel, AdCb.filter(F.action == "cancel"))
    router.callback_query.register(
        on_channel, AdCb.filter(F.action == "channel"), StateFilter(PostAd.channel)
    )
    router.callback_query.register(
        on_category, AdCb.filter(F.action == "category"), StateFilter(PostAd.category)
    )
    router.callback_query.register(
        on_photos_done, AdCb.filter(F.action == "photos_done"), StateFilter(PostAd.photos)
    )
    router.callback_query.register(on_edit, AdCb.filter(F.action == "edit"), StateFilter(PostAd.preview))
    router.callback_query.register(on_submit, AdCb.filter(F.action == "submit"), StateFilter(PostAd.preview))
    return router


def route(routing: MessageRouting) -> None:
    """A message while the wizard waits for an answer is that answer (or a wrong kind of one)."""
    routing.add(Stage.FLOW_STEP, "ad wizard: a photo", on_photo, StateFilter(PostAd.photos), HasPhoto())
    text_steps = StateFilter(PostAd.title, PostAd.description, PostAd.price, PostAd.district, PostAd.contact)
    routing.add(Stage.FLOW_STEP, "ad wizard: an answer", on_text_answer, text_steps, TextOrContact())
    routing.add(Stage.FLOW_STEP, "ad wizard: anything else", on_wrong_kind, StateFilter(PostAd))


def in_wizard(state: str | None) -> bool:
    return bool(state and state.startswith(f"{PostAd.__name__}:"))


async def leave(state: FSMContext) -> bool:
    """/start in the middle of the wizard: leave it, keeping the draft for "Continue"; True if
    there was one."""
    current = await state.get_state()
    if not in_wizard(current) or not (await state.get_data()).get("draft"):
        return False
    await state.set_state(None)
    await state.update_data(paused=(current or "").split(":")[-1], album=None)
    return True
