"""Match a user's message against the knowledge base: answer at once, offer "Did you mean…?", or neither."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from app.db import Conn
from app.db.queries import support as q
from app.domain.support.normalize import NEGATION, analyse, is_topic, weight_factor
from app.i18n import N_, UserError


class ThresholdsError(UserError):
    """A matcher setting out of its range."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the bot answers by itself (settings; the panel will store them).

    Weights are IDF: a word few entries use weighs more. An entry's score is the mean of its
    best phrasing's F1 (the share of the question that phrasing explains, and of the phrasing
    the question covers) and its coverage (the share of the question all its phrasings explain,
    its answers' words counting partly). The defaults sit on a plateau found on the design 70%
    of bench/data/support/dev.json (bench/support_eval.py --split design): coverage 0.45-0.5 and
    score 0.3-0.5 give the same precision; the margin 0.1 is what kept precision when tuned on
    one half and tested on the other; coverage 0.5 rather than 0.45 keeps near misses out.
    """

    auto_answer: float = 0.45  # the best score must reach this to answer at once
    min_coverage: float = 0.5  # ...and the entry must explain this share of the question
    margin: float = 0.1  # ...and lead the runner-up by this much, or it is "Did you mean…?"
    rival_coverage: float = 0.6  # ...and explain this much if the runner-up has a topic it lacks
    suggest: float = 0.3  # a candidate scoring this much is offered as "Did you mean…?"
    suggest_ratio: float = 0.5  # ...if it scores at least this fraction of the best
    fuzzy_similarity: float = 0.5  # trigram similarity at which a misspelled word counts
    answer_word_weight: float = 0.3  # a word only an entry's answer uses explains this share of its weight
    unknown_word_weight: float = 2.5  # weight of a word no entry uses (lowers coverage)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Thresholds:
        """Settings as stored (strings or numbers by field name); missing ones keep their default."""
        chosen: dict[str, float] = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            try:
                value = float(str(values[f.name]))
            except ValueError:
                value = -1.0
            top = 10.0 if f.name == "unknown_word_weight" else 1.0
            if not 0 <= value <= top:
                raise ThresholdsError(
                    N_("The matcher setting “{name}” must be a number from 0 to {top}."), name=f.name, top=top
                )
            chosen[f.name] = value
        return cls(**chosen)


DEFAULT_THRESHOLDS = Thresholds()
MAX_SUGGESTIONS = 3
CANDIDATES = 12


@dataclass(frozen=True, slots=True)
class Suggestion:
    entry_id: int
    key: str
    question: str  # the entry's first question in the user's language, for the button
    score: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """An entry to answer with at once, or none; up to three other entries to offer."""

    auto: Suggestion | None
    suggestions: tuple[Suggestion, ...]
    candidates: tuple[q.Candidate, ...]  # what was scored, best first (for the desk and the bench)

    @property
    def escalate(self) -> bool:
        """Nothing to answer or offer: the message goes to an operator."""
        return self.auto is None and not self.suggestions


async def match(
    conn: Conn, text: str, language: str, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> MatchResult:
    """Score the enabled entries against `text` (in PostgreSQL) and decide: answer at once with
    the best when it is confident (see _confident), offer up to three others that fit at least
    half as well, or neither (escalate). `language` is the user's (uz, ru, en): it picks the
    question shown on each suggestion and how words shared by two languages are read."""
    return await match_terms(conn, analyse(text, language).terms, language, thresholds)


async def match_terms(
    conn: Conn, terms: tuple[str, ...], language: str, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> MatchResult:
    """match() for a question already analysed (normalize.analyse(text, language).terms)."""
    if not [t for t in terms if t != NEGATION]:
        return MatchResult(None, (), ())
    candidates = await q.match_candidates(
        conn,
        terms,
        [weight_factor(t) for t in terms],
        fuzzy=thresholds.fuzzy_similarity,
        unknown_weight=thresholds.unknown_word_weight,
        answer_weight=thresholds.answer_word_weight,
        limit=CANDIDATES,
        language=language,
    )
    ranked = sorted(candidates, key=_score, reverse=True)
    auto = ranked[0] if ranked and _confident(ranked, thresholds) else None
    offered = [
        c
        for c in ranked
        if c is not auto
        and _score(c) >= thresholds.suggest
        and _score(c) >= thresholds.suggest_ratio * _score(ranked[0])
    ][:MAX_SUGGESTIONS]
    chosen = ([auto] if auto else []) + offered
    names = {c.entry_id: c.title for c in chosen if c.title}

    def suggestion(c: q.Candidate) -> Suggestion:
        return Suggestion(c.entry_id, c.key, names.get(c.entry_id, c.key), round(_score(c), 4))

    return MatchResult(
        suggestion(auto) if auto else None, tuple(suggestion(c) for c in offered), tuple(ranked)
    )


def _score(c: q.Candidate) -> float:
    """How well the entry fits: its best phrasing's F1 and how much of the question the whole
    entry explains, equally."""
    return (c.score + c.entry_coverage) / 2


def _confident(ranked: list[q.Candidate], t: Thresholds) -> bool:
    best = ranked[0]
    runner_up = ranked[1] if len(ranked) > 1 else None
    if _score(best) < t.auto_answer or best.entry_coverage < t.min_coverage:
        return False
    if not any(is_topic(term) for term in best.matched):
        return False  # "Samarqand", "how many", "today" alone are no question we can answer
    if runner_up is None:
        return True
    if _score(best) - _score(runner_up) < t.margin:
        return False  # two entries fit about as well: "Did you mean…?"
    # The question names a topic the best entry does not cover and the runner-up does ("a limit
    # on pictures": the daily-limit entry lacks photos, the photos entry has them): ask, unless
    # the best entry still explains most of the question.
    rival = any(is_topic(term) and term in runner_up.matched for term in best.unmatched)
    return not rival or best.phrased_coverage >= t.rival_coverage
