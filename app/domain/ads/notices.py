"""Every message about an ad that the system sends on its own: each an outbox row, written in the
transaction of the change that causes it (admin notes, channel posts and their edits, the seller)."""

from __future__ import annotations

from typing import Any

from app.db import Conn
from app.db.queries import ads as q
from app.db.queries import channels as channel_q
from app.db.queries import users as user_q
from app.db.queries.ads import AdView, MessageKind
from app.domain.ads.model import AdError, AdNotFound
from app.domain.ads.ports import AdMessages
from app.domain.outbox import MESSAGE_ID_OF, MESSAGE_IDS_OF, Call, enqueue
from app.domain.users import Languages
from app.i18n import N_

REF = "ad"  # outbox rows about an ad carry (REF, ad id)
CLOSING_MARKS = ("sold", "expired")


async def load_view(conn: Conn, ad_id: int) -> AdView:
    view = await q.load_view(conn, ad_id)
    if view is None:
        raise AdNotFound()
    return view


async def languages_of(conn: Conn, user_ids: list[int], languages: Languages) -> dict[int, str]:
    """The language to write to each user in: theirs if it is enabled, else the default."""
    known = await user_q.language_settings(conn, user_ids)
    return {uid: languages.speak(*known.get(uid, (None, None))) for uid in user_ids}


def channel_chat(view: AdView) -> int:
    """The channel's chat id, or a clear refusal while the bot has not connected it."""
    chat_id = view.channel.chat_id
    if chat_id is None:
        raise AdError(
            N_(
                "The channel is not connected yet: the bot must be an administrator "
                "of it. Try again in a minute."
            )
        )
    return chat_id


async def _send(conn: Conn, call: Call, chat_id: int, ad_id: int, **extra: Any) -> int:
    method, params = call
    return await enqueue(
        conn, method, {**params, **extra, "chat_id": chat_id}, chat_id=chat_id, ref_kind=REF, ref_id=ad_id
    )


# --- the admins -----------------------------------------------------------------------------


async def notify_admins(conn: Conn, ad_id: int, msgs: AdMessages, languages: Languages) -> int:
    """The photos and a message with the decision buttons to every admin of the ad's channel."""
    view = await load_view(conn, ad_id)
    admins = await channel_q.list_admin_ids(conn, view.channel.id)
    langs = await languages_of(conn, admins, languages)
    for admin_id in admins:
        last = None
        for call in msgs.admin_note(view, langs[admin_id]):
            last = await _send(conn, call, admin_id, ad_id)
        if last is not None:
            await q.add_message(conn, ad_id, MessageKind.ADMIN_NOTE, admin_id, last, view.ad.revision)
    return len(admins)


async def show_decision(conn: Conn, view: AdView, msgs: AdMessages, languages: Languages, *, by: str) -> None:
    """Every admin's notification now says who decided, and its buttons are gone."""
    notes = await q.live_messages(conn, view.ad.id, MessageKind.ADMIN_NOTE)
    langs = await languages_of(conn, [n.chat_id for n in notes], languages)
    approved = view.ad.status == q.AdStatus.PUBLISHED
    for note in notes:
        call = msgs.admin_note_decided(
            view, langs[note.chat_id], approved=approved, by=by, reason=view.reason_in(langs[note.chat_id])
        )
        await _send(conn, call, note.chat_id, view.ad.id, message_id={MESSAGE_ID_OF: note.outbox_id})


# --- the channel ----------------------------------------------------------------------------


async def publish(conn: Conn, view: AdView, msgs: AdMessages, languages: Languages) -> None:
    """An approved ad goes to the channel, and its seller is told (with the post forwarded).

    An approved edit of an ad already in the channel changes its copies in place when the
    photos are the same; new photos cannot replace an album in place, so the old copies go
    and a new one comes."""
    seller = view.seller.id
    seller_lang = (await languages_of(conn, [seller], languages))[seller]
    posts = await q.live_messages(conn, view.ad.id, MessageKind.POST)
    if posts and not await q.photos_changed_since(conn, view.ad.id, posts[-1].revision):
        for old in posts:
            await _send(
                conn,
                msgs.post_edited(view),
                old.chat_id,
                view.ad.id,
                message_id={MESSAGE_ID_OF: old.outbox_id},
            )
        await _send(conn, msgs.seller_updated(view, seller_lang), seller, view.ad.id)
        return
    post = await post_to_channel(conn, view, msgs, from_storage=False)
    if posts:  # new photos: the old copies go once the new one is up
        await remove_posts(conn, view.ad.id, keep_last=True, after_sent=post)
    await _send(conn, msgs.seller_published(view, seller_lang), seller, view.ad.id)
    await enqueue(
        conn,
        "forwardMessage",
        {"chat_id": seller, "from_chat_id": channel_chat(view), "message_id": {MESSAGE_ID_OF: post}},
        ref_kind=REF,
        ref_id=view.ad.id,
    )


async def tell_rejected(conn: Conn, view: AdView, msgs: AdMessages, languages: Languages) -> None:
    """The seller learns why; a rejected edit of a published ad takes its copies out too."""
    if await q.live_messages(conn, view.ad.id, MessageKind.POST):
        await remove_posts(conn, view.ad.id)
    seller = view.seller.id
    lang = (await languages_of(conn, [seller], languages))[seller]
    await _send(conn, msgs.seller_rejected(view, lang, view.reason_in(lang) or ""), seller, view.ad.id)


async def post_to_channel(conn: Conn, view: AdView, msgs: AdMessages, *, from_storage: bool) -> int:
    """Queue a copy of the ad in its channel and remember it; returns its outbox row id."""
    chat_id = channel_chat(view)
    row = await _send(conn, msgs.channel_post(view, from_storage=from_storage), chat_id, view.ad.id)
    await q.add_message(conn, view.ad.id, MessageKind.POST, chat_id, row, view.ad.revision)
    return row


async def remove_posts(
    conn: Conn, ad_id: int, *, keep_last: bool = False, after_sent: int | None = None
) -> int:
    """Delete the ad's copies from the channel (all of them, or all but the newest). With
    `after_sent` (the new copy's row), each deletion is made only once the new copy is up: a
    new copy that failed leaves the old ones in the channel, still the ad's."""
    posts = await q.live_messages(conn, ad_id, MessageKind.POST)
    if keep_last:
        posts = posts[:-1]
    removals = [
        await enqueue(
            conn,
            "deleteMessages",
            {"chat_id": post.chat_id, "message_ids": {MESSAGE_IDS_OF: post.outbox_id}},
            ref_kind=REF,
            ref_id=ad_id,
            after_sent=after_sent,
        )
        for post in posts
    ]
    await q.mark_messages_removed(conn, [p.id for p in posts], removals)
    return len(posts)


async def mark_posts(conn: Conn, view: AdView, msgs: AdMessages, mark: str) -> None:
    """Edit every live copy to show the ad is sold or no longer current."""
    album = len(view.photos) > 1
    for post in await q.live_messages(conn, view.ad.id, MessageKind.POST):
        await _send(
            conn,
            msgs.post_closed(view, mark=mark, album=album),
            post.chat_id,
            view.ad.id,
            message_id={MESSAGE_ID_OF: post.outbox_id},
        )


async def repost(conn: Conn, ad_id: int, msgs: AdMessages) -> None:
    """The new copy goes first, then the previous one is deleted (unless the channel keeps it),
    only if the new copy was sent: a re-post that failed never leaves an ad without a post.

    Both rows address the channel, and the outbox keeps a chat's rows in order.
    """
    view = await load_view(conn, ad_id)
    new = await post_to_channel(conn, view, msgs, from_storage=True)
    if not view.channel.keep_old_posts:
        await remove_posts(conn, ad_id, keep_last=True, after_sent=new)


# --- the seller -----------------------------------------------------------------------------


async def ask_seller(
    conn: Conn, view: AdView, msgs: AdMessages, languages: Languages, ask_number: int
) -> None:
    seller = view.seller.id
    lang = (await languages_of(conn, [seller], languages))[seller]
    await _send(conn, msgs.checkin(view, lang, ask_number), seller, view.ad.id)


async def tell_expired(conn: Conn, view: AdView, msgs: AdMessages, languages: Languages) -> None:
    await mark_posts(conn, view, msgs, "expired")
    seller = view.seller.id
    lang = (await languages_of(conn, [seller], languages))[seller]
    await _send(conn, msgs.seller_expired(view, lang), seller, view.ad.id)
