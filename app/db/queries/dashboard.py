"""The dashboard's counts and 30-day series; `channels` None means every channel."""

from __future__ import annotations

from datetime import datetime

import asyncpg

# `$1::bigint[] IS NULL OR channel_id = ANY($1)`: one statement for admins and moderators.
SCOPE = "($1::bigint[] IS NULL OR channel_id = ANY($1::bigint[]))"


async def ad_counts(conn: asyncpg.Connection, channels: list[int] | None, today: datetime
                    ) -> asyncpg.Record:
    """Pending and published ads (partial indexes) and ads sold since `today` began."""
    return await conn.fetchrow(
        f"""SELECT (SELECT count(*) FROM ads WHERE status = 'pending' AND {SCOPE}) AS pending,
                   (SELECT count(*) FROM ads WHERE status = 'published' AND {SCOPE}) AS published,
                   (SELECT count(DISTINCT e.ad_id) FROM ad_events e JOIN ads a ON a.id = e.ad_id
                     WHERE e.kind = 'sold' AND e.at >= $2 AND a.status = 'sold'
                       AND ($1::bigint[] IS NULL OR a.channel_id = ANY($1::bigint[]))) AS sold_today""",
        channels, today)


async def global_counts(conn: asyncpg.Connection) -> asyncpg.Record:
    """Numbers that belong to no channel: people and deliveries."""
    return await conn.fetchrow(
        """SELECT (SELECT count(*) FROM users) AS users,
                  (SELECT count(*) FROM users WHERE banned_at IS NOT NULL) AS blocked,
                  (SELECT count(*) FROM outbox WHERE status = 'uncertain') AS uncertain""")


async def ads_per_day(conn: asyncpg.Connection, channels: list[int] | None, since: datetime
                      ) -> list[asyncpg.Record]:
    """Ads submitted per UTC day and their status now (an index-only scan of ads_submitted_idx)."""
    return await conn.fetch(
        f"""SELECT (submitted_at AT TIME ZONE 'UTC')::date AS day, status, count(*) AS n
              FROM ads WHERE submitted_at >= $2 AND {SCOPE}
             GROUP BY 1, 2""", channels, since)


async def decision_times(conn: asyncpg.Connection, channels: list[int] | None, since: datetime
                         ) -> list[asyncpg.Record]:
    """Minutes from submit to decision, median and 95th percentile, per channel."""
    async with conn.transaction():
        # A month of decisions is ~100k rows on a busy site: sort them in memory, not on disk.
        await conn.execute("SET LOCAL work_mem = '64MB'")
        return await conn.fetch(
            f"""SELECT d.channel_id, c.title, d.decided,
                       extract(epoch FROM d.p50)::float8 / 60 AS p50,
                       extract(epoch FROM d.p95)::float8 / 60 AS p95
                  FROM (SELECT channel_id, count(*) AS decided,
                               -- intervals sort far faster than extract()'s numeric
                               percentile_cont(0.5) WITHIN GROUP (ORDER BY decided_at - submitted_at) AS p50,
                               percentile_cont(0.95) WITHIN GROUP (ORDER BY decided_at - submitted_at) AS p95
                          FROM ads WHERE decided_at >= $2 AND {SCOPE}
                         GROUP BY channel_id) d
                  JOIN channels c ON c.id = d.channel_id
                 ORDER BY c.title, d.channel_id""", channels, since)


async def reposts_per_day(conn: asyncpg.Connection, channels: list[int] | None, since: datetime
                          ) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT (at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
              FROM ad_reposts WHERE at >= $2 AND {SCOPE}
             GROUP BY 1""", channels, since)
