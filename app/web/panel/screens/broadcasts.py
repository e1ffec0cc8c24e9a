"""Broadcasts (E1): compose (a text per language, URL buttons, a segment), see how many it
reaches, send a test to oneself, start; then live progress with pause, resume and cancel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime

from aiohttp import WSMsgType, web
from multidict import MultiDict, MultiDictProxy

from app.domain import broadcasts
from app.domain.actors import StaffMember
from app.domain.broadcasts import LANGUAGES, Audience, BroadcastError, BroadcastStatus
from app.domain.staff import Role
from app.domain.users import Languages
from app.i18n import N_
from app.storage import InvalidKey, NotFound, S3Storage
from app.web import keys
from app.web.forms import FORM_LIMIT, body_limit, path_id, read_form, read_upload, whole_number
from app.web.live import same_origin
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()
MAX_PHOTO = broadcasts.MAX_PHOTO_BYTES
PHOTO_FOLDER = "broadcasts/"
PROGRESS_EVERY = 1.0  # seconds between progress reads while a page watches
MISSING = N_("This broadcast does not exist.")


def _languages(request: web.Request) -> Languages:
    """The languages the bot speaks now (the settings screen keeps them current)."""
    return request.app[keys.RUNNING_SETTINGS].languages


def _audience(form: MultiDictProxy[str]) -> Audience:
    languages = tuple(v for v in form.getall("languages", []) if v in LANGUAGES)

    def number(name: str, digits: int) -> int | None:
        text = str(form.get(name, "")).strip()
        if not text:
            return None
        value = whole_number(text, digits)
        if value is None:
            raise BroadcastError(N_("Segment numbers are whole numbers."))
        return value

    return Audience(
        languages=languages,
        seen_days=number("seen_days", 4),
        channel_id=number("channel_id", 15),
        task_participants=bool(form.get("task_participants")),
        min_balance=number("min_balance", 12),
    )


def _labels(request: web.Request) -> dict[str, str]:
    """Each status's label in the reader's language, by its value (the page's script reads them too)."""
    _ = gettext(request)
    return {status.value: broadcasts.status_label(status, _) for status in BroadcastStatus}


def _duration(started: datetime | None, finished: datetime | None) -> str | None:
    """How long a broadcast took, pauses included, as H:MM:SS."""
    if started is None or finished is None:
        return None
    seconds = max(0, int((finished - started).total_seconds()))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


async def _list_page(request: web.Request, *, status: int = 200, **extra: object) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        items = await broadcasts.recent(conn)
    context = {
        "items": items,
        "status_labels": _labels(request),
        "languages": LANGUAGES,
        "form": {},
        "error": None,
        "preview": None,
        **extra,
    }
    return await render(request, "panel/broadcasts.html", context, status=status)


@ROUTES.get("/panel/broadcasts", name="panel.broadcasts")
@require(Role.ADMIN)
async def broadcasts_page(request: web.Request) -> web.StreamResponse:
    return await _list_page(request)


async def _photo_key(request: web.Request, upload: MultiDictProxy[str | web.FileField]) -> str | None:
    """The composer's photo: a new upload (checked and kept), else the one kept at the preview
    (its key rides in the form), else none; "remove" drops it."""
    if upload.get("remove_photo") or not (upload.get("photo") or upload.get("photo_key")):
        return None
    field = upload.get("photo")
    storage = request.app.get(keys.STORAGE)
    if storage is None:  # app.main always gives the web app its Storage
        raise BroadcastError(N_("Upload the photo again."))
    if isinstance(field, web.FileField) and field.filename:
        return await broadcasts.store_photo(storage, field.file.read(MAX_PHOTO + 1))
    kept = str(upload.get("photo_key") or "")
    if not kept:
        return None
    try:
        if not broadcasts.is_photo_key(kept):
            raise NotFound(kept)
        await storage.get(kept)
    except (NotFound, InvalidKey):
        raise BroadcastError(N_("Upload the photo again.")) from None
    return kept


@ROUTES.post("/panel/broadcasts", name="panel.broadcast_compose", ok_status=400)
@require(Role.ADMIN)
@body_limit(MAX_PHOTO + FORM_LIMIT)  # an optional photo (the domain names the 10 MB limit) and the texts
async def compose(request: web.Request) -> web.StreamResponse:
    """ "Preview" shows each variant as Telegram will and the recipient count; "Save" makes a draft."""
    _ = gettext(request)
    upload = await read_upload(request)
    form = MultiDictProxy(MultiDict((k, v) for k, v in upload.items() if isinstance(v, str)))
    texts = {lang: str(form.get(f"text_{lang}", "")) for lang in ("default", *LANGUAGES)}
    values = {
        **texts,
        "buttons": str(form.get("buttons", "")),
        **{k: form.get(k, "") for k in ("seen_days", "channel_id", "min_balance", "task_participants")},
        "languages": form.getall("languages", []),
        "photo_key": "",
    }
    try:
        photo_key = await _photo_key(request, upload)
        values["photo_key"] = photo_key or ""
        buttons = broadcasts.parse_buttons(str(form.get("buttons", "")))
        audience = _audience(form)
        if not texts["default"].strip():
            raise BroadcastError(N_("Write the message text."))
        caption = photo_key is not None
        rendered = {k: broadcasts.render_text(v, caption=caption) for k, v in texts.items() if v.strip()}
        async with request.app[keys.POOL].acquire() as conn:
            if form.get("action") == "save":
                made = await broadcasts.create(
                    conn, StaffMember(request[STAFF]), texts, buttons, audience, photo_key=photo_key
                )
                raise web.HTTPSeeOther(f"/panel/broadcasts/{made.id}")
            count = await broadcasts.count_audience(conn, audience, _languages(request))
    except BroadcastError as exc:
        return await _list_page(request, status=400, error=exc.text(_), form=values)
    preview = {"texts": rendered, "buttons": buttons, "count": count, "photo": _photo_url(photo_key)}
    return await _list_page(request, form=values, preview=preview)


def _photo_url(key: str | None) -> str | None:
    return None if key is None else "/panel/broadcast-photos/" + key.removeprefix(PHOTO_FOLDER)


@ROUTES.get(
    "/panel/broadcast-photos/{name}",
    name="panel.broadcast_photo",
    example="/panel/broadcast-photos/x.jpg",
    ok_status=404,
)
@require(Role.ADMIN)
async def photo(request: web.Request) -> web.StreamResponse:
    """A broadcast's photo for the preview, from Storage (S3: a short-lived presigned URL)."""
    _ = gettext(request)
    key = PHOTO_FOLDER + request.match_info["name"]
    storage = request.app.get(keys.STORAGE)
    try:
        if storage is None or not broadcasts.is_photo_key(key):
            raise NotFound(key)
        if isinstance(storage, S3Storage):
            raise web.HTTPFound(await storage.url(key, expires=600))
        stored = await storage.get(key)
    except (NotFound, InvalidKey):
        raise web.HTTPNotFound(text=_("No such photo.")) from None
    return web.Response(
        body=stored.data, content_type=stored.content_type, headers={"Cache-Control": "private, max-age=3600"}
    )


async def _detail(
    request: web.Request, broadcast_id: int, *, status: int = 200, **extra: object
) -> web.StreamResponse:
    _ = gettext(request)
    async with request.app[keys.POOL].acquire() as conn:
        item = await broadcasts.get(conn, broadcast_id)
        if item is None:
            raise web.HTTPNotFound(text=_(MISSING))
        count = (
            await broadcasts.count_audience(conn, Audience.of_json(item.audience), _languages(request))
            if item.status == BroadcastStatus.DRAFT
            else None
        )
        progress = await broadcasts.progress(conn, broadcast_id)
        finished = item.status in broadcasts.FINISHED
        reasons = await broadcasts.failure_reasons(conn, broadcast_id) if finished else []
    rendered = {
        k: broadcasts.render_text(v, caption=item.photo_key is not None) for k, v in item.texts.items()
    }
    context = {
        "item": item,
        "rendered": rendered,
        "photo": _photo_url(item.photo_key),
        "count": count,
        "progress": progress,
        "status_labels": _labels(request),
        "report": {"duration": _duration(item.started_at, item.finished_at), "reasons": reasons}
        if finished
        else None,
        "can_test": request[STAFF].telegram_user_id is not None,
        "error": None,
        "done_message": None,
        **extra,
    }
    return await render(request, "panel/broadcast.html", context, status=status)


@ROUTES.get(
    "/panel/broadcasts/{broadcast_id}", name="panel.broadcast", example="/panel/broadcasts/0", ok_status=404
)
@require(Role.ADMIN)
async def broadcast_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    return await _detail(request, path_id(request, "broadcast_id", _(MISSING)))


@ROUTES.post(
    "/panel/broadcasts/{broadcast_id}/schedule",
    name="panel.broadcast_schedule",
    example="/panel/broadcasts/0/schedule",
    ok_status=404,
)
@require(Role.ADMIN)
async def schedule(request: web.Request) -> web.StreamResponse:
    """Send a draft at a time (UTC, as the form says); an empty time takes the time back."""
    _ = gettext(request)
    broadcast_id = path_id(request, "broadcast_id", _(MISSING))
    form = await read_form(request)
    raw = str(form.get("start_at", "")).strip()
    try:
        at = None
        if raw:
            try:
                at = datetime.fromisoformat(raw).replace(tzinfo=UTC)
            except ValueError:
                raise BroadcastError(N_("Give the start time as a date and a time.")) from None
            if at <= datetime.now(UTC):
                raise BroadcastError(N_("The start time is in the past: start it now instead."))
        async with request.app[keys.POOL].acquire() as conn:
            if await broadcasts.get(conn, broadcast_id) is None:
                raise web.HTTPNotFound(text=_(MISSING))
            await broadcasts.schedule(conn, StaffMember(request[STAFF]), broadcast_id, at)
    except BroadcastError as exc:
        return await _detail(request, broadcast_id, status=400, error=exc.text(_))
    raise web.HTTPSeeOther(f"/panel/broadcasts/{broadcast_id}")


ACTIONS: dict[str, Callable[..., Awaitable[object]]] = {
    "start": broadcasts.start,
    "pause": broadcasts.pause,
    "resume": broadcasts.resume,
    "cancel": broadcasts.cancel,
    "test": broadcasts.send_test,
}
BY_LANGUAGE = ("start", "test")  # these pick each user's variant: they need the enabled languages


@ROUTES.post(
    "/panel/broadcasts/{broadcast_id}/{action}",
    name="panel.broadcast_action",
    example="/panel/broadcasts/0/start",
    ok_status=404,
)
@require(Role.ADMIN)
async def act(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    broadcast_id = path_id(request, "broadcast_id", _(MISSING))
    action = ACTIONS.get(request.match_info["action"])
    await read_form(request)
    if action is None:
        raise web.HTTPNotFound(text=_(MISSING))
    try:
        async with request.app[keys.POOL].acquire() as conn:
            if await broadcasts.get(conn, broadcast_id) is None:
                raise web.HTTPNotFound(text=_(MISSING))
            wants = request.match_info["action"] in BY_LANGUAGE
            extra = {"languages": _languages(request)} if wants else {}
            await action(conn, StaffMember(request[STAFF]), broadcast_id, **extra)
    except BroadcastError as exc:
        return await _detail(request, broadcast_id, status=400, error=exc.text(_))
    if request.match_info["action"] == "test":
        return await _detail(request, broadcast_id, done_message=_("Sent to your Telegram."))
    raise web.HTTPSeeOther(f"/panel/broadcasts/{broadcast_id}")


@ROUTES.get(
    "/panel/broadcasts/{broadcast_id}/ws",
    name="panel.broadcast_ws",
    example="/panel/broadcasts/0/ws",
    ok_status=400,
)
@require(Role.ADMIN)
async def live(request: web.Request) -> web.StreamResponse:
    """The progress as it moves: {"status", "label" (the status in the reader's language),
    "total", "sent", "failed", "blocked", "uncertain", "left"}, sent when it changes (read once
    a second while someone watches)."""
    _ = gettext(request)
    broadcast_id = path_id(request, "broadcast_id", _(MISSING))
    if not web.WebSocketResponse().can_prepare(request).ok:
        return web.Response(text=_("This address is a WebSocket for the broadcast page."), status=400)
    if not same_origin(request):
        raise web.HTTPForbidden(text="This WebSocket is for the panel's own pages.")
    pool = request.app[keys.POOL]
    async with pool.acquire() as conn:
        if await broadcasts.get(conn, broadcast_id) is None:
            raise web.HTTPNotFound(text=_(MISSING))
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    request.app[keys.WEBSOCKETS].add(ws)
    reader = asyncio.create_task(_drain(ws))
    last: dict[str, object] | None = None
    try:
        while not ws.closed and not reader.done():
            async with pool.acquire() as conn:
                item = await broadcasts.get(conn, broadcast_id)
                progress = await broadcasts.progress(conn, broadcast_id)
            state = {
                "status": item.status.value if item else "missing",
                "label": broadcasts.status_label(item.status, _) if item else _(MISSING),
                **asdict(progress),
                "left": progress.left,
            }
            if state != last:
                await ws.send_json(state)
                last = state
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), PROGRESS_EVERY)
    except ConnectionResetError:
        pass  # the browser went away; it reconnects
    finally:
        reader.cancel()
        await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            break
