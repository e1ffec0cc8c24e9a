"""The support desk in the panel: the ticket queue, a ticket's conversation, canned replies (operators
and admins), and the knowledge base with its import/export and the desk's settings (admins)."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import asyncpg
from aiohttp import web
from PIL import Image, UnidentifiedImageError

from app.db.queries import panel_users
from app.db.queries import support_desk as q
from app.db.queries.support import KbButton
from app.db.queries.support_desk import SUPPORT_CHANNEL
from app.domain import ads as ads_domain
from app.domain import outbox
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.domain.support import desk, drafts, kb
from app.domain.support import settings as desk_settings
from app.domain.support.kb import AnswerDraft, EntryDraft, KbError
from app.domain.support.ports import DeskMessages
from app.i18n import N_, UserError
from app.storage import InvalidKey, NotFound, S3Storage
from app.web import keys
from app.web.errors import wants_json
from app.web.forms import FORM_LIMIT, body_limit, path_id, read_upload, whole_number
from app.web.live import Event, serve_events
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF
from app.web.panel.export import send_csv

ROUTES = PanelRoutes()

VIEWS = ("unassigned", "mine", "all")
STATUS_FILTERS = {
    "active": ("open", "waiting"),
    "open": ("open",),
    "waiting": ("waiting",),
    "closed": ("closed",),
}
MAX_PHOTO = 10 * 1024 * 1024
MAX_IMPORT = 5 * 1024 * 1024
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


def _text_of(request: web.Request, msgid: str) -> str:
    """A fixed text in the staff member's language (the msgid is marked with N_ for the catalogs)."""
    return gettext(request)(msgid)


def _actor(request: web.Request) -> StaffMember:
    return StaffMember(request[STAFF])


def _msgs(request: web.Request) -> DeskMessages:
    msgs = request.app[keys.BOT_PARTS].desk_messages
    if msgs is None:
        raise web.HTTPServiceUnavailable(
            text=_text_of(request, N_("The bot is not running: answers cannot be sent."))
        )
    return msgs


def _ticket_id(request: web.Request) -> int:
    return path_id(request, "ticket_id", _text_of(request, N_("This ticket does not exist.")))


async def _fields(request: web.Request) -> dict[str, Any]:
    """A form's fields (plain or multipart); uploaded files stay file fields."""
    return dict(await read_upload(request))


def _text(form: dict[str, Any], name: str, limit: int = 5000) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


# The queue --------------------------------------------------------------------------------


@ROUTES.get("/panel/support", name="panel.support")
@require(Role.OPERATOR)
async def queue_page(request: web.Request) -> web.StreamResponse:
    view = request.query.get("view", "unassigned")
    view = view if view in VIEWS else "unassigned"
    status = request.query.get("status", "active")
    status = status if status in STATUS_FILTERS else "active"
    async with request.app[keys.POOL].acquire() as conn:
        rows = await q.queue(
            conn,
            statuses=STATUS_FILTERS[status],
            assignee=request[STAFF].id if view == "mine" else None,
            unassigned=view == "unassigned",
        )
        counts = await q.counts(conn)
    return await render(
        request,
        "panel/support_queue.html",
        {
            "rows": rows,
            "view": view,
            "status": status,
            "counts": counts,
            "views": VIEWS,
            "statuses": STATUS_FILTERS,
        },
    )


@ROUTES.get("/panel/support/ws", name="panel.support_ws", ok_status=400)
@require(Role.OPERATOR)
async def live(request: web.Request) -> web.StreamResponse:
    """Desk changes as they happen: new tickets, messages, deliveries; the page reloads its part."""
    if not web.WebSocketResponse().can_prepare(request).ok:
        return web.Response(
            text=_text_of(request, N_("This address is a WebSocket for the support desk.")), status=400
        )

    async def shape(event: Event) -> Event | None:
        return event

    return await serve_events(request, SUPPORT_CHANNEL, shape)


# A ticket ---------------------------------------------------------------------------------


async def _ticket_page(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    reply_text: str = "",
    draft_note: str | None = None,
) -> web.Response:
    """The ticket; `reply_text` fills the answer box (an LLM draft to edit), `draft_note` says why
    there is no draft. `?draft=ID` fills the box with that waiting draft (its "Edit" without JS)."""
    _ = gettext(request)
    ticket_id = _ticket_id(request)
    async with request.app[keys.POOL].acquire() as conn:
        ticket = await q.get_ticket(conn, ticket_id)
        if ticket is None:
            raise web.HTTPNotFound(text=_("This ticket does not exist."))
        draft = await drafts.shown(conn, ticket)
        conversation = await q.messages(conn, ticket_id)
        user = await panel_users.user(conn, ticket.user_id)
        ads = await panel_users.ads_of(conn, ticket.user_id, limit=10)
        earlier = [t for t in await q.user_tickets(conn, ticket.user_id) if t.id != ticket.id]
        canned = await q.canned(conn)
        operators = await q.operators(conn)
        entries = [e.entry for e in await kb.list_entries(conn)]
    asked_for = request.query.get("draft")
    editing = (
        draft if draft and draft.status == drafts.DraftStatus.PENDING and asked_for == str(draft.id) else None
    )
    return await render(
        request,
        "panel/support_ticket.html",
        {
            "delivery_status": outbox.STATUS_LABELS,
            "llm_on": request.app[keys.RUNNING_SETTINGS].llm.enabled,
            "draft": draft,
            "draft_problem": (
                drafts.problem_text(draft.problem, draft.detail, draft.seconds).text(_)
                if draft and draft.problem
                else None
            ),
            "reply_text": editing.text if editing else reply_text,
            "reply_draft": editing.id if editing else None,
            "draft_note": draft_note,
            "ticket": ticket,
            "conversation": conversation,
            "user": user,
            "ads": ads,
            "status_label": lambda status: ads_domain.status_label(status, _),  # as "My ads" says it
            "earlier": earlier,
            "canned": canned,
            "operators": operators,
            "entries": entries,
            "error": error,
            "flash": request.query.get("msg"),
        },
        status=status,
    )


@ROUTES.get(
    "/panel/support/tickets/{ticket_id}",
    name="panel.support_ticket",
    example="/panel/support/tickets/0",
    ok_status=404,
)
@require(Role.OPERATOR)
async def ticket_page(request: web.Request) -> web.StreamResponse:
    return await _ticket_page(request)


async def _existing(request: web.Request, ticket_id: int) -> None:
    async with request.app[keys.POOL].acquire() as conn:
        if await q.get_ticket(conn, ticket_id) is None:
            raise web.HTTPNotFound(text=_text_of(request, N_("This ticket does not exist.")))


def _back(request: web.Request, ticket_id: int, message: str) -> web.HTTPSeeOther:
    url = request.app.router["panel.support_ticket"].url_for(ticket_id=str(ticket_id)).with_query(msg=message)
    return web.HTTPSeeOther(url)


async def _photo(
    request: web.Request, form: dict[str, Any], name: str = "photo", folder: str = "answers"
) -> str | None:
    """An uploaded photo (JPEG or PNG), kept in Storage; None when none was chosen."""
    field = form.get(name)
    if field is None or isinstance(field, str) or not getattr(field, "filename", ""):
        return None
    data = field.file.read(MAX_PHOTO + 1)
    if len(data) > MAX_PHOTO:
        raise desk.DeskError(N_("A photo may have at most 10 MB."))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = PHOTO_TYPES.get(image.format or "")
    except (UnidentifiedImageError, OSError):
        kind = None
    if kind is None:
        raise desk.DeskError(N_("Attach a JPEG or PNG photo."))
    key = f"support/{folder}/{uuid.uuid4().hex}.{'jpg' if kind == 'image/jpeg' else 'png'}"
    await request.app[keys.STORAGE].put(key, data, kind)
    return key


@ROUTES.post(
    "/panel/support/tickets/{ticket_id}/reply",
    name="panel.support_reply",
    example="/panel/support/tickets/0/reply",
    ok_status=404,
)
@require(Role.OPERATOR)
@body_limit(MAX_PHOTO + FORM_LIMIT)  # a photo (the view names the 10 MB limit) and the text
async def reply(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    ticket_id = _ticket_id(request)
    await _existing(request, ticket_id)
    form = await _fields(request)
    try:
        photo_key = await _photo(request, form)
        entry = _text(form, "entry", 64).strip() or None
        draft_id = whole_number(_text(form, "draft_id", 20)) if form.get("draft_id") else None
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            if draft_id is not None:  # a waiting LLM draft, edited in the answer box
                text, who = _text(form, "text"), _actor(request)
                await drafts.send(
                    conn, who, draft_id, text, msgs=_msgs(request), photo_key=photo_key, ticket_id=ticket_id
                )
            else:
                await desk.reply(
                    conn,
                    _actor(request),
                    ticket_id,
                    _text(form, "text"),
                    msgs=_msgs(request),
                    photo_key=photo_key,
                    entry_key=entry,
                )
    except desk.TicketNotFound:
        raise web.HTTPNotFound(text=_("This ticket does not exist.")) from None
    except UserError as exc:
        return await _ticket_page(request, error=exc.text(_), status=400, reply_text=_text(form, "text"))
    raise _back(request, ticket_id, _("Answer sent."))


@ROUTES.post(
    "/panel/support/tickets/{ticket_id}/draft",
    name="panel.support_draft",
    example="/panel/support/tickets/0/draft",
    ok_status=404,
)
@require(Role.OPERATOR)
async def draft(request: web.Request) -> web.StreamResponse:
    """ "Draft an answer": the LLM's proposal in the answer box, to edit and send. The wait is
    the LLM's time-out at most (no connection held meanwhile); a failure is a note, and the
    page works as before. With Accept: application/json, the text or the note as JSON."""
    _ = gettext(request)
    ticket_id = _ticket_id(request)
    await _existing(request, ticket_id)
    running = request.app[keys.RUNNING_SETTINGS]
    try:
        async with request.app[keys.POOL].acquire() as conn:
            asked = await drafts.prepare(
                conn,
                _actor(request),
                ticket_id,
                settings=running.llm,
                thresholds=running.desk.thresholds,
                secret_key=request.app[keys.CONFIG].secret_key,
            )
    except desk.TicketNotFound:
        raise web.HTTPNotFound(text=_("This ticket does not exist.")) from None
    except UserError as exc:
        if wants_json(request):
            return web.json_response({"ok": False, "note": exc.text(_)}, status=400)
        return await _ticket_page(request, error=exc.text(_), status=400)
    try:
        text = await drafts.ask(asked)
    except drafts.DraftError as exc:
        if wants_json(request):
            return web.json_response({"ok": False, "note": exc.text(_)})
        return await _ticket_page(request, draft_note=exc.text(_))
    if wants_json(request):
        return web.json_response({"ok": True, "text": text, "entries": list(asked.entries)})
    return await _ticket_page(request, reply_text=text)


def _draft_id(request: web.Request) -> int:
    return path_id(request, "draft_id", _text_of(request, N_("This draft does not exist.")))


async def _draft_ticket(request: web.Request, draft_id: int) -> int:
    async with request.app[keys.POOL].acquire() as conn:
        found = await drafts.get(conn, draft_id)
    if found is None:
        raise web.HTTPNotFound(text=_text_of(request, N_("This draft does not exist.")))
    return found.ticket_id


@ROUTES.post(
    "/panel/support/drafts/{draft_id}/send",
    name="panel.support_draft_send",
    example="/panel/support/drafts/0/send",
    ok_status=404,
)
@require(Role.OPERATOR)
async def draft_send(request: web.Request) -> web.StreamResponse:
    """Approve a waiting draft: sent as drafted (or as edited in the form's text)."""
    _ = gettext(request)
    draft_id = _draft_id(request)
    ticket_id = await _draft_ticket(request, draft_id)
    form = await _fields(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            text = _text(form, "text") if "text" in form else None  # none: as drafted
            await drafts.send(conn, _actor(request), draft_id, text, msgs=_msgs(request))
    except UserError as exc:
        raise _back(request, ticket_id, exc.text(_)) from None
    raise _back(request, ticket_id, _("Answer sent."))


@ROUTES.post(
    "/panel/support/drafts/{draft_id}/discard",
    name="panel.support_draft_discard",
    example="/panel/support/drafts/0/discard",
    ok_status=404,
)
@require(Role.OPERATOR)
async def draft_discard(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    draft_id = _draft_id(request)
    ticket_id = await _draft_ticket(request, draft_id)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await drafts.discard(conn, _actor(request), draft_id)
    except UserError as exc:
        raise _back(request, ticket_id, exc.text(_)) from None
    raise _back(request, ticket_id, _("Draft discarded."))


@ROUTES.post(
    "/panel/support/tickets/{ticket_id}/note",
    name="panel.support_note",
    example="/panel/support/tickets/0/note",
    ok_status=404,
)
@require(Role.OPERATOR)
async def note(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    ticket_id = _ticket_id(request)
    form = await _fields(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await desk.note(conn, _actor(request), ticket_id, _text(form, "text"))
    except desk.TicketNotFound:
        raise web.HTTPNotFound(text=_("This ticket does not exist.")) from None
    except UserError as exc:
        return await _ticket_page(request, error=exc.text(_), status=400)
    raise _back(request, ticket_id, _("Note added."))


@ROUTES.post(
    "/panel/support/tickets/{ticket_id}/assign",
    name="panel.support_assign",
    example="/panel/support/tickets/0/assign",
    ok_status=404,
)
@require(Role.OPERATOR)
async def assign(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    ticket_id = _ticket_id(request)
    form = await _fields(request)
    raw = _text(form, "staff_id", 20)
    staff_id = request[STAFF].id if raw == "me" else whole_number(raw) if raw else None
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await desk.assign(conn, _actor(request), ticket_id, staff_id)
    except desk.TicketNotFound:
        raise web.HTTPNotFound(text=_("This ticket does not exist.")) from None
    except UserError as exc:
        return await _ticket_page(request, error=exc.text(_), status=400)
    raise _back(request, ticket_id, _("Assigned."))


@ROUTES.post(
    "/panel/support/tickets/{ticket_id}/close",
    name="panel.support_close",
    example="/panel/support/tickets/0/close",
    ok_status=404,
)
@require(Role.OPERATOR)
async def close(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    ticket_id = _ticket_id(request)
    await _existing(request, ticket_id)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await desk.close(conn, _actor(request), ticket_id, msgs=_msgs(request))
    except desk.TicketNotFound:
        raise web.HTTPNotFound(text=_("This ticket does not exist.")) from None
    except UserError as exc:
        return await _ticket_page(request, error=exc.text(_), status=400)
    raise _back(request, ticket_id, _("Ticket closed; the user is asked to rate it."))


@ROUTES.post(
    "/panel/support/messages/{message_id}/learn",
    name="panel.support_learn",
    example="/panel/support/messages/0/learn",
    ok_status=404,
)
@require(Role.OPERATOR)
async def learn(request: web.Request) -> web.StreamResponse:
    """Add the user's question before this answer to the entry it was answered with."""
    _ = gettext(request)
    message_id = path_id(request, "message_id", _("This message does not exist."))
    async with request.app[keys.POOL].acquire() as conn:
        found = await q.get_message(conn, message_id)
    if found is None:
        raise web.HTTPNotFound(text=_("This message does not exist."))
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            key, question = await desk.add_question_to_entry(conn, _actor(request), message_id)
    except UserError as exc:
        raise _back(request, found.ticket_id, exc.text(_)) from None
    raise _back(
        request,
        found.ticket_id,
        _("“{question}” is now a question of {key}.").format(question=question, key=key),
    )


@ROUTES.get(
    "/panel/support/messages/{message_id}/file",
    name="panel.support_file",
    example="/panel/support/messages/0/file",
    ok_status=404,
)
@require(Role.OPERATOR)
async def file(request: web.Request) -> web.StreamResponse:
    """A photo of the conversation from Storage (S3: a short-lived presigned URL), or a user's
    document fetched from Telegram, always as a download (never shown in the panel's origin)."""
    _ = gettext(request)
    message_id = path_id(request, "message_id", _("No such photo."))
    async with request.app[keys.POOL].acquire() as conn:
        found = await q.get_message(conn, message_id)
    if found is not None and found.storage_key is None and found.file_kind == "document" and found.file_id:
        return await _document(request, found.file_id, found.file_name or "document")
    if found is None or found.storage_key is None:
        raise web.HTTPNotFound(text=_("No such photo."))
    storage = request.app[keys.STORAGE]
    try:
        if isinstance(storage, S3Storage):
            raise web.HTTPFound(await storage.url(found.storage_key, expires=600))
        stored = await storage.get(found.storage_key)
    except (NotFound, InvalidKey):
        raise web.HTTPNotFound(text=_("No such photo.")) from None
    return web.Response(
        body=stored.data, content_type=stored.content_type, headers={"Cache-Control": "private, max-age=3600"}
    )


async def _document(request: web.Request, file_id: str, name: str) -> web.StreamResponse:
    bot = request.app.get(keys.BOT)
    data = None
    if bot is not None:
        try:
            data = await bot.download(file_id)
        except Exception:  # too big for the Bot API (20 MB), gone, or Telegram unreachable
            data = None
    if data is None:
        raise web.HTTPNotFound(text=_text_of(request, N_("Telegram does not give this file.")))
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100] or "document"
    return web.Response(
        body=data.read(),
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "private"},
    )


# Canned replies ---------------------------------------------------------------------------


@ROUTES.get("/panel/support/canned", name="panel.support_canned")
@require(Role.OPERATOR)
async def canned_page(request: web.Request) -> web.StreamResponse:
    return await _canned_page(request)


async def _canned_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    async with request.app[keys.POOL].acquire() as conn:
        rows = await q.canned(conn)
    return await render(request, "panel/support_canned.html", {"rows": rows, "error": error}, status=status)


@ROUTES.post("/panel/support/canned", name="panel.support_canned_add", ok_status=400)
@require(Role.OPERATOR)
async def canned_add(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await _fields(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await desk.add_canned(conn, _actor(request), _text(form, "title", 200), _text(form, "text"))
    except UserError as exc:
        return await _canned_page(request, error=exc.text(_), status=400)
    raise web.HTTPSeeOther("/panel/support/canned")


@ROUTES.post(
    "/panel/support/canned/{canned_id}/delete",
    name="panel.support_canned_delete",
    example="/panel/support/canned/0/delete",
    ok_status=303,
)
@require(Role.OPERATOR)
async def canned_delete(request: web.Request) -> web.StreamResponse:
    canned_id = path_id(request, "canned_id", _text_of(request, N_("No such canned reply.")))
    async with request.app[keys.POOL].acquire() as conn:
        await desk.delete_canned(conn, _actor(request), canned_id)
    raise web.HTTPSeeOther("/panel/support/canned")


# Operators on Telegram --------------------------------------------------------------------


@ROUTES.post("/panel/account/telegram", name="panel.account_telegram", ok_status=200)
@require(Role.OPERATOR)
async def telegram_link(request: web.Request) -> web.StreamResponse:
    """A deep link into the bot that links this staff member's Telegram (single use, 30 minutes)."""
    _ = gettext(request)
    bot = request.app.get(keys.BOT)
    username = None
    if bot is not None:
        try:
            username = (await bot.me()).username
        except Exception:  # Telegram unreachable: say so below
            username = None
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        token = await desk.link_token(conn, _actor(request))
    link = f"https://t.me/{username}?start=op_{token}" if username else None
    return await render(request, "panel/support_link.html", {"link": link, "minutes": desk.LINK_TTL_MINUTES})


# The knowledge base (admins) --------------------------------------------------------------


@ROUTES.get("/panel/support/kb", name="panel.support_kb")
@require(Role.ADMIN)
async def kb_page(request: web.Request) -> web.StreamResponse:
    return await _kb_page(request)


async def _kb_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    async with request.app[keys.POOL].acquire() as conn:
        entries = await kb.list_entries(conn)
    return await render(
        request,
        "panel/support_kb.html",
        {"entries": entries, "error": error, "flash": request.query.get("msg")},
        status=status,
    )


def _draft_from_form(form: dict[str, Any]) -> EntryDraft:
    questions: dict[str, list[str]] = {}
    keywords: dict[str, list[str]] = {}
    answers: dict[str, AnswerDraft] = {}
    for lang in kb.LANGUAGES:
        questions[lang] = _lines(_text(form, f"questions_{lang}", 20000))
        keywords[lang] = _lines(_text(form, f"keywords_{lang}", 20000))
        text = _text(form, f"answer_{lang}", 5000).strip()
        if text:
            buttons = tuple(_button(line) for line in _lines(_text(form, f"buttons_{lang}", 5000)))
            photo = _text(form, f"photo_{lang}", 300).strip() or None
            answers[lang] = AnswerDraft(text, photo, buttons)
    tags = tuple(sorted({t.strip().lower() for t in _text(form, "tags", 1000).split(",") if t.strip()}))
    return EntryDraft(
        _text(form, "key", 100).strip(),
        questions,
        answers,
        keywords,
        tags,
        enabled=form.get("enabled") == "on",
    )


def _lines(text: str) -> list[str]:
    return list(dict.fromkeys(" ".join(line.split()) for line in text.splitlines() if line.strip()))


def _button(line: str) -> KbButton:
    text, sep, target = line.rpartition("|")
    if not sep:
        raise KbError(N_("A button needs a text and either an entry id or a URL."))
    target = target.strip()
    is_url = kb.URL_RE.fullmatch(target) is not None
    return KbButton(text.strip(), None if is_url else target, target if is_url else None)


async def _entry_form(
    request: web.Request, values: dict[str, Any], *, new: bool, error: str | None = None, status: int = 200
) -> web.Response:
    return await render(
        request,
        "panel/support_kb_entry.html",
        {
            "v": values,
            "new": new,
            "error": error,
            "languages": kb.LANGUAGES,
            "flash": request.query.get("msg"),
        },
        status=status,
    )


def _values(entry: kb.Entry | None) -> dict[str, Any]:
    if entry is None:
        return {"key": "", "tags": "", "enabled": True}
    values: dict[str, Any] = {
        "key": entry.entry.key,
        "tags": ", ".join(entry.entry.tags),
        "enabled": entry.entry.enabled,
    }
    by_lang = {a.language: a for a in entry.answers}
    for lang in kb.LANGUAGES:
        values[f"questions_{lang}"] = "\n".join(entry.questions(lang))
        values[f"keywords_{lang}"] = "\n".join(entry.keywords(lang))
        answer = by_lang.get(lang)
        values[f"answer_{lang}"] = answer.text if answer else ""
        values[f"photo_{lang}"] = (answer.photo_key or "") if answer else ""
        values[f"buttons_{lang}"] = "\n".join(
            f"{b.text} | {b.entry or b.url}" for b in (answer.buttons if answer else ())
        )
    return values


@ROUTES.get("/panel/support/kb/new", name="panel.support_kb_new")
@require(Role.ADMIN)
async def kb_new(request: web.Request) -> web.StreamResponse:
    return await _entry_form(request, _values(None), new=True)


@ROUTES.get(
    "/panel/support/kb/entry/{key}",
    name="panel.support_kb_entry",
    example="/panel/support/kb/entry/none",
    ok_status=404,
)
@require(Role.ADMIN)
async def kb_entry(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        entry = await kb.get_entry(conn, request.match_info["key"][:64])
    if entry is None:
        raise web.HTTPNotFound(text=_text_of(request, N_("There is no such entry.")))
    return await _entry_form(request, _values(entry), new=False)


@ROUTES.post("/panel/support/kb/save", name="panel.support_kb_save", ok_status=400)
@require(Role.ADMIN)
@body_limit(len(kb.LANGUAGES) * MAX_PHOTO + FORM_LIMIT)  # a photo per language
async def kb_save(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await _fields(request)
    new = form.get("new") == "1"
    try:
        for lang in kb.LANGUAGES:  # a photo uploaded for an answer replaces its storage key
            uploaded = await _photo(request, form, f"photo_file_{lang}", "kb")
            if uploaded:
                form[f"photo_{lang}"] = uploaded
        draft = _draft_from_form(form)
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            if new:
                await kb.create_entry(conn, draft)
            else:
                await kb.update_entry(conn, draft)
            await staff_domain.audit(
                conn, request[STAFF].id, "support.kb_save", f"kb:{draft.key}", None, {"new": new}
            )
    except UserError as exc:
        values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        values["enabled"] = form.get("enabled") == "on"
        return await _entry_form(request, values, new=new, error=exc.text(_), status=400)
    url = (
        request.app.router["panel.support_kb_entry"].url_for(key=draft.key).with_query(msg=_("Entry saved."))
    )
    raise web.HTTPSeeOther(url)


@ROUTES.post(
    "/panel/support/kb/entry/{key}/toggle",
    name="panel.support_kb_toggle",
    example="/panel/support/kb/entry/none/toggle",
    ok_status=404,
)
@require(Role.ADMIN)
async def kb_toggle(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    key = request.match_info["key"][:64]
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            entry = await kb.get_entry(conn, key)
            if entry is None:
                raise web.HTTPNotFound(text=_("There is no such entry."))
            await kb.set_enabled(conn, key, not entry.entry.enabled)
    except KbError as exc:
        return await _kb_page(request, error=exc.text(_), status=400)
    raise web.HTTPSeeOther("/panel/support/kb")


@ROUTES.get("/panel/support/kb/export.json", name="panel.support_kb_json")
@require(Role.ADMIN)
async def kb_export_json(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        data = await kb.export_json(conn)
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, indent=1),
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="knowledge-base.json"'},
    )


@ROUTES.get("/panel/support/kb/export.csv", name="panel.support_kb_csv")
@require(Role.ADMIN)
async def kb_export_csv(request: web.Request) -> web.StreamResponse:
    """The knowledge base through the panel's export (audited; the import reads it back)."""
    async with request.app[keys.POOL].acquire() as conn:
        rows = await kb.export_rows(conn)

    async def batches() -> AsyncGenerator[list[tuple[str, ...]]]:
        yield rows

    return await send_csv(request, "knowledge-base", kb.CSV_COLUMNS, batches(), {})


@ROUTES.post("/panel/support/kb/import", name="panel.support_kb_import", ok_status=400)
@require(Role.ADMIN)
@body_limit(MAX_IMPORT + FORM_LIMIT)
async def kb_import(request: web.Request) -> web.StreamResponse:
    """A JSON (bench/data's kb.json imports as is) or CSV file: entries created or updated by id."""
    _ = gettext(request)
    form = await _fields(request)
    field = form.get("file")
    if field is None or isinstance(field, str) or not getattr(field, "filename", ""):
        return await _kb_page(request, error=_("Choose a JSON or CSV file."), status=400)
    raw = field.file.read(MAX_IMPORT + 1)
    if len(raw) > MAX_IMPORT:
        return await _kb_page(request, error=_("The file is larger than 5 MB."), status=400)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return await _kb_page(request, error=_("The file is not UTF-8 text."), status=400)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            if field.filename.lower().endswith(".csv"):
                report = await kb.import_csv(conn, text)
            else:
                try:
                    data = json.loads(text)
                except ValueError:
                    return await _kb_page(request, error=_("The file is neither JSON nor CSV."), status=400)
                report = await kb.import_json(conn, data)
            await staff_domain.audit(
                conn,
                request[STAFF].id,
                "support.kb_import",
                "kb",
                None,
                {"created": len(report.created), "updated": len(report.updated)},
            )
    except UserError as exc:
        return await _kb_page(request, error=exc.text(_), status=400)
    except asyncpg.PostgresError:
        return await _kb_page(
            request, error=_("The file has values the knowledge base cannot hold."), status=400
        )
    message = _("Imported: {created} new, {updated} updated, {unchanged} unchanged.").format(
        created=len(report.created), updated=len(report.updated), unchanged=len(report.unchanged)
    )
    raise web.HTTPSeeOther(request.app.router["panel.support_kb"].url_for().with_query(msg=message))


# The desk's settings (admins) -------------------------------------------------------------

THRESHOLD_LABELS = {
    "auto_answer": N_("Score to answer at once"),
    "min_coverage": N_("Share of the question the entry must explain"),
    "margin": N_("Lead over the runner-up"),
    "rival_coverage": N_("Coverage needed when the runner-up has a topic the best lacks"),
    "suggest": N_("Score to offer in “Did you mean…?”"),
    "suggest_ratio": N_("Share of the best score to offer"),
    "fuzzy_similarity": N_("Trigram similarity of a misspelled word"),
    "answer_word_weight": N_("Weight of a word only an answer uses"),
    "unknown_word_weight": N_("Weight of a word no entry uses"),
}


async def _settings_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.Response:
    current = request.app[keys.RUNNING_SETTINGS].desk
    return await render(
        request,
        "panel/support_settings.html",
        {
            "s": current,
            "thresholds": [
                (name, label, getattr(current.thresholds, name)) for name, label in THRESHOLD_LABELS.items()
            ],
            "days": ",".join(map(str, sorted(current.days))),
            "error": error,
            "saved": request.query.get("saved") == "1",
        },
        status=status,
    )


@ROUTES.get("/panel/support/settings", name="panel.support_settings")
@require(Role.ADMIN)
async def settings_page(request: web.Request) -> web.StreamResponse:
    return await _settings_page(request)


@ROUTES.post("/panel/support/settings", name="panel.support_settings_save", ok_status=400)
@require(Role.ADMIN)
async def settings_save(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = {k: v for k, v in (await _fields(request)).items() if isinstance(v, str)}
    try:
        values = desk_settings.parse_form({k: v[:100] for k, v in form.items()})
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            saved = await desk_settings.save(conn, request[STAFF].id, values)
    except UserError as exc:
        return await _settings_page(request, error=exc.text(_), status=400)
    request.app[keys.RUNNING_SETTINGS].desk.update(saved)
    raise web.HTTPSeeOther("/panel/support/settings?saved=1")
