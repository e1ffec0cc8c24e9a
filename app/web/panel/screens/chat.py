"""Reported web chat conversations (operators): the list, and reading one (every reading audited).

Staff cannot read conversations otherwise: only a report by one of its members opens one here.
"""

from __future__ import annotations

from aiohttp import web

from app.domain.chat import conversations
from app.domain.chat.conversations import ConversationNotFound
from app.domain.staff import Role
from app.web import keys
from app.web.forms import path_id
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()


@ROUTES.get("/panel/chat/reports", name="panel.chat_reports")
@require(Role.OPERATOR)
async def reports_page(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        reports = await conversations.reported_conversations(conn)
    return await render(request, "panel/chat_reports.html", {"reports": reports})


@ROUTES.get(
    "/panel/chat/reports/{id}", name="panel.chat_report", example="/panel/chat/reports/999999", ok_status=404
)
@require(Role.OPERATOR)
async def report_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    missing = _("No reported conversation with this number.")
    conversation_id = path_id(request, "id", missing)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            conversation, messages = await conversations.read_reported(conn, request[STAFF], conversation_id)
            names = await conversations.member_names(conn, conversation_id)
    except ConversationNotFound:
        raise web.HTTPNotFound(text=missing) from None
    context = {"conversation": conversation, "messages": messages, "names": names}
    return await render(request, "panel/chat_report.html", context)
