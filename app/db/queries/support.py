"""Queries on the support knowledge base: entries, answers, phrasings and the matcher's index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class KbEntry:
    id: int
    key: str
    tags: tuple[str, ...]
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class KbButton:
    """A button under an answer: to another entry (by key) or to a URL."""

    text: str
    entry: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class KbAnswer:
    entry_id: int
    language: str
    text: str
    photo_key: str | None
    buttons: tuple[KbButton, ...]


@dataclass(frozen=True, slots=True)
class KbPhrasing:
    id: int
    entry_id: int
    language: str
    kind: str  # "question" or "keyword"
    text: str
    source: str  # "kb" (written for the knowledge base) or "desk" (a user's question an operator added)
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StalePhrasing:
    id: int
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry as the matcher scored it against one question."""

    entry_id: int
    key: str
    phrasing_id: int  # the phrasing that fits best
    score: float  # that phrasing's balance of the two coverages below (F1)
    query_coverage: float  # share of the question's weight the phrasing explains
    phrasing_coverage: float  # share of the phrasing's weight the question explains
    entry_coverage: float  # share of the question's weight the entry explains (answers count partly)
    phrased_coverage: float  # the same by its phrasings alone
    matched: tuple[str, ...]  # the question's terms the entry's phrasings explain
    answered: tuple[str, ...]  # terms only its answers use (weaker evidence; counted in entry_coverage)
    unmatched: tuple[str, ...]  # the question's terms its phrasings do not explain


ENTRY_COLUMNS = "id, key, tags, enabled, created_at, updated_at"


def _entry(row: asyncpg.Record) -> KbEntry:
    return KbEntry(
        row["id"], row["key"], tuple(row["tags"]), row["enabled"], row["created_at"], row["updated_at"]
    )


def _answer(row: asyncpg.Record) -> KbAnswer:
    buttons = tuple(KbButton(b["text"], b.get("entry"), b.get("url")) for b in row["buttons"])
    return KbAnswer(row["entry_id"], row["language"], row["text"], row["photo_key"], buttons)


def _phrasing(row: asyncpg.Record) -> KbPhrasing:
    return KbPhrasing(
        row["id"],
        row["entry_id"],
        row["language"],
        row["kind"],
        row["text"],
        row["source"],
        row["created_at"],
    )


# Entries ----------------------------------------------------------------------------------


async def insert_entry(
    conn: asyncpg.Connection, key: str, tags: Sequence[str], enabled: bool
) -> KbEntry | None:
    """The new entry; None when the key is taken."""
    row = await conn.fetchrow(
        f"""INSERT INTO support_kb_entries (key, tags, enabled) VALUES ($1, $2, $3)
            ON CONFLICT (key) DO NOTHING RETURNING {ENTRY_COLUMNS}""",
        key,
        list(tags),
        enabled,
    )
    return None if row is None else _entry(row)


async def get_entry(conn: asyncpg.Connection, entry_id: int) -> KbEntry | None:
    row = await conn.fetchrow(f"SELECT {ENTRY_COLUMNS} FROM support_kb_entries WHERE id = $1", entry_id)
    return None if row is None else _entry(row)


async def get_entry_by_key(conn: asyncpg.Connection, key: str, *, lock: bool = False) -> KbEntry | None:
    row = await conn.fetchrow(
        f"SELECT {ENTRY_COLUMNS} FROM support_kb_entries WHERE key = $1{' FOR UPDATE' if lock else ''}", key
    )
    return None if row is None else _entry(row)


async def list_entries(conn: asyncpg.Connection) -> list[KbEntry]:
    rows = await conn.fetch(f"SELECT {ENTRY_COLUMNS} FROM support_kb_entries ORDER BY key")
    return [_entry(r) for r in rows]


async def existing_keys(conn: asyncpg.Connection, keys: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT key FROM support_kb_entries WHERE key = ANY($1::text[])", list(keys))
    return {r["key"] for r in rows}


async def update_entry(
    conn: asyncpg.Connection, entry_id: int, *, tags: Sequence[str], enabled: bool
) -> KbEntry | None:
    """Set tags and enabled; updated_at moves only when something changed."""
    row = await conn.fetchrow(
        f"""UPDATE support_kb_entries
               SET tags = $2, enabled = $3,
                   updated_at = CASE WHEN (tags, enabled) IS DISTINCT FROM ($2, $3)
                                     THEN now() ELSE updated_at END
             WHERE id = $1 RETURNING {ENTRY_COLUMNS}""",
        entry_id,
        list(tags),
        enabled,
    )
    return None if row is None else _entry(row)


async def touch_entry(conn: asyncpg.Connection, entry_id: int) -> None:
    await conn.execute("UPDATE support_kb_entries SET updated_at = now() WHERE id = $1", entry_id)


# Answers ----------------------------------------------------------------------------------


async def put_answer(
    conn: asyncpg.Connection,
    entry_id: int,
    language: str,
    text: str,
    photo_key: str | None,
    buttons: Sequence[KbButton],
    *,
    terms: Sequence[str],
    analyser: int,
) -> bool:
    """Insert or replace the answer in one language; True when it changed."""
    payload = [
        {k: v for k, v in (("text", b.text), ("entry", b.entry), ("url", b.url)) if v is not None}
        for b in buttons
    ]
    status = await conn.execute(
        """INSERT INTO support_kb_answers AS a (entry_id, language, text, photo_key, buttons, terms, analyser)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
           ON CONFLICT (entry_id, language) DO UPDATE
              SET text = excluded.text, photo_key = excluded.photo_key, buttons = excluded.buttons,
                  terms = excluded.terms, analyser = excluded.analyser
            WHERE (a.text, a.photo_key, a.buttons)
                  IS DISTINCT FROM (excluded.text, excluded.photo_key, excluded.buttons)""",
        entry_id,
        language,
        text,
        photo_key,
        payload,
        list(terms),
        analyser,
    )
    return status.endswith(" 1")


async def delete_answers_except(conn: asyncpg.Connection, entry_id: int, languages: Sequence[str]) -> int:
    status = await conn.execute(
        "DELETE FROM support_kb_answers WHERE entry_id = $1 AND NOT (language = ANY($2::text[]))",
        entry_id,
        list(languages),
    )
    return int(status.split()[-1])


async def answers(conn: asyncpg.Connection, entry_ids: Sequence[int]) -> list[KbAnswer]:
    rows = await conn.fetch(
        """SELECT entry_id, language, text, photo_key, buttons FROM support_kb_answers
           WHERE entry_id = ANY($1::bigint[]) ORDER BY entry_id, language""",
        list(entry_ids),
    )
    return [_answer(r) for r in rows]


async def answer(conn: asyncpg.Connection, entry_id: int, languages: Sequence[str]) -> KbAnswer | None:
    """The answer in the first of `languages` the entry has."""
    row = await conn.fetchrow(
        """SELECT entry_id, language, text, photo_key, buttons FROM support_kb_answers
           WHERE entry_id = $1 AND language = ANY($2::text[])
           ORDER BY array_position($2::text[], language) LIMIT 1""",
        entry_id,
        list(languages),
    )
    return None if row is None else _answer(row)


# Phrasings --------------------------------------------------------------------------------

PHRASING_COLUMNS = "id, entry_id, language, kind, text, source, created_at"


async def insert_phrasing(
    conn: asyncpg.Connection,
    entry_id: int,
    language: str,
    kind: str,
    text: str,
    *,
    norm: str,
    terms: Sequence[str],
    analyser: int,
    source: str,
) -> KbPhrasing | None:
    """The new phrasing; None when the entry already has this text (language and kind alike)."""
    row = await conn.fetchrow(
        f"""INSERT INTO support_kb_phrasings (entry_id, language, kind, text, norm, terms, analyser, source)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (entry_id, language, kind, text) DO NOTHING RETURNING {PHRASING_COLUMNS}""",
        entry_id,
        language,
        kind,
        text,
        norm,
        list(terms),
        analyser,
        source,
    )
    return None if row is None else _phrasing(row)


async def phrasings(conn: asyncpg.Connection, entry_ids: Sequence[int]) -> list[KbPhrasing]:
    """In the order they were added, which keeps each language's first question first."""
    rows = await conn.fetch(
        f"""SELECT {PHRASING_COLUMNS} FROM support_kb_phrasings
            WHERE entry_id = ANY($1::bigint[]) ORDER BY entry_id, id""",
        list(entry_ids),
    )
    return [_phrasing(r) for r in rows]


async def delete_phrasings(conn: asyncpg.Connection, ids: Sequence[int]) -> int:
    status = await conn.execute("DELETE FROM support_kb_phrasings WHERE id = ANY($1::bigint[])", list(ids))
    return int(status.split()[-1])


async def stale_phrasings(conn: asyncpg.Connection, analyser: int, limit: int) -> list[StalePhrasing]:
    rows = await conn.fetch(
        """SELECT id, language, text FROM support_kb_phrasings WHERE analyser <> $1 ORDER BY id LIMIT $2""",
        analyser,
        limit,
    )
    return [StalePhrasing(r["id"], r["language"], r["text"]) for r in rows]


async def stale_answers(conn: asyncpg.Connection, analyser: int, limit: int) -> list[KbAnswer]:
    rows = await conn.fetch(
        """SELECT entry_id, language, text, photo_key, buttons FROM support_kb_answers
           WHERE analyser <> $1 ORDER BY entry_id, language LIMIT $2""",
        analyser,
        limit,
    )
    return [_answer(r) for r in rows]


async def set_answer_analysis(
    conn: asyncpg.Connection, entry_id: int, language: str, terms: Sequence[str], analyser: int
) -> None:
    await conn.execute(
        "UPDATE support_kb_answers SET terms = $3, analyser = $4 WHERE entry_id = $1 AND language = $2",
        entry_id,
        language,
        list(terms),
        analyser,
    )


async def set_analysis(
    conn: asyncpg.Connection, phrasing_id: int, norm: str, terms: Sequence[str], analyser: int
) -> None:
    await conn.execute(
        "UPDATE support_kb_phrasings SET norm = $2, terms = $3, analyser = $4 WHERE id = $1",
        phrasing_id,
        norm,
        list(terms),
        analyser,
    )


async def titles(conn: asyncpg.Connection, entry_ids: Sequence[int], language: str) -> dict[int, str]:
    """Each entry's first question in `language`, else its first question in any language."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (entry_id) entry_id, text FROM support_kb_phrasings
           WHERE entry_id = ANY($1::bigint[]) AND kind = 'question'
           ORDER BY entry_id, language <> $2, array_position(ARRAY['uz','ru','en'], language), id""",
        list(entry_ids),
        language,
    )
    return {r["entry_id"]: r["text"] for r in rows}


# The matcher's index ---------------------------------------------------------------------

# Rebuilt after each change, under a lock so two concurrent changes do not interleave. Only
# enabled entries count: a disabled entry's phrasings have no weight and so are never matched.
REFRESH_INDEX = """
WITH live AS (
    SELECT p.term, p.entry_id FROM support_kb_postings p
      JOIN support_kb_entries e ON e.id = p.entry_id AND e.enabled
), answered AS (
    SELECT a.term, a.entry_id FROM support_kb_answer_postings a
      JOIN support_kb_entries e ON e.id = a.entry_id AND e.enabled
     WHERE NOT EXISTS (SELECT FROM live WHERE live.term = a.term)
), n AS (SELECT count(*)::float8 AS n FROM support_kb_entries WHERE enabled),
gone AS (DELETE FROM support_kb_vocab),
df AS (
    SELECT term, count(DISTINCT entry_id)::int AS df
      FROM (SELECT * FROM live UNION ALL SELECT * FROM answered) t GROUP BY term
), factor AS (SELECT * FROM unnest($1::text[], $2::float8[]) AS f (term, factor))
INSERT INTO support_kb_vocab (term, df, idf)
SELECT df.term, df.df,
       CASE WHEN df.term = $3 THEN greatest(ln((n.n + 1) / (df.df + 0.5)), $4)
            ELSE ln((n.n + 1) / (df.df + 0.5)) * coalesce(f.factor, 1) END
  FROM df CROSS JOIN n LEFT JOIN factor f USING (term)
"""

REFRESH_MASS = """
WITH gone AS (DELETE FROM support_kb_phrasing_mass)
INSERT INTO support_kb_phrasing_mass (phrasing_id, entry_id, mass)
SELECT p.phrasing_id, min(p.entry_id), sum(v.idf)
  FROM support_kb_postings p JOIN support_kb_vocab v USING (term)
 GROUP BY p.phrasing_id
"""


async def refresh_index(
    conn: asyncpg.Connection,
    factors: Mapping[str, float],
    polarity: tuple[str, float],
) -> None:
    """Recount term weights and phrasing weights (call inside the changing transaction).
    A term's weight is its IDF times its factor in `factors`; the polarity term weighs at least
    the given weight however common it is."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('support_kb_index'))")
    await conn.execute(REFRESH_INDEX, list(factors), list(factors.values()), *polarity)
    await conn.execute(REFRESH_MASS)


# One round trip. Each question term stands for itself or, for a plain word (lower case; concept
# ids are upper case), for known words of trigram similarity >= $2. A term no enabled entry uses
# weighs $3 times its factor ($5, aligned with $1). For each phrasing: the question weight it
# explains (q_gain) and its own weight the question explains (p_gain); their shares give the
# phrasing's F1. For each entry: its best phrasing, and how much of the question the entry
# explains, a word only its answers use counting $6 of its weight (pec: by phrasings alone).
# `ords`/`answer_ords` say which question terms the phrasings / only the answers explain.
MATCH = """
WITH q AS (
    SELECT term, factor, ord FROM unnest($1::text[], $5::float8[]) WITH ORDINALITY AS q (term, factor, ord)
), hit AS (
    SELECT q.ord, v.term, v.idf, 1.0::float8 AS sim
      FROM q JOIN support_kb_vocab v ON v.term = q.term
    UNION ALL
    SELECT q.ord, v.term, v.idf, similarity(v.term, q.term)::float8
      FROM q JOIN support_kb_vocab v ON v.term % q.term
     WHERE q.term = lower(q.term) AND v.term = lower(v.term) AND v.term <> q.term
       AND similarity(v.term, q.term) >= $2
), qw AS (
    SELECT q.ord, coalesce(max(h.idf * h.sim), $3 * min(q.factor)) AS w
      FROM q LEFT JOIN hit h USING (ord) GROUP BY q.ord
), total AS (
    SELECT sum(w) AS w FROM qw
), post AS (
    SELECT p.phrasing_id, p.entry_id, h.ord, h.term, h.idf, h.sim
      FROM hit h JOIN support_kb_postings p USING (term)
), by_ord AS (
    SELECT phrasing_id, entry_id, ord, max(idf * sim) AS gain FROM post GROUP BY 1, 2, 3
), by_term AS (
    SELECT phrasing_id, term, max(idf * sim) AS gain FROM post GROUP BY 1, 2
), phr AS (
    SELECT o.phrasing_id, o.entry_id, o.q_gain / total.w AS qc, t.p_gain / m.mass AS pc
      FROM (SELECT phrasing_id, min(entry_id) AS entry_id, sum(gain) AS q_gain FROM by_ord GROUP BY 1) o
      JOIN (SELECT phrasing_id, sum(gain) AS p_gain FROM by_term GROUP BY 1) t USING (phrasing_id)
      JOIN support_kb_phrasing_mass m USING (phrasing_id), total
), best AS (
    SELECT DISTINCT ON (entry_id) entry_id, phrasing_id, qc, pc,
           CASE WHEN qc + pc > 0 THEN 2 * qc * least(pc, 1) / (qc + least(pc, 1)) ELSE 0 END AS f
      FROM phr ORDER BY entry_id, 5 DESC, qc DESC
), answered AS (
    SELECT a.entry_id, h.ord, max(h.idf * h.sim) * $6 AS gain
      FROM hit h JOIN support_kb_answer_postings a USING (term)
     WHERE a.entry_id IN (SELECT entry_id FROM phr)
     GROUP BY 1, 2
), ent AS (
    SELECT e.entry_id, sum(e.gain) / total.w AS ec,
           coalesce(sum(e.phrased_gain), 0) / total.w AS pec,
           array_agg(e.ord) FILTER (WHERE e.phrased) AS ords,
           array_agg(e.ord) FILTER (WHERE NOT e.phrased) AS answer_ords
      FROM (SELECT entry_id, ord, max(gain) AS gain, bool_or(phrased) AS phrased,
                   max(gain) FILTER (WHERE phrased) AS phrased_gain
              FROM (SELECT b.entry_id, b.ord, b.gain, true AS phrased FROM by_ord b
                      JOIN support_kb_phrasing_mass m USING (phrasing_id)
                    UNION ALL
                    SELECT entry_id, ord, gain, false FROM answered) u
             GROUP BY 1, 2) e, total
     GROUP BY e.entry_id, total.w
)
SELECT b.entry_id, k.key, b.phrasing_id, b.f, b.qc, b.pc, ent.ec, ent.pec, ent.ords, ent.answer_ords
  FROM best b JOIN ent USING (entry_id) JOIN support_kb_entries k ON k.id = b.entry_id
 ORDER BY b.f + ent.ec DESC, b.entry_id
 LIMIT $4
"""


async def match_candidates(
    conn: asyncpg.Connection,
    terms: Sequence[str],
    factors: Sequence[float],
    *,
    fuzzy: float,
    unknown_weight: float,
    answer_weight: float,
    limit: int,
) -> list[Candidate]:
    rows = await conn.fetch(MATCH, list(terms), fuzzy, unknown_weight, limit, list(factors), answer_weight)
    out = []
    for r in rows:
        ords, answer_ords = set(r["ords"] or ()), set(r["answer_ords"] or ())
        out.append(
            Candidate(
                r["entry_id"],
                r["key"],
                r["phrasing_id"],
                r["f"],
                r["qc"],
                r["pc"],
                r["ec"],
                r["pec"],
                matched=tuple(t for i, t in enumerate(terms, 1) if i in ords),
                answered=tuple(t for i, t in enumerate(terms, 1) if i in answer_ords),
                unmatched=tuple(t for i, t in enumerate(terms, 1) if i not in ords),
            )
        )
    return out


async def export_rows(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every entry with its phrasings and answers, for export (one query)."""
    rows = await conn.fetch(
        """SELECT e.key, e.tags, e.enabled,
                  coalesce((SELECT json_agg(json_build_object('language', p.language, 'kind', p.kind,
                                                              'text', p.text) ORDER BY p.id)
                              FROM support_kb_phrasings p WHERE p.entry_id = e.id), '[]')::jsonb AS phrasings,
                  coalesce((SELECT json_agg(json_build_object('language', a.language, 'text', a.text,
                                                              'photo', a.photo_key, 'buttons', a.buttons)
                                            ORDER BY array_position(ARRAY['uz','ru','en'], a.language))
                              FROM support_kb_answers a WHERE a.entry_id = e.id), '[]')::jsonb AS answers
             FROM support_kb_entries e ORDER BY e.key"""
    )
    return [dict(r) for r in rows]
