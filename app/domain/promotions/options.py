"""What each channel sells: options and prices in Stars (and points), set by admins in the panel."""

from __future__ import annotations

from app.db import Conn
from app.db.queries import promotions as q
from app.db.queries.promotions import Option, PromotionKind
from app.domain import staff as staff_domain
from app.domain.promotions.model import PromotionError
from app.domain.staff import Role, Staff
from app.i18n import N_


async def channel_options(conn: Conn, channel_id: int) -> tuple[list[Option], bool]:
    """Every option of the channel (active or not) and whether it accepts points."""
    return await q.channel_options(conn, channel_id, active_only=False), await q.accepts_points(
        conn, channel_id
    )


async def save_option(
    conn: Conn,
    staff: Staff,
    channel_id: int,
    kind: PromotionKind,
    reposts: int | None,
    price_stars: int,
    price_points: int | None,
    active: bool,
) -> Option:
    """Add or change an option (one per kind and number of re-posts), audited."""
    if not staff.has_role(Role.ADMIN):
        raise PromotionError(N_("Only an administrator can set promotion prices."))
    if kind == PromotionKind.REPOSTS and (reposts is None or not 1 <= reposts <= 20):
        raise PromotionError(N_("Extra re-posts are 1 to 20."))
    if not 1 <= price_stars <= 100000:
        raise PromotionError(N_("The price in Stars is 1 to 100000."))
    if price_points is not None and not 1 <= price_points <= 100_000_000:
        raise PromotionError(N_("The price in points is a whole number above zero, or empty."))
    async with conn.transaction():
        option = await q.upsert_option(
            conn,
            channel_id,
            kind,
            reposts if kind == PromotionKind.REPOSTS else None,
            price_stars,
            price_points,
            active,
        )
        await staff_domain.audit(
            conn,
            staff.id,
            "promotion.option",
            f"channel:{channel_id}",
            None,
            {
                "kind": kind.value,
                "reposts": option.reposts,
                "stars": price_stars,
                "points": price_points,
                "active": active,
            },
        )
    return option


async def set_accepts_points(conn: Conn, staff: Staff, channel_id: int, accept: bool) -> None:
    if not staff.has_role(Role.ADMIN):
        raise PromotionError(N_("Only an administrator can set promotion prices."))
    async with conn.transaction():
        await q.set_accepts_points(conn, channel_id, accept)
        await staff_domain.audit(
            conn, staff.id, "promotion.points", f"channel:{channel_id}", None, {"accept_points": accept}
        )
