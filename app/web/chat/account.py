"""The account page (E4): my ads (sold / withdraw, the bot's own domain functions), my
conversations, linked Telegram, language, API tokens, signing out everywhere."""

from __future__ import annotations

from aiohttp import web

from app.domain import ads, ledger
from app.domain.chat import accounts, conversations
from app.domain.chat.accounts import AccountError
from app.i18n import LANGUAGE_NAMES
from app.web import keys
from app.web.chat.auth import ACCOUNT, CHAT_PREFIX, gettext, render, signed_in
from app.web.chat.services import chat_events
from app.web.forms import path_id, read_form

routes = web.RouteTableDef()
ACCOUNT_PATH = CHAT_PREFIX + "/account"
ADS_SHOWN = 20


async def _page(
    request: web.Request, *, new_token: str | None = None, error: str | None = None, status: int = 200
) -> web.Response:
    _ = gettext(request)
    account = request[ACCOUNT]
    my_ads = []
    balances = None
    async with request.app[keys.POOL].acquire() as conn:
        if account.telegram_user_id is not None:  # points and Stars live on the Telegram user
            balances = (
                await ledger.balance(conn, account.telegram_user_id, ledger.Currency.POINTS),
                await ledger.balance(conn, account.telegram_user_id, ledger.Currency.XTR),
            )
            for line in await ads.sellers_ads(conn, account.telegram_user_id, page=0, size=ADS_SHOWN):
                ad = await ads.sellers_ad(conn, line.id, account.telegram_user_id)
                if ad is not None:
                    my_ads.append((ad, ads.status_label(ad.status, _), ad.status in ads.CLOSABLE))
        tokens = await accounts.api_tokens(conn, account.id)
        lines = await conversations.conversations(conn, account.id)
        unread = await conversations.unread_total(conn, account.id)
    context = {
        "my_ads": my_ads[:ADS_SHOWN],
        "balances": balances,
        "tokens": tokens,
        "conversation_count": len(lines),
        "unread": unread,
        "new_token": new_token,
        "error": error,
        "done": request.query.get("done", ""),
        "language_names": LANGUAGE_NAMES,
    }
    return await render(request, "chat/account.html", context, status=status)


@routes.get(ACCOUNT_PATH, name="chat.account")
@signed_in
async def account_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post(ACCOUNT_PATH + "/language", name="chat.account_language")
@signed_in
async def choose_language(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await read_form(request)
    try:
        async with request.app[keys.POOL].acquire() as conn:
            await accounts.set_language(conn, request[ACCOUNT].id, str(form.get("language", "")))
    except AccountError as exc:
        return await _page(request, error=exc.text(_), status=400)
    raise web.HTTPSeeOther(ACCOUNT_PATH)


@routes.post(ACCOUNT_PATH + "/ads/{ad_id}/{action:sold|withdraw}", name="chat.account_ad")
@signed_in
async def close_ad(request: web.Request) -> web.StreamResponse:
    """Sold or withdrawn from the web: the same domain functions as the bot's buttons."""
    _ = gettext(request)
    ad_id = path_id(request, "ad_id", _("This ad cannot be changed any more."))
    seller = request[ACCOUNT].telegram_user_id
    msgs = request.app[keys.BOT_PARTS].ad_messages
    if seller is None or msgs is None:
        return await _page(request, error=_("This ad cannot be changed any more."), status=400)
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        if request.match_info["action"] == "sold":
            done = await ads.mark_sold(conn, ad_id, seller, msgs)
        else:
            done = await ads.withdraw(conn, ad_id, seller)
    if not done:
        return await _page(request, error=_("This ad cannot be changed any more."), status=400)
    raise web.HTTPSeeOther(f"{ACCOUNT_PATH}?done={request.match_info['action']}")


@routes.post(ACCOUNT_PATH + "/tokens", name="chat.token_create")
@signed_in
async def create_token(request: web.Request) -> web.StreamResponse:
    """A personal API token, shown on this page once."""
    _ = gettext(request)
    form = await read_form(request)
    try:
        async with request.app[keys.POOL].acquire() as conn:
            _token, secret = await accounts.create_api_token(
                conn, request[ACCOUNT].id, str(form.get("name", ""))[:200]
            )
    except AccountError as exc:
        return await _page(request, error=exc.text(_), status=400)
    return await _page(request, new_token=secret)


@routes.post(ACCOUNT_PATH + "/tokens/{id}/revoke", name="chat.token_revoke")
@signed_in
async def revoke_token(request: web.Request) -> web.StreamResponse:
    token_id = path_id(request, "id", "not found")
    async with request.app[keys.POOL].acquire() as conn:
        await accounts.revoke_api_token(conn, request[ACCOUNT].id, token_id, chat_events(request.app))
    raise web.HTTPSeeOther(ACCOUNT_PATH)
