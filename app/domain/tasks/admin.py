"""Staff create and edit tasks: the chat to join, texts per language, reward, limits, dates,
verification and the rule on leaving."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime

from app.db import Conn
from app.db.queries import tasks as q
from app.db.queries.tasks import Task, Verification
from app.domain import staff as staff_domain
from app.domain.staff import Role, Staff
from app.domain.tasks.errors import NotAllowed, TaskError, TaskNotFound
from app.i18n import N_

MAX_REWARD = 1_000_000
MAX_TITLE = 120
MAX_DESCRIPTION = 1000
USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
INVITE_RE = re.compile(r"^(?:https?://)?t\.me/(?:\+|joinchat/)([A-Za-z0-9_-]{6,64})$")


@dataclass(frozen=True, slots=True)
class ChatRef:
    """Where the task sends people: a public @username, a numeric id, or a private invite link."""

    username: str | None
    chat_id: int | None
    invite_link: str | None

    @property
    def lookup(self) -> int | str | None:
        """What getChat accepts (an invite link is not: Telegram resolves it for people only)."""
        if self.chat_id is not None:
            return self.chat_id
        return f"@{self.username}" if self.username else None

    @property
    def join_url(self) -> str | None:
        if self.invite_link:
            return self.invite_link
        return f"https://t.me/{self.username}" if self.username else None


def parse_chat(ref: str, invite_link: str = "") -> ChatRef:
    """'@name', 't.me/name', 't.me/+hash' or '-100…' (then an invite link for the Join button)."""
    text = ref.strip()
    link = invite_link.strip()
    if link and not INVITE_RE.match(link) and not _public_link(link):
        raise TaskError(N_("The invite link looks like https://t.me/+AbCdEf123."))
    if link.startswith("t.me/"):
        link = "https://" + link
    invite = INVITE_RE.match(text)
    if invite:
        return ChatRef(None, None, f"https://t.me/+{invite.group(1)}")
    if re.fullmatch(r"-\d{5,20}", text):
        if not link:
            raise TaskError(N_("A chat given by its id needs an invite link for the Join button."))
        return ChatRef(None, int(text), link)
    name = text.removeprefix("https://").removeprefix("http://").removeprefix("t.me/").removeprefix("@")
    if not USERNAME_RE.match(name):
        raise TaskError(
            N_("“{ref}” is neither an @username, an invite link (https://t.me/+…) nor a chat id."), ref=ref
        )
    return ChatRef(name, None, link or None)


def _public_link(link: str) -> bool:
    name = link.removeprefix("https://").removeprefix("http://").removeprefix("t.me/")
    return link != name and bool(USERNAME_RE.match(name))


@dataclass(frozen=True, slots=True)
class TaskInput:
    """A task as the panel's form gives it, checked by `validate`."""

    chat: ChatRef
    chat_id: int | None  # from getChat on save (None: the bot cannot see the chat)
    chat_title: str | None
    titles: dict[str, str]
    descriptions: dict[str, str]
    reward: int
    max_completions: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    verification: Verification
    leave_days: int | None
    active: bool = True


def validate(t: TaskInput) -> dict[str, object]:
    """The columns to store, or TaskError saying what to correct."""
    titles = {k: v.strip() for k, v in t.titles.items() if v.strip()}
    descriptions = {k: v.strip() for k, v in t.descriptions.items() if v.strip()}
    if not titles:
        raise TaskError(N_("Give the task a title in at least one language."))
    if any(len(v) > MAX_TITLE for v in titles.values()):
        raise TaskError(N_("A title has at most {limit} characters."), limit=MAX_TITLE)
    if any(len(v) > MAX_DESCRIPTION for v in descriptions.values()):
        raise TaskError(N_("A description has at most {limit} characters."), limit=MAX_DESCRIPTION)
    if not 1 <= t.reward <= MAX_REWARD:
        raise TaskError(N_("The reward is a whole number of points from 1 to {limit}."), limit=MAX_REWARD)
    if t.max_completions is not None and not 1 <= t.max_completions <= 10**9:
        raise TaskError(N_("The limit of completions is a whole number above zero, or empty for none."))
    if t.starts_at and t.ends_at and t.starts_at >= t.ends_at:
        raise TaskError(N_("The task must end after it starts."))
    if t.leave_days is not None and not 1 <= t.leave_days <= 365:
        raise TaskError(N_("The leaving window is 1 to 365 days, or empty for none."))
    join_url = t.chat.join_url
    if join_url is None:
        raise TaskError(N_("A chat given by its id needs an invite link for the Join button."))
    chat_id = t.chat_id if t.chat_id is not None else t.chat.chat_id
    if chat_id is None and (t.verification == Verification.AUTO or t.leave_days is not None):
        raise TaskError(
            N_(
                "The bot cannot see this chat, so it cannot check who joined or left. Give its "
                "@username or id and add the bot, or choose screenshot review without a leaving rule."
            )
        )
    ref = t.chat.invite_link if t.chat.username is None and t.chat.chat_id is None else None
    return {
        "chat_ref": ref or (f"@{t.chat.username}" if t.chat.username else str(chat_id)),
        "chat_id": chat_id,
        "chat_title": t.chat_title,
        "join_url": join_url,
        "titles": titles,
        "descriptions": descriptions,
        "reward": t.reward,
        "max_completions": t.max_completions,
        "starts_at": t.starts_at,
        "ends_at": t.ends_at,
        "verification": t.verification,
        "leave_days": t.leave_days,
        "active": t.active,
    }


def require_admin(staff: Staff) -> None:
    if not staff.has_role(Role.ADMIN):
        raise NotAllowed()


def _audit_state(task: Task) -> dict[str, object]:
    state = asdict(task)
    for key in ("starts_at", "ends_at", "created_at"):
        value = state[key]
        state[key] = value.isoformat() if value else None
    state["verification"] = task.verification.value
    return state


async def create_task(conn: Conn, staff: Staff, task: TaskInput) -> Task:
    require_admin(staff)
    fields = validate(task)
    async with conn.transaction():
        created = await q.insert_task(conn, fields, staff.id)
        await staff_domain.audit(
            conn, staff.id, "task.create", f"task:{created.id}", None, _audit_state(created)
        )
    return created


async def update_task(conn: Conn, staff: Staff, task_id: int, task: TaskInput) -> Task:
    require_admin(staff)
    fields = validate(task)
    async with conn.transaction():
        before = await q.get_task(conn, task_id)
        if before is None:
            raise TaskNotFound()
        if task.max_completions is not None and task.max_completions < before.completions:
            raise TaskError(
                N_("{count} people already did this task: the limit cannot be lower."),
                count=before.completions,
            )
        updated = await q.update_task(conn, task_id, fields)
        if updated is None:
            raise TaskNotFound()
        await staff_domain.audit(
            conn, staff.id, "task.update", f"task:{task_id}", _audit_state(before), _audit_state(updated)
        )
    return updated


async def get_task(conn: Conn, task_id: int) -> Task | None:
    return await q.get_task(conn, task_id)


async def list_tasks(conn: Conn) -> list[Task]:
    return await q.list_tasks(conn)
