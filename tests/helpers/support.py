"""Builders for the support knowledge-base tests: the sample knowledge base and single entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg

from app.domain.support import kb
from app.domain.support.kb import AnswerDraft, EntryDraft, ImportReport

SAMPLE_KB = Path(__file__).resolve().parents[2] / "bench" / "data" / "support" / "kb.json"


def sample_kb() -> list[dict[str, Any]]:
    """bench/data/support/kb.json: the 40-entry knowledge base of the evaluation set."""
    data: list[dict[str, Any]] = json.loads(SAMPLE_KB.read_text(encoding="utf-8"))
    return data


async def load_sample_kb(db: asyncpg.Connection) -> ImportReport:
    async with db.transaction():
        return await kb.import_json(db, sample_kb())


def draft(
    key: str,
    question: str = "How do I wrap my parcel?",
    answer: str = "Use two layers of paper.",
    *,
    language: str = "en",
    **changes: Any,
) -> EntryDraft:
    """An entry with one question and one answer in one language; `changes` override fields."""
    fields: dict[str, Any] = {
        "key": key,
        "questions": {language: [question]},
        "answers": {language: AnswerDraft(answer)},
    }
    fields.update(changes)
    return EntryDraft(**fields)


async def counts(db: asyncpg.Connection) -> dict[str, object]:
    """Rows in the knowledge base's tables, to assert that something did or did not change."""
    row = await db.fetchrow(
        """SELECT (SELECT count(*) FROM support_kb_entries) AS entries,
                  (SELECT count(*) FROM support_kb_phrasings) AS phrasings,
                  (SELECT count(*) FROM support_kb_answers) AS answers,
                  (SELECT max(updated_at)::text FROM support_kb_entries) AS last_update"""
    )
    return dict(row)
