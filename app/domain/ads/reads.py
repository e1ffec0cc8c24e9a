"""What bot and panel show of ads: a seller's own ads, a draft to edit, a public ad, an ad's page."""

from __future__ import annotations

from app.db import Conn
from app.db.queries import ads as q
from app.db.queries import channels as channel_q
from app.db.queries import panel_ads as panel_q
from app.db.queries.ads import Ad, AdStatus, SellerAd
from app.db.queries.panel_ads import AdStory
from app.domain import staff as staff_domain
from app.domain.ads.model import EDITABLE, AdError, AdNotFound, Draft, NotAllowed
from app.domain.staff import Staff
from app.i18n import N_


async def sellers_ads(conn: Conn, seller_id: int, *, page: int, size: int) -> list[SellerAd]:
    """One page of the seller's ads, newest first, plus one more if there is a next page."""
    return await q.seller_ads(conn, seller_id, offset=page * size, limit=size + 1)


async def sellers_ad(conn: Conn, ad_id: int, seller_id: int) -> Ad | None:
    """The ad if it is this seller's (to anyone else it does not exist)."""
    ad = await q.get_ad(conn, ad_id)
    return ad if ad is not None and ad.seller_id == seller_id else None


async def draft_to_edit(conn: Conn, ad_id: int, seller_id: int) -> Draft:
    """The seller's ad as a draft for the wizard, if it may still be changed."""
    ad = await sellers_ad(conn, ad_id, seller_id)
    if ad is None or ad.status not in EDITABLE:
        raise AdError(N_("This ad cannot be changed any more."))
    return Draft.of(ad, await q.list_photos(conn, ad_id))


async def published_ad(conn: Conn, ad_id: int) -> Ad | None:
    """An ad anyone may see: published in its channel."""
    ad = await q.get_ad(conn, ad_id)
    return ad if ad is not None and ad.status == AdStatus.PUBLISHED else None


async def rejection_reason(conn: Conn, ad: Ad, language: str) -> str | None:
    """Why the ad was rejected, in the reader's language when it was a canned reason."""
    if ad.reject_reason_id is not None:
        canned = await channel_q.get_reason(conn, ad.reject_reason_id)
        if canned is not None:
            return canned.text(language)
    return ad.reject_reason


async def canned_reason_text(conn: Conn, reason_id: int, language: str) -> str | None:
    """A canned reason in the reader's language (None once the channel deleted it)."""
    canned = await channel_q.get_reason(conn, reason_id)
    return canned.text(language) if canned is not None else None


async def story_for_staff(conn: Conn, ad_id: int, staff: Staff) -> AdStory:
    """An ad's page for staff: AdNotFound when it does not exist, NotAllowed when it is in a
    channel they do not moderate."""
    story = await panel_q.story(conn, ad_id)
    if story is None:
        raise AdNotFound()
    if not await staff_domain.can_moderate(conn, staff, story.ad.channel_id):
        raise NotAllowed(N_("This ad is in a channel you do not moderate."))
    return story
