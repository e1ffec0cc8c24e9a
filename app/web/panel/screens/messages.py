"""Messages screen (admins, operators): every message to and from the bot and every button press
(PRODUCT S5), searched by words in any script, user, dates, direction and kind; keyset pages."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from app.domain import record as record_domain
from app.domain import users as users_domain
from app.domain.record import Cursor, Direction, Kind, MessageQuery, RecordError
from app.domain.staff import Role
from app.i18n import N_
from app.web import keys
from app.web.forms import BadFilter, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()

MAX_TEXT = 200
BAD_FILTER = N_(
    "Filters: dates look like 2026-01-31; words and the user are plain text of at most 200 characters."
)
FIELDS = ("q", "user", "from", "to", "direction", "kind", "before")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

DIRECTIONS = {Direction.IN: N_("From users"), Direction.OUT: N_("From the bot")}
KINDS = {
    Kind.TEXT: N_("Text"),
    Kind.COMMAND: N_("Command"),
    Kind.BUTTON: N_("Button press"),
    Kind.EDIT: N_("Edit"),
    Kind.PHOTO: N_("Photo"),
    Kind.ALBUM: N_("Album"),
    Kind.VIDEO: N_("Video"),
    Kind.ANIMATION: N_("Animation"),
    Kind.DOCUMENT: N_("Document"),
    Kind.AUDIO: N_("Audio"),
    Kind.VOICE: N_("Voice message"),
    Kind.VIDEO_NOTE: N_("Video message"),
    Kind.STICKER: N_("Sticker"),
    Kind.CONTACT: N_("Contact"),
    Kind.LOCATION: N_("Location"),
    Kind.POLL: N_("Poll"),
    Kind.INVOICE: N_("Invoice"),
    Kind.PAYMENT: N_("Payment"),
    Kind.COPY: N_("Copied message"),
    Kind.OTHER: N_("Other"),
}


def _text(value: str) -> str:
    if len(value) > MAX_TEXT or not value.isprintable():  # PostgreSQL text cannot hold NUL
        raise BadFilter(BAD_FILTER)
    return value


def _date(value: str, *, end: bool = False) -> dt.datetime | None:
    """The start of a UTC day; with end=True the start of the next one ("to" includes its day)."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end else 0)
    except (ValueError, OverflowError):
        raise BadFilter(BAD_FILTER) from None
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _cursor(value: str) -> Cursor | None:
    """`before` is "<microseconds since 1970>_<id>" of the last message of the previous page."""
    if not value:
        return None
    micros, _, ident = value.partition("_")
    at, message_id = whole_number(micros, 17), whole_number(ident, 18)
    if at is None or message_id is None:
        raise BadFilter(BAD_FILTER)
    return Cursor(EPOCH + dt.timedelta(microseconds=at), message_id)


def cursor_value(cursor: Cursor) -> str:
    return f"{(cursor.at - EPOCH) // dt.timedelta(microseconds=1)}_{cursor.id}"


def _query(f: dict[str, str]) -> MessageQuery:
    direction = Direction(f["direction"]) if f["direction"] in set(Direction) else None
    kind = Kind(f["kind"]) if f["kind"] in set(Kind) else None
    return MessageQuery(
        words=_text(f["q"]),
        user=_text(f["user"]),
        since=_date(f["from"]),
        until=_date(f["to"], end=True),
        direction=direction,
        kind=kind,
        before=_cursor(f["before"]),
    )


@ROUTES.get("/panel/messages", name="panel.messages")
@require(Role.OPERATOR)
async def messages_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    f = {k: request.query.get(k, "").strip() for k in FIELDS}
    context: dict[str, object] = {
        "f": f,
        "messages": [],
        "next_url": None,
        "directions": DIRECTIONS,
        "kinds": KINDS,
        "ticket_holders_only": users_domain.serves_only_ticket_holders(request[STAFF]),
    }
    try:
        query = _query(f)
        async with request.app[keys.POOL].acquire() as conn:
            page = await record_domain.find_messages(conn, request[STAFF], query)
    except BadFilter as exc:
        return await render(request, "panel/messages.html", context | {"error": _(str(exc))}, status=400)
    except RecordError as exc:
        return await render(request, "panel/messages.html", context | {"error": exc.text(_)}, status=400)
    next_url = None
    if page.next is not None:
        next_url = request.rel_url.update_query(before=cursor_value(page.next))
    return await render(
        request,
        "panel/messages.html",
        context | {"messages": page.messages, "next_url": next_url, "error": None},
    )
