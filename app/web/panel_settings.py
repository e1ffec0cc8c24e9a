"""Settings screen (admins): the bot token, S3, languages; secrets only ever show as set or not."""

from __future__ import annotations

from aiohttp import web

from app.db.queries import panel_admin as q
from app.domain import staff as staff_domain
from app.domain.channels import LANGUAGES
from app.domain.staff import Role
from app.web import keys
from app.web.auth import REGISTRY, STAFF, gettext, render, require

PLAIN = ("s3_endpoint", "s3_bucket", "s3_region")
SECRETS = ("bot_token", "s3_access_key", "s3_secret_key")


async def _page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    async with request.app[keys.POOL].acquire() as conn:
        values = await q.get_settings(conn)
        is_set = {name: await staff_domain.secret_is_set(conn, name) for name in SECRETS}
    return await render(request, "panel/settings.html", {
        "values": values, "is_set": is_set, "error": error, "all_languages": LANGUAGES,
        "enabled": (values.get("languages") or ",".join(LANGUAGES)).split(","),
        "default_language": values.get("default_language") or request.app[keys.CONFIG].default_language,
        "saved": request.query.get("saved")}, status=status)


@REGISTRY.get("/panel/settings", name="panel.settings")
@require(Role.ADMIN)
async def settings_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@REGISTRY.post("/panel/settings", name="panel.settings_save", ok_status=400)
@require(Role.ADMIN)
async def settings_save(request: web.Request) -> web.StreamResponse:
    """section=bot|s3|languages; an empty secret field leaves the stored secret as it is."""
    _ = gettext(request)
    data = await request.post()
    section = str(data.get("section", ""))
    me, key = request[STAFF].id, request.app[keys.CONFIG].secret_key
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        if section == "bot":
            token = str(data.get("bot_token", "")).strip()
            if ":" not in token or len(token) > 128:
                return await _page(request, status=400, error=_(
                    "A bot token looks like 123456:ABC-DEF… (from @BotFather)."))
            await staff_domain.set_secret(conn, "bot_token", token, me, secret_key=key)
        elif section == "s3":
            before = await q.get_settings(conn)
            for name in PLAIN:
                value = str(data.get(name, "")).strip()
                if len(value) > 300:
                    return await _page(request, status=400,
                                       error=_("An S3 setting has at most 300 characters."))
                await q.put_setting(conn, name, value, me)
            for name in ("s3_access_key", "s3_secret_key"):
                value = str(data.get(name, "")).strip()
                if value:
                    await staff_domain.set_secret(conn, name, value, me, secret_key=key)
            await staff_domain.audit(conn, me, "settings.s3", "settings:s3",
                                     {n: before.get(n) for n in PLAIN},
                                     {n: str(data.get(n, "")).strip() for n in PLAIN})
        elif section == "languages":
            enabled = [lang for lang in LANGUAGES if lang in data.getall("languages", [])]
            default = str(data.get("default_language", ""))
            if not enabled or default not in enabled:
                return await _page(request, status=400, error=_(
                    "Enable at least one language and choose the default among them."))
            before = await q.get_settings(conn)
            await q.put_setting(conn, "languages", ",".join(enabled), me)
            await q.put_setting(conn, "default_language", default, me)
            await staff_domain.audit(conn, me, "settings.languages", "settings:languages",
                                     {"languages": before.get("languages"),
                                      "default_language": before.get("default_language")},
                                     {"languages": ",".join(enabled), "default_language": default})
        else:
            return await _page(request, error=_("Choose what to save."), status=400)
    raise web.HTTPSeeOther(f"/panel/settings?saved={section}")
