"""What the bot did on its own for the desk's statistics: auto-answers, "Did you mean…?" offered
and picked, 👍 / 👎. Counted in memory (no database write on the path of a reply) and added to
support_daily by `flush`, which app.main runs every half minute and at stop.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Literal

from app.db import Conn
from app.db.queries import support_stats as q
from app.domain.support.settings import DeskSettings

Kind = Literal["auto", "offered", "picked", "helpful", "unhelpful"]


class DeskCounters:
    def __init__(self) -> None:
        self._counts: Counter[tuple[dt.date, str]] = Counter()

    def add(self, kind: Kind, settings: DeskSettings, now: dt.datetime | None = None) -> None:
        """One more, on today's date in the desk's time zone."""
        day = (now or dt.datetime.now(dt.UTC)).astimezone(settings.zone()).date()
        self._counts[(day, kind)] += 1

    def pending(self) -> int:
        return sum(self._counts.values())

    async def flush(self, conn: Conn) -> int:
        """Store what was counted since the last flush; kept for the next one if this fails."""
        counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        try:
            await q.add_counts(conn, dict(counts))
        except BaseException:
            self._counts.update(counts)
            raise
        return sum(counts.values())
