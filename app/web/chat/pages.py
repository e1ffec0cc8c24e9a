"""The web chat's pages: the conversation list (with search), a conversation, photos, block, report."""

from __future__ import annotations

from aiohttp import web

from app.db.queries.chat import ChatMessage, Via
from app.domain.ads import format_price, published_ad
from app.domain.ads.model import Price
from app.domain.chat import conversations, notices, photos
from app.domain.chat.conversations import ChatError, ConversationNotFound
from app.storage import NotFound
from app.web import keys
from app.web.chat.auth import ACCOUNT, CHAT_PREFIX, gettext, language, render, signed_in
from app.web.chat.services import chat_events, chat_messages
from app.web.forms import FORM_LIMIT, body_limit, path_id, read_form, read_upload, whole_number

routes = web.RouteTableDef()


def _not_found(request: web.Request) -> web.HTTPNotFound:
    _ = gettext(request)
    return web.HTTPNotFound(text=_("This conversation does not exist."))


def message_json(message: ChatMessage) -> dict[str, object]:
    return message.as_json()


@routes.get(CHAT_PREFIX, name="chat.home")
@signed_in
async def home(request: web.Request) -> web.StreamResponse:
    search = request.query.get("q", "")[:100]
    account = request[ACCOUNT]
    async with request.app[keys.POOL].acquire() as conn:
        lines = await conversations.conversations(conn, account.id, search or None)
    return await render(request, "chat/home.html", {"conversations": lines, "q": search})


@routes.get(CHAT_PREFIX + "/ads/{ad_id}", name="chat.ad")
@signed_in
async def ad_page(request: web.Request) -> web.StreamResponse:
    """An ad with a "Write to the seller" button (the conversation starts when it is pressed)."""
    _ = gettext(request)
    ad_id = path_id(request, "ad_id", _("This ad is no longer available."))
    async with request.app[keys.POOL].acquire() as conn:
        ad = await published_ad(conn, ad_id)
    if ad is None:
        raise web.HTTPNotFound(text=_("This ad is no longer available."))
    price = format_price(Price(ad.price, ad.currency, ad.negotiable), _, language(request))
    return await render(request, "chat/ad.html", {"ad": ad, "price": price})


@routes.post(CHAT_PREFIX + "/ads/{ad_id}/write", name="chat.write_about_ad")
@signed_in
async def write_about_ad(request: web.Request) -> web.StreamResponse:
    """Start (or reopen) the conversation with the seller of an ad."""
    _ = gettext(request)
    ad_id = path_id(request, "ad_id", _("This ad is no longer available."))
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            conversation = await conversations.start_about_ad(conn, request[ACCOUNT], ad_id)
    except ChatError as exc:
        return await render(request, "chat/error.html", {"message": exc.text(_), "status": 400}, status=400)
    raise web.HTTPSeeOther(f"{CHAT_PREFIX}/c/{conversation.id}")


@routes.get(CHAT_PREFIX + "/c/{id}", name="chat.conversation")
@signed_in
async def conversation_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    conversation_id = path_id(request, "id", _("This conversation does not exist."))
    account = request[ACCOUNT]
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            card = await conversations.view(conn, account.id, conversation_id)
            # Reading on the web: from now on messages reach Telegram only as notices when away.
            await conversations.set_relay(conn, account.id, conversation_id, False)
            # Read before the history: every message up to it is in the page (or older than it).
            latest = await conversations.latest_id(conn, account.id)
            history = await conversations.history(conn, account.id, conversation_id, before=None)
            peer_online = await notices.is_online(conn, card.peer_id, None)
    except ConversationNotFound:
        raise _not_found(request) from None
    price = None
    if card.ad is not None:
        price = format_price(Price(card.ad.price, card.ad.currency, card.ad.negotiable), _, language(request))
    context = {
        "card": card,
        "messages": history,
        "price": price,
        "more": len(history) >= conversations.PAGE,
        "sold": card.ad is not None and conversations.is_sold(card.ad.status),
        "reported": request.query.get("reported") == "1",
        "max_text": conversations.MAX_TEXT,
        "peer_online": peer_online,
        "latest": latest,
    }
    return await render(request, "chat/conversation.html", context)


@routes.get(CHAT_PREFIX + "/c/{id}/history", name="chat.history")
@signed_in
async def history(request: web.Request) -> web.StreamResponse:
    """Older messages for the page's scroll (keyset: before the oldest it shows)."""
    conversation_id = path_id(request, "id", "not found")
    before = whole_number(request.query.get("before", ""), 18)
    try:
        async with request.app[keys.POOL].acquire() as conn:
            page = await conversations.history(conn, request[ACCOUNT].id, conversation_id, before=before)
    except ConversationNotFound:
        raise _not_found(request) from None
    return web.json_response(
        {"messages": [message_json(m) for m in page], "more": len(page) >= conversations.PAGE}
    )


@routes.post(CHAT_PREFIX + "/c/{id}/send", name="chat.send")
@signed_in
@body_limit(photos.MAX_BYTES + FORM_LIMIT)  # a photo (the view names its limit) and the text
async def send(request: web.Request) -> web.StreamResponse:
    """A message from the page's form: text and/or a photo (multipart); JSON back for scripts."""
    _ = gettext(request)
    conversation_id = path_id(request, "id", _("This conversation does not exist."))
    form = await read_upload(request)
    body = form.get("body")
    client_id = form.get("client_id")
    upload = form.get("photo")
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        photo_key = None
        if isinstance(upload, web.FileField):
            data = upload.file.read(photos.MAX_BYTES + 1)
            if data:
                photo_key = await photos.store(request.app[keys.STORAGE], data)
        async with request.app[keys.POOL].acquire() as conn:  # send needs no transaction of ours
            sent = await conversations.send(
                conn,
                request[ACCOUNT],
                conversation_id,
                body=body if isinstance(body, str) else "",
                photo_key=photo_key,
                via=Via.WEB,
                client_id=client_id if isinstance(client_id, str) else None,
                msgs=chat_messages(request.app),
                languages=request.app[keys.RUNNING_SETTINGS].languages,
                events=chat_events(request.app),
            )
    except ConversationNotFound:
        raise _not_found(request) from None
    except ChatError as exc:
        if wants_json:
            return web.json_response({"error": {"code": "refused", "message": exc.text(_)}}, status=400)
        return await render(request, "chat/error.html", {"message": exc.text(_), "status": 400}, status=400)
    if wants_json:
        return web.json_response({"message": message_json(sent.message)})
    raise web.HTTPSeeOther(f"{CHAT_PREFIX}/c/{conversation_id}")


@routes.post(CHAT_PREFIX + "/c/{id}/block", name="chat.block")
@signed_in
async def block(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    conversation_id = path_id(request, "id", _("This conversation does not exist."))
    form = await read_form(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await conversations.block(
                conn, request[ACCOUNT].id, conversation_id, form.get("action") != "unblock"
            )
    except ConversationNotFound:
        raise _not_found(request) from None
    raise web.HTTPSeeOther(f"{CHAT_PREFIX}/c/{conversation_id}")


@routes.post(CHAT_PREFIX + "/c/{id}/report", name="chat.report")
@signed_in
async def report(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    conversation_id = path_id(request, "id", _("This conversation does not exist."))
    form = await read_form(request)
    reason = form.get("reason")
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await conversations.report(
                conn, request[ACCOUNT].id, conversation_id, reason if isinstance(reason, str) else ""
            )
    except ConversationNotFound:
        raise _not_found(request) from None
    except ChatError as exc:
        return await render(request, "chat/error.html", {"message": exc.text(_), "status": 400}, status=400)
    raise web.HTTPSeeOther(f"{CHAT_PREFIX}/c/{conversation_id}?reported=1")


@routes.get(CHAT_PREFIX + "/photos/{message_id}", name="chat.photo")
@signed_in
async def photo(request: web.Request) -> web.StreamResponse:
    """A message's photo, to the members of its conversation only."""
    message_id = path_id(request, "message_id", "not found")
    try:
        async with request.app[keys.POOL].acquire() as conn:
            key = await conversations.photo_key(conn, request[ACCOUNT].id, message_id)
        stored = await request.app[keys.STORAGE].get(key)
    except (ConversationNotFound, NotFound):
        raise web.HTTPNotFound() from None
    return web.Response(
        body=stored.data,
        content_type=stored.content_type,
        headers={"Cache-Control": "private, max-age=86400"},
    )
