"""Queries on the support knowledge base: entries, answers, phrasings and the matcher's index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.db import Conn


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
    title: str | None = None  # its first question in the asker's language (else uz, ru, en)


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


async def insert_entry(conn: Conn, key: str, tags: Sequence[str], enabled: bool) -> KbEntry | None:
    """The new entry; None when the key is taken."""
    row = await conn.fetchrow(
        f"""INSERT INTO support_kb_entries (key, tags, enabled) VALUES ($1, $2, $3)
            ON CONFLICT (key) DO NOTHING RETURNING {ENTRY_COLUMNS}""",
        key,
        list(tags),
        enabled,
    )
    return None if row is None else _entry(row)


async def get_entry(conn: Conn, entry_id: int) -> KbEntry | None:
    row = await conn.fetchrow(f"SELECT {ENTRY_COLUMNS} FROM support_kb_entries WHERE id = $1", entry_id)
    return None if row is None else _entry(row)


async def get_entry_by_key(conn: Conn, key: str, *, lock: bool = False) -> KbEntry | None:
    row = await conn.fetchrow(
        f"SELECT {ENTRY_COLUMNS} FROM support_kb_entries WHERE key = $1{' FOR UPDATE' if lock else ''}", key
    )
    return None if row is None else _entry(row)


async def list_entries(conn: Conn) -> list[KbEntry]:
    rows = await conn.fetch(f"SELECT {ENTRY_COLUMNS} FROM support_kb_entries ORDER BY key")
    return [_entry(r) for r in rows]


async def update_entry(conn: Conn, entry_id: int, *, tags: Sequence[str], enabled: bool) -> KbEntry | None:
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


async def touch_entry(conn: Conn, entry_id: int) -> None:
    await conn.execute("UPDATE support_kb_entries SET updated_at = now() WHERE id = $1", entry_id)


# Answers ----------------------------------------------------------------------------------


async def put_answer(
    conn: Conn,
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


async def delete_answers_except(conn: Conn, entry_id: int, languages: Sequence[str]) -> int:
    status = await conn.execute(
        "DELETE FROM support_kb_answers WHERE entry_id = $1 AND NOT (language = ANY($2::text[]))",
        entry_id,
        list(languages),
    )
    return int(status.split()[-1])


async def answers(conn: Conn, entry_ids: Sequence[int]) -> list[KbAnswer]:
    rows = await conn.fetch(
        """SELECT entry_id, language, text, photo_key, buttons FROM support_kb_answers
           WHERE entry_id = ANY($1::bigint[]) ORDER BY entry_id, language""",
        list(entry_ids),
    )
    return [_answer(r) for r in rows]


async def answer(conn: Conn, entry_id: int, languages: Sequence[str]) -> KbAnswer | None:
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
    conn: Conn,
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


@dataclass(frozen=True, slots=True)
class NewPhrasing:
    """A phrasing to store, with the analyser's output."""

    language: str
    kind: str
    text: str
    norm: str
    terms: tuple[str, ...]


async def insert_phrasings(
    conn: Conn, entry_id: int, items: Sequence[NewPhrasing], *, analyser: int, source: str
) -> int:
    """Store the phrasings the entry lacks, in order, in one statement; returns how many were new."""
    if not items:
        return 0
    # Terms travel as one string per phrasing (a text[][] would need equal lengths).
    status = await conn.execute(
        """INSERT INTO support_kb_phrasings (entry_id, language, kind, text, norm, terms, analyser, source)
           SELECT $1, t.language, t.kind, t.text, t.norm, string_to_array(t.terms, ' '), $7, $8
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                  WITH ORDINALITY AS t (language, kind, text, norm, terms, n)
            ORDER BY t.n
           ON CONFLICT (entry_id, language, kind, text) DO NOTHING""",
        entry_id,
        [i.language for i in items],
        [i.kind for i in items],
        [i.text for i in items],
        [i.norm for i in items],
        [" ".join(i.terms) for i in items],
        analyser,
        source,
    )
    return int(status.split()[-1])


async def phrasings(conn: Conn, entry_ids: Sequence[int]) -> list[KbPhrasing]:
    """In the order they were added, which keeps each language's first question first."""
    rows = await conn.fetch(
        f"""SELECT {PHRASING_COLUMNS} FROM support_kb_phrasings
            WHERE entry_id = ANY($1::bigint[]) ORDER BY entry_id, id""",
        list(entry_ids),
    )
    return [_phrasing(r) for r in rows]


async def delete_phrasings(conn: Conn, ids: Sequence[int]) -> int:
    status = await conn.execute("DELETE FROM support_kb_phrasings WHERE id = ANY($1::bigint[])", list(ids))
    return int(status.split()[-1])


async def stale_phrasings(conn: Conn, analyser: int, limit: int) -> list[StalePhrasing]:
    rows = await conn.fetch(
        """SELECT id, language, text FROM support_kb_phrasings WHERE analyser <> $1 ORDER BY id LIMIT $2""",
        analyser,
        limit,
    )
    return [StalePhrasing(r["id"], r["language"], r["text"]) for r in rows]


async def stale_answers(conn: Conn, analyser: int, limit: int) -> list[KbAnswer]:
    rows = await conn.fetch(
        """SELECT entry_id, language, text, photo_key, buttons FROM support_kb_answers
           WHERE analyser <> $1 ORDER BY entry_id, language LIMIT $2""",
        analyser,
        limit,
    )
    return [_answer(r) for r in rows]


async def set_answer_analysis(
    conn: Conn, entry_id: int, language: str, terms: Sequence[str], analyser: int
) -> None:
    await conn.execute(
        "UPDATE support_kb_answers SET terms = $3, analyser = $4 WHERE entry_id = $1 AND language = $2",
        entry_id,
        language,
        list(terms),
        analyser,
    )


async def set_analysis(conn: Conn, phrasing_id: int, norm: str, terms: Sequence[str], analyser: int) -> None:
    await conn.execute(
        "UPDATE support_kb_phrasings SET norm = $2, terms = $3, analyser = $4 WHERE id = $1",
        phrasing_id,
        norm,
        list(terms),
        analyser,
    )


# The matcher's index ---------------------------------------------------------------------

REFRESH_ENTRY_TERMS = """
INSERT INTO support_kb_entry_terms (term, entry_id, phrased)
SELECT t.term, t.entry_id, bool_or(t.phrased)
  FROM (SELECT term, entry_id, true AS phrased FROM support_kb_postings WHERE entry_id = ANY($1::bigint[])
        UNION ALL
        SELECT term, entry_id, false FROM support_kb_answer_postings WHERE entry_id = ANY($1::bigint[])) t
  JOIN support_kb_entries e ON e.id = t.entry_id AND e.enabled
 GROUP BY t.term, t.entry_id
"""

# A term's df counts the entries whose phrasings use it, or, for a word only answers use, the
# entries whose answers do.
REFRESH_VOCAB = """
WITH n AS (SELECT count(*)::float8 AS n FROM support_kb_entries WHERE enabled),
df AS (
    SELECT term, coalesce(nullif(count(*) FILTER (WHERE phrased), 0), count(*))::int AS df,
           bool_or(phrased) AS phrased
      FROM support_kb_entry_terms GROUP BY term
), factor AS (SELECT * FROM unnest($1::text[], $2::float8[]) AS f (term, factor))
INSERT INTO support_kb_vocab (term, df, idf, phrased)
SELECT df.term, df.df,
       CASE WHEN df.term = $3 THEN greatest(ln((n.n + 1) / (df.df + 0.5)), $4)
            ELSE ln((n.n + 1) / (df.df + 0.5)) * coalesce(f.factor, 1) END,
       df.phrased
  FROM df CROSS JOIN n LEFT JOIN factor f USING (term)
"""


async def refresh_index(
    conn: Conn,
    entry_ids: Sequence[int] | None,
    factors: Mapping[str, float],
    polarity: tuple[str, float],
) -> None:
    """Rebuild the entry-level terms of `entry_ids` (None: every entry) and recount the term
    weights; call inside the changing transaction. A term's weight is its IDF times its factor in
    `factors`; the polarity term weighs at least the given weight however common it is."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('support_kb_index'))")
    if entry_ids is None:
        entry_ids = [r["id"] for r in await conn.fetch("SELECT id FROM support_kb_entries")]
    await conn.execute(
        "DELETE FROM support_kb_entry_terms WHERE entry_id = ANY($1::bigint[])", list(entry_ids)
    )
    await conn.execute(REFRESH_ENTRY_TERMS, list(entry_ids))
    await conn.execute("DELETE FROM support_kb_vocab")
    await conn.execute(REFRESH_VOCAB, list(factors), list(factors.values()), *polarity)


# One round trip, in three narrowing steps so that a term most entries share ("ad", "channel")
# never makes the database walk a large knowledge base.
# 1. Each question term stands for itself or, for a plain word (lower case; concept ids are upper
#    case), for known words of trigram similarity >= $2. A term no enabled entry's phrasings use
#    weighs at least $3 times its factor ($5, aligned with $1).
# 2. Candidates: the $4 entries whose phrasings explain most of the question's selective terms
#    (used by at most a share $7 of the entries, or by at most $4 of them; the two rarest when
#    none is), so a base of at most $4 entries is scored whole. For each: how much of the
#    question it explains (ec), a word only its answers use counting $6 of its weight (pec: by
#    phrasings alone).
# 3. For the $9 candidates explaining most, each phrasing: the question weight it explains and
#    its own weight the question explains; their shares give its F1; the entry keeps its best.
# Each candidate comes with its first question in the user's language $10 (else in uz, ru, en),
# the title a "Did you mean…?" button shows, so no second round trip fetches it.
MATCH = """
WITH param AS (
    SELECT $2::float8 AS fuzzy, $3::float8 AS unknown, $4::int AS candidates,
           $6::float8 AS answered, $7::float8 AS share, $9::int AS scored
), q AS (
    SELECT term, factor, ord
      FROM unnest($1::text[], $5::float8[]) WITH ORDINALITY AS q (term, factor, ord)
), hit AS MATERIALIZED (
    SELECT q.ord, v.term, v.df, v.idf, v.phrased, 1.0::float8 AS sim
      FROM q JOIN support_kb_vocab v ON v.term = q.term
    UNION ALL
    SELECT q.ord, v.term, v.df, v.idf, v.phrased, similarity(v.term, q.term)::float8
      FROM q JOIN support_kb_vocab v ON v.term % q.term
     WHERE q.term = lower(q.term) AND v.term = lower(v.term) AND v.term <> q.term
       AND similarity(v.term, q.term) >= (SELECT fuzzy FROM param)
), total AS MATERIALIZED (
    SELECT sum(w) AS w FROM (
        SELECT coalesce(max(h.idf * h.sim) FILTER (WHERE h.phrased),
                        greatest(max(h.idf * h.sim), (SELECT unknown FROM param) * min(q.factor))) AS w
          FROM q LEFT JOIN hit h USING (ord) GROUP BY q.ord) qw
), selective AS MATERIALIZED (
    SELECT h.term FROM hit h, param
     WHERE h.df <= greatest(param.share * (SELECT count(*) FROM support_kb_entries WHERE enabled),
                            param.candidates)
), rarest AS MATERIALIZED (
    SELECT term FROM hit ORDER BY df, term LIMIT 2
), cand AS MATERIALIZED (
    SELECT entry_id FROM (
        SELECT et.entry_id, h.ord, max(h.idf * h.sim) AS gain
          FROM support_kb_entry_terms et JOIN hit h USING (term)
         WHERE et.phrased
           AND et.term = ANY(CASE WHEN EXISTS (SELECT FROM selective) THEN ARRAY(SELECT term FROM selective)
                                  ELSE ARRAY(SELECT term FROM rarest) END)
         GROUP BY 1, 2) g
     GROUP BY entry_id ORDER BY sum(gain) DESC, entry_id LIMIT (SELECT candidates FROM param)
), ent AS MATERIALIZED (
    SELECT e.entry_id, sum(e.gain) / total.w AS ec, coalesce(sum(e.phrased_gain), 0) / total.w AS pec,
           array_agg(e.ord) FILTER (WHERE e.phrased) AS ords,
           array_agg(e.ord) FILTER (WHERE NOT e.phrased) AS answer_ords
      FROM (SELECT et.entry_id, h.ord,
                   max(h.idf * h.sim * CASE WHEN et.phrased THEN 1 ELSE param.answered END) AS gain,
                   max(h.idf * h.sim) FILTER (WHERE et.phrased) AS phrased_gain,
                   bool_or(et.phrased) AS phrased
              FROM support_kb_entry_terms et JOIN hit h USING (term) CROSS JOIN param
             WHERE et.term = ANY(ARRAY(SELECT term FROM hit))
               AND et.entry_id = ANY(ARRAY(SELECT entry_id FROM cand))
             GROUP BY 1, 2) e, total
     GROUP BY e.entry_id, total.w
), post AS MATERIALIZED (
    SELECT p.phrasing_id, p.entry_id, p.term, v.idf, h.ord, h.sim
      FROM support_kb_postings p
      JOIN support_kb_vocab v USING (term)
      LEFT JOIN hit h USING (term)
     WHERE p.entry_id = ANY(ARRAY(SELECT entry_id FROM ent
                                  ORDER BY ec DESC, entry_id LIMIT (SELECT scored FROM param)))
), phr AS (
    SELECT t.phrasing_id, t.entry_id, o.q_gain / total.w AS qc, t.p_gain / t.mass AS pc
      FROM (SELECT phrasing_id, min(entry_id) AS entry_id, sum(idf) AS mass,
                   sum(idf * coalesce(sim, 0)) AS p_gain
              FROM (SELECT phrasing_id, entry_id, term, idf, max(sim) AS sim
                      FROM post GROUP BY 1, 2, 3, 4) pt
             GROUP BY phrasing_id) t
      JOIN (SELECT phrasing_id, sum(gain) AS q_gain
              FROM (SELECT phrasing_id, ord, max(idf * sim) AS gain FROM post WHERE ord IS NOT NULL
                     GROUP BY 1, 2) po
             GROUP BY phrasing_id) o USING (phrasing_id), total
), best AS (
    SELECT DISTINCT ON (entry_id) entry_id, phrasing_id, qc, pc,
           CASE WHEN qc + pc > 0 THEN 2 * qc * least(pc, 1) / (qc + least(pc, 1)) ELSE 0 END AS f
      FROM phr ORDER BY entry_id, 5 DESC, qc DESC
)
SELECT b.entry_id, k.key, b.phrasing_id, b.f, b.qc, b.pc, ent.ec, ent.pec, ent.ords, ent.answer_ords,
       (SELECT p.text FROM support_kb_phrasings p
         WHERE p.entry_id = b.entry_id AND p.kind = 'question'
         ORDER BY p.language <> $10::text, array_position(ARRAY['uz','ru','en'], p.language), p.id
         LIMIT 1) AS title
  FROM best b JOIN ent USING (entry_id) JOIN support_kb_entries k ON k.id = b.entry_id
 ORDER BY b.f + ent.ec DESC, b.entry_id
 LIMIT $8::int
"""


async def _fetch_generic(conn: Conn, sql: str, *args: object) -> list[asyncpg.Record]:
    """Run a prepared statement with its generic plan. For MATCH the planner would otherwise plan
    every call afresh (~1.5 ms of a 4 ms query); its plan does not depend on the values. Inside
    the caller's transaction the setting would outlive the call, so there it is left alone."""
    if conn.is_in_transaction():
        return await conn.fetch(sql, *args)
    await conn.execute("BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan")
    try:
        rows = await conn.fetch(sql, *args)
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
    return rows


CANDIDATE_ENTRIES = 50  # entries whose coverage is computed per question
SCORED_ENTRIES = 25  # ...of which the best explaining have their phrasings scored
SELECTIVE_SHARE = 0.1  # a term at most this share of the entries use picks candidates


async def match_candidates(
    conn: Conn,
    terms: Sequence[str],
    factors: Sequence[float],
    *,
    fuzzy: float,
    unknown_weight: float,
    answer_weight: float,
    limit: int,
    language: str = "uz",
) -> list[Candidate]:
    rows = await _fetch_generic(
        conn,
        MATCH,
        list(terms),
        fuzzy,
        unknown_weight,
        CANDIDATE_ENTRIES,
        list(factors),
        answer_weight,
        SELECTIVE_SHARE,
        limit,
        SCORED_ENTRIES,
        language,
    )
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
                title=r["title"],
            )
        )
    return out


async def count_entries(conn: Conn) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM support_kb_entries")
    return count


async def notify_changed(conn: Conn) -> None:
    """Tell every process, at commit, that the knowledge base changed (channel bozor_support)."""
    await conn.execute("""SELECT pg_notify('bozor_support', '{"event": "kb"}')""")
