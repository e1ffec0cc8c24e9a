"""The admin panel: its home page, the secrets settings screen, and the hook that mounts it all."""

from __future__ import annotations

from aiohttp import web

from app.config import Config
from app.domain import staff as staff_domain
from app.domain.staff import Role, StaffError
from app.i18n import N_
from app.web import (
    keys,
    panel_account,  # noqa: F401
    panel_ads,  # noqa: F401
    panel_audit,  # noqa: F401
    panel_channels,  # noqa: F401
    panel_dashboard,  # noqa: F401  (each screen registers its routes on import)
    panel_moderation,  # noqa: F401
    panel_settings,  # noqa: F401
    panel_staff,  # noqa: F401
    panel_users,  # noqa: F401
)
from app.web.auth import REGISTRY, STAFF, PanelRoute, gettext, render, require, setup_auth

SECRET_LABELS = {
    "bot_token": N_("Telegram bot token"),
    "s3_secret_key": N_("S3 secret key"),
    "payment_provider_token": N_("Payment provider token"),
    "llm_api_key": N_("LLM API key"),
}


@REGISTRY.get("/panel/settings/secrets", name="panel.secrets")
@require(Role.ADMIN)
async def secrets_page(request: web.Request) -> web.StreamResponse:
    return await _secrets(request)


@REGISTRY.post("/panel/settings/secrets", name="panel.secrets_set", ok_status=400)
@require(Role.ADMIN)
async def secrets_set(request: web.Request) -> web.StreamResponse:
    """Store a new value; the page only ever says "set" or "not set"."""
    _ = gettext(request)
    form = await request.post()
    name, value = str(form.get("name", "")), str(form.get("value", "")).strip()
    if name not in staff_domain.KNOWN_SECRETS or not value:
        return await _secrets(request, error=_("Choose a secret and type its new value."), status=400)
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


def routes() -> list[PanelRoute]:
    """Every registered panel route with its access (the screens' modules are imported above)."""
    return list(REGISTRY.routes)


def add_routes(app: web.Application) -> None:
    REGISTRY.add_to(app)


def setup_panel(app: web.Application, config: Config) -> None:
    """The hook for create_web_app: sessions, CSRF and role guard, then the panel's routes."""
    setup_auth(app, config)
    add_routes(app)
