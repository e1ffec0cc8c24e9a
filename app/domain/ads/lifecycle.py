"""The life of an ad (M2-M8), one function per use case: submit, edit, decide, close, re-post.

Each runs in the caller's transaction and writes the messages it causes as outbox rows in it
(app.domain.ads.notices), so a decision and its messages commit together or not at all. The
bot, the panel and the scheduler call these and nothing else of the ads area.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from app.db import Conn
from app.db.queries import ads as q
from app.db.queries import channels as channel_q
from app.db.queries import users as user_q
from app.db.queries.ads import Ad, AdStatus
from app.db.queries.channels import Channel, RejectReason
from app.db.queries.outbox import OutboxStatus
from app.domain import channels, outbox
from app.domain import staff as staff_domain
from app.domain.actors import Actor, StaffMember
from app.domain.ads import notices, reads
from app.domain.ads.model import CLOSABLE, EDITABLE, AdError, AdNotFound, Draft, NotAllowed
from app.domain.ads.ports import AdMessages
from app.domain.ads.rules import (
    check_complete,
    parse_description,
    parse_title,
    premoderate,
    text_key,
)
from app.domain.ads.schedule import repost_due
from app.domain.users import Languages
from app.i18n import N_, Text

CLAIM_BATCH = 100  # due check-ins handled per tick


# --- submit and edit -----------------------------------------------------------------------


async def submit(conn: Conn, draft: Draft, seller_id: int, msgs: AdMessages, languages: Languages) -> Ad:
    """Save the ad as pending with its pre-moderation flags and notify every admin of its channel."""
    channel = await channel_q.get_channel(conn, draft.channel_id)
    if channel is None or not channel.active:
        raise AdError(N_("This channel does not take ads any more. Please choose another one."))
    return await _save(conn, draft, seller_id, channel, None, msgs, languages)


async def edit(
    conn: Conn, ad_id: int, seller_id: int, draft: Draft, msgs: AdMessages, languages: Languages
) -> Ad:
    """The seller's new content: back to pending, and the admins are asked again.

    The channel post stays as it was while the edit waits (re-posts and check-ins only pick
    published ads); the approval edits it in place (notices.publish)."""
    ad = await q.lock_sellers_ad(conn, ad_id, seller_id)
    if ad is None or ad.status not in EDITABLE:
        raise AdError(N_("This ad cannot be changed any more."))
    channel = await channel_q.get_channel(conn, ad.channel_id)
    assert channel is not None  # an ad's channel is never deleted (a foreign key holds it)
    return await _save(conn, draft, seller_id, channel, ad, msgs, languages)


async def _save(
    conn: Conn,
    draft: Draft,
    seller_id: int,
    channel: Channel,
    before: Ad | None,
    msgs: AdMessages,
    languages: Languages,
) -> Ad:
    """What submit and edit share: the checks, the row, the photos, the history, the admins."""
    check_complete(draft)
    if draft.category_id is not None:
        category = await channel_q.get_category(conn, draft.category_id)
        if category is None or category.channel_id != channel.id:
            raise AdError(N_("This category no longer exists. Please choose another one."))
    flags = await premoderate(conn, channel, seller_id, draft, editing=before.id if before else None)
    assert draft.price is not None  # check_complete saw to it
    content: dict[str, object] = {
        "category_id": draft.category_id,
        "title": draft.title,
        "description": draft.description,
        "price": draft.price.amount,
        "currency": draft.price.currency,
        "negotiable": draft.price.negotiable,
        "district": draft.district,
        "contact": draft.contact,
        "flags": flags,
        "text_key": text_key(draft.title, draft.description),
    }
    photos = [(p.file_id, p.file_unique_id, p.storage_key) for p in draft.photos]
    if before is None:
        ad = await q.insert_ad(conn, {"seller_id": seller_id, "channel_id": channel.id, **content})
        await q.insert_photos(conn, ad.id, photos)
        await q.add_event(conn, ad.id, q.AdEventKind.SUBMITTED, seller_id, {"flags": flags})
    else:
        old_photos = [p.file_unique_id for p in await q.list_photos(conn, before.id)]
        photos_changed = old_photos != [p.file_unique_id for p in draft.photos]
        ad = await q.replace_content(conn, before.id, content)
        if photos_changed:
            await q.replace_photos(conn, ad.id, photos)
        detail = {
            "revision": ad.revision,
            "photos_changed": photos_changed,
            "changed": _changed(before, ad) + (["photos"] if photos_changed else []),
            "flags": flags,
            "from_status": before.status.value,
        }
        await q.add_event(conn, ad.id, q.AdEventKind.EDITED, seller_id, detail)
    await q.notify_moderation(conn, {"event": "submitted", "ad_id": ad.id, "channel_id": channel.id})
    await notices.notify_admins(conn, ad.id, msgs, languages)
    return ad


def _changed(before: Ad, after: Ad) -> list[str]:
    """What a seller's edit changed, in the wizard's order (admins are told)."""

    def parts(ad: Ad) -> dict[str, object]:
        return {
            "category": ad.category_id,
            "title": ad.title,
            "description": ad.description,
            "price": (ad.price, ad.currency, ad.negotiable),
            "district": ad.district,
            "contact": ad.contact,
        }

    old, new = parts(before), parts(after)
    return [name for name in old if old[name] != new[name]]


# --- deciding --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Canned:
    """A channel's canned rejection reason, chosen by its id."""

    reason_id: int


Reason = str | Canned  # typed by the admin, or canned


@dataclass(frozen=True, slots=True)
class Decision:
    """What came of an admin's decision: whether it won, the ad as it now stands, who decided."""

    won: bool
    ad: Ad
    decider: str  # the name admins see: the staff member's, or the Telegram @username

    @property
    def reply(self) -> Text:
        """What the person who decided is told."""
        if not self.won:
            return Text(N_("Already decided by {name}."), name=self.decider)
        if self.ad.status == AdStatus.PUBLISHED:
            return Text(N_("Published."))
        return Text(N_("Rejected. The seller will be told why."))


class AlreadyDecided(AdError):
    """The ad was decided on before this person's click reached us."""

    def __init__(self, decider: str) -> None:
        super().__init__(N_("Already decided by {name}."), name=decider)


async def decide(
    conn: Conn,
    ad_id: int,
    actor: Actor,
    *,
    approve: bool,
    reason: Reason | None = None,
    msgs: AdMessages,
    languages: Languages,
) -> Decision:
    """Approve or reject a pending ad: the first decision wins (settled in SQL) and publishes or
    tells the seller, and every admin's notification shows who decided; a later click learns who
    won. A staff member's decision is audited."""
    ad = await _authorised(conn, ad_id, actor)
    text, reason_id = (None, None) if approve else await _reason_text(conn, ad, reason, languages)
    status = AdStatus.PUBLISHED if approve else AdStatus.REJECTED
    staff_id = actor.staff.id if isinstance(actor, StaffMember) else None
    decided = await q.decide(
        conn, ad_id, status, decided_by=actor.user_id, staff_id=staff_id, reason=text, reason_id=reason_id
    )
    if decided is None:
        current = await q.get_ad(conn, ad_id)
        if current is None:
            raise AdNotFound()
        return Decision(False, current, await decider_name(conn, current))
    name = await decider_name(conn, decided)
    detail: dict[str, object] = {} if approve else {"reason": text, "reason_id": reason_id}
    kind = q.AdEventKind.APPROVED if approve else q.AdEventKind.REJECTED
    await q.add_event(conn, ad_id, kind, actor.user_id, detail, staff_id=staff_id)
    await q.notify_moderation(
        conn, {"event": status.value, "ad_id": ad_id, "channel_id": decided.channel_id, "by": name}
    )
    if staff_id is not None:
        action = "ad.approve" if approve else "ad.reject"
        after = {"status": status.value, "reason": text}
        await staff_domain.audit(conn, staff_id, action, f"ad:{ad_id}", {"status": "pending"}, after)
    view = await notices.load_view(conn, ad_id)
    if approve:
        notices.channel_chat(view)  # refuse (the caller's transaction rolls back) if it cannot be posted
    await notices.show_decision(conn, view, msgs, languages, by=name)
    if approve:
        await notices.publish(conn, view, msgs, languages)
    else:
        await notices.tell_rejected(conn, view, msgs, languages)
    return Decision(True, decided, name)


async def rejection_reasons(conn: Conn, ad_id: int, actor: Actor) -> list[RejectReason]:
    """The canned reasons an admin may pick to reject a pending ad of their channel."""
    ad = await _authorised(conn, ad_id, actor)
    if ad.status != AdStatus.PENDING:
        raise AlreadyDecided(await decider_name(conn, ad))
    return await channels.reasons_of(conn, ad.channel_id)


async def ad_to_moderate(conn: Conn, ad_id: int, actor: Actor) -> Ad:
    """A pending ad this person may decide on (and fix the text of)."""
    ad = await _authorised(conn, ad_id, actor)
    if ad.status != AdStatus.PENDING:
        raise AlreadyDecided(await decider_name(conn, ad))
    return ad


async def edit_text(conn: Conn, ad_id: int, actor: Actor, *, title: str, description: str) -> Ad:
    """A moderator fixes a pending ad's text before deciding (the wizard's rules hold); audited."""
    before = await _authorised(conn, ad_id, actor)
    clean_title = parse_title(title)
    # The caption's link is at most this long; English texts are the longest fixed parts.
    longest_link = "https://t.me/" + "x" * 32 + "?start=ad_" + "9" * 12
    clean_description = parse_description(description, clean_title, lambda s: s, longest_link)
    ad = await q.edit_text(
        conn, ad_id, clean_title, clean_description, text_key(clean_title, clean_description)
    )
    if ad is None:
        raise AdError(N_("This ad has already been decided; its text can no longer be changed."))
    change = {"title": clean_title, "description": clean_description}
    staff_id = actor.staff.id if isinstance(actor, StaffMember) else None
    await q.add_event(
        conn, ad_id, q.AdEventKind.EDITED, None, {"revision": ad.revision, **change}, staff_id=staff_id
    )
    if staff_id is not None:
        before_text = {"title": before.title, "description": before.description}
        await staff_domain.audit(conn, staff_id, "ad.edit", f"ad:{ad_id}", before_text, change)
    return ad


async def _authorised(conn: Conn, ad_id: int, actor: Actor) -> Ad:
    """The ad, if this actor moderates its channel: the one permission check of a decision.

    To staff who may not see the ad it does not exist; a Telegram user is told who may."""
    ad = await q.get_ad(conn, ad_id)
    if ad is None:
        raise AdNotFound()
    if isinstance(actor, StaffMember):
        if not await staff_domain.can_moderate(conn, actor.staff, ad.channel_id):
            raise AdNotFound()
    elif not await q.is_admin_for_ad(conn, ad_id, actor.user_id):
        raise NotAllowed(N_("Only the channel's admins can decide on its ads."))
    return ad


async def _reason_text(
    conn: Conn, ad: Ad, reason: Reason | None, languages: Languages
) -> tuple[str, int | None]:
    """A typed reason as it was typed; a canned one in the seller's language, with its id so
    every other reader (admins, staff) sees it in theirs."""
    if isinstance(reason, Canned):
        canned = await q.channel_reason(conn, ad.id, reason.reason_id)
        if canned is None:
            raise AdError(N_("This reason no longer exists. Choose another."))
        seller = await user_q.language_settings(conn, [ad.seller_id])
        return canned.text(languages.speak(*seller.get(ad.seller_id, (None, None)))), canned.id
    text = (reason or "").strip()
    if not text:
        raise ReasonMissing(N_("Please give a reason for the rejection."))
    return text, None


class ReasonMissing(AdError):
    """A rejection without a reason: the seller must be told why."""


async def decider_name(conn: Conn, ad: Ad) -> str:
    """Who decided on an ad, as admins see it: the staff member's name, or the @username."""
    if ad.decided_by_staff is not None:
        staff = await staff_domain.get_staff(conn, ad.decided_by_staff)
        if staff is not None:
            return staff.name
    if ad.decided_by is None:
        return "?"
    user = await user_q.get_user(conn, ad.decided_by)
    return user.handle if user is not None else str(ad.decided_by)


async def settle_delivery(
    conn: Conn, ad_id: int, outbox_id: int, actor: StaffMember, *, resend: bool
) -> bool:
    """Staff checked an uncertain delivery about an ad: send it again, or it did arrive.
    False when it is no longer uncertain (someone decided first); audited."""
    await reads.story_for_staff(conn, ad_id, actor.staff)
    row = await outbox.get_delivery(conn, outbox_id)
    if row is None or row.ref_kind != notices.REF or row.ref_id != ad_id:
        raise DeliveryNotFound(N_("This delivery does not exist."))
    who = f"staff:{actor.staff.id} {actor.staff.username}"
    settle = outbox.resend_uncertain if resend else outbox.confirm_uncertain
    done = await settle(conn, outbox_id, who)
    if done:
        await staff_domain.audit(
            conn,
            actor.staff.id,
            "outbox.resend" if resend else "outbox.mark_delivered",
            f"outbox:{outbox_id}",
            {"status": row.status, "ad_id": ad_id},
            {"status": OutboxStatus.PENDING if resend else OutboxStatus.SENT},
        )
    return done


class DeliveryNotFound(AdError):
    """No such delivery about this ad."""


# --- the seller closes, or keeps, an ad -----------------------------------------------------


async def mark_sold(conn: Conn, ad_id: int, seller_id: int, msgs: AdMessages) -> bool:
    """Sold: never shown again, and its channel posts say so. False if it was not the seller's
    to close (no longer live, or someone else's)."""
    ad = await q.close_ad(conn, ad_id, AdStatus.SOLD, CLOSABLE, seller_id)
    if ad is None:
        return False
    await q.add_event(conn, ad_id, q.AdEventKind.SOLD, seller_id)
    await notices.mark_posts(conn, await notices.load_view(conn, ad_id), msgs, "sold")
    return True


async def withdraw(conn: Conn, ad_id: int, seller_id: int) -> bool:
    """Withdrawn by its seller: its channel posts are deleted."""
    ad = await q.close_ad(conn, ad_id, AdStatus.WITHDRAWN, CLOSABLE, seller_id)
    if ad is None:
        return False
    await q.add_event(conn, ad_id, q.AdEventKind.WITHDRAWN, seller_id)
    await notices.remove_posts(conn, ad_id)
    return True


async def still_selling(conn: Conn, ad_id: int, seller_id: int, now: datetime) -> bool:
    """The seller answered a check-in: the asks start again and the next one is scheduled."""
    ad = await q.renew_checkin(conn, ad_id, seller_id, now)
    if ad is not None:
        await q.add_event(conn, ad_id, q.AdEventKind.STILL_SELLING, seller_id)
    return ad is not None


# --- the schedule ----------------------------------------------------------------------------


async def run_checkins(conn: Conn, now: datetime, msgs: AdMessages, languages: Languages) -> int:
    """Ask every due seller "still selling?", or expire the ad after the channel's number of
    unanswered asks (its posts edited, the seller told). The claimed rows stay locked until the
    caller commits, so two processes never ask twice."""
    due = await q.claim_due_checkins(conn, now, CLAIM_BATCH)
    for item in due:
        ad = item.ad
        if ad.checkin_asks >= item.checkin_max_asks:
            await q.close_ad(conn, ad.id, AdStatus.EXPIRED, (AdStatus.PUBLISHED,), None)
            await q.add_event(conn, ad.id, q.AdEventKind.EXPIRED, None, {"asks": ad.checkin_asks})
            await notices.tell_expired(conn, await notices.load_view(conn, ad.id), msgs, languages)
            continue
        asks = ad.checkin_asks + 1
        await q.set_checkin(conn, ad.id, asks=asks, next_at=now + item.checkin_every)
        await q.add_event(conn, ad.id, q.AdEventKind.CHECKIN_ASKED, None, {"ask": asks})
        await notices.ask_seller(conn, await notices.load_view(conn, ad.id), msgs, languages, asks)
    return len(due)


async def run_reposts(conn: Conn, now: datetime, rng: random.Random, msgs: AdMessages) -> int:
    """Fill every due re-post slot (the slot closes in this same transaction)."""
    chosen = await repost_due(conn, now, rng)
    for _channel_id, ad_id in chosen:
        await notices.repost(conn, ad_id, msgs)
    return len(chosen)


# --- paid promotion (app/domain/promotions) -----------------------------------------------------


async def repost_now(conn: Conn, ad_id: int, msgs: AdMessages) -> bool:
    """An extra re-post bought by the seller: only a published ad goes up; False otherwise."""
    ad = await q.get_ad(conn, ad_id)
    if ad is None or ad.status != AdStatus.PUBLISHED:
        return False
    await q.add_event(conn, ad_id, q.AdEventKind.PROMOTED_REPOST, None)
    await notices.repost(conn, ad_id, msgs)
    return True


async def live_post(conn: Conn, ad_id: int) -> tuple[int, int] | None:
    """The newest live copy of a published ad in its channel: (chat id, outbox row id), whose
    message id the outbox resolves ({"$message_id_of": row}); None when there is none."""
    ad = await q.get_ad(conn, ad_id)
    if ad is None or ad.status != AdStatus.PUBLISHED:
        return None
    posts = await q.live_messages(conn, ad_id, q.MessageKind.POST)
    return (posts[-1].chat_id, posts[-1].outbox_id) if posts else None
