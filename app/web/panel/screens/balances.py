"""Balances and withdrawals (T3, T5): a user's tasks, balance and ledger entries, audited manual
adjustments and task credits (new entries, never edits), and the withdrawal queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiohttp import web

from app.domain import ledger, tasks
from app.domain.ledger import Currency, LedgerError
from app.domain.staff import Role
from app.domain.tasks import TaskError
from app.web import keys
from app.web.forms import path_id, read_form, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext, language
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()
PAGE = 100


def _signed(value: str) -> int | None:
    text = value.strip().replace(" ", "")
    negative = text.startswith("-")
    number = whole_number(text.lstrip("+-"), 10)
    return None if number is None else (-number if negative else number)


async def _page(request: web.Request, user_id: int, **extra: object) -> dict[str, object]:
    _ = gettext(request)
    async with request.app[keys.POOL].acquire() as conn:
        points = await ledger.balance(conn, user_id, Currency.POINTS)
        stars = await ledger.balance(conn, user_id, Currency.XTR)
        rows = await ledger.entries(conn, user_id, limit=PAGE)
        done = await tasks.user_tasks(conn, user_id)
        requests = await ledger.user_withdrawals(conn, user_id)
        all_tasks = await tasks.list_tasks(conn)
    return {
        "user_id": user_id,
        "points": points,
        "stars": stars,
        "entries": rows,
        "done": done,
        "requests": requests,
        "tasks": all_tasks,
        "lang": language(request),
        "kind_labels": {k: _(v) for k, v in ledger.ENTRY_KIND_LABELS.items()},
        "status_labels": {k: _(v) for k, v in ledger.WITHDRAWAL_STATUS_LABELS.items()},
        "form_key": str(uuid.uuid4()),
        "error": None,
        "done_message": None,
        **extra,
    }


def _user_id(request: web.Request) -> int:
    return path_id(request, "user_id", gettext(request)("There is no such user."))


@ROUTES.get("/panel/balances/{user_id}", name="panel.balance", example="/panel/balances/0")
@require(Role.ADMIN)
async def balance_page(request: web.Request) -> web.StreamResponse:
    return await render(request, "panel/balance.html", await _page(request, _user_id(request)))


@ROUTES.post(
    "/panel/balances/{user_id}/adjust",
    name="panel.balance_adjust",
    example="/panel/balances/0/adjust",
    ok_status=400,
)
@require(Role.ADMIN)
async def adjust(request: web.Request) -> web.StreamResponse:
    """A manual adjustment: a new audited entry with a reason; the form's key makes a double
    submit count once."""
    _ = gettext(request)
    user_id = _user_id(request)
    form = await read_form(request)
    amount = _signed(str(form.get("amount", "")))
    currency = str(form.get("currency", "points"))
    msgs = request.app[keys.BOT_PARTS].ledger_messages
    try:
        if amount is None or currency not in ("points", "XTR"):
            raise LedgerError(_("The amount is a whole number like 50 or -20."))
        if msgs is None:
            raise LedgerError(_("The bot is not running."))
        key = str(form.get("key", "")).strip()[:100] or None
        async with request.app[keys.POOL].acquire() as conn:
            await ledger.adjust(
                conn,
                user_id,
                Currency(currency),
                amount,
                request[STAFF],
                str(form.get("reason", "")),
                msgs=msgs,
                languages=request.app[keys.RUNNING_SETTINGS].languages,
                key=f"adjust:{key}" if key else None,
            )
    except LedgerError as exc:
        page = await _page(request, user_id, error=exc.text(_))
        return await render(request, "panel/balance.html", page, status=400)
    page = await _page(request, user_id, done_message=_("The balance is adjusted; the user is told."))
    return await render(request, "panel/balance.html", page)


@ROUTES.post(
    "/panel/balances/{user_id}/credit",
    name="panel.balance_credit",
    example="/panel/balances/0/credit",
    ok_status=400,
)
@require(Role.ADMIN)
async def credit_task(request: web.Request) -> web.StreamResponse:
    """Credit a task by hand: once per user and task, like the bot's Check; audited."""
    _ = gettext(request)
    user_id = _user_id(request)
    form = await read_form(request)
    task_id = whole_number(str(form.get("task_id", "")), 15)
    try:
        if task_id is None:
            raise TaskError(_("Choose a task."))
        async with request.app[keys.POOL].acquire() as conn:
            await tasks.credit_by_staff(conn, task_id, user_id, request[STAFF], datetime.now(UTC))
    except (TaskError, LedgerError) as exc:
        page = await _page(request, user_id, error=exc.text(_))
        return await render(request, "panel/balance.html", page, status=400)
    page = await _page(request, user_id, done_message=_("The task is credited."))
    return await render(request, "panel/balance.html", page)


# --- withdrawals ------------------------------------------------------------------------------


async def _queue(request: web.Request, *, status: int = 200, **extra: object) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        requests = await ledger.open_withdrawals(conn, limit=200)
    return await render(
        request,
        "panel/withdrawals.html",
        {"requests": requests, "error": None, "done_message": None, **extra},
        status=status,
    )


@ROUTES.get("/panel/withdrawals", name="panel.withdrawals")
@require(Role.ADMIN)
async def withdrawals_page(request: web.Request) -> web.StreamResponse:
    return await _queue(request)


async def _decide(request: web.Request, approve: bool) -> web.StreamResponse:
    _ = gettext(request)
    request_id = path_id(request, "request_id", _("This withdrawal request does not exist."))
    form = await read_form(request)
    msgs = request.app[keys.BOT_PARTS].ledger_messages
    languages = request.app[keys.RUNNING_SETTINGS].languages
    try:
        async with request.app[keys.POOL].acquire() as conn:
            if await ledger.get_withdrawal(conn, request_id) is None:
                raise ledger.WithdrawalNotFound(request_id)
            if msgs is None:
                raise LedgerError(_("The bot is not running."))
            if approve:
                decision = await ledger.approve_withdrawal(
                    conn,
                    request_id,
                    request[STAFF],
                    str(form.get("payout_reference", "")),
                    msgs=msgs,
                    languages=languages,
                )
            else:
                decision = await ledger.reject_withdrawal(
                    conn,
                    request_id,
                    request[STAFF],
                    str(form.get("reason", "")),
                    msgs=msgs,
                    languages=languages,
                )
    except ledger.WithdrawalNotFound as exc:
        return await _queue(request, error=exc.text(_), status=404)
    except LedgerError as exc:
        return await _queue(request, error=exc.text(_), status=400)
    if not decision.won:
        label = _(ledger.WITHDRAWAL_STATUS_LABELS[decision.request.status])
        said = _("Request #{id} was already decided by {name}: {status}.").format(
            id=request_id, name=decision.decided_by or "?", status=label
        )
        return await _queue(request, error=said)
    said = (_("Request #{id} is paid out.") if approve else _("Request #{id} is declined.")).format(
        id=request_id
    )
    return await _queue(request, done_message=said)


@ROUTES.post(
    "/panel/withdrawals/{request_id}/approve",
    name="panel.withdrawal_approve",
    example="/panel/withdrawals/0/approve",
    ok_status=404,
)
@require(Role.ADMIN)
async def approve(request: web.Request) -> web.StreamResponse:
    return await _decide(request, True)


@ROUTES.post(
    "/panel/withdrawals/{request_id}/reject",
    name="panel.withdrawal_reject",
    example="/panel/withdrawals/0/reject",
    ok_status=404,
)
@require(Role.ADMIN)
async def reject(request: web.Request) -> web.StreamResponse:
    return await _decide(request, False)
