"""Signing in to the web chat: password, Telegram through the bot, one-time links; signing out."""

from __future__ import annotations

from aiohttp import web

from app.domain.chat import accounts
from app.domain.chat.accounts import AccountError
from app.i18n import LANGUAGES
from app.web import keys
from app.web.chat.auth import (
    ACCOUNT,
    CHAT_PREFIX,
    SESSION_COOKIE,
    WAIT_COOKIE,
    current_account,
    gettext,
    language,
    render,
    safe_next,
    session_token,
    set_cookie,
    signed_in,
    start_session,
)
from app.web.chat.services import chat_events
from app.web.forms import read_form
from app.web.panel.auth.language import LANG_COOKIE
from app.web.panel.auth.sessions import client_address

routes = web.RouteTableDef()


async def bot_username(app: web.Application) -> str | None:
    """The bot's @username for deep links (None in a web-only app without a bot)."""
    bot = app.get(keys.BOT)
    if bot is not None:
        try:
            return (await bot.me()).username
        except Exception:  # Telegram unreachable right now: the page says sign-in is unavailable
            return None
    msgs = app[keys.BOT_PARTS].ad_messages
    name = getattr(msgs, "bot_username", None)
    return name if isinstance(name, str) else None


@routes.get(CHAT_PREFIX + "/lang/{code}", name="chat.language")
async def choose_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen language (a preference cookie); a signed-in account keeps its own
    choice on the account page."""
    code = request.match_info["code"]
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, httponly=True, samesite="Lax", path="/")
    raise response


@routes.get(CHAT_PREFIX + "/login", name="chat.login")
async def login_page(request: web.Request) -> web.StreamResponse:
    if await current_account(request) is not None:
        raise web.HTTPFound(safe_next(request.query.get("next")))
    return await render(request, "chat/login.html", {"next": safe_next(request.query.get("next"))})


@routes.post(CHAT_PREFIX + "/login", name="chat.login_submit")
async def login_submit(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await read_form(request)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[: accounts.MAX_PASSWORD]
    next_url = safe_next(str(form.get("next", "")))
    async with request.app[keys.POOL].acquire() as conn:
        outcome = await accounts.login(conn, username, password, client_address(request))
    if outcome.throttled_for is not None:
        minutes = max(1, -(-int(outcome.throttled_for.total_seconds()) // 60))
        error = _("Too many failed attempts. Try again in {minutes} min.").format(minutes=minutes)
        context = {"error": error, "username": username, "next": next_url}
        return await render(request, "chat/login.html", context, status=429)
    if outcome.account is None:
        context = {"error": _("Wrong username or password."), "username": username, "next": next_url}
        return await render(request, "chat/login.html", context, status=401)
    response = web.HTTPSeeOther(next_url)
    await start_session(request, response, outcome.account)
    raise response


@routes.get(CHAT_PREFIX + "/register", name="chat.register")
async def register_page(request: web.Request) -> web.StreamResponse:
    return await render(request, "chat/register.html", {"min_password": accounts.MIN_PASSWORD})


@routes.post(CHAT_PREFIX + "/register", name="chat.register_submit")
async def register_submit(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await read_form(request)
    fields = {name: str(form.get(name, ""))[: accounts.MAX_PASSWORD + 1] for name in ("password", "repeat")}
    username = str(form.get("username", ""))[:64]
    name = str(form.get("display_name", ""))[:200]
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            account = await accounts.register(
                conn, username, fields["password"], fields["repeat"], name, language(request)
            )
    except AccountError as exc:
        context = {
            "error": exc.text(_),
            "username": username,
            "display_name": name,
            "min_password": accounts.MIN_PASSWORD,
        }
        return await render(request, "chat/register.html", context, status=400)
    response = web.HTTPSeeOther(CHAT_PREFIX)
    await start_session(request, response, account)
    raise response


# --- with Telegram, through the bot ----------------------------------------------------------------


@routes.post(CHAT_PREFIX + "/login/telegram", name="chat.telegram_start")
async def telegram_start(request: web.Request) -> web.StreamResponse:
    """A one-time deep link into the bot; this browser keeps the request's private half."""
    form = await read_form(request)
    account = await current_account(request)  # signed in: link Telegram to this account
    next_url = safe_next(str(form.get("next", ""))) if account is None else CHAT_PREFIX + "/account"
    async with request.app[keys.POOL].acquire() as conn:
        waiting = await accounts.start_telegram_login(
            conn, account_id=account.id if account else None, next_path=next_url
        )
    response = web.HTTPSeeOther(f"{CHAT_PREFIX}/login/telegram/{waiting.token}")
    set_cookie(request, response, WAIT_COOKIE, waiting.waiter, accounts.REQUEST_TTL.total_seconds())
    raise response


@routes.get(CHAT_PREFIX + "/login/telegram/{token}", name="chat.telegram_wait")
async def telegram_wait(request: web.Request) -> web.StreamResponse:
    """The waiting page: the deep link (a button, and the link to copy) while it checks."""
    _ = gettext(request)
    await current_account(request)
    token = request.match_info["token"]
    async with request.app[keys.POOL].acquire() as conn:
        state = await accounts.request_state(conn, token[:100])
    username = await bot_username(request.app)
    if state is None or state.expired or state.used_at is not None or username is None:
        message = (
            _("Signing in with Telegram is not available right now.")
            if username is None
            else _("This sign-in link has expired or was already used. Open the sign-in page again.")
        )
        return await render(request, "chat/error.html", {"message": message, "status": 410}, status=410)
    deep_link = f"https://t.me/{username}?start=login_{token}"
    context = {"deep_link": deep_link, "token": token, "sandbox": request.app[keys.CONFIG].sandbox}
    return await render(request, "chat/telegram_wait.html", context)


@routes.post(CHAT_PREFIX + "/login/telegram/{token}/check", name="chat.telegram_check")
async def telegram_check(request: web.Request) -> web.StreamResponse:
    """The waiting page's poll: once the bot confirmed, this browser is signed in (once)."""
    waiter = request.cookies.get(WAIT_COOKIE, "")
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        used = await accounts.finish_telegram_login(conn, request.match_info["token"][:100], waiter[:100])
        signed = await accounts.account_of_request(conn, used) if used is not None else None
    if used is None:
        async with request.app[keys.POOL].acquire() as conn:
            state = await accounts.request_state(conn, request.match_info["token"][:100])
        gone = state is None or state.expired or state.used_at is not None
        return web.json_response({"state": "gone" if gone else "waiting"})
    response = web.json_response({"state": "done", "next": used.next_path})
    response.del_cookie(WAIT_COOKIE, path="/")
    if signed is not None:
        await start_session(request, response, signed)
    return response


@routes.get(CHAT_PREFIX + "/login/once/{token}", name="chat.login_once")
async def login_once_page(request: web.Request) -> web.StreamResponse:
    """A GET never uses the link (chat apps open links to preview them): a button does."""
    return await render(request, "chat/login_once.html", {"token": request.match_info["token"][:100]})


@routes.post(CHAT_PREFIX + "/login/once/{token}", name="chat.login_once_submit")
async def login_once_submit(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        found = await accounts.use_web_link(conn, request.match_info["token"][:100])
    if found is None:
        message = _("This sign-in link has expired or was already used. Ask the bot for a new one.")
        return await render(request, "chat/error.html", {"message": message, "status": 410}, status=410)
    account, next_path = found
    response = web.HTTPSeeOther(safe_next(next_path))
    old = session_token(request)
    if old is not None:
        async with request.app[keys.POOL].acquire() as conn:
            await accounts.sign_out(conn, old, chat_events(request.app))
    await start_session(request, response, account)
    raise response


# --- signing out ------------------------------------------------------------------------------------


@routes.post(CHAT_PREFIX + "/logout", name="chat.logout")
@signed_in
async def logout(request: web.Request) -> web.StreamResponse:
    token = session_token(request)
    if token is not None:
        async with request.app[keys.POOL].acquire() as conn:
            await accounts.sign_out(conn, token, chat_events(request.app))
    response = web.HTTPSeeOther(CHAT_PREFIX + "/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.post(CHAT_PREFIX + "/logout/everywhere", name="chat.logout_everywhere")
@signed_in
async def logout_everywhere(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        await accounts.sign_out_everywhere(conn, request[ACCOUNT].id, chat_events(request.app))
    response = web.HTTPSeeOther(CHAT_PREFIX + "/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
