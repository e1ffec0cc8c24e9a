"""Settings screen (admins): the bot token, S3, languages, LLM help for operators, and the
secrets page (set or not set).

S3 settings are checked against the bucket before they are saved and are used from the next
start (storage is opened once); S3_* in the environment wins over them. Languages and the LLM
apply at once: the process's running settings are updated in place after the save commits."""

from __future__ import annotations

from aiohttp import web

from app.db.queries import panel_admin as q
from app.domain import record as record_domain
from app.domain import settings as settings_domain
from app.domain import staff as staff_domain
from app.domain.settings import S3_PLAIN, SettingsError
from app.domain.staff import Role, StaffError
from app.domain.support import llm_settings
from app.domain.support.llm_settings import LlmSettingsError
from app.domain.users import LANGUAGES
from app.i18n import N_
from app.web import keys
from app.web.forms import read_form, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()

SECRETS = ("bot_token", "s3_access_key", "s3_secret_key", llm_settings.KEY_SECRET)
SECRET_LABELS = {
    "bot_token": N_("Telegram bot token"),
    "s3_secret_key": N_("S3 secret key"),
    llm_settings.KEY_SECRET: N_("LLM API key"),
}


async def _page(
    request: web.Request, *, error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> web.Response:
    """`typed`: the S3 fields as the admin sent them, shown again next to the error."""
    config = request.app[keys.CONFIG]
    async with request.app[keys.POOL].acquire() as conn:
        values = await q.get_settings(conn)
        is_set = {name: await staff_domain.secret_is_set(conn, name) for name in SECRETS}
    languages = settings_domain.languages_from(values, config.default_language)
    running = request.app[keys.RUNNING_SETTINGS]
    stored = tuple(values.get(n) or "" for n in S3_PLAIN)
    in_use = running.s3
    opened = (in_use.endpoint_url or "", in_use.bucket, in_use.region or "") if in_use else ("",) * 3
    return await render(
        request,
        "panel/settings.html",
        {
            "values": values | (typed or {}),
            "is_set": is_set,
            "error": error,
            "all_languages": LANGUAGES,
            "enabled": languages.enabled,
            "default_language": languages.default,
            "record_days": record_domain.retention_from(values),
            "saved": request.query.get("saved"),
            "env_s3": config.s3_bucket,
            "running": running,
            # Saved S3 settings that differ from the storage opened at start wait for a restart.
            "s3_pending": not config.s3_bucket
            and (stored != opened if running.storage != "disk" else bool(values.get("s3_bucket"))),
            "llm": llm_settings.from_stored(values),
        },
        status=status,
    )


@ROUTES.get("/panel/settings", name="panel.settings")
@require(Role.ADMIN)
async def settings_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@ROUTES.post("/panel/settings", name="panel.settings_save", ok_status=400)
@require(Role.ADMIN)
async def settings_save(request: web.Request) -> web.StreamResponse:
    """section=bot|s3|s3_clear|languages|llm; an empty secret field leaves the stored secret as it is."""
    _ = gettext(request)
    data = await read_form(request)
    section = str(data.get("section", ""))
    try:
        if section == "bot":
            token = str(data.get("bot_token", "")).strip()
            if ":" not in token or len(token) > 128:
                return await _page(
                    request, status=400, error=_("A bot token looks like 123456:ABC-DEF… (from @BotFather).")
                )
            if (refused := await _token_refused(request, token)) is not None:
                return await _page(request, status=400, error=refused)
            await _save_bot_token(request, token)
        elif section == "s3":
            await _save_s3(request, {k: str(v) for k, v in data.items()})
        elif section == "s3_clear":
            async with request.app[keys.POOL].acquire() as conn, conn.transaction():
                await settings_domain.clear_s3(conn, request[STAFF].id)
        elif section == "languages":
            await _save_languages(
                request, [str(v) for v in data.getall("languages", [])], str(data.get("default_language", ""))
            )
        elif section == "llm":
            await _save_llm(request, {k: str(v)[:1000] for k, v in data.items()})
        elif section == "message_record":
            async with request.app[keys.POOL].acquire() as conn, conn.transaction():
                days = whole_number(str(data.get("message_record_days", "")), 6)
                await record_domain.save_retention(conn, request[STAFF].id, days)
        else:
            return await _page(request, error=_("Choose what to save."), status=400)
    except (SettingsError, LlmSettingsError, record_domain.RecordError) as exc:
        typed = {n: str(data.get(n, "")).strip()[:300] for n in S3_PLAIN} if section == "s3" else None
        return await _page(request, status=400, error=exc.text(_), typed=typed)
    raise web.HTTPSeeOther(f"/panel/settings?saved={section}")


async def _token_refused(request: web.Request, token: str) -> str | None:
    """Ask Telegram (getMe) whether the token works: why not, in the admin's language, or None.
    A token that does not work would leave the next start in the sandbox."""
    check = request.app.get(keys.TOKEN_CHECK)
    if check is None:  # a web-only app (no bot) has nobody to ask
        return None
    _ = gettext(request)
    result = await check(token)
    if result.ok:
        return None
    if result.refused:
        return _("Telegram does not accept this token ({detail}). Copy it again from @BotFather.").format(
            detail=result.detail
        )
    return _("Telegram could not be reached to check this token ({detail}); it was not saved.").format(
        detail=result.detail
    )


async def _save_bot_token(request: web.Request, token: str) -> None:
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        await staff_domain.set_secret(
            conn, "bot_token", token, request[STAFF].id, secret_key=request.app[keys.CONFIG].secret_key
        )


async def _save_s3(request: web.Request, data: dict[str, str]) -> None:
    """Check the settings against the bucket (no connection held meanwhile), then store them."""
    key = request.app[keys.CONFIG].secret_key
    form = settings_domain.parse_s3_form(data)
    async with request.app[keys.POOL].acquire() as conn:
        to_check = await settings_domain.s3_to_check(conn, form, secret_key=key)
    await settings_domain.verify_s3(to_check)
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        await settings_domain.save_s3(conn, request[STAFF].id, form, secret_key=key)


async def _save_languages(request: web.Request, enabled: list[str], default: str) -> None:
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        saved = await settings_domain.save_languages(conn, request[STAFF].id, enabled, default)
    # Committed: the bot in this process follows from its next update (others on NOTIFY).
    request.app[keys.RUNNING_SETTINGS].languages.update(saved)


@ROUTES.get("/panel/settings/secrets", name="panel.secrets")
@require(Role.ADMIN)
async def secrets_page(request: web.Request) -> web.StreamResponse:
    return await _secrets(request)


@ROUTES.post("/panel/settings/secrets", name="panel.secrets_set", ok_status=400)
@require(Role.ADMIN)
async def secrets_set(request: web.Request) -> web.StreamResponse:
    """Store a new value; the page only ever says "set" or "not set"."""
    _ = gettext(request)
    form = await read_form(request)
    name, value = str(form.get("name", "")), str(form.get("value", "")).strip()
    if name not in staff_domain.KNOWN_SECRETS or not value:
        return await _secrets(request, error=_("Choose a secret and type its new value."), status=400)
    if name == "bot_token" and (refused := await _token_refused(request, value)) is not None:
        return await _secrets(request, error=refused, status=400)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await staff_domain.set_secret(
                conn, name, value, request[STAFF].id, secret_key=request.app[keys.CONFIG].secret_key
            )
    except StaffError:
        return await _secrets(request, error=_("Choose a secret and type its new value."), status=400)
    raise web.HTTPSeeOther(request.app.router["panel.secrets"].url_for().with_query(saved=name))


async def _secrets(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    _ = gettext(request)
    async with request.app[keys.POOL].acquire() as conn:
        status_by_name = await staff_domain.secrets_status(conn)
    rows = [
        {
            "name": name,
            "label": _(SECRET_LABELS[name]) if name in SECRET_LABELS else name,
            "is_set": is_set,
            "editable": name in SECRET_LABELS,
        }
        for name, is_set in status_by_name.items()
    ]
    saved = request.query.get("saved")
    return await render(
        request,
        "panel/secrets.html",
        {
            "secrets": rows,
            "error": error,
            "saved": _(SECRET_LABELS[saved]) if saved in SECRET_LABELS else None,
        },
        status=status,
    )


async def _save_llm(request: web.Request, data: dict[str, str]) -> None:
    form = llm_settings.parse_form(data)
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        saved = await llm_settings.save(
            conn, request[STAFF].id, form, secret_key=request.app[keys.CONFIG].secret_key
        )
    request.app[keys.RUNNING_SETTINGS].llm.update(saved)  # other processes on the notification
