"""Leaving after the reward (T4): a user who leaves the chat within the task's window loses the
reward once, told why; the completion stays, so rejoining never pays again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db import Conn
from app.db.queries import tasks as q
from app.db.queries.tasks import Completion
from app.domain import ledger
from app.domain.ledger import Currency, EntryKind, InsufficientFunds, NewEntry
from app.domain.tasks.doing import RECHECK_EVERY, REF
from app.domain.tasks.messages import TaskMessages, tell
from app.domain.users import Languages

TAKE_BACK_TRIES = 3
SWEEP_BATCH = 500
RETRY_UNKNOWN = timedelta(hours=1)  # an unanswered re-check is asked again, not at every tick
LEASE = timedelta(minutes=10)  # a sweep that dies leaves its completions due again after this

# Asks Telegram whether a user is in a chat: True, False, or None when it cannot tell now.
MemberProbe = Callable[[int, int], Awaitable[bool | None]]


async def take_back(
    conn: Conn, completion: Completion, left_at: datetime, *, msgs: TaskMessages, languages: Languages
) -> Completion | None:
    """Take the reward back once (as much of it as is still on the balance: the ledger never
    overdraws), and tell the user why. None when it was taken back before."""
    async with conn.transaction():
        task = await q.get_task(conn, completion.task_id)
        if task is None:
            return None
        amount = min(completion.reward, (await ledger.balance(conn, completion.user_id)).available)
        for _attempt in range(TAKE_BACK_TRIES):
            try:
                async with conn.transaction():
                    done = await q.mark_taken_back(conn, completion.id, left_at, max(amount, 0))
                    if done is None:
                        return None
                    if amount > 0:
                        await ledger.post(
                            conn,
                            NewEntry(
                                account=completion.user_id,
                                currency=Currency.POINTS,
                                amount=-amount,
                                kind=EntryKind.TAKE_BACK,
                                key=f"take_back:{completion.id}",
                                ref_kind=REF,
                                ref_id=task.id,
                                reason="left the chat within the task's window",
                            ),
                        )
                break
            except InsufficientFunds as exc:  # spent meanwhile: take what is there now
                amount = min(amount, exc.available)
        else:
            return None
        taken = done
        await tell(
            conn, completion.user_id, lambda lang: msgs.taken_back(task, taken, lang), languages, taken.id
        )
    return taken


async def member_left(
    conn: Conn,
    chat_id: int,
    user_id: int,
    at: datetime,
    *,
    msgs: TaskMessages,
    languages: Languages,
) -> list[Completion]:
    """A chat_member update said the user left (or was removed from) the chat."""
    taken = []
    for completion in await q.watched_in_chat(conn, chat_id, user_id, at):
        done = await take_back(conn, completion, at, msgs=msgs, languages=languages)
        if done is not None:
            taken.append(done)
    return taken


@dataclass(frozen=True, slots=True)
class Sweep:
    checked: int
    taken_back: int
    unknown: int  # Telegram could not tell: asked again at the next tick


async def recheck_due(
    conn: Conn,
    now: datetime,
    probe: MemberProbe,
    *,
    msgs: TaskMessages,
    languages: Languages,
    limit: int = SWEEP_BATCH,
) -> Sweep:
    """The scheduled re-check over a connection outside any transaction: due completions (due
    dates in task_completions) are leased, then each is asked of Telegram through `probe`
    (which paces itself under the limit) with no transaction open; a member's next check moves
    a day on until the window closes, one who left loses the reward."""
    checked = taken = unknown = 0
    async with conn.transaction():
        due = await q.lease_due_checks(conn, now, now + LEASE, limit)
    for completion, chat_id in due:
        member = await probe(chat_id, completion.user_id)
        checked += 1
        until = completion.watch_until
        if member is None:  # Telegram could not tell (or hides the members): ask again later
            unknown += 1
            later = None if until is None or now >= until else min(now + RETRY_UNKNOWN, until)
            await q.set_next_check(conn, completion.id, later)
        elif member:
            later = None if until is None or now >= until else min(now + RECHECK_EVERY, until)
            await q.set_next_check(conn, completion.id, later)
        elif await take_back(conn, completion, now, msgs=msgs, languages=languages) is not None:
            taken += 1
    return Sweep(checked, taken, unknown)
