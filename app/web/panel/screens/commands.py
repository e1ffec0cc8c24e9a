"""The bot's commands and texts (S1): the greeting, the help text and the admins' own commands,
per language. A save applies at once: this process's CommandBook is replaced in place, the
bot's command menu is set again, and the other processes reload on the notification."""

from __future__ import annotations

import logging

from aiohttp import web

from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.domain.support import commands
from app.domain.support.commands import DEFAULT_GREETING, DEFAULT_HELP, LANGUAGES, CommandBook, CommandError
from app.web import keys
from app.web.forms import read_form
from app.web.panel.auth.access import require
from app.web.panel.auth.language import PANEL_TRANSLATOR, gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

log = logging.getLogger(__name__)
ROUTES = PanelRoutes()


def _defaults(request: web.Request) -> dict[str, dict[str, str]]:
    """Today's greeting and help text in each language: what an empty field keeps."""
    translator = request.app[PANEL_TRANSLATOR]
    return {
        "start": {lang: translator(lang)(DEFAULT_GREETING) for lang in LANGUAGES},
        "help": {lang: translator(lang)(DEFAULT_HELP) for lang in LANGUAGES},
    }


async def _page(request: web.Request, *, status: int = 200, **extra: object) -> web.StreamResponse:
    book = request.app[keys.RUNNING_SETTINGS].commands
    context = {
        "book": book,
        "languages": LANGUAGES,
        "defaults": _defaults(request),
        "error": None,
        "done_message": None,
        "form": {},
        **extra,
    }
    return await render(request, "panel/commands.html", context, status=status)


async def _apply(request: web.Request, fresh: CommandBook) -> str | None:
    """The committed book into this process, and the command menu to Telegram; a note if not."""
    request.app[keys.RUNNING_SETTINGS].commands.update(fresh)
    menu = request.app[keys.BOT_PARTS].command_menu
    if menu is None:
        return None
    try:
        await menu()
    except Exception as exc:  # the bot answers anyway; the menu is set again at the next start
        log.warning("could not set the bot's command menu: %s", exc)
        return str(exc)
    return None


async def _saved(request: web.Request, fresh: CommandBook) -> web.StreamResponse:
    _ = gettext(request)
    problem = await _apply(request, fresh)
    if problem is not None:
        note = _("Saved; the bot answers it now, but Telegram did not take the new command menu ({problem}).")
        return await _page(request, done_message=note.format(problem=problem))
    return await _page(request, done_message=_("Saved. The bot uses it from now on."))


@ROUTES.get("/panel/commands", name="panel.commands")
@require(Role.ADMIN)
async def commands_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@ROUTES.post("/panel/commands/texts", name="panel.command_texts", ok_status=400)
@require(Role.ADMIN)
async def save_texts(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await read_form(request)
    name = str(form.get("name", ""))
    texts = {lang: str(form.get(f"text_{lang}", "")) for lang in LANGUAGES}
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            fresh = await commands.save_text(conn, StaffMember(request[STAFF]), name, texts)
    except CommandError as exc:
        return await _page(request, status=400, error=exc.text(_))
    return await _saved(request, fresh)


@ROUTES.post("/panel/commands", name="panel.command_save", ok_status=400)
@require(Role.ADMIN)
async def save_command(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await read_form(request)
    name = str(form.get("name", ""))
    descriptions = {lang: str(form.get(f"description_{lang}", "")) for lang in LANGUAGES}
    texts = {lang: str(form.get(f"text_{lang}", "")) for lang in LANGUAGES}
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            fresh = await commands.save_command(conn, StaffMember(request[STAFF]), name, descriptions, texts)
    except CommandError as exc:
        return await _page(request, status=400, error=exc.text(_), form=dict(form))
    return await _saved(request, fresh)


@ROUTES.post(
    "/panel/commands/{name}/delete",
    name="panel.command_delete",
    example="/panel/commands/none/delete",
    ok_status=400,
)
@require(Role.ADMIN)
async def delete_command(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            actor = StaffMember(request[STAFF])
            fresh = await commands.delete_command(conn, actor, request.match_info["name"])
    except CommandError as exc:
        return await _page(request, status=400, error=exc.text(_))
    return await _saved(request, fresh)
