"""Queries on paid promotion: the options per channel, purchases and the job's due work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.db import Conn
from app.db.records import from_row, from_rows, maybe


class PromotionKind(StrEnum):
    PIN = "pin"  # pinned in the channel for 24 hours
    REPOSTS = "reposts"  # N extra re-posts over the next days


class PromotionStatus(StrEnum):
    INVOICED = "invoiced"  # the invoice is sent; not paid yet
    RUNNING = "running"  # paid: pinned, or re-posts to come
    DONE = "done"
    REFUNDED = "refunded"  # it could not run: the payment went back
    CANCELLED = "cancelled"  # the ad closed after it had partly run, or the invoice was dropped


@dataclass(frozen=True, slots=True)
class Option:
    id: int
    channel_id: int
    kind: PromotionKind
    reposts: int | None
    price_stars: int
    price_points: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class Promotion:
    id: int
    ad_id: int
    option_id: int
    seller_id: int
    kind: PromotionKind
    reposts: int | None
    currency: str
    price: int
    status: PromotionStatus
    charge_id: str | None
    created_at: datetime
    paid_at: datetime | None
    pinned_until: datetime | None
    pin_chat_id: int | None
    pin_outbox_id: int | None
    reposts_left: int | None
    reposts_done: int
    next_run_at: datetime | None
    refunded_at: datetime | None
    refund_reason: str | None


OPTION_COLUMNS = "id, channel_id, kind, reposts, price_stars, price_points, active"
COLUMNS = """id, ad_id, option_id, seller_id, kind, reposts, currency, price, status, charge_id,
    created_at, paid_at, pinned_until, pin_chat_id, pin_outbox_id, reposts_left, reposts_done,
    next_run_at, refunded_at, refund_reason"""


async def channel_options(conn: Conn, channel_id: int, *, active_only: bool) -> list[Option]:
    rows = await conn.fetch(
        f"""SELECT {OPTION_COLUMNS} FROM promotion_options
             WHERE channel_id = $1 AND (active OR NOT $2) ORDER BY kind, reposts NULLS FIRST""",
        channel_id,
        active_only,
    )
    return from_rows(Option, rows)


BIGINT = range(1, 2**63)  # ids from buttons may be forged: beyond a bigint is "no such row"


async def get_option(conn: Conn, option_id: int) -> Option | None:
    if option_id not in BIGINT:
        return None
    row = await conn.fetchrow(f"SELECT {OPTION_COLUMNS} FROM promotion_options WHERE id = $1", option_id)
    return maybe(Option, row)


async def upsert_option(
    conn: Conn,
    channel_id: int,
    kind: PromotionKind,
    reposts: int | None,
    price_stars: int,
    price_points: int | None,
    active: bool,
) -> Option:
    row = await conn.fetchrow(
        f"""INSERT INTO promotion_options (channel_id, kind, reposts, price_stars, price_points, active)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (channel_id, kind, coalesce(reposts, 0)) DO UPDATE
               SET price_stars = excluded.price_stars, price_points = excluded.price_points,
                   active = excluded.active
            RETURNING {OPTION_COLUMNS}""",
        channel_id,
        kind.value,
        reposts,
        price_stars,
        price_points,
        active,
    )
    return from_row(Option, row)


async def accepts_points(conn: Conn, channel_id: int) -> bool:
    value = await conn.fetchval(
        "SELECT accept_points FROM promotion_channel_settings WHERE channel_id = $1", channel_id
    )
    return bool(value)


async def set_accepts_points(conn: Conn, channel_id: int, accept: bool) -> None:
    await conn.execute(
        """INSERT INTO promotion_channel_settings (channel_id, accept_points) VALUES ($1, $2)
           ON CONFLICT (channel_id) DO UPDATE
              SET accept_points = excluded.accept_points, updated_at = now()""",
        channel_id,
        accept,
    )


async def insert_promotion(
    conn: Conn, ad_id: int, option: Option, seller_id: int, currency: str, price: int
) -> Promotion:
    row = await conn.fetchrow(
        f"""INSERT INTO promotions (ad_id, option_id, seller_id, kind, reposts, currency, price)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}""",
        ad_id,
        option.id,
        seller_id,
        option.kind.value,
        option.reposts,
        currency,
        price,
    )
    return from_row(Promotion, row)


async def get_promotion(conn: Conn, promotion_id: int) -> Promotion | None:
    if promotion_id not in BIGINT:
        return None
    return maybe(
        Promotion, await conn.fetchrow(f"SELECT {COLUMNS} FROM promotions WHERE id = $1", promotion_id)
    )


async def by_charge(conn: Conn, charge_id: str) -> Promotion | None:
    return maybe(
        Promotion, await conn.fetchrow(f"SELECT {COLUMNS} FROM promotions WHERE charge_id = $1", charge_id)
    )


async def mark_paid(conn: Conn, promotion_id: int, charge_id: str | None, now: datetime) -> Promotion | None:
    """The first payment wins: only an invoiced promotion becomes running; None otherwise."""
    row = await conn.fetchrow(
        f"""UPDATE promotions SET status = 'running', charge_id = $2, paid_at = $3
             WHERE id = $1 AND status = 'invoiced'
            RETURNING {COLUMNS}""",
        promotion_id,
        charge_id,
        now,
    )
    return maybe(Promotion, row)


async def record_charge(conn: Conn, promotion_id: int, charge_id: str, now: datetime) -> Promotion | None:
    """A payment for a promotion no longer invoiced (cancelled): keep its charge id for the
    refund. None when the charge is already recorded."""
    row = await conn.fetchrow(
        f"""UPDATE promotions SET charge_id = $2, paid_at = coalesce(paid_at, $3)
             WHERE id = $1 AND charge_id IS NULL
            RETURNING {COLUMNS}""",
        promotion_id,
        charge_id,
        now,
    )
    return maybe(Promotion, row)


async def start_pin(conn: Conn, promotion_id: int, chat_id: int, outbox_id: int, until: datetime) -> None:
    await conn.execute(
        """UPDATE promotions SET pin_chat_id = $2, pin_outbox_id = $3, pinned_until = $4, next_run_at = $4
            WHERE id = $1""",
        promotion_id,
        chat_id,
        outbox_id,
        until,
    )


async def start_reposts(conn: Conn, promotion_id: int, count: int, first_at: datetime) -> None:
    await conn.execute(
        "UPDATE promotions SET reposts_left = $2, next_run_at = $3 WHERE id = $1",
        promotion_id,
        count,
        first_at,
    )


async def due(conn: Conn, now: datetime, limit: int) -> list[Promotion]:
    """Running promotions whose next step is due, and those of ads no longer published (to be
    refunded or cancelled at once); locked so two processes never run one twice."""
    rows = await conn.fetch(
        f"""SELECT {", ".join("p." + c.strip() for c in COLUMNS.split(","))} FROM promotions p
             JOIN ads a ON a.id = p.ad_id
            WHERE p.status = 'running' AND (p.next_run_at <= $1 OR a.status <> 'published')
            ORDER BY p.next_run_at NULLS FIRST LIMIT $2
              FOR UPDATE OF p SKIP LOCKED""",
        now,
        limit,
    )
    return from_rows(Promotion, rows)


async def finish(conn: Conn, promotion_id: int, status: PromotionStatus) -> None:
    await conn.execute(
        "UPDATE promotions SET status = $2, next_run_at = NULL WHERE id = $1 AND status = 'running'",
        promotion_id,
        status.value,
    )


async def reposted(conn: Conn, promotion_id: int, next_at: datetime | None) -> None:
    await conn.execute(
        """UPDATE promotions SET reposts_done = reposts_done + 1, reposts_left = reposts_left - 1,
                  next_run_at = $2, status = CASE WHEN reposts_left - 1 = 0 THEN 'done' ELSE status END
            WHERE id = $1""",
        promotion_id,
        next_at,
    )


async def mark_refunded(conn: Conn, promotion_id: int, reason: str, now: datetime) -> Promotion | None:
    """Once: None when it was refunded before (or is not paid)."""
    row = await conn.fetchrow(
        f"""UPDATE promotions
               SET status = 'refunded', refunded_at = $3, refund_reason = $2, next_run_at = NULL
             WHERE id = $1 AND status IN ('running', 'cancelled', 'invoiced') AND paid_at IS NOT NULL
            RETURNING {COLUMNS}""",
        promotion_id,
        reason,
        now,
    )
    return maybe(Promotion, row)


async def ad_promotions(conn: Conn, ad_id: int) -> list[Promotion]:
    return from_rows(
        Promotion, await conn.fetch(f"SELECT {COLUMNS} FROM promotions WHERE ad_id = $1 ORDER BY id", ad_id)
    )
