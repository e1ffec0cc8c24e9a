"""The bot's memory of what the knowledge base answered, per process.

Most questions repeat ("when is my ad published?" in a few ways a day, hundreds of times), and
free text is 40 % of what the bot gets, so the matcher's decision is kept by what decides it:
the question's analysed terms, the user's language and the thresholds. Any change to the
knowledge base notifies every process at commit (kb._refresh), which drops all it keeps; a lost
notification (a dropped LISTEN connection) drops it too, and so does age, as a last resort.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from app.db.queries.support import KbAnswer
from app.domain.support.matching import MatchResult, Thresholds

Key = tuple[str, tuple[str, ...], Thresholds]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the bot does with a question: answer (auto with its answer), offer, or escalate."""

    result: MatchResult
    answer: KbAnswer | None  # the auto-answer's text in the user's language, when there is one


class AnswerCache:
    def __init__(self, size: int = 4096, seconds: float = 300.0) -> None:
        self.size, self.seconds = size, seconds
        self._items: OrderedDict[Key, tuple[float, Decision]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: Key) -> Decision | None:
        found = self._items.get(key)
        if found is None or time.monotonic() - found[0] > self.seconds:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: Key, decision: Decision) -> None:
        self._items[key] = (time.monotonic(), decision)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
