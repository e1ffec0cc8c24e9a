"""/api/v1: the web chat's operations for programs (and the web front-end): me, conversations,
messages (keyset pages), send, mark read, my ads. The same domain functions as the pages and the bot."""

from __future__ import annotations

from aiohttp import web

from app.db.queries.chat import ChatMessage, Via
from app.db.queries.chat_accounts import ChatAccount
from app.domain import ads
from app.domain.ads.model import Price
from app.domain.chat import conversations
from app.web import keys
from app.web.api import models
from app.web.api.registry import ApiError, ApiRoutes, Param, path_number, query_number
from app.web.chat.auth import gettext, language
from app.web.chat.services import chat_events, chat_messages

ROUTES = ApiRoutes()
NOT_FOUND = (401, 404)


def _message(m: ChatMessage) -> models.Message:
    return models.Message.model_validate(m.as_json())


@ROUTES.op("GET", "/me", name="api.me", summary="Who I am", response=models.Me, errors=(401,))
async def me(request: web.Request, account: ChatAccount) -> models.Me:
    async with request.app[keys.POOL].acquire() as conn:
        unread = await conversations.unread_total(conn, account.id)
    return models.Me(
        id=account.id,
        display_name=account.display_name,
        username=account.username,
        telegram_linked=account.telegram_user_id is not None,
        language=account.language,  # type: ignore[arg-type]  # the database allows only uz, ru, en
        unread=unread,
    )


@ROUTES.op(
    "GET",
    "/conversations",
    name="api.conversations",
    summary="My conversations, the latest first, with unread counts",
    response=models.ConversationList,
    query=(Param("q", {"type": "string", "maxLength": 100}, "Search in names, ad titles and messages."),),
    errors=(401,),
)
async def list_conversations(request: web.Request, account: ChatAccount) -> models.ConversationList:
    async with request.app[keys.POOL].acquire() as conn:
        lines = await conversations.conversations(conn, account.id, request.query.get("q"))
    return models.ConversationList(
        items=[
            models.ConversationItem(
                id=line.id,
                peer_name=line.peer_name,
                ad_id=line.ad_id,
                ad_title=line.ad_title,
                ad_status=line.ad_status.value if line.ad_status else None,
                last_message_id=line.last_message_id,
                last_message=line.last_body,
                last_at=line.last_at,
                unread=line.unread,
            )
            for line in lines
        ]
    )


@ROUTES.op(
    "GET",
    "/conversations/{id}",
    name="api.conversation",
    summary="One conversation: the other side, read marks, the ad",
    response=models.Conversation,
    errors=NOT_FOUND,
)
async def conversation(request: web.Request, account: ChatAccount) -> models.Conversation:
    _ = gettext(request)
    async with request.app[keys.POOL].acquire() as conn:
        card = await conversations.view(conn, account.id, path_number(request, "id"))
    ad = None
    if card.ad is not None:
        ad = models.AdCard(
            id=card.ad.id,
            title=card.ad.title,
            price=ads.format_price(
                Price(card.ad.price, card.ad.currency, card.ad.negotiable), _, language(request)
            ),
            status=card.ad.status.value,
            sold=conversations.is_sold(card.ad.status),
        )
    return models.Conversation(
        id=card.id,
        peer_name=card.peer_name,
        last_read_id=card.last_read_id,
        peer_read_id=card.peer_read_id,
        last_message_id=card.last_message_id,
        blocked=card.blocked_by_me or card.blocked_by_peer,
        ad=ad,
    )


@ROUTES.op(
    "GET",
    "/conversations/{id}/messages",
    name="api.messages",
    summary="Messages, a keyset page: the latest, older ones with `before`, newer ones with `after`",
    response=models.MessagePage,
    query=(
        Param("before", {"type": "integer", "minimum": 1}, "Messages older than this id."),
        Param("after", {"type": "integer", "minimum": 0}, "Messages newer than this id (catching up)."),
        Param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size."),
    ),
    errors=(401, 404, 422),
)
async def messages(request: web.Request, account: ChatAccount) -> models.MessagePage:
    conversation_id = path_number(request, "id")
    before, after = query_number(request, "before"), query_number(request, "after")
    limit = query_number(request, "limit", conversations.PAGE) or conversations.PAGE
    if before is not None and after is not None:
        raise ApiError(422, "invalid", "before, after: give one of them")
    async with request.app[keys.POOL].acquire() as conn:
        if after is not None:
            page = await conversations.newer(conn, account.id, conversation_id, after=after, limit=limit)
            older = None
        else:
            page = await conversations.history(conn, account.id, conversation_id, before=before, limit=limit)
            older = page[0].id if len(page) >= min(limit, conversations.MAX_PAGE) and page else None
    return models.MessagePage(items=[_message(m) for m in page], next_before=older)


@ROUTES.op(
    "POST",
    "/conversations/{id}/messages",
    name="api.send",
    summary="Send a text message (idempotent with a client_id)",
    response=models.Message,
    status=201,
    body=models.SendMessage,
    errors=(401, 403, 404, 422, 429),
)
async def send(request: web.Request, account: ChatAccount, body: models.SendMessage) -> models.Message:
    async with request.app[keys.POOL].acquire() as conn:  # send needs no transaction of ours
        sent = await conversations.send(
            conn,
            account,
            path_number(request, "id"),
            body=body.body,
            via=Via.API,
            client_id=body.client_id,
            msgs=chat_messages(request.app),
            languages=request.app[keys.RUNNING_SETTINGS].languages,
            events=chat_events(request.app),
        )
    return _message(sent.message)


@ROUTES.op(
    "POST",
    "/conversations/{id}/read",
    name="api.read",
    summary="Mark messages read up to an id (the other side sees the receipt)",
    response=models.ReadMark,
    body=models.MarkRead,
    errors=(401, 403, 404, 422),
)
async def mark_read(request: web.Request, account: ChatAccount, body: models.MarkRead) -> models.ReadMark:
    conversation_id = path_number(request, "id")
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        await conversations.mark_read(conn, account.id, conversation_id, body.upto)
        card = await conversations.view(conn, account.id, conversation_id)
    return models.ReadMark(last_read_id=card.last_read_id)


@ROUTES.op(
    "GET",
    "/ads/mine",
    name="api.my_ads",
    summary="My ads (with a linked Telegram)",
    response=models.MyAds,
    errors=(401,),
)
async def my_ads(request: web.Request, account: ChatAccount) -> models.MyAds:
    items: list[models.MyAd] = []
    if account.telegram_user_id is not None:
        async with request.app[keys.POOL].acquire() as conn:
            for line in await ads.sellers_ads(conn, account.telegram_user_id, page=0, size=100):
                ad = await ads.sellers_ad(conn, line.id, account.telegram_user_id)
                if ad is not None:
                    items.append(
                        models.MyAd(
                            id=ad.id,
                            title=ad.title,
                            status=ad.status.value,
                            shown_count=ad.shown_count,
                            closable=ad.status in ads.CLOSABLE,
                        )
                    )
    return models.MyAds(items=items[:100])
