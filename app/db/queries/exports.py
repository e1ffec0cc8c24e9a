"""Streaming a list's rows for CSV: a server-side cursor in a read-only transaction.

Each list's query module builds its `Export` (the same conditions as the list screen, every
value already text or a number); `batches` reads it a few thousand rows at a time, so memory
stays flat however many rows there are.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.db import Conn

BATCH = 5000


def utc(column: str) -> str:
    """A moment as the CSV shows it: UTC, to the second, in a form Excel reads as a date."""
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"


@dataclass(frozen=True, slots=True)
class Export:
    name: str  # what the file is called and the audit log's target: "ads", "users"…
    columns: tuple[str, ...]
    sql: str
    args: tuple[Any, ...] = ()


async def batches(conn: Conn, export: Export, size: int = BATCH) -> AsyncGenerator[Sequence[Iterable[Any]]]:
    """The export's rows, `size` at a time, as tuples of plain values, from one snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(export.sql, *export.args)
        while rows := await cursor.fetch(size):
            yield [tuple(row) for row in rows]


# The areas' lists. Each takes the list's own filters and the shared date range (`since`
# inclusive, `until` exclusive; None: open) on the list's natural time column.

RANGE = "($1::timestamptz IS NULL OR {col} >= $1) AND ($2::timestamptz IS NULL OR {col} < $2)"
Moment = Any  # a datetime or None


def tickets(
    since: Moment, until: Moment, statuses: Sequence[str], assignee: int | None, unassigned: bool
) -> Export:
    """The desk's tickets as the queue filters them (status, mine / unassigned), by opening time."""
    return Export(
        "tickets",
        (
            "id",
            "created_at",
            "status",
            "language",
            "subject",
            "user_id",
            "user_name",
            "username",
            "assignee",
            "messages",
            "first_response_at",
            "closed_at",
            "closed_by",
            "rating",
        ),
        f"""SELECT t.id, {utc("t.created_at")}, t.status, t.language, t.subject, t.user_id, u.first_name,
                   u.username, coalesce(s.display_name, s.username),
                   (SELECT count(*) FROM support_messages m
                     WHERE m.ticket_id = t.id AND m.author <> 'note'),
                   (SELECT {utc("min(m.created_at)")} FROM support_messages m
                     WHERE m.ticket_id = t.id AND m.author = 'operator'),
                   {utc("t.closed_at")}, coalesce(c.display_name, c.username), t.rating
              FROM support_tickets t JOIN users u ON u.id = t.user_id
              LEFT JOIN staff s ON s.id = t.assignee_id
              LEFT JOIN staff c ON c.id = t.closed_by
             WHERE {RANGE.format(col="t.created_at")} AND t.status = ANY($3::text[])
               AND ($4::bigint IS NULL OR t.assignee_id = $4) AND (NOT $5 OR t.assignee_id IS NULL)
             ORDER BY t.id DESC""",
        (since, until, list(statuses), assignee, unassigned),
    )


def tasks(since: Moment, until: Moment) -> Export:
    """Every task created in the range, with what it paid."""
    return Export(
        "tasks",
        (
            "id",
            "created_at",
            "title_uz",
            "title_ru",
            "chat",
            "reward",
            "verification",
            "active",
            "max_completions",
            "credited",
            "pending",
            "rejected",
            "taken_back",
            "points_paid",
        ),
        f"""SELECT t.id, {utc("t.created_at")}, t.titles->>'uz', t.titles->>'ru',
                   coalesce(t.chat_title, t.chat_ref),
                   t.reward, t.verification, t.active, t.max_completions,
                   count(c.id) FILTER (WHERE c.status = 'credited'),
                   count(c.id) FILTER (WHERE c.status = 'pending'),
                   count(c.id) FILTER (WHERE c.status = 'rejected'),
                   count(c.id) FILTER (WHERE c.status = 'taken_back'),
                   coalesce(sum(c.reward) FILTER (WHERE c.status = 'credited'), 0)
                   + coalesce(sum(c.reward - c.taken_back) FILTER (WHERE c.status = 'taken_back'), 0)
              FROM tasks t LEFT JOIN task_completions c ON c.task_id = t.id
             WHERE {RANGE.format(col="t.created_at")}
             GROUP BY t.id ORDER BY t.id DESC""",
        (since, until),
    )


def task_completions(since: Moment, until: Moment, status: str | None) -> Export:
    """Who did which task, and what became of it (the reviews), by the time it was done."""
    return Export(
        "task-completions",
        (
            "id",
            "created_at",
            "task_id",
            "user_id",
            "user_name",
            "status",
            "reward",
            "decided_at",
            "decided_by",
            "reject_reason",
            "left_at",
            "taken_back",
        ),
        f"""SELECT c.id, {utc("c.created_at")}, c.task_id, c.user_id, u.first_name, c.status, c.reward,
                   {utc("c.decided_at")}, s.username, c.reject_reason, {utc("c.left_at")}, c.taken_back
              FROM task_completions c JOIN users u ON u.id = c.user_id
              LEFT JOIN staff s ON s.id = c.decided_by
             WHERE {RANGE.format(col="c.created_at")} AND ($3::text IS NULL OR c.status = $3)
             ORDER BY c.id DESC""",
        (since, until, status),
    )


def ledger(since: Moment, until: Moment, currency: str | None) -> Export:
    """The ledger: every credit and debit (payments in Stars, rewards, withdrawals…)."""
    return Export(
        "ledger",
        (
            "id",
            "created_at",
            "account",
            "currency",
            "amount",
            "balance_after",
            "kind",
            "ref_kind",
            "ref_id",
            "actor",
            "staff",
            "reason",
        ),
        f"""SELECT e.id, {utc("e.created_at")}, e.account, e.currency, e.amount, e.balance_after, e.kind,
                   e.ref_kind, e.ref_id, e.actor, s.username, e.reason
              FROM ledger_entries e LEFT JOIN staff s ON s.id = e.staff_id
             WHERE {RANGE.format(col="e.created_at")} AND ($3::text IS NULL OR e.currency = $3)
             ORDER BY e.id DESC""",
        (since, until, currency),
    )


def withdrawals(since: Moment, until: Moment) -> Export:
    return Export(
        "withdrawals",
        (
            "id",
            "requested_at",
            "user_id",
            "user_name",
            "currency",
            "amount",
            "status",
            "decided_at",
            "decided_by",
            "payout_reference",
            "reason",
        ),
        f"""SELECT w.id, {utc("w.requested_at")}, w.user_id, u.first_name, w.currency, w.amount, w.status,
                   {utc("w.decided_at")}, s.username, w.payout_reference, w.reason
              FROM withdrawal_requests w JOIN users u ON u.id = w.user_id
              LEFT JOIN staff s ON s.id = w.decided_by
             WHERE {RANGE.format(col="w.requested_at")}
             ORDER BY w.id DESC""",
        (since, until),
    )


def promotions(since: Moment, until: Moment) -> Export:
    """Paid promotions (Stars or points), by the time they were ordered."""
    return Export(
        "promotions",
        (
            "id",
            "created_at",
            "ad_id",
            "channel",
            "seller_id",
            "kind",
            "reposts",
            "currency",
            "price",
            "status",
            "paid_at",
            "reposts_done",
            "refunded_at",
            "refund_reason",
        ),
        f"""SELECT p.id, {utc("p.created_at")}, p.ad_id, ch.title, p.seller_id, p.kind, p.reposts,
                   p.currency, p.price, p.status, {utc("p.paid_at")}, p.reposts_done,
                   {utc("p.refunded_at")}, p.refund_reason
              FROM promotions p JOIN ads a ON a.id = p.ad_id JOIN channels ch ON ch.id = a.channel_id
             WHERE {RANGE.format(col="p.created_at")}
             ORDER BY p.id DESC""",
        (since, until),
    )


def broadcasts(since: Moment, until: Moment) -> Export:
    """Broadcasts with their deliveries counted (the outbox rows that carried them)."""
    return Export(
        "broadcasts",
        (
            "id",
            "created_at",
            "created_by",
            "status",
            "text",
            "audience",
            "recipients",
            "started_at",
            "finished_at",
            "sent",
            "failed",
            "blocked",
            "uncertain",
        ),
        f"""SELECT b.id, {utc("b.created_at")}, s.username, b.status,
                   coalesce(b.texts->>'default', (SELECT v FROM jsonb_each_text(b.texts) t(k, v) LIMIT 1)),
                   b.audience::text, b.total, {utc("b.started_at")}, {utc("b.finished_at")},
                   o.sent, o.failed, o.blocked, o.uncertain
              FROM broadcasts b JOIN staff s ON s.id = b.created_by
              CROSS JOIN LATERAL (
                    SELECT count(*) FILTER (WHERE status = 'sent') AS sent,
                           count(*) FILTER (WHERE status = 'failed') AS failed,
                           count(*) FILTER (WHERE status = 'blocked') AS blocked,
                           count(*) FILTER (WHERE status = 'uncertain') AS uncertain
                      FROM outbox WHERE ref_kind = 'broadcast' AND ref_id = b.id) o
             WHERE {RANGE.format(col="b.created_at")}
             ORDER BY b.id DESC""",
        (since, until),
    )


CHAT_REPORT_COLUMNS: tuple[str, ...] = tuple(
    ["id", "created_at", "conversation_id", "reporter", "reason", "starter", "other", "ad_id", "ad_title"]
)


def chat_reports(since: Moment, until: Moment) -> Export:
    """Reports on web-chat conversations (the reasons; the messages stay in the panel)."""
    return Export(
        "chat-reports",
        CHAT_REPORT_COLUMNS,
        f"""SELECT r.id, {utc("r.created_at")}, r.conversation_id, rep.display_name, r.reason,
                   s.display_name, o.display_name, c.ad_id, a.title
              FROM chat_reports r JOIN chat_conversations c ON c.id = r.conversation_id
              JOIN chat_accounts rep ON rep.id = r.reporter_id
              JOIN chat_accounts s ON s.id = c.starter_id JOIN chat_accounts o ON o.id = c.other_id
              LEFT JOIN ads a ON a.id = c.ad_id
             WHERE {RANGE.format(col="r.created_at")}
             ORDER BY r.id DESC""",
        (since, until),
    )


def staff() -> Export:
    """Who has access, with which role and channels (no password hashes)."""
    return Export(
        "staff",
        (
            "id",
            "username",
            "display_name",
            "role",
            "active",
            "telegram_user_id",
            "created_at",
            "last_login_at",
            "channels",
        ),
        f"""SELECT s.id, s.username, s.display_name, s.role, s.active, s.telegram_user_id,
                   {utc("s.created_at")}, {utc("s.last_login_at")},
                   (SELECT string_agg(c.title, '; ' ORDER BY c.title)
                      FROM staff_channels sc JOIN channels c ON c.id = sc.channel_id
                     WHERE sc.staff_id = s.id)
              FROM staff s ORDER BY s.id""",
    )


def channels() -> Export:
    """The channels with their ads now by status (sql/0011's totals)."""
    return Export(
        "channels",
        (
            "id",
            "title",
            "username",
            "chat_id",
            "language",
            "active",
            "pending",
            "published",
            "sold",
            "expired",
            "rejected",
            "withdrawn",
        ),
        """SELECT c.id, c.title, c.username, c.chat_id, c.language, c.active,
                  coalesce(sum(t.n) FILTER (WHERE t.status = 'pending'), 0),
                  coalesce(sum(t.n) FILTER (WHERE t.status = 'published'), 0),
                  coalesce(sum(t.n) FILTER (WHERE t.status = 'sold'), 0),
                  coalesce(sum(t.n) FILTER (WHERE t.status = 'expired'), 0),
                  coalesce(sum(t.n) FILTER (WHERE t.status = 'rejected'), 0),
                  coalesce(sum(t.n) FILTER (WHERE t.status = 'withdrawn'), 0)
             FROM channels c LEFT JOIN dashboard_ad_totals t ON t.channel_id = c.id
            GROUP BY c.id ORDER BY c.title, c.id""",
    )
