"""The bot's main menu (S4), a tree of buttons: add, edit, move up and down, delete, reset to
today's menu, and a preview of the keyboard in each language. A change applies at once: this
process's MenuTree is replaced after commit and the other processes reload on the notification.
The page reads the tree from the database (a process started before a change shows it too)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.domain.support import menus
from app.domain.support.menus import ACTIONS, KINDS, MenuError, MenuNode, MenuTree, NodeForm, NodeKind
from app.i18n import LANGUAGES
from app.web import keys
from app.web.forms import path_id, read_form, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import LANGUAGE_NAMES, PANEL_TRANSLATOR, gettext, language
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()
MISSING = "This button does not exist (any more)."


def _default_language(request: web.Request) -> str:
    return request.app[keys.RUNNING_SETTINGS].languages.default


def _outline(
    tree: MenuTree, lang: str, request: web.Request, entries: Mapping[int, tuple[str, bool]]
) -> list[dict[str, object]]:
    """Every node in menu order, depth first, with what the page shows of it."""
    _ = gettext(request)
    rows: list[dict[str, object]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        buttons = tree.buttons(parent_id)
        for index, node in enumerate(buttons):
            rows.append(
                {
                    "node": node,
                    "depth": depth,
                    "label": tree.label(node, lang, _),
                    "kind": _(KINDS[node.kind]),
                    "detail": _detail(tree, node, lang, request, entries),
                    "first": index == 0,
                    "last": index == len(buttons) - 1,
                }
            )
            if node.kind == NodeKind.SUBMENU:
                walk(node.id, depth + 1)

    walk(None, 0)
    return rows


def _detail(
    tree: MenuTree, node: MenuNode, lang: str, request: web.Request, entries: Mapping[int, tuple[str, bool]]
) -> str:
    _ = gettext(request)
    if node.kind == NodeKind.KB:
        key, enabled = entries.get(node.kb_entry_id or 0, ("?", False))
        return (
            key
            if enabled
            else _("{key} (switched off: the button says it is no longer valid)").format(key=key)
        )
    if node.kind == NodeKind.URL:
        return node.url or ""
    if node.kind == NodeKind.ACTION:
        return _(ACTIONS.get(node.action or "", node.action or ""))
    if node.kind == NodeKind.TEXT:
        return tree.text(node, lang)[:80]
    return ""


def _previews(request: web.Request, tree: MenuTree) -> dict[str, list[dict[str, object]]]:
    """Each menu's keyboard as the bot shows it, per language (submenus end with Back)."""
    translator = request.app[PANEL_TRANSLATOR]
    menus_in_order: list[int | None] = [None, *_submenus(tree, None)]
    shown: dict[str, list[dict[str, object]]] = {}
    for lang in LANGUAGES:
        _ = translator(lang)
        shown[lang] = [
            {
                "title": _("Main menu") if menu_id is None else tree.path(menu_id, lang, _),
                "rows": menus.preview(tree, menu_id, lang, _) + ([] if menu_id is None else [[_("⬅️ Back")]]),
            }
            for menu_id in menus_in_order
        ]
    return shown


def _submenus(tree: MenuTree, parent_id: int | None) -> list[int]:
    """The submenus under a menu, depth first in menu order."""
    found: list[int] = []
    for node in tree.buttons(parent_id):
        if node.kind == NodeKind.SUBMENU:
            found += [node.id, *_submenus(tree, node.id)]
    return found


def _form_of(node: MenuNode, kb_keys: Mapping[int, str]) -> dict[str, str]:
    values = {
        "parent": "" if node.parent_id is None else str(node.parent_id),
        "kind": str(node.kind),
        "url": node.url or "",
        "kb_key": kb_keys.get(node.kb_entry_id or 0, ""),
        "action": node.action or "",
        "wide": "1" if node.wide else "",
    }
    for lang in LANGUAGES:
        values[f"label_{lang}"] = node.labels.get(lang, "")
        values[f"text_{lang}"] = node.texts.get(lang, "")
    return values


async def _page(
    request: web.Request,
    *,
    status: int = 200,
    editing: int | None = None,
    form: Mapping[str, str] | None = None,
    **extra: object,
) -> web.StreamResponse:
    _ = gettext(request)
    lang = language(request)
    async with request.app[keys.POOL].acquire() as conn:
        tree = await menus.load(conn, _default_language(request))
        entries = await menus.kb_entries(conn)
    kb_keys = {entry_id: key for entry_id, (key, _enabled) in entries.items()}
    node = tree.nodes.get(editing) if editing is not None else None
    if form is None:
        form = _form_of(node, kb_keys) if node is not None else {"parent": request.query.get("parent", "")}
    translator = request.app[PANEL_TRANSLATOR]
    built_in = ACTIONS.get(node.action or "") if node is not None else None
    context = {
        "tree": tree,
        "placeholders": {lang: translator(lang)(built_in) if built_in else "" for lang in LANGUAGES},
        "outline": _outline(tree, lang, request, entries),
        "previews": _previews(request, tree),
        "editing": node,
        "form": form,
        "parents": [("", _("Main menu"))] + [(str(n), tree.path(n, lang, _)) for n in _submenus(tree, None)],
        "kinds": [(str(kind), _(label)) for kind, label in KINDS.items()],
        "actions": [(key, _(label)) for key, label in ACTIONS.items()],
        "kb_keys": sorted(key for key, enabled in entries.values() if enabled),
        "menu_languages": LANGUAGES,
        "language_names": dict(LANGUAGE_NAMES),
        "default_language": _default_language(request),
        "error": None,
        "done_message": None,
        **extra,
    }
    return await render(request, "panel/menus.html", context, status=status)


def _node_form(fields: Mapping[str, str]) -> NodeForm:
    parent = fields.get("parent", "").strip()
    parent_id = None if parent in ("", "0") else whole_number(parent)
    return NodeForm(
        parent_id=-1 if parent_id is None and parent not in ("", "0") else parent_id,  # -1: no such menu
        kind=fields.get("kind", ""),
        labels={lang: fields.get(f"label_{lang}", "") for lang in LANGUAGES},
        texts={lang: fields.get(f"text_{lang}", "") for lang in LANGUAGES},
        url=fields.get("url", ""),
        kb_key=fields.get("kb_key", ""),
        action=fields.get("action", ""),
        wide=fields.get("wide", "") == "1",
    )


async def _saved(request: web.Request, fresh: MenuTree) -> web.StreamResponse:
    """The committed tree into this process (the others reload on the notification), then the
    menu page by a redirect: reloading it does not post the change again."""
    request.app[keys.RUNNING_SETTINGS].menu.update(fresh)
    raise web.HTTPSeeOther(request.app.router["panel.menu"].url_for().with_query(saved="1"))


@ROUTES.get("/panel/menu", name="panel.menu")
@require(Role.ADMIN)
async def menu_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    done = _("Saved. The bot shows the new menu now.") if request.query.get("saved") == "1" else None
    return await _page(request, editing=whole_number(request.query.get("edit", "")), done_message=done)


@ROUTES.post("/panel/menu/nodes", name="panel.menu_add", ok_status=400)
@require(Role.ADMIN)
async def add_node(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    fields = {k: str(v) for k, v in (await read_form(request)).items()}
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            actor = StaffMember(request[STAFF])
            default = _default_language(request)
            fresh = await menus.add_node(conn, actor, _node_form(fields), default_language=default)
    except MenuError as exc:
        return await _page(request, status=400, error=exc.text(_), form=fields)
    return await _saved(request, fresh)


@ROUTES.post("/panel/menu/nodes/{id}", name="panel.menu_save", example="/panel/menu/nodes/0", ok_status=400)
@require(Role.ADMIN)
async def save_node(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node_id = path_id(request, "id", MISSING)
    fields = {k: str(v) for k, v in (await read_form(request)).items()}
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            actor = StaffMember(request[STAFF])
            fresh = await menus.save_node(
                conn, actor, node_id, _node_form(fields), default_language=_default_language(request)
            )
    except MenuError as exc:
        return await _page(request, status=400, error=exc.text(_), form=fields, editing=node_id)
    return await _saved(request, fresh)


@ROUTES.post(
    "/panel/menu/nodes/{id}/move", name="panel.menu_move", example="/panel/menu/nodes/0/move", ok_status=400
)
@require(Role.ADMIN)
async def move_node(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node_id = path_id(request, "id", MISSING)
    step = -1 if (await read_form(request)).get("direction") == "up" else 1
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            actor = StaffMember(request[STAFF])
            default = _default_language(request)
            fresh = await menus.move_node(conn, actor, node_id, step, default_language=default)
    except MenuError as exc:
        return await _page(request, status=400, error=exc.text(_))
    return await _saved(request, fresh)


@ROUTES.post(
    "/panel/menu/nodes/{id}/delete",
    name="panel.menu_delete",
    example="/panel/menu/nodes/0/delete",
    ok_status=400,
)
@require(Role.ADMIN)
async def delete_node(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node_id = path_id(request, "id", MISSING)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            actor = StaffMember(request[STAFF])
            fresh = await menus.delete_node(conn, actor, node_id, default_language=_default_language(request))
    except MenuError as exc:
        return await _page(request, status=400, error=exc.text(_))
    return await _saved(request, fresh)


@ROUTES.post("/panel/menu/reset", name="panel.menu_reset", ok_status=303)
@require(Role.ADMIN)
async def reset_menu(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            actor = StaffMember(request[STAFF])
            fresh = await menus.reset(conn, actor, default_language=_default_language(request))
    except MenuError as exc:
        return await _page(request, status=400, error=exc.text(_))
    return await _saved(request, fresh)
