"""Users do tasks: the list of what they can still do, the membership check credited exactly
once, screenshots for review, and staff's first-wins decision on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db import Conn
from app.db.queries import tasks as q
from app.db.queries.tasks import (
    Completion,
    CompletionStatus,
    DayStats,
    ReviewItem,
    Task,
    TaskStats,
    Verification,
)
from app.domain import ledger
from app.domain import staff as staff_domain
from app.domain.actors import TelegramUser
from app.domain.daterange import DateRange
from app.domain.ledger import Currency, EntryKind, NewEntry
from app.domain.staff import Role, Staff
from app.domain.tasks.admin import require_admin
from app.domain.tasks.errors import AlreadyDone, AwaitingReview, TaskClosed, TaskError, TaskNotFound
from app.domain.tasks.messages import TaskMessages, tell
from app.domain.users import Languages
from app.i18n import N_

LIST_LIMIT = 10
RECHECK_EVERY = timedelta(days=1)  # the paced re-check of a completion inside its window
MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})
MAX_REASON = 500
REF = "task"


def is_member(status: str, is_member_flag: bool | None = None) -> bool:
    """A getChatMember answer: in the chat (a restricted member counts when is_member)."""
    return status in MEMBER_STATUSES or (status == "restricted" and bool(is_member_flag))


async def open_tasks(conn: Conn, user: TelegramUser, now: datetime) -> list[Task]:
    """What the user can still do, oldest task first."""
    return await q.open_tasks_for(conn, user.user_id, now, LIST_LIMIT)


def _usable(task: Task | None, now: datetime) -> Task:
    if task is None or not task.active:
        raise TaskNotFound()
    if (task.starts_at and task.starts_at > now) or (task.ends_at and task.ends_at <= now):
        raise TaskClosed()
    if task.max_completions is not None and task.completions >= task.max_completions:
        raise TaskClosed()
    return task


async def task_to_check(conn: Conn, task_id: int, user: TelegramUser, now: datetime) -> Task:
    """The task a Check button names, if the user may still be credited for it (else TaskError).
    The caller then asks Telegram about the membership and calls `credit_member`."""
    task = _usable(await q.get_task(conn, task_id), now)
    done = await q.get_completion(conn, task_id, user.user_id)
    if done is not None and done.status == CompletionStatus.PENDING:
        raise AwaitingReview()
    if done is not None and done.status != CompletionStatus.REJECTED:
        raise AlreadyDone()
    if task.verification != Verification.AUTO or task.chat_id is None:
        raise TaskError(N_("Send a screenshot that shows you joined; staff will check it."))
    return task


@dataclass(frozen=True, slots=True)
class Credited:
    completion: Completion
    reward: int
    balance: int  # the user's points after the reward


def _window(task: Task, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(watch_until, next_check_at) for a completion credited now."""
    if task.leave_days is None:
        return None, None
    until = now + timedelta(days=task.leave_days)
    return until, min(now + RECHECK_EVERY, until)


async def _reward(conn: Conn, task: Task, completion: Completion, staff: Staff | None) -> int:
    """Pay a completion's reward: by the system (a Check), or by a staff member who credited it."""
    posted = await ledger.post(
        conn,
        NewEntry(
            account=completion.user_id,
            currency=Currency.POINTS,
            amount=completion.reward,
            kind=EntryKind.TASK_REWARD,
            key=f"{REF}:{task.id}:{completion.user_id}",
            ref_kind=REF,
            ref_id=task.id,
            actor=ledger.Actor.SYSTEM if staff is None else ledger.Actor.STAFF,
            staff_id=None if staff is None else staff.id,
        ),
    )
    return posted.entry.balance_after


async def credit_member(conn: Conn, task: Task, user: TelegramUser, now: datetime) -> Credited:
    """Telegram said the user is a member: credit the reward — once. Of two Checks at once (two
    processes, a double tap), the unique (task, user) row lets one through; the other waits for
    it and gets AlreadyDone. The ledger key task:<task>:<user> is the second lock on the door."""
    watch_until, next_check = _window(task, now)
    async with conn.transaction():
        completion = await q.claim_completion(
            conn, task.id, user.user_id, CompletionStatus.CREDITED, task.reward, None, watch_until, next_check
        )
        if completion is None:
            raise AlreadyDone()
        if not await q.count_completion(conn, task.id):
            raise TaskClosed()  # the limit was reached meanwhile: the claim rolls back
        balance = await _reward(conn, task, completion, None)
    return Credited(completion, completion.reward, balance)


async def submit_screenshot(
    conn: Conn, task_id: int, user: TelegramUser, file_id: str, now: datetime
) -> Completion:
    """The user's screenshot for a task: it waits in the review queue (and takes a place in the
    task's limit until refused). A second screenshot while one waits is refused."""
    task = _usable(await q.get_task(conn, task_id), now)
    async with conn.transaction():
        completion = await q.claim_completion(
            conn, task.id, user.user_id, CompletionStatus.PENDING, task.reward, file_id, None, None
        )
        if completion is None:
            done = await q.get_completion(conn, task.id, user.user_id)
            if done is not None and done.status == CompletionStatus.PENDING:
                raise AwaitingReview()
            raise AlreadyDone()
        if not await q.count_completion(conn, task.id):
            raise TaskClosed()
        await q.notify(conn, {"event": "submitted", "id": completion.id})
    return completion


# Who reviews screenshots (besides admins): moderators. Tasks are the admins' and belong to no
# channel, so a moderator's channel scope cannot narrow this queue; the review is moderation work
# like an ad's, and a screenshot shows only that a user joined a chat, not what they wrote to the
# bot. The queue, each screenshot, the decisions, the live feed and task-completions.csv all
# take this one role, so none can drift from the others.
REVIEWER = Role.MODERATOR


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """Whether this decision won (the first does), the completion as it stands, who decided."""

    won: bool
    completion: Completion
    decided_by: str | None


async def _lost(conn: Conn, completion_id: int) -> ReviewDecision:
    current = await q.completion_by_id(conn, completion_id)
    if current is None:
        raise TaskNotFound()
    name = None
    if current.decided_by is not None:
        staff = await staff_domain.get_staff(conn, current.decided_by)
        name = staff.name if staff else f"staff #{current.decided_by}"
    return ReviewDecision(False, current, name)


async def approve_screenshot(
    conn: Conn, completion_id: int, staff: Staff, *, msgs: TaskMessages, languages: Languages, now: datetime
) -> ReviewDecision:
    """Credit the reward for a reviewed screenshot; the first decision wins, the user is told."""
    async with conn.transaction():
        pending = await q.completion_by_id(conn, completion_id)
        task = await q.get_task(conn, pending.task_id) if pending else None
        if pending is None or task is None:
            raise TaskNotFound()
        watch_until, next_check = _window(task, now) if task.chat_id is not None else (None, None)
        completion = await q.decide_review(
            conn, completion_id, CompletionStatus.CREDITED, staff.id, None, watch_until, next_check
        )
        if completion is None:
            return await _lost(conn, completion_id)
        balance = await _reward(conn, task, completion, staff)
        await staff_domain.audit(
            conn,
            staff.id,
            "task.approve",
            f"task_completion:{completion.id}",
            {"status": "pending"},
            {"status": "credited", "reward": completion.reward},
        )
        done = completion
        await tell(
            conn,
            completion.user_id,
            lambda lang: msgs.screenshot_approved(task, done, balance, lang),
            languages,
            completion.id,
        )
        await q.notify(conn, {"event": "decided", "id": completion.id, "by": staff.name, "approved": True})
    return ReviewDecision(True, completion, staff.name)


async def reject_screenshot(
    conn: Conn, completion_id: int, staff: Staff, reason: str, *, msgs: TaskMessages, languages: Languages
) -> ReviewDecision:
    """Refuse a screenshot with a reason; the first decision wins, the user is told why."""
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        raise TaskError(N_("Give a reason of 1 to {limit} characters."), limit=MAX_REASON)
    async with conn.transaction():
        pending = await q.completion_by_id(conn, completion_id)
        task = await q.get_task(conn, pending.task_id) if pending else None
        if pending is None or task is None:
            raise TaskNotFound()
        completion = await q.decide_review(
            conn, completion_id, CompletionStatus.REJECTED, staff.id, text, None, None
        )
        if completion is None:
            return await _lost(conn, completion_id)
        await q.uncount_completion(conn, task.id)
        await staff_domain.audit(
            conn,
            staff.id,
            "task.reject",
            f"task_completion:{completion.id}",
            {"status": "pending"},
            {"status": "rejected", "reason": text},
        )
        done = completion
        await tell(
            conn,
            completion.user_id,
            lambda lang: msgs.screenshot_rejected(task, done, lang),
            languages,
            completion.id,
        )
        await q.notify(conn, {"event": "decided", "id": completion.id, "by": staff.name, "approved": False})
    return ReviewDecision(True, completion, staff.name)


async def review_queue(conn: Conn, language: str, limit: int = 50) -> list[ReviewItem]:
    return await q.review_queue(conn, language, max(1, min(limit, 200)))


async def review_item(conn: Conn, completion_id: int, language: str) -> ReviewItem | None:
    return await q.review_item(conn, completion_id, language)


async def screenshot_tasks(conn: Conn, user: TelegramUser, now: datetime) -> list[Task]:
    """The user's open screenshot tasks (a screenshot without a chosen task goes to the only one)."""
    return [t for t in await open_tasks(conn, user, now) if t.verification == Verification.SCREENSHOT]


async def completion(conn: Conn, completion_id: int) -> Completion | None:
    return await q.completion_by_id(conn, completion_id)


async def task_stats(conn: Conn) -> dict[int, TaskStats]:
    """Per task: completions, waiting screenshots, refusals, take-backs, points paid."""
    return await q.task_stats(conn)


async def daily_stats(conn: Conn, task_id: int, days: DateRange) -> list[DayStats]:
    """Per day of the range (UTC days): completions, take-backs and net points of one task."""
    return await q.daily_stats(conn, [task_id], days.since(), days.until())


def chat_key(task: Task) -> str:
    """Which chat a task is about, for figures per chat: its id once known (several links may
    lead to one chat), else the reference the admin gave."""
    return str(task.chat_id) if task.chat_id is not None else task.chat_ref


async def chat_daily_stats(conn: Conn, key: str, days: DateRange) -> tuple[list[Task], list[DayStats]]:
    """Per day: the figures of every task about one chat (chat_key) together, and those tasks
    (none: no such chat)."""
    about = [task for task in await q.list_tasks(conn) if chat_key(task) == key]
    if not about:
        return [], []
    return about, await q.daily_stats(conn, [task.id for task in about], days.since(), days.until())


async def user_tasks(conn: Conn, user_id: int, limit: int = 100) -> list[tuple[Completion, Task]]:
    """The user's completions (newest first) with their tasks: the panel's per-user view."""
    return await q.user_completions(conn, user_id, limit)


async def credit_by_staff(conn: Conn, task_id: int, user_id: int, staff: Staff, now: datetime) -> Credited:
    """Staff credit a task by hand (a member the bot could not check, a lost screenshot): the
    same once-only completion and ledger key as the bot's Check, audited."""
    require_admin(staff)
    task = await q.get_task(conn, task_id)
    if task is None:
        raise TaskNotFound()
    if not await ledger_user_exists(conn, user_id):
        raise TaskError(N_("There is no user with id {id}."), id=user_id)
    watch_until, next_check = _window(task, now) if task.chat_id is not None else (None, None)
    async with conn.transaction():
        completion = await q.claim_completion(
            conn, task.id, user_id, CompletionStatus.CREDITED, task.reward, None, watch_until, next_check
        )
        if completion is None:
            raise AlreadyDone()
        if not await q.count_completion(conn, task.id):
            raise TaskClosed()
        balance = await _reward(conn, task, completion, staff)
        await staff_domain.audit(
            conn,
            staff.id,
            "task.credit",
            f"user:{user_id}",
            None,
            {"task_id": task.id, "reward": completion.reward, "completion_id": completion.id},
        )
    return Credited(completion, completion.reward, balance)


async def ledger_user_exists(conn: Conn, user_id: int) -> bool:
    return await q.user_exists(conn, user_id)
