"""The bot's main menu (S4): a tree of buttons edited in the panel.

Each node is a button with a label per language and what it does: an answer text, a submenu,
a URL, a knowledge-base entry's answer, or one of the bot's actions (post an ad, my ads, support,
talk to a person, web chat, tasks, language). Today's menu is the default: its buttons are
actions whose labels, left empty, are the built-in translated ones.

Every process keeps the whole tree in one MenuTree, loaded at start; a change returns the fresh
tree (the saving process applies it after commit) and notifies the others, which reload theirs
(app/web/live.py, also after a lost LISTEN connection). So the bot draws a menu from memory,
without a database round trip per update. Edits take menu_state's row lock first: they happen
one after another, and the checks (depth, no cycles, buttons per menu) see the latest tree.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult

from app.db import Conn
from app.db.queries import bot_menus as q
from app.db.queries import support as kb_q
from app.db.queries.bot_menus import MenuNodeRow, NodeKind, NodeValues
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.i18n import LANGUAGES, N_, Gettext, UserError
from app.urls import split

LABEL_LIMIT = 64  # characters on a button (Telegram shows little more on a phone)
TEXT_LIMIT = 4096  # a Telegram message
URL_LIMIT = 2048
MAX_DEPTH = 4  # the main menu's buttons are level 1
MAX_BUTTONS = 8  # per menu (a submenu adds its Back button)
PER_ROW = 2  # buttons side by side, unless a button is wide

# The bot's actions a button can start, with their built-in labels (each answered by its area's
# router on MenuCb(action=…), the same callback data as before the menu was editable).
ACTIONS: dict[str, str] = {
    "post": N_("📢 Post an ad"),
    "my_ads": N_("📋 My ads"),
    "support": N_("💬 Support"),
    "human": N_("🙋 Talk to a person"),
    "webchat": N_("💭 Web chat"),
    "tasks": N_("🎯 Tasks"),
    "language": N_("🌐 Language"),
}
DEFAULT_MENU = ("post", "my_ads", "support", "tasks", "language")  # today's menu, in its order
KINDS: dict[NodeKind, str] = {
    NodeKind.TEXT: N_("Answer text"),
    NodeKind.SUBMENU: N_("Submenu"),
    NodeKind.URL: N_("Link"),
    NodeKind.KB: N_("Knowledge-base answer"),
    NodeKind.ACTION: N_("Bot action"),
}
_SPACES = re.compile(r"\s+")
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")  # a dotted host name
MenuNode = MenuNodeRow  # a button of the tree, as the bot and the panel read it
__all__ = [
    "ACTIONS",
    "KINDS",
    "MenuError",
    "MenuNode",
    "MenuTree",
    "NodeForm",
    "NodeKind",
    "NotAllowed",
    "add_node",
    "delete_node",
    "kb_entries",
    "load",
    "move_node",
    "preview",
    "reset",
    "save_node",
]


class MenuError(UserError):
    """A menu change that cannot be made; nothing changed."""


class NotAllowed(MenuError):
    def __init__(self) -> None:
        super().__init__(N_("Only administrators edit the bot's menu."))


@dataclass(frozen=True, slots=True)
class NodeForm:
    """A node as the panel's form gives it (not yet checked)."""

    parent_id: int | None
    kind: str
    labels: Mapping[str, str]
    texts: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    kb_key: str = ""
    action: str = ""
    wide: bool = False


@dataclass
class MenuTree:
    """One per process: the menu's nodes by id and each menu's buttons in order."""

    version: int = 0
    default_language: str = LANGUAGES[0]
    nodes: dict[int, MenuNodeRow] = field(default_factory=dict)
    children: dict[int | None, tuple[MenuNodeRow, ...]] = field(default_factory=dict)
    memo: dict[Hashable, object] = field(default_factory=dict, repr=False, compare=False)  # callers' cache

    def __post_init__(self) -> None:
        if not self.nodes:  # nothing loaded (or stored): today's menu
            defaults = [
                MenuNodeRow(-n, None, n, NodeKind.ACTION, {}, {}, None, None, action, False)
                for n, action in enumerate(DEFAULT_MENU, start=1)
            ]
            self.nodes = {node.id: node for node in defaults}
            self.children = {None: tuple(defaults)}

    def update(self, other: MenuTree) -> None:
        """Take a fresher tree (an older one, from a reload that lost a race, is ignored)."""
        if other.version < self.version:
            return
        self.version, self.default_language = other.version, other.default_language
        self.nodes, self.children = other.nodes, other.children
        self.memo = {}

    def buttons(self, parent_id: int | None) -> tuple[MenuNodeRow, ...]:
        return self.children.get(parent_id, ())

    def rows(self, parent_id: int | None) -> list[list[MenuNodeRow]]:
        """A menu's buttons as keyboard rows: two side by side, a wide one alone."""
        rows: list[list[MenuNodeRow]] = []
        pending: list[MenuNodeRow] = []
        for node in self.buttons(parent_id):
            if node.kind == NodeKind.ACTION and node.action not in ACTIONS:
                continue  # an action this version of the bot does not know
            if node.wide:
                if pending:
                    rows.append(pending)
                    pending = []
                rows.append([node])
                continue
            pending.append(node)
            if len(pending) == PER_ROW:
                rows.append(pending)
                pending = []
        if pending:
            rows.append(pending)
        return rows

    def label(self, node: MenuNodeRow, language: str, _: Gettext) -> str:
        """The button's text in this language: its own, else an action's built-in label, else
        the default language's, else any."""
        if node.labels.get(language):
            return node.labels[language]
        if node.kind == NodeKind.ACTION and node.action in ACTIONS:
            return _(ACTIONS[node.action])
        return self._pick(node.labels, language)

    def text(self, node: MenuNodeRow, language: str) -> str:
        """An answer's text, or a submenu's heading ("" when it has none)."""
        return self._pick(node.texts, language)

    def _pick(self, values: Mapping[str, str], language: str) -> str:
        for lang in (language, self.default_language, *LANGUAGES):
            if values.get(lang):
                return values[lang]
        return ""

    def depth(self, node_id: int) -> int:
        """1 for a button of the main menu, 2 in its submenu…"""
        depth, node = 0, self.nodes.get(node_id)
        while node is not None and depth <= len(self.nodes):
            depth += 1
            node = self.nodes.get(node.parent_id) if node.parent_id is not None else None
        return depth

    def height(self, node_id: int) -> int:
        """Levels from this node down (1: no buttons under it)."""
        below = [self.height(child.id) for child in self.buttons(node_id)]
        return 1 + max(below, default=0)

    def is_within(self, node_id: int, ancestor_id: int) -> bool:
        """Whether the node is the ancestor or lies under it."""
        seen: set[int] = set()
        current: int | None = node_id
        while current is not None and current not in seen:
            if current == ancestor_id:
                return True
            seen.add(current)
            found = self.nodes.get(current)
            current = found.parent_id if found is not None else None
        return False

    def path(self, node_id: int, language: str, _: Gettext) -> str:
        """ "Main menu › Help › Delivery": where a node is, for the panel."""
        parts: list[str] = []
        current = self.nodes.get(node_id)
        while current is not None and len(parts) <= MAX_DEPTH + 1:
            parts.append(self.label(current, language, _))
            current = self.nodes.get(current.parent_id) if current.parent_id is not None else None
        return " › ".join([_("Main menu"), *reversed(parts)])


def build(version: int, rows: list[MenuNodeRow], default_language: str) -> MenuTree:
    children: dict[int | None, list[MenuNodeRow]] = {}
    for row in rows:  # ordered by position
        children.setdefault(row.parent_id, []).append(row)
    return MenuTree(
        version=version,
        default_language=default_language,
        nodes={row.id: row for row in rows},
        children={parent: tuple(nodes) for parent, nodes in children.items()},
    )


async def load(conn: Conn, default_language: str) -> MenuTree:
    """The menu as stored (version first: a change committed in between is reloaded later)."""
    version = await q.version(conn)
    return build(version, await q.list_nodes(conn), default_language)


# Changes ------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _labels(form: NodeForm, kind: NodeKind, default_language: str) -> dict[str, str]:
    labels = {lang: _one_line(form.labels.get(lang, "")) for lang in LANGUAGES}
    labels = {lang: label for lang, label in labels.items() if label}
    for lang, label in labels.items():
        if len(label) > LABEL_LIMIT:
            raise MenuError(
                N_("The label in {language} is {length} characters long; a button takes at most 64."),
                language=lang,
                length=len(label),
            )
    if kind != NodeKind.ACTION and not labels.get(default_language):
        raise MenuError(
            N_("Write the label in {language}, the bot's default language."), language=default_language
        )
    return labels


def _texts(form: NodeForm, kind: NodeKind, default_language: str) -> dict[str, str]:
    if kind not in (NodeKind.TEXT, NodeKind.SUBMENU):
        return {}
    texts = {lang: form.texts.get(lang, "").strip() for lang in LANGUAGES}
    texts = {lang: text for lang, text in texts.items() if text}
    for lang, text in texts.items():
        if len(text) > TEXT_LIMIT:
            raise MenuError(
                N_("The text in {language} is {length} characters long; Telegram takes at most 4096."),
                language=lang,
                length=len(text),
            )
    if kind == NodeKind.TEXT and not texts.get(default_language):
        raise MenuError(
            N_("Write the answer in {language}, the bot's default language."), language=default_language
        )
    return texts


def check_url(url: str) -> str:
    """A link a button can open: http(s) with a host name Telegram takes, or tg://. (A link
    Telegram refuses would break every menu it is in, so doubtful ones are refused here.)"""
    url = url.strip()
    parts = split(url)
    if len(url) > URL_LIMIT or _SPACES.search(url) or parts is None or not _url_is_good(parts):
        raise MenuError(N_("A link starts with https://, http:// or tg:// and has no spaces."))
    return url


def _url_is_good(parts: SplitResult) -> bool:
    scheme = parts.scheme.lower()
    if scheme == "tg":
        return bool(parts.netloc or parts.path)
    if scheme not in ("http", "https") or not parts.hostname:
        return False
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
        host = parts.hostname.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return False
    return _HOST.match(host) is not None


async def _values(conn: Conn, form: NodeForm, default_language: str) -> NodeValues:
    try:
        kind = NodeKind(form.kind)
    except ValueError:
        raise MenuError(N_("Choose what the button does.")) from None
    labels = _labels(form, kind, default_language)
    texts = _texts(form, kind, default_language)
    url = check_url(form.url) if kind == NodeKind.URL else None
    kb_entry_id = None
    if kind == NodeKind.KB:
        key = form.kb_key.strip()
        entry = await kb_q.get_entry_by_key(conn, key) if key else None
        if entry is None:
            raise MenuError(N_("There is no knowledge-base entry with the key “{key}”."), key=key)
        kb_entry_id = entry.id
    action = form.action if kind == NodeKind.ACTION else None
    if kind == NodeKind.ACTION and action not in ACTIONS:
        raise MenuError(N_("Choose one of the bot's actions."))
    return NodeValues(kind, labels, texts, url, kb_entry_id, action, form.wide)


def _check_place(tree: MenuTree, node_id: int | None, parent_id: int | None) -> None:
    """The node (new: None) may go under this parent: a submenu, not inside itself, not too
    deep, not into a full menu."""
    if parent_id is not None:
        parent = tree.nodes.get(parent_id)
        if parent is None or parent.kind != NodeKind.SUBMENU:
            raise MenuError(N_("Buttons go only into the main menu or into a submenu."))
        if node_id is not None and tree.is_within(parent_id, node_id):
            raise MenuError(N_("A submenu cannot go inside itself or inside one of its own submenus."))
    height = tree.height(node_id) if node_id is not None else 1
    if (tree.depth(parent_id) if parent_id is not None else 0) + height > MAX_DEPTH:
        raise MenuError(N_("Menus go at most 4 levels deep."))
    if sum(1 for n in tree.buttons(parent_id) if n.id != node_id) >= MAX_BUTTONS:
        raise MenuError(N_("A menu holds at most 8 buttons; this one is full."))


def _allowed(by: StaffMember) -> None:
    if not by.staff.has_role(Role.ADMIN):
        raise NotAllowed()


async def _begin(conn: Conn, by: StaffMember, default_language: str) -> MenuTree:
    """Take the edit lock; the tree as it is now, under it."""
    _allowed(by)
    await q.begin_change(conn)
    return await load(conn, default_language)


async def _done(
    conn: Conn,
    by: StaffMember,
    action: str,
    target: str,
    before: object,
    after: object,
    default_language: str,
) -> MenuTree:
    await staff_domain.audit(conn, by.staff.id, action, target, before, after)
    fresh = await load(conn, default_language)
    await q.notify_changed(conn, fresh.version)
    return fresh


def _snapshot(node: MenuNodeRow | None) -> dict[str, object] | None:
    if node is None:
        return None
    return {
        "parent_id": node.parent_id,
        "kind": str(node.kind),
        "labels": node.labels,
        "texts": node.texts,
        "url": node.url,
        "kb_entry_id": node.kb_entry_id,
        "action": node.action,
        "wide": node.wide,
    }


def _existing(tree: MenuTree, node_id: int) -> MenuNodeRow:
    node = tree.nodes.get(node_id)
    if node is None:
        raise MenuError(N_("This button does not exist (any more)."))
    return node


async def add_node(conn: Conn, by: StaffMember, form: NodeForm, *, default_language: str) -> MenuTree:
    """A new button at the end of its menu; returns the fresh tree (to apply after commit)."""
    tree = await _begin(conn, by, default_language)
    values = await _values(conn, form, default_language)
    _check_place(tree, None, form.parent_id)
    row = await q.insert_node(conn, form.parent_id, values)
    return await _done(conn, by, "menu.add", f"menu:{row.id}", None, _snapshot(row), default_language)


async def save_node(
    conn: Conn, by: StaffMember, node_id: int, form: NodeForm, *, default_language: str
) -> MenuTree:
    """Change a button: what it does, its labels, and the menu it is in."""
    tree = await _begin(conn, by, default_language)
    node = _existing(tree, node_id)
    values = await _values(conn, form, default_language)
    if node.kind == NodeKind.SUBMENU and values.kind != NodeKind.SUBMENU and tree.buttons(node_id):
        raise MenuError(N_("This submenu has buttons in it: delete or move them first."))
    if form.parent_id != node.parent_id:
        _check_place(tree, node_id, form.parent_id)
        await q.move_to(conn, node_id, form.parent_id)
    await q.update_node(conn, node_id, values)
    after = {**(_snapshot(node) or {}), **_snapshot_values(values), "parent_id": form.parent_id}
    return await _done(conn, by, "menu.save", f"menu:{node_id}", _snapshot(node), after, default_language)


def _snapshot_values(values: NodeValues) -> dict[str, object]:
    return {
        "kind": str(values.kind),
        "labels": values.labels,
        "texts": values.texts,
        "url": values.url,
        "kb_entry_id": values.kb_entry_id,
        "action": values.action,
        "wide": values.wide,
    }


async def move_node(
    conn: Conn, by: StaffMember, node_id: int, step: int, *, default_language: str
) -> MenuTree:
    """One place up (step -1) or down (+1) among its menu's buttons."""
    tree = await _begin(conn, by, default_language)
    node = _existing(tree, node_id)
    order = [n.id for n in tree.buttons(node.parent_id)]
    here = order.index(node_id)
    there = here + (1 if step > 0 else -1)
    if 0 <= there < len(order):
        order[here], order[there] = order[there], order[here]
        await q.set_positions(conn, order)
    return await _done(
        conn,
        by,
        "menu.move",
        f"menu:{node_id}",
        {"position": here + 1},
        {"position": there + 1},
        default_language,
    )


async def delete_node(conn: Conn, by: StaffMember, node_id: int, *, default_language: str) -> MenuTree:
    """The button, and everything in it if it is a submenu."""
    tree = await _begin(conn, by, default_language)
    node = _existing(tree, node_id)
    if node.parent_id is None and len(tree.buttons(None)) == 1:
        raise MenuError(N_("The main menu needs at least one button."))
    await q.delete_node(conn, node_id)
    return await _done(conn, by, "menu.delete", f"menu:{node_id}", _snapshot(node), None, default_language)


async def reset(conn: Conn, by: StaffMember, *, default_language: str) -> MenuTree:
    """Back to today's menu: the marketplace's buttons with their built-in labels."""
    await _begin(conn, by, default_language)
    await q.delete_all(conn)
    for action in DEFAULT_MENU:
        await q.insert_node(conn, None, NodeValues(NodeKind.ACTION, {}, {}, None, None, action, False))
    return await _done(conn, by, "menu.reset", "menu", None, list(DEFAULT_MENU), default_language)


async def kb_entries(conn: Conn) -> dict[int, tuple[str, bool]]:
    """Knowledge-base entries a button can answer with: id → (key, enabled)."""
    return {e.id: (e.key, e.enabled) for e in await kb_q.list_entries(conn)}


def preview(tree: MenuTree, parent_id: int | None, language: str, _: Gettext) -> list[list[str]]:
    """The labels of a menu's keyboard rows in a language, as the bot shows them."""
    return [[tree.label(node, language, _) for node in row] for row in tree.rows(parent_id)]
