"""A week of every area's rows (users, logs, support, web chat, tasks, payments, ads,
broadcasts) for tests of the dashboard's figures and of the staff API that serves them."""

from __future__ import annotations

import datetime as dt

import asyncpg

from tests.helpers.ads import bulk_ads, market_channel

UTC = dt.UTC
FIRST = dt.date(2026, 11, 1)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(7)]


def at(day: int, hour: int = 12) -> dt.datetime:
    """A moment of the range's `day`-th day (0-based; 7 is the day after the range)."""
    return dt.datetime.combine(FIRST + dt.timedelta(days=day), dt.time(hour), UTC)


async def history(db: asyncpg.Connection, boss_id: int) -> None:
    """A week of every area, some rows on the day before and after the range; near-midnight
    moments, where a local day and the UTC day differ."""
    for n in range(12):
        await db.execute(
            """INSERT INTO users (id, first_name, first_seen, blocked_bot_at, banned_at)
               VALUES ($1, $2, $3, $4, $5)""",
            900 + n,
            f"U{n}",
            at(n % 9 - 1, 23),
            at(n % 5) if n % 3 == 0 else None,
            at(n % 4, 1) if n % 4 == 1 else None,
        )
    for n in range(60):
        await db.execute(
            """INSERT INTO update_journal (bot_id, update_id, kind, user_id, payload, received_at)
               VALUES (1, $1, $2, $3, '{}', $4)""",
            n + 1,
            "message" if n % 4 else "callback_query",
            900 + n % 5,
            at(n % 9 - 1, n % 24),
        )
        await db.execute(
            """INSERT INTO outbox (chat_id, method, params, idempotent, ref_kind, ref_id, created_at, status)
               VALUES ($1, 'sendMessage', '{}', true, $2, $3, $4, 'sent')""",
            900 + n % 5,
            "broadcast" if n % 3 == 0 else None,
            1 if n % 3 == 0 else None,
            at(n % 8, 3),
        )
        # The record: the bot's direct replies and deliveries ("out") and what users sent.
        await db.execute(
            """INSERT INTO message_record (at, user_id, chat_id, direction, kind, text)
               VALUES ($1, $2, $2, $3, 'text', 'salom')""",
            at(n % 9 - 1, (n * 5) % 24),
            900 + n % 5,
            "in" if n % 4 == 0 else "out",
        )
    # Support, web chat, tasks, payments, broadcasts.
    for n in range(6):
        ticket = await db.fetchval(
            """INSERT INTO support_tickets (user_id, status, language, subject, created_at, closed_at)
               VALUES ($1, $2, 'uz', 'savol', $3, $4) RETURNING id""",
            900 + n,
            "closed" if n % 2 else "open",
            at(n),
            at(n + 1) if n % 2 else None,
        )
        for k, author in enumerate(("user", "operator", "note", "user")):
            await db.execute(
                """INSERT INTO support_messages (ticket_id, author, text, created_at)
                   VALUES ($1, $2, 'x', $3)""",
                ticket,
                author,
                at(n, 12 + k),
            )
    accounts = [
        await db.fetchval("INSERT INTO chat_accounts (display_name) VALUES ($1) RETURNING id", name)
        for name in ("Aziza", "Bekzod", "Olga", "Dilshod")
    ]
    for n in range(4):
        conversation = await db.fetchval(
            """INSERT INTO chat_conversations (starter_id, other_id, created_at)
               VALUES ($1, $2, $3) RETURNING id""",
            accounts[n],
            accounts[(n + 1) % 4],
            at(n * 2),
        )
        for k in range(n + 1):
            await db.execute(
                """INSERT INTO chat_messages (conversation_id, sender_id, body, via, created_at)
                   VALUES ($1, $2, 'salom', 'web', $3)""",
                conversation,
                accounts[n],
                at(n * 2, 13 + k),
            )
        if n % 2:
            await db.execute(
                """INSERT INTO chat_reports (conversation_id, reporter_id, reason, created_at)
                   VALUES ($1, $2, 'spam', $3)""",
                conversation,
                accounts[(n + 1) % 4],
                at(n * 2, 20),
            )
    task = await db.fetchval(
        """INSERT INTO tasks (chat_ref, join_url, titles, reward, verification)
           VALUES ('@kanal', 'https://t.me/kanal', '{"uz": "Obuna"}', 10, 'auto') RETURNING id"""
    )
    balance = 0
    for n in range(8):
        credited = n % 3 != 0
        await db.execute(
            """INSERT INTO task_completions (task_id, user_id, status, reward, created_at, credited_at)
               VALUES ($1, $2, $3, 10, $4, $5)""",
            task,
            900 + n,
            "credited" if credited else "pending",
            at(n - 1),
            at(n - 1) if credited else None,
        )
        if credited:
            balance += 10
            await db.execute(
                """INSERT INTO ledger_entries (account, currency, amount, kind, actor, idempotency_key,
                                               balance_after, created_at, ref_kind, ref_id)
                   VALUES (900, 'points', 10, 'task_reward', 'system', $1, $2, $3, 'task', $4)""",
                f"t{n}",
                balance,
                at(n - 1),
                task,
            )
    for n in range(3):
        await db.execute(
            """INSERT INTO ledger_entries (account, currency, amount, kind, actor, idempotency_key,
                                           balance_after, created_at)
               VALUES (901, 'XTR', $1, 'payment', 'user', $2, $1, $3)""",
            25 * (n + 1),
            f"p{n}",
            at(n * 3),
        )
        await db.execute(
            "INSERT INTO withdrawal_requests (user_id, amount, requested_at) VALUES ($1, 5, $2)",
            902 + n,
            at(n * 3 + 1),
        )
    channel = await market_channel(db)
    await bulk_ads(db, channel, 2, status="published")
    option = await db.fetchval(
        "INSERT INTO promotion_options (channel_id, kind, price_stars) VALUES ($1, 'pin', 50) RETURNING id",
        channel,
    )
    for n, ad in enumerate(r["id"] for r in await db.fetch("SELECT id FROM ads ORDER BY id")):
        await db.execute(
            """INSERT INTO promotions (ad_id, option_id, seller_id, kind, currency, price, status, paid_at)
               SELECT id, $2, seller_id, 'pin', 'XTR', 50, 'done', $3 FROM ads WHERE id = $1""",
            ad,
            option,
            at(n * 4),
        )
    await db.execute(
        """INSERT INTO broadcasts (created_by, status, texts, payloads, started_at)
           VALUES ($1, 'done', '{"default": "Salom"}', '{}', $2),
                  ($1, 'draft', '{"default": "x"}', '{}', NULL)""",
        boss_id,
        at(2),
    )
