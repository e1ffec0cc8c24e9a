"""Tasks screens (T1, T5, T6): create and edit tasks with a check of what the bot can see, the
figures per task and per chat over time with CSV exports, and the live screenshot review queue."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime, time
from typing import Any

import aiohttp_jinja2
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiohttp import web
from yarl import URL

from app.db.queries.tasks import TASKS_CHANNEL
from app.domain import tasks
from app.domain.daterange import DEFAULT_DAYS, DateRange, RangeError, last_days
from app.domain.staff import Role
from app.domain.tasks import ChatRef, Task, TaskError, TaskInput, Verification
from app.i18n import Gettext
from app.web import keys
from app.web.forms import path_id, read_form, whole_number
from app.web.live import Event, serve_events
from app.web.panel.auth.access import require
from app.web.panel.auth.csrf import csrf_token
from app.web.panel.auth.language import gettext, language
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF
from app.web.panel.daterange import control, query_range, utc_today
from app.web.panel.export import send_csv

ROUTES = PanelRoutes()
LANGS = ("uz", "ru", "en")
FIELDS = (
    "chat",
    "invite_link",
    "reward",
    "max_completions",
    "starts_at",
    "ends_at",
    "verification",
    "leave_days",
    "active",
    *(f"title_{code}" for code in LANGS),
    *(f"description_{code}" for code in LANGS),
)
DEFAULTS = dict.fromkeys(FIELDS, "") | {"verification": "auto", "leave_days": "7", "active": "on"}
CARD_TEMPLATE = "panel/_task_review.html"


class FormError(ValueError):
    """A form value that cannot be used; the message is already translated."""


def _form_of(task: Task) -> dict[str, str]:
    form = {
        "chat": task.chat_ref if not task.chat_ref.startswith("https://") else task.join_url,
        "invite_link": task.join_url if task.chat_ref.startswith("-") else "",
        "reward": str(task.reward),
        "max_completions": str(task.max_completions or ""),
        "starts_at": task.starts_at.date().isoformat() if task.starts_at else "",
        "ends_at": task.ends_at.date().isoformat() if task.ends_at else "",
        "verification": task.verification.value,
        "leave_days": str(task.leave_days or ""),
        "active": "on" if task.active else "",
    }
    for code in LANGS:
        form[f"title_{code}"] = task.titles.get(code, "")
        form[f"description_{code}"] = task.descriptions.get(code, "")
    return form


def _number(value: str, message: str, *, optional: bool = False) -> int | None:
    if optional and not value.strip():
        return None
    number = whole_number(value, 10)
    if number is None:
        raise FormError(message)
    return number


def _day(value: str, _: Gettext) -> datetime | None:
    if not value.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(value.strip()), time(), UTC)
    except ValueError:
        raise FormError(_("A date looks like 2026-12-31.")) from None


def parse_form(form: dict[str, str], _: Gettext) -> tuple[ChatRef, dict[str, Any]]:
    """The form -> (the chat, the other fields); FormError or TaskError when something is wrong."""
    chat = tasks.parse_chat(form["chat"], form["invite_link"])
    verification = form["verification"]
    if verification not in ("auto", "screenshot"):
        raise FormError(_("Choose how completions are verified."))
    return chat, {
        "titles": {code: form[f"title_{code}"] for code in LANGS},
        "descriptions": {code: form[f"description_{code}"] for code in LANGS},
        "reward": _number(form["reward"], _("The reward is a whole number of points.")),
        "max_completions": _number(form["max_completions"], _("The limit is a whole number."), optional=True),
        "starts_at": _day(form["starts_at"], _),
        "ends_at": _day(form["ends_at"], _),
        "verification": Verification(verification),
        "leave_days": _number(
            form["leave_days"], _("The leaving window is a whole number of days."), optional=True
        ),
        "active": bool(form["active"]),
    }


async def inspect_chat(
    bot: Bot | None, chat: ChatRef, _: Gettext
) -> tuple[int | None, str | None, list[str], bool]:
    """Ask Telegram what the bot can see there: (chat id, title, what is missing, whether the
    bot can check members)."""
    lookup = chat.lookup
    if bot is None:
        return chat.chat_id, None, [_("The bot is not running, so the chat was not checked.")], False
    if lookup is None:
        return (
            None,
            None,
            [
                _(
                    "An invite link alone does not tell the bot which chat it is: it cannot check "
                    "members or notice leaving. Give the @username or id to check automatically."
                )
            ],
            False,
        )
    try:
        found = await bot.get_chat(lookup)
    except TelegramAPIError as exc:
        problem = _("Telegram cannot open the chat {ref} for the bot ({error}): add the bot to it.")
        return None, None, [problem.format(ref=lookup, error=exc.message)], False
    try:
        status = str((await bot.get_chat_member(found.id, bot.id)).status)
    except TelegramAPIError:  # e.g. "member list is inaccessible": not an administrator there
        status = "left"
    missing: list[str] = []
    admin = status in ("administrator", "creator")
    can_check = admin or (found.type != "channel" and status in ("member", "restricted"))
    if not can_check:
        missing.append(
            _(
                "The bot is not an administrator of {title}: Telegram shows a channel's members "
                "only to its administrators. Make the bot an administrator to check automatically."
            ).format(title=found.title)
        )
    elif not admin:
        missing.append(
            _(
                "The bot is a member of {title} but not an administrator: it gets no news of people "
                "leaving, so leaving is noticed by the daily re-check only."
            ).format(title=found.title)
        )
    return found.id, found.title, missing, can_check


async def _form(request: web.Request) -> dict[str, str]:
    data = await read_form(request)
    return {k: str(data.get(k, "")) for k in FIELDS}


def _page(task: Task | None, form: dict[str, str], **extra: object) -> dict[str, object]:
    return {"task": task, "form": form, "langs": LANGS, "error": None, "warnings": [], **extra}


@ROUTES.get("/panel/tasks", name="panel.tasks")
@require(Role.ADMIN)
async def tasks_page(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        rows = await tasks.list_tasks(conn)
        stats = await tasks.task_stats(conn)
        pending = len(await tasks.review_queue(conn, language(request), 200))
    chats: dict[str, dict[str, Any]] = {}
    for task in rows:
        figures = stats.get(task.id)
        row = chats.setdefault(
            tasks.chat_key(task),
            {"name": task.chat_title or task.chat_ref}
            | dict.fromkeys(("tasks", "done", "back", "points"), 0),
        )
        row["tasks"] += 1
        if figures is not None:
            row["done"] += figures.completions
            row["back"] += figures.taken_back
            row["points"] += figures.points_paid
    context = {"tasks": rows, "stats": stats, "pending": pending, "lang": language(request), "chats": chats}
    return await render(request, "panel/tasks.html", context)


@ROUTES.get("/panel/tasks/new", name="panel.task_new")
@require(Role.ADMIN)
async def task_new(request: web.Request) -> web.StreamResponse:
    return await render(request, "panel/task.html", _page(None, dict(DEFAULTS)))


async def _save(request: web.Request, task_id: int | None) -> web.StreamResponse:
    _ = gettext(request)
    form = await _form(request)
    existing = None
    async with request.app[keys.POOL].acquire() as conn:
        if task_id is not None:
            existing = await tasks.get_task(conn, task_id)
            if existing is None:
                raise web.HTTPNotFound(text=_("This task does not exist."))
    warnings: list[str] = []
    try:
        chat, fields = parse_form(form, _)
        chat_id, title, warnings, can_check = await inspect_chat(request.app.get(keys.BOT), chat, _)
        if not can_check and (fields["verification"] == Verification.AUTO or fields["leave_days"]):
            raise FormError(
                " ".join(
                    [
                        *warnings,
                        _(
                            "Automatic checks and the leaving rule need the bot to see the members: "
                            "fix this, or choose screenshot review without a leaving rule."
                        ),
                    ]
                )
            )
        task = TaskInput(chat=chat, chat_id=chat_id, chat_title=title, **fields)
        async with request.app[keys.POOL].acquire() as conn:
            if task_id is None:
                saved = await tasks.create_task(conn, request[STAFF], task)
            else:
                saved = await tasks.update_task(conn, request[STAFF], task_id, task)
    except (FormError, TaskError) as exc:
        error = exc.text(_) if isinstance(exc, TaskError) else str(exc)
        return await render(request, "panel/task.html", _page(existing, form, error=error), status=400)
    return await render(
        request, "panel/task.html", _page(saved, _form_of(saved), saved=True, warnings=warnings)
    )


@ROUTES.post("/panel/tasks/new", name="panel.task_create", ok_status=400)
@require(Role.ADMIN)
async def task_create(request: web.Request) -> web.StreamResponse:
    return await _save(request, None)


# --- the screenshot review queue ----------------------------------------------------------------


def _item(item: tasks.ReviewItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "task": item.task_title,
        "chat": item.chat_title,
        "user_id": item.user_id,
        "name": item.first_name,
        "username": item.username,
        "created_at": item.created_at,
        "done_before": item.done_before,
        "rejected_before": item.rejected_before,
    }


@ROUTES.get("/panel/tasks/review", name="panel.task_review")
@require(tasks.REVIEWER)
async def review_page(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        items = await tasks.review_queue(conn, language(request))
    return await render(request, "panel/task_review.html", {"items": [_item(i) for i in items]})


@ROUTES.get(
    "/panel/tasks/review/{completion_id}/screenshot",
    name="panel.task_screenshot",
    example="/panel/tasks/review/0/screenshot",
    ok_status=404,
)
@require(tasks.REVIEWER)
async def screenshot(request: web.Request) -> web.StreamResponse:
    """The screenshot, fetched from Telegram by the bot (the file never leaves Telegram's keep)."""
    _ = gettext(request)
    completion_id = path_id(request, "completion_id", _("No such screenshot."))
    async with request.app[keys.POOL].acquire() as conn:
        item = await tasks.completion(conn, completion_id)
    bot = request.app.get(keys.BOT)
    if item is None or not item.screenshot or bot is None:
        raise web.HTTPNotFound(text=_("No such screenshot."))
    try:
        file = await bot.get_file(item.screenshot)
        if file.file_path is None:
            raise web.HTTPNotFound(text=_("No such screenshot."))
        data = await bot.download_file(file.file_path)
    except TelegramAPIError:
        raise web.HTTPNotFound(text=_("No such screenshot.")) from None
    body = data.read() if data is not None else b""
    return web.Response(
        body=body, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


async def _fields(request: web.Request) -> dict[str, str]:
    return dict(await read_form(request))  # a form or a JSON object, checked (app/web/forms.py)


def _decided_text(_: Gettext, approved: bool, name: object) -> str:
    return (_("Accepted by {name}") if approved else _("Refused by {name}")).format(name=name)


async def _decide(request: web.Request, approve: bool) -> web.StreamResponse:
    _ = gettext(request)
    completion_id = path_id(request, "completion_id", _("No such screenshot."))
    form = await _fields(request)
    parts = request.app[keys.BOT_PARTS]
    msgs = parts.task_messages
    async with request.app[keys.POOL].acquire() as conn:
        if await tasks.completion(conn, completion_id) is None:
            return web.json_response({"ok": False, "message": _("No such screenshot.")}, status=404)
    if msgs is None:
        return web.json_response({"ok": False, "message": _("The bot is not running.")}, status=503)
    languages = request.app[keys.RUNNING_SETTINGS].languages
    try:
        async with request.app[keys.POOL].acquire() as conn:
            if approve:
                decision = await tasks.approve_screenshot(
                    conn, completion_id, request[STAFF], msgs=msgs, languages=languages, now=datetime.now(UTC)
                )
            else:
                decision = await tasks.reject_screenshot(
                    conn,
                    completion_id,
                    request[STAFF],
                    form.get("reason", ""),
                    msgs=msgs,
                    languages=languages,
                )
    except tasks.TaskNotFound:
        return web.json_response({"ok": False, "message": _("No such screenshot.")}, status=404)
    except TaskError as exc:
        return web.json_response({"ok": False, "message": exc.text(_)}, status=400)
    status = decision.completion.status
    text = _decided_text(_, status == tasks.CompletionStatus.CREDITED, decision.decided_by or "?")
    if not decision.won:
        return web.json_response({"ok": False, "message": _("Already decided: {what}").format(what=text)})
    return web.json_response({"ok": True, "message": text, "decided": text})


@ROUTES.post(
    "/panel/tasks/review/{completion_id}/approve",
    name="panel.task_approve",
    example="/panel/tasks/review/0/approve",
    ok_status=404,
)
@require(tasks.REVIEWER)
async def approve(request: web.Request) -> web.StreamResponse:
    return await _decide(request, True)


@ROUTES.post(
    "/panel/tasks/review/{completion_id}/reject",
    name="panel.task_reject",
    example="/panel/tasks/review/0/reject",
    ok_status=404,
)
@require(tasks.REVIEWER)
async def reject(request: web.Request) -> web.StreamResponse:
    return await _decide(request, False)


@ROUTES.get("/panel/tasks/review/ws", name="panel.task_review_ws", ok_status=400)
@require(tasks.REVIEWER)
async def live(request: web.Request) -> web.StreamResponse:
    """New screenshots and others' decisions as they happen."""
    _ = gettext(request)
    if not web.WebSocketResponse().can_prepare(request).ok:
        return web.Response(text=_("This address is a WebSocket for the review page."), status=400)
    pool = request.app[keys.POOL]
    lang = language(request)
    context = {"_": _, "lang": lang, "csrf_token": await csrf_token(request)}

    async def shape(event: Event) -> Event | None:
        kind, completion_id = event.get("event"), event.get("id")
        if kind == "resync":
            return event
        if kind == "submitted" and isinstance(completion_id, int):
            async with pool.acquire() as conn:
                item = await tasks.review_item(conn, completion_id, lang)
            if item is None:
                return None
            html = aiohttp_jinja2.render_string(CARD_TEMPLATE, request, {**context, "item": _item(item)})
            return {"event": "submitted", "id": completion_id, "html": html}
        if kind == "decided":
            return {
                "event": "decided",
                "id": completion_id,
                "text": _decided_text(_, bool(event.get("approved")), event.get("by", "?")),
            }
        return None

    return await serve_events(request, TASKS_CHANNEL, shape)


# --- one task ---------------------------------------------------------------------------------


@ROUTES.get("/panel/tasks/{task_id}", name="panel.task", example="/panel/tasks/0", ok_status=404)
@require(Role.ADMIN)
async def task_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    task_id = path_id(request, "task_id", _("This task does not exist."))
    rng, error = _range(request)
    async with request.app[keys.POOL].acquire() as conn:
        task = await tasks.get_task(conn, task_id)
        if task is None:
            raise web.HTTPNotFound(text=_("This task does not exist."))
        days = await tasks.daily_stats(conn, task_id, rng)
    csv = request.app.router["panel.task_csv"].url_for(task_id=str(task_id))
    page = _page(task, _form_of(task)) | _figures(request, rng, error, days, csv, {})
    return await render(request, "panel/task.html", page, status=400 if error else 200)


@ROUTES.get("/panel/task-chat", name="panel.task_chat", example="/panel/task-chat?key=@none", ok_status=404)
@require(Role.ADMIN)
async def task_chat_page(request: web.Request) -> web.StreamResponse:
    """One chat's figures per day over all its tasks (T5): members gained and lost, points."""
    _ = gettext(request)
    key = request.query.get("key", "")[:300]
    rng, error = _range(request)
    async with request.app[keys.POOL].acquire() as conn:
        about, days = await tasks.chat_daily_stats(conn, key, rng)
    if not about:
        raise web.HTTPNotFound(text=_("No task is about this chat."))
    csv = request.app.router["panel.task_chat_csv"].url_for()
    context: dict[str, object] = {"about": about, "name": about[0].chat_title or about[0].chat_ref}
    context["lang"] = language(request)
    context |= _figures(request, rng, error, days, csv, {"key": key})
    return await render(request, "panel/task_chat.html", context, status=400 if error else 200)


def _range(request: web.Request) -> tuple[DateRange, str | None]:
    """The panel's shared date range (the last 30 days by default); a refused one: the default
    range, and why it was refused."""
    today = utc_today()
    try:
        rng = query_range(request, today)
    except RangeError as exc:
        return last_days(DEFAULT_DAYS, today), exc.text(gettext(request))
    assert rng is not None  # with a default, there is always a range
    return rng, None


def _figures(
    request: web.Request,
    rng: DateRange,
    error: str | None,
    days: list[tasks.DayStats],
    csv: URL,
    hidden: dict[str, str],
) -> dict[str, object]:
    """What templates/panel/_task_days.html draws: the range control, the chart, the table."""
    _ = gettext(request)
    return {
        "days": days,
        "dr": control(request, rng, utc_today(), _),
        "chart": _chart(days, _),
        "range_error": error,
        "hidden": hidden,
        "csv": str(csv.with_query(hidden | rng.as_filter())),
    }


def _chart(days: list[tasks.DayStats], _: Gettext) -> dict[str, object]:
    return {
        "days": [d.day.date().isoformat() for d in days],
        "series": [
            {"label": _("Done"), "data": [d.completions for d in days], "color": "#198754"},
            {"label": _("Taken back"), "data": [-d.taken_back for d in days], "color": "#dc3545"},
        ],
    }


@ROUTES.get(
    "/panel/task-chat.csv",
    name="panel.task_chat_csv",
    example="/panel/task-chat.csv?key=@none",
    ok_status=404,
)
@require(Role.ADMIN)
async def task_chat_csv(request: web.Request) -> web.StreamResponse:
    """One chat's figures per day over the panel's date range, streamed as CSV (?key=)."""
    _ = gettext(request)
    key, rng = request.query.get("key", "")[:300], _csv_range(request)
    async with request.app[keys.POOL].acquire() as conn:
        about, rows = await tasks.chat_daily_stats(conn, key, rng)
    if not about:
        raise web.HTTPNotFound(text=_("No task is about this chat."))
    return await _send_days(request, f"chat-{about[0].id}", rows, rng.as_filter() | {"chat": key})


def _csv_range(request: web.Request) -> DateRange:
    """An export's range (the panel's control; the last 30 days by default); 400 when refused."""
    rng, error = _range(request)
    if error is not None:
        raise web.HTTPBadRequest(text=error)
    return rng


@ROUTES.post("/panel/tasks/{task_id}", name="panel.task_update", example="/panel/tasks/0", ok_status=404)
@require(Role.ADMIN)
async def task_update(request: web.Request) -> web.StreamResponse:
    task_id = path_id(request, "task_id", gettext(request)("This task does not exist."))
    return await _save(request, task_id)


@ROUTES.get(
    "/panel/tasks/{task_id}/stats.csv",
    name="panel.task_csv",
    example="/panel/tasks/0/stats.csv",
    ok_status=404,
)
@require(Role.ADMIN)
async def task_csv(request: web.Request) -> web.StreamResponse:
    """The task's figures per day over the panel's date range, streamed as CSV."""
    _ = gettext(request)
    task_id = path_id(request, "task_id", _("This task does not exist."))
    rng = _csv_range(request)
    async with request.app[keys.POOL].acquire() as conn:
        if await tasks.get_task(conn, task_id) is None:
            raise web.HTTPNotFound(text=_("This task does not exist."))
        rows = await tasks.daily_stats(conn, task_id, rng)
    return await _send_days(request, f"task-{task_id}", rows, rng.as_filter())


async def _send_days(
    request: web.Request, name: str, rows: list[tasks.DayStats], filters: dict[str, str]
) -> web.StreamResponse:
    async def lines() -> AsyncGenerator[list[tuple[object, ...]]]:
        yield [
            (r.day.date().isoformat(), r.completions, r.taken_back, r.completions - r.taken_back, r.points)
            for r in rows
        ]

    columns = ("day", "completions", "taken_back", "net_members", "points")
    return await send_csv(request, name, columns, lines(), filters)
