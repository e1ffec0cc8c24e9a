"""The promotion job: pins come down after 24 hours, extra re-posts go up when due, and a
promotion whose ad closed before it ran is refunded once (after it partly ran: cancelled)."""

from __future__ import annotations

from datetime import datetime

from app.db import Conn
from app.db.queries import promotions as q
from app.db.queries.promotions import PromotionKind, PromotionStatus
from app.domain import ads
from app.domain.outbox import MESSAGE_ID_OF, enqueue
from app.domain.promotions.buying import refund
from app.domain.promotions.model import REF, REPOST_EVERY, PromotionMessages
from app.domain.users import Languages

BATCH = 200


async def run_due(
    conn: Conn, now: datetime, *, msgs: PromotionMessages, ad_messages: ads.AdMessages, languages: Languages
) -> int:
    """One tick, in the caller's transaction (the claimed rows stay locked until it commits)."""
    handled = 0
    for promotion in await q.due(conn, now, BATCH):
        handled += 1
        live = await ads.published_ad(conn, promotion.ad_id) is not None
        if promotion.kind == PromotionKind.PIN:
            if promotion.pin_chat_id is not None and promotion.pin_outbox_id is not None:
                await enqueue(
                    conn,
                    "unpinChatMessage",
                    {
                        "chat_id": promotion.pin_chat_id,
                        "message_id": {MESSAGE_ID_OF: promotion.pin_outbox_id},
                    },
                    chat_id=promotion.pin_chat_id,
                    ref_kind=REF,
                    ref_id=promotion.id,
                )
            await q.finish(conn, promotion.id, PromotionStatus.DONE)
            continue
        if not live:
            if promotion.reposts_done == 0:
                await refund(
                    conn, promotion, "the ad closed before its re-posts", now, msgs=msgs, languages=languages
                )
            else:
                await q.finish(conn, promotion.id, PromotionStatus.CANCELLED)
            continue
        if promotion.next_run_at is not None and promotion.next_run_at <= now:
            await ads.repost_now(conn, promotion.ad_id, ad_messages)
            left = (promotion.reposts_left or 1) - 1
            await q.reposted(conn, promotion.id, now + REPOST_EVERY if left > 0 else None)
    return handled
