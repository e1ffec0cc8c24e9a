"""Ads going out (M3-M8): every message is an outbox row written with the change that causes it."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import asyncpg

from app.db.queries import ads as q
from app.db.queries import channels as channel_q
from app.domain import checkins, moderation
from app.domain.ads import AdError, Draft
from app.domain.outbox import MESSAGE_ID_OF, MESSAGE_IDS_OF, enqueue
from app.domain.ports import AdMessages, AdView, Call
from app.domain.schedule import repost_due
from app.domain.staff import Staff
from app.domain.users import Languages
from app.i18n import N_

REF = "ad"  # outbox rows about an ad carry (REF, ad id)


async def load_view(conn: asyncpg.Connection, ad_id: int) -> AdView:
    rows = await q.ad_view_rows(conn, ad_id)
    if rows is None:
        raise AdError(N_("This ad no longer exists."))
    return AdView(*rows)


async def user_languages(
    conn: asyncpg.Connection, user_ids: list[int], languages: Languages
) -> dict[int, str]:
    """The language to write to each user in: theirs if it is enabled, else the default."""
    known = await q.user_languages(conn, user_ids)
    return {uid: languages.speak(*known.get(uid, (None, None))) for uid in user_ids}


async def _send(conn: asyncpg.Connection, call: Call, chat_id: int, ad_id: int, **extra: Any) -> int:
    method, params = call
    return await enqueue(
        conn, method, {**params, **extra, "chat_id": chat_id}, chat_id=chat_id, ref_kind=REF, ref_id=ad_id
    )


def channel_chat(view: AdView) -> int:
    chat_id = view.channel["chat_id"]
    if chat_id is None:
        raise AdError(
            N_(
                "The channel is not connected yet: the bot must be an administrator "
                "of it. Try again in a minute."
            )
        )
    return chat_id


# --- submit and decide -----------------------------------------------------------------------


async def submit_ad(
    conn: asyncpg.Connection, draft: Draft, seller_id: int, msgs: AdMessages, languages: Languages
) -> asyncpg.Record:
    """Save the ad as pending and queue a notification to every admin of its channel."""
    ad = await moderation.submit(conn, draft, seller_id)
    await notify_admins(conn, ad["id"], msgs, languages)
    return ad


async def notify_admins(conn: asyncpg.Connection, ad_id: int, msgs: AdMessages, languages: Languages) -> int:
    view = await load_view(conn, ad_id)
    admins = await channel_q.list_admin_ids(conn, view.channel["id"])
    langs = await user_languages(conn, admins, languages)
    for admin_id in admins:
        last = None
        for call in msgs.admin_note(view, langs[admin_id]):
            last = await _send(conn, call, admin_id, ad_id)
        await q.add_message(conn, ad_id, "admin_note", admin_id, last, view.ad["revision"])
    return len(admins)


async def decide_ad(
    conn: asyncpg.Connection,
    ad_id: int,
    admin_id: int | None,
    *,
    approve: bool,
    reason: str | None,
    msgs: AdMessages,
    languages: Languages,
    staff: Staff | None = None,
) -> moderation.Decision:
    """Approve or reject; the winner's decision publishes and tells everyone, in one transaction.

    The bot passes the clicking admin's Telegram id; the panel passes `staff` (one code path).
    """
    decision = await moderation.decide(conn, ad_id, admin_id, approve=approve, reason=reason, staff=staff)
    if not decision.won:
        return decision
    view = await load_view(conn, ad_id)
    if approve:
        channel_chat(view)  # refuse before anything is written if the channel cannot be posted
    await _update_admin_notes(
        conn,
        view,
        msgs,
        languages,
        approved=approve,
        by=await moderation.decider_name(conn, decision.ad),
        reason=decision.ad["reject_reason"],
    )
    seller_lang = (await user_languages(conn, [view.seller["id"]], languages))[view.seller["id"]]
    if approve:
        posts = await q.live_messages(conn, ad_id, "post")
        if posts:  # an approved edit of an ad already in the channel
            from app.domain.editing import photos_changed_since  # editing imports this module

            if not await photos_changed_since(conn, ad_id, posts[-1]["revision"]):
                for old in posts:  # same photos: the copies change in place
                    await _send(
                        conn,
                        msgs.post_edited(view),
                        old["chat_id"],
                        ad_id,
                        message_id={MESSAGE_ID_OF: old["outbox_id"]},
                    )
                await _send(conn, msgs.seller_updated(view, seller_lang), view.seller["id"], ad_id)
                return decision
            # New photos cannot replace an album in place: the old copies go, a new one comes.
            await remove_posts(conn, ad_id)
        post = await post_to_channel(conn, view, msgs, from_storage=False)
        await _send(conn, msgs.seller_published(view, seller_lang), view.seller["id"], ad_id)
        await enqueue(
            conn,
            "forwardMessage",
            {
                "chat_id": view.seller["id"],
                "from_chat_id": channel_chat(view),
                "message_id": {MESSAGE_ID_OF: post},
            },
            ref_kind=REF,
            ref_id=ad_id,
        )
    else:
        if await q.live_messages(conn, ad_id, "post"):  # a rejected edit: the copy goes too
            await remove_posts(conn, ad_id)
        await _send(
            conn,
            msgs.seller_rejected(view, seller_lang, decision.ad["reject_reason"]),
            view.seller["id"],
            ad_id,
        )
    return decision


async def _update_admin_notes(
    conn: asyncpg.Connection, view: AdView, msgs: AdMessages, languages: Languages, **outcome: Any
) -> None:
    notes = await q.live_messages(conn, view.ad["id"], "admin_note")
    langs = await user_languages(conn, [n["chat_id"] for n in notes], languages)
    for note in notes:
        call = msgs.admin_note_decided(view, langs[note["chat_id"]], **outcome)
        await _send(conn, call, note["chat_id"], view.ad["id"], message_id={MESSAGE_ID_OF: note["outbox_id"]})


# --- the channel -----------------------------------------------------------------------------


async def post_to_channel(
    conn: asyncpg.Connection, view: AdView, msgs: AdMessages, *, from_storage: bool
) -> int:
    """Queue a copy of the ad in its channel and remember it; returns its outbox row id."""
    chat_id = channel_chat(view)
    row = await _send(conn, msgs.channel_post(view, from_storage=from_storage), chat_id, view.ad["id"])
    await q.add_message(conn, view.ad["id"], "post", chat_id, row, view.ad["revision"])
    return row


async def remove_posts(conn: asyncpg.Connection, ad_id: int, *, keep_last: bool = False) -> int:
    """Delete the ad's copies from the channel (all of them, or all but the newest)."""
    posts = await q.live_messages(conn, ad_id, "post")
    if keep_last:
        posts = posts[:-1]
    for post in posts:
        await enqueue(
            conn,
            "deleteMessages",
            {"chat_id": post["chat_id"], "message_ids": {MESSAGE_IDS_OF: post["outbox_id"]}},
            ref_kind=REF,
            ref_id=ad_id,
        )
    await q.mark_messages_removed(conn, [p["id"] for p in posts])
    return len(posts)


async def mark_posts(conn: asyncpg.Connection, view: AdView, msgs: AdMessages, mark: str) -> None:
    """Edit every live copy to show the ad is sold or no longer current."""
    album = len(view.photos) > 1
    for post in await q.live_messages(conn, view.ad["id"], "post"):
        await _send(
            conn,
            msgs.post_closed(view, mark=mark, album=album),
            post["chat_id"],
            view.ad["id"],
            message_id={MESSAGE_ID_OF: post["outbox_id"]},
        )


async def repost(conn: asyncpg.Connection, ad_id: int, msgs: AdMessages) -> None:
    """The new copy goes first, then the previous one is deleted (unless the channel keeps it).

    Both rows address the channel, and the outbox keeps a chat's rows in order.
    """
    view = await load_view(conn, ad_id)
    await post_to_channel(conn, view, msgs, from_storage=True)
    if not view.channel["keep_old_posts"]:
        await remove_posts(conn, ad_id, keep_last=True)


# --- the seller's answers and the schedule -------------------------------------------------


async def seller_marks_sold(conn: asyncpg.Connection, ad_id: int, seller_id: int, msgs: AdMessages) -> bool:
    ad = await checkins.mark_sold(conn, ad_id, seller_id)
    if ad is None:
        return False
    await mark_posts(conn, await load_view(conn, ad_id), msgs, "sold")
    return True


async def seller_withdraws(conn: asyncpg.Connection, ad_id: int, seller_id: int) -> bool:
    if await checkins.withdraw(conn, ad_id, seller_id) is None:
        return False
    await remove_posts(conn, ad_id)
    return True


async def run_checkins(
    conn: asyncpg.Connection, now: datetime, msgs: AdMessages, languages: Languages
) -> int:
    """Ask every due seller, or expire their ad (its posts edited, the seller told)."""
    steps = await checkins.due_checkins(conn, now)
    for step in steps:
        view = await load_view(conn, step.ad["id"])
        seller = view.seller["id"]
        lang = (await user_languages(conn, [seller], languages))[seller]
        if step.expired:
            await mark_posts(conn, view, msgs, "expired")
            await _send(conn, msgs.seller_expired(view, lang), seller, view.ad["id"])
        else:
            await _send(conn, msgs.checkin(view, lang, step.ask_number), seller, view.ad["id"])
    return len(steps)


async def run_reposts(conn: asyncpg.Connection, now: datetime, rng: random.Random, msgs: AdMessages) -> int:
    """Fill every due re-post slot (the slot closes in this same transaction)."""
    chosen = await repost_due(conn, now, rng)
    for _channel_id, ad_id in chosen:
        await repost(conn, ad_id, msgs)
    return len(chosen)
