"""Panel security: encrypted session cookies, login/logout, CSRF, role checks, the route registry.

Every panel view declares who may see it with `@require(...)` (or `@public`) and registers in
`REGISTRY`, so tests can walk every route for every role. A middleware refuses any /panel
route that did not declare its access, and any state-changing request without the session's
CSRF token.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
import aiohttp_session
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from app import crypto
from app.config import Config
from app.domain import staff as staff_domain
from app.domain.staff import Role, Staff
from app.i18n import LANGUAGES, N_, Gettext, Translator
from app.web import keys
from app.web.errors import error_response, wants_json

SESSION_COOKIE = "bozor_session"
PANEL_PREFIX = "/panel"
LOGIN_PATH = "/panel/login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

PANEL_TRANSLATOR = web.AppKey("panel_translator", Translator)
STAFF = web.RequestKey("panel_staff", Staff)

ROLE_NAMES = {Role.ADMIN: N_("Administrator"), Role.MODERATOR: N_("Moderator"), Role.OPERATOR: N_("Operator")}

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


# Access declarations and the registry ------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who may open a view: public (no login), or staff with one of `roles` (admins always)."""

    public: bool = False
    roles: tuple[Role, ...] = ()  # empty and not public: any logged-in staff

    def allows(self, staff: Staff | None) -> bool:
        if self.public:
            return True
        return staff is not None and staff.has_role(*self.roles)


def require(*roles: Role | str) -> Callable[[View], View]:
    """Staff with one of `roles` (admins may do everything); no roles: any logged-in staff.

    Anonymous visitors are sent to the login page (API-style requests get 401 JSON);
    staff without the role get a friendly 403 page.
    """
    access = Access(roles=tuple(Role(role) for role in roles))

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def guarded(request: web.Request) -> web.StreamResponse:
            staff = await current_staff(request)
            if staff is None:
                raise login_redirect(request)
            if not access.allows(staff):
                _ = gettext(request)
                return await refusal(request, 403, _("Your role does not give access to this page."))
            request[STAFF] = staff
            return await view(request)

        guarded.__panel_access__ = access  # type: ignore[attr-defined]
        return guarded

    return decorate


def public(view: View) -> View:
    """A panel view anyone may open (the login pages)."""
    view.__panel_access__ = Access(public=True)  # type: ignore[attr-defined]
    return view


@dataclass(frozen=True)
class PanelRoute:
    method: str
    path: str
    handler: View
    name: str
    example: str  # a concrete URL of this route, for tests that walk the registry
    ok_status: int  # what an allowed request (without a body) answers

    @property
    def access(self) -> Access:
        return self.handler.__panel_access__  # type: ignore[attr-defined]


@dataclass
class PanelRegistry:
    """Every panel route with its declared access; screens add themselves with get()/post()."""

    routes: list[PanelRoute] = field(default_factory=list)

    def route(
        self, method: str, path: str, *, name: str, example: str | None = None, ok_status: int = 200
    ) -> Callable[[View], View]:
        if not path.startswith(PANEL_PREFIX):
            raise ValueError(f"panel routes live under {PANEL_PREFIX}: {path}")

        def add(view: View) -> View:
            if not isinstance(getattr(view, "__panel_access__", None), Access):
                raise TypeError(f"{path}: declare who may see it with @require(...) or @public")
            if any(r.name == name for r in self.routes):
                raise ValueError(f"panel route name {name!r} is used twice")
            self.routes.append(PanelRoute(method, path, view, name, example or path, ok_status))
            return view

        return add

    def get(self, path: str, **kwargs) -> Callable[[View], View]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Callable[[View], View]:
        return self.route("POST", path, **kwargs)

    def add_to(self, app: web.Application) -> None:
        for r in self.routes:
            app.router.add_route(r.method, r.path, r.handler, name=r.name)


REGISTRY = PanelRegistry()


# Sessions, the current staff member, language ------------------------------------------------


def session_storage(config: Config) -> EncryptedCookieStorage:
    """An encrypted (Fernet, key from SECRET_KEY by HKDF) HttpOnly SameSite=Lax cookie."""
    secure = bool(config.public_url and config.public_url.lower().startswith("https"))
    return EncryptedCookieStorage(
        crypto.session_fernet(config.secret_key),
        cookie_name=SESSION_COOKIE,
        httponly=True,
        samesite="Lax",
        secure=secure,
        path="/",
    )


async def current_staff(request: web.Request) -> Staff | None:
    """The logged-in, still active staff member of this request, or None."""
    if STAFF in request:
        return request[STAFF]
    session = await aiohttp_session.get_session(request)
    token = session.get("sid")
    if not isinstance(token, str):
        return None
    async with request.app[keys.POOL].acquire() as conn:
        staff = await staff_domain.session_staff(conn, token)
    if staff is not None:
        request[STAFF] = staff
    return staff


async def start_session(request: web.Request, staff: Staff) -> None:
    """A fresh session (new CSRF token) for someone who just proved who they are; the database
    keeps it, so logout ends it for good (a copied cookie stops working too)."""
    async with request.app[keys.POOL].acquire() as conn:
        token = await staff_domain.open_session(conn, staff, client_address(request))
    session = await aiohttp_session.new_session(request)
    session["sid"] = token
    session["csrf"] = crypto.new_token()
    request[STAFF] = staff


async def csrf_token(request: web.Request) -> str:
    """This session's CSRF token, made on first use (the login form needs one too)."""
    session = await aiohttp_session.get_session(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = crypto.new_token()
    return token


LANG_COOKIE = "bozor_lang"
LANGUAGE_NAMES = (("uz", "O‘zbekcha"), ("ru", "Русский"), ("en", "English"))

# The menu: (path, label, roles); an item shows to staff whose role opens its page.
NAV = (
    ("/panel", N_("Dashboard"), ()),
    ("/panel/moderation", N_("Moderation"), (Role.MODERATOR,)),
    ("/panel/ads", N_("Ads"), (Role.MODERATOR,)),
    ("/panel/users", N_("Users"), (Role.MODERATOR, Role.OPERATOR)),
    ("/panel/channels", N_("Channels"), (Role.ADMIN,)),
    ("/panel/staff", N_("Staff"), (Role.ADMIN,)),
    ("/panel/settings", N_("Settings"), (Role.ADMIN,)),
    ("/panel/audit", N_("Audit log"), (Role.ADMIN,)),
)


def nav_items(request: web.Request, staff: Staff | None, _: Gettext) -> list[dict]:
    if staff is None:
        return []
    paths = {r.path for r in REGISTRY.routes}
    items = []
    for path, label, roles in NAV:
        if path in paths and staff.has_role(*roles):
            active = request.path == path if path == PANEL_PREFIX else request.path.startswith(path)
            items.append({"url": path, "label": _(label), "active": active})
    return items


def language(request: web.Request) -> str:
    """The language chosen in the panel's footer, else the first of the browser's languages
    we speak, else the configured default."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    header = request.headers.get("Accept-Language", "")
    ranked = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.split("-")[0].lower()))
    for _q, _i, tag in sorted(ranked):
        if tag in LANGUAGES:
            return tag
    return request.app[keys.RUNNING_SETTINGS].languages.default  # as saved in the panel


def gettext(request: web.Request) -> Gettext:
    return request.app[PANEL_TRANSLATOR](language(request))


async def render(
    request: web.Request, template: str, context: dict | None = None, *, status: int = 200
) -> web.Response:
    """A panel page: the template gets `_`, `lang`, `csrf_token`, `staff` and `role_name`."""
    _ = gettext(request)
    staff = request.get(STAFF)
    values = {
        "_": _,
        "lang": language(request),
        "csrf_token": await csrf_token(request),
        "staff": staff,
        "role_name": _(ROLE_NAMES[staff.role]) if staff else None,
        "nav": nav_items(request, staff, _),
        "languages": LANGUAGE_NAMES,
    }
    values.update(context or {})
    response = aiohttp_jinja2.render_template(template, request, values, status=status)
    return response


async def refusal(
    request: web.Request,
    status: int,
    message: str,
    *,
    back: str = PANEL_PREFIX,
    back_label: str | None = None,
) -> web.Response:
    """A refused request: JSON for page scripts, else a panel page in the visitor's language
    with the reason and a way back (the menu shows too, for logged-in staff)."""
    if _is_api_style(request):
        return web.json_response({"error": message, "status": status}, status=status)
    _ = gettext(request)
    return await render(
        request,
        "panel/error.html",
        {"status": status, "message": message, "back": back, "back_label": back_label or _("Open the panel")},
        status=status,
    )


def came_from(request: web.Request) -> str:
    """The panel page (on this site) the visitor came from, else the panel's start page."""
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc != request.host:
        return PANEL_PREFIX
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return path if referer.path == LOGIN_PATH else safe_next(path)


def safe_next(value: str | None) -> str:
    """Only a path inside the panel: never another site (no open redirect)."""
    if (
        value
        and value.startswith(PANEL_PREFIX)
        and not value.startswith("//")
        and "\\" not in value
        and not value.startswith(LOGIN_PATH)
    ):
        return value
    return PANEL_PREFIX


def login_redirect(request: web.Request) -> web.HTTPException:
    if wants_json(request):
        _ = gettext(request)
        return web.HTTPUnauthorized(text=_("Please log in."))
    query = "?" + urlencode({"next": request.path_qs}) if request.method == "GET" else ""
    return web.HTTPFound(LOGIN_PATH + query)


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def client_address(request: web.Request) -> str:
    """The client's address: the peer's, or behind our nginx on this host (a loopback peer) the
    last X-Forwarded-For entry, which nginx itself appended ($proxy_add_x_forwarded_for)."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if peer in LOOPBACK and forwarded:
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return peer


# Middleware: deny undeclared panel routes, check CSRF, set security headers ---------------


def _is_api_style(request: web.Request) -> bool:
    return (
        wants_json(request)
        or request.content_type == "application/json"
        or CSRF_HEADER in request.headers
        or "X-Requested-With" in request.headers
    )


async def _csrf_ok(request: web.Request) -> bool:
    session = await aiohttp_session.get_session(request)
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and hmac.compare_digest(expected.encode(), given.encode())
    )


@web.middleware
async def panel_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path != PANEL_PREFIX and not request.path.startswith(PANEL_PREFIX + "/"):
        return await handler(request)
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            _secure(exc.headers)
            raise
        response = await _refused(request, exc)
    _secure(response.headers)
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    _ = gettext(request)
    match = request.match_info
    if match.http_exception is None and not isinstance(
        getattr(match.handler, "__panel_access__", None), Access
    ):
        return error_response(request, 403, _("This page has no access rule."))
    if request.method in UNSAFE_METHODS and not await _csrf_ok(request):
        await current_staff(request)  # the refusal page shows the staff member's menu
        return await refusal(
            request,
            403,
            _("This form has expired. Reload the page and try again."),
            back=came_from(request),
            back_label=_("Reload the page"),
        )
    return await handler(request)


async def _refused(request: web.Request, exc: web.HTTPException) -> web.Response:
    """A view's 4xx as a panel page in the visitor's language; aiohttp's stock texts (an
    unknown path, a wrong method) are replaced by ours."""
    _ = gettext(request)
    message = exc.text or ""
    if message in ("", exc.reason, f"{exc.status}: {exc.reason}"):
        message = (
            _("This page does not exist.") if exc.status == 404 else _("This request cannot be handled.")
        )
    await current_staff(request)  # the menu, for staff
    return await refusal(request, exc.status, message)


def _secure(headers: MutableMapping[str, str]) -> None:
    """Every panel answer, a refusal too: never cached, never framed, no foreign script."""
    headers.setdefault("Cache-Control", "no-store")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src * data:; frame-ancestors 'none'; form-action 'self'",
    )


def setup_auth(app: web.Application, config: Config) -> None:
    """Sessions, the panel guard and the translator; call once on the application."""
    aiohttp_session.setup(app, session_storage(config))
    app.middlewares.append(panel_guard)
    translator = app.get(keys.TRANSLATOR)
    app[PANEL_TRANSLATOR] = translator if translator is not None else Translator(config.default_language)


# Views: language, login, one-time link, logout ---------------------------------------------


@REGISTRY.get("/panel/lang/{code}", name="panel.language", example="/panel/lang/ru", ok_status=303)
@public
async def choose_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen language in a cookie (a preference, not a state change)."""
    code = request.match_info["code"]
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, httponly=True, samesite="Lax", path="/")
    raise response


@REGISTRY.get(LOGIN_PATH, name="panel.login")
@public
async def login_page(request: web.Request) -> web.StreamResponse:
    await current_staff(request)  # a logged-in visitor sees who they are and a link back
    return await render(request, "panel/login.html", {"next": safe_next(request.query.get("next"))})


@REGISTRY.post(LOGIN_PATH, name="panel.login_submit", ok_status=401)
@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await request.post()
    username = str(form.get("username", ""))[:200]
    password = str(form.get("password", ""))[:1000]
    next_url = safe_next(str(form.get("next", "")))
    async with request.app[keys.POOL].acquire() as conn:
        result = await staff_domain.login(conn, username, password, client_address(request))
    if result.throttled_for is not None:
        minutes = max(1, -(-int(result.throttled_for.total_seconds()) // 60))
        error = _("Too many failed attempts. Try again in {minutes} min.").format(minutes=minutes)
        return await render(
            request, "panel/login.html", {"error": error, "username": username, "next": next_url}, status=429
        )
    if result.staff is None:
        return await render(
            request,
            "panel/login.html",
            {"error": _("Wrong username or password."), "username": username, "next": next_url},
            status=401,
        )
    await start_session(request, result.staff)
    raise web.HTTPSeeOther(next_url)


@REGISTRY.get(
    "/panel/login/once/{token}",
    name="panel.login_once",
    example="/panel/login/once/not-a-real-token",
    ok_status=410,
)
@public
async def login_once_page(request: web.Request) -> web.StreamResponse:
    """A GET never uses the link (chat apps open links to preview them): a button does."""
    async with request.app[keys.POOL].acquire() as conn:
        valid = await staff_domain.link_is_valid(conn, request.match_info["token"])
    if not valid:
        return await _link_used(request)
    return await render(request, "panel/login_once.html", {"token": request.match_info["token"]})


@REGISTRY.post(
    "/panel/login/once/{token}",
    name="panel.login_once_submit",
    example="/panel/login/once/not-a-real-token",
    ok_status=410,
)
@public
async def login_once_submit(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        staff = await staff_domain.login_with_link(conn, request.match_info["token"], client_address(request))
    if staff is None:
        return await _link_used(request)
    await start_session(request, staff)
    raise web.HTTPSeeOther(PANEL_PREFIX)


async def _link_used(request: web.Request) -> web.Response:
    _ = gettext(request)
    return await render(
        request,
        "panel/login.html",
        {"error": _("This login link has expired or was already used."), "next": PANEL_PREFIX},
        status=410,
    )


@REGISTRY.post("/panel/logout", name="panel.logout", ok_status=303)
@require()
async def logout(request: web.Request) -> web.StreamResponse:
    session = await aiohttp_session.get_session(request)
    async with request.app[keys.POOL].acquire() as conn:
        await staff_domain.logout(conn, request[STAFF], client_address(request), session.get("sid"))
    session.invalidate()
    raise web.HTTPSeeOther(LOGIN_PATH)
