"""The knowledge base: entries with phrasings and answers per language; import and export (JSON, CSV)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.db import Conn
from app.db.queries import support as q
from app.db.queries.support import KbAnswer, KbButton, KbEntry, KbPhrasing
from app.domain.support import normalize
from app.i18n import N_, UserError

LANGUAGES = ("uz", "ru", "en")
KINDS = ("question", "keyword")
KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
URL_RE = re.compile(r"(https?|tg)://[^\s]{1,500}")
MAX_ANSWER = 4096
MAX_PHRASING = 500
MAX_BUTTONS = 8
CSV_COLUMNS = ("id", "language", "questions", "keywords", "answer", "photo", "buttons", "tags", "enabled")


class KbError(UserError):
    """A knowledge-base entry or file that cannot be saved as it is."""


@dataclass(frozen=True, slots=True)
class AnswerDraft:
    text: str
    photo_key: str | None = None
    buttons: tuple[KbButton, ...] = ()


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry as the panel or a file gives it; phrasings per language, in order."""

    key: str
    questions: Mapping[str, Sequence[str]]
    answers: Mapping[str, AnswerDraft]
    keywords: Mapping[str, Sequence[str]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry with everything it holds."""

    entry: KbEntry
    phrasings: tuple[KbPhrasing, ...]
    answers: tuple[KbAnswer, ...]

    def questions(self, language: str) -> list[str]:
        return [p.text for p in self.phrasings if p.language == language and p.kind == "question"]

    def keywords(self, language: str) -> list[str]:
        return [p.text for p in self.phrasings if p.language == language and p.kind == "keyword"]


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


# Writing entries --------------------------------------------------------------------------


async def create_entry(conn: Conn, draft: EntryDraft) -> Entry:
    """A new entry; its key must be free. Call in a transaction."""
    _check(draft)
    row = await q.insert_entry(conn, draft.key, draft.tags, draft.enabled)
    if row is None:
        raise KbError(N_("There is already an entry “{key}”."), key=draft.key)
    await _write_contents(conn, row.id, draft, replace=False)
    await _refresh(conn, [row.id])
    return await _load(conn, row)


async def update_entry(conn: Conn, draft: EntryDraft) -> Entry:
    """Make the entry `draft.key` exactly the draft: phrasings not in it are removed."""
    _check(draft)
    row = await q.get_entry_by_key(conn, draft.key, lock=True)
    if row is None:
        raise KbError(N_("There is no entry “{key}”."), key=draft.key)
    changed = await _write_contents(conn, row.id, draft, replace=True)
    updated = await q.update_entry(conn, row.id, tags=draft.tags, enabled=draft.enabled)
    assert updated is not None  # locked above
    if changed:
        await q.touch_entry(conn, row.id)
    await _refresh(conn, [row.id])
    return await _load(conn, updated)


async def set_enabled(conn: Conn, key: str, enabled: bool) -> KbEntry:
    """Switch an entry on or off; a disabled entry is never matched."""
    row = await q.get_entry_by_key(conn, key, lock=True)
    if row is None:
        raise KbError(N_("There is no entry “{key}”."), key=key)
    updated = await q.update_entry(conn, row.id, tags=row.tags, enabled=enabled)
    assert updated is not None
    await _refresh(conn, [row.id])
    return updated


async def add_phrasing(conn: Conn, key: str, language: str, text: str, *, source: str = "desk") -> bool:
    """Add a question phrasing to an entry (the desk's "add this question to the entry"), so the
    next person asking it that way gets the answer at once. False when the entry already has it."""
    row = await q.get_entry_by_key(conn, key, lock=True)
    if row is None:
        raise KbError(N_("There is no entry “{key}”."), key=key)
    text = _phrasing_text(text)
    _check_language(language)
    added = await _insert_phrasing(conn, row.id, language, "question", text, source)
    if added:
        await q.touch_entry(conn, row.id)
        await _refresh(conn, [row.id])
    return added


async def get_entry(conn: Conn, key: str) -> Entry | None:
    row = await q.get_entry_by_key(conn, key)
    return None if row is None else await _load(conn, row)


async def list_entries(conn: Conn) -> list[Entry]:
    rows = await q.list_entries(conn)
    by_id_p: dict[int, list[KbPhrasing]] = {}
    for p in await q.phrasings(conn, [r.id for r in rows]):
        by_id_p.setdefault(p.entry_id, []).append(p)
    by_id_a: dict[int, list[KbAnswer]] = {}
    for a in await q.answers(conn, [r.id for r in rows]):
        by_id_a.setdefault(a.entry_id, []).append(a)
    return [Entry(r, tuple(by_id_p.get(r.id, ())), tuple(by_id_a.get(r.id, ()))) for r in rows]


async def answer_for(conn: Conn, entry_id: int, language: str) -> KbAnswer | None:
    """The answer to send: in the user's language, else Uzbek, Russian, English."""
    order = [language, *[lang for lang in LANGUAGES if lang != language]]
    return await q.answer(conn, entry_id, order)


async def reindex_stale(conn: Conn, batch: int = 500) -> int:
    """Re-analyse phrasings and answers stored by an older analyser (call at start); returns how many."""
    done = 0
    while stale := await q.stale_phrasings(conn, normalize.VERSION, batch):
        for p in stale:
            analysis = normalize.analyse(p.text, p.language)
            await q.set_analysis(conn, p.id, analysis.norm, analysis.terms, normalize.VERSION)
        done += len(stale)
    while answers := await q.stale_answers(conn, normalize.VERSION, batch):
        for a in answers:
            terms = normalize.analyse(a.text, a.language).terms
            await q.set_answer_analysis(conn, a.entry_id, a.language, terms, normalize.VERSION)
        done += len(answers)
    if done:
        await _refresh(conn, None)
    return done


async def _refresh(conn: Conn, entry_ids: Sequence[int] | None) -> None:
    """Rebuild the matcher's index for the entries changed (None: all) and the term weights."""
    await q.refresh_index(
        conn, entry_ids, normalize.WEAK_FACTORS, (normalize.NEGATION, normalize.NEGATION_WEIGHT)
    )
    await q.notify_changed(conn)  # the bots drop the answers they keep (cache.AnswerCache) at commit


async def _load(conn: Conn, row: KbEntry) -> Entry:
    return Entry(row, tuple(await q.phrasings(conn, [row.id])), tuple(await q.answers(conn, [row.id])))


async def _insert_phrasing(
    conn: Conn, entry_id: int, language: str, kind: str, text: str, source: str
) -> bool:
    analysis = normalize.analyse(text, language)
    row = await q.insert_phrasing(
        conn,
        entry_id,
        language,
        kind,
        text,
        norm=analysis.norm,
        terms=analysis.terms,
        analyser=normalize.VERSION,
        source=source,
    )
    return row is not None


async def _write_contents(conn: Conn, entry_id: int, draft: EntryDraft, *, replace: bool) -> bool:
    """Write the draft's phrasings and answers; with `replace`, remove what the draft lacks.
    Returns whether anything changed."""
    changed = False
    wanted = {
        (lang, kind, text)
        for kind, table in (("question", draft.questions), ("keyword", draft.keywords))
        for lang, texts in table.items()
        for text in texts
    }
    if replace:
        have = await q.phrasings(conn, [entry_id])
        gone = [p.id for p in have if (p.language, p.kind, p.text) not in wanted]
        changed |= await q.delete_phrasings(conn, gone) > 0
        changed |= await q.delete_answers_except(conn, entry_id, list(draft.answers)) > 0
    new = []
    for kind, table in (("question", draft.questions), ("keyword", draft.keywords)):
        for lang in LANGUAGES:
            for text in table.get(lang, ()):
                analysis = normalize.analyse(text, lang)
                new.append(q.NewPhrasing(lang, kind, text, analysis.norm, analysis.terms))
    changed |= await q.insert_phrasings(conn, entry_id, new, analyser=normalize.VERSION, source="kb") > 0
    for lang, ans in draft.answers.items():
        terms = normalize.analyse(ans.text, lang).terms
        changed |= await q.put_answer(
            conn,
            entry_id,
            lang,
            ans.text,
            ans.photo_key,
            ans.buttons,
            terms=terms,
            analyser=normalize.VERSION,
        )
    return changed


# Checks -----------------------------------------------------------------------------------


def _check(draft: EntryDraft) -> None:
    if not KEY_RE.fullmatch(draft.key):
        raise KbError(
            N_("“{key}” cannot be an entry id: use up to 64 letters, digits, dots, dashes or underscores."),
            key=draft.key,
        )
    for table in (draft.questions, draft.keywords, draft.answers):
        for lang in table:
            _check_language(lang)
    if not any(draft.questions.get(lang) for lang in LANGUAGES):
        raise KbError(N_("Entry “{key}” needs at least one question."), key=draft.key)
    if not draft.answers:
        raise KbError(N_("Entry “{key}” needs an answer in at least one language."), key=draft.key)
    for lang, ans in draft.answers.items():
        if not ans.text.strip() or len(ans.text) > MAX_ANSWER:
            raise KbError(
                N_("The {language} answer of “{key}” must have 1 to {max} characters."),
                key=draft.key,
                language=lang,
                max=MAX_ANSWER,
            )
        if len(ans.buttons) > MAX_BUTTONS:
            raise KbError(N_("An answer has at most {max} buttons."), max=MAX_BUTTONS)
        for b in ans.buttons:
            if not b.text.strip() or (b.entry is None) == (b.url is None):
                raise KbError(N_("A button needs a text and either an entry id or a URL."))
            if b.url is not None and not URL_RE.fullmatch(b.url):
                raise KbError(N_("“{url}” is not a web address (https://…)."), url=b.url)
            if b.entry is not None and not KEY_RE.fullmatch(b.entry):
                raise KbError(N_("A button points to “{key}”, which is not an entry id."), key=b.entry)
    for table in (draft.questions, draft.keywords):
        for texts in table.values():
            for text in texts:
                _phrasing_text(text)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise KbError(N_("“{language}” is not one of the languages uz, ru, en."), language=language)


def _phrasing_text(text: str) -> str:
    text = " ".join(text.split())
    if not text or len(text) > MAX_PHRASING:
        raise KbError(N_("A question or keyword must have 1 to {max} characters."), max=MAX_PHRASING)
    if not normalize.canonical(text):
        raise KbError(N_("“{text}” has no letters or digits to match on."), text=text)
    return text


# Import and export ------------------------------------------------------------------------


async def import_entries(conn: Conn, drafts: Sequence[EntryDraft]) -> ImportReport:
    """Create the entries that are new and bring the others up to the file, idempotently: a
    phrasing the file lacks is kept (the desk may have added it), answers, tags and on/off are
    the file's. Everything or nothing: call in a transaction."""
    keys = [d.key for d in drafts]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise KbError(N_("The file has entry “{key}” twice."), key=dup)
    for d in drafts:
        _check(d)
    created, updated, unchanged = [], [], []
    touched: list[int] = []
    for d in drafts:
        row = await q.insert_entry(conn, d.key, d.tags, d.enabled)
        if row is not None:
            await _write_contents(conn, row.id, d, replace=False)
            created.append(d.key)
            touched.append(row.id)
            continue
        old = await q.get_entry_by_key(conn, d.key, lock=True)
        assert old is not None
        changed = await _write_contents(conn, old.id, d, replace=False)
        changed |= await q.delete_answers_except(conn, old.id, list(d.answers)) > 0
        new = await q.update_entry(conn, old.id, tags=d.tags, enabled=d.enabled)
        changed |= new is not None and (new.tags, new.enabled) != (old.tags, old.enabled)
        if changed:
            await q.touch_entry(conn, old.id)
            updated.append(d.key)
            touched.append(old.id)
        else:
            unchanged.append(d.key)
    if touched:
        await _refresh(conn, touched)
    return ImportReport(tuple(created), tuple(updated), tuple(unchanged))


def drafts_from_json(data: Any) -> list[EntryDraft]:
    """Entries from parsed JSON: a list of {"id", "question", "answer", "keywords"?, "tags"?,
    "enabled"?}. kb.json's shape (one question string and one answer string per language) is
    read as is; a question may also be a list, an answer {"text", "photo"?, "buttons"?}."""
    if not isinstance(data, list):
        raise KbError(N_("The file must hold a list of entries."))
    return [_draft_from_json(item, n) for n, item in enumerate(data, 1)]


def _draft_from_json(item: Any, n: int) -> EntryDraft:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise KbError(N_("Entry {n} of the file has no “id”."), n=n)
    key = item["id"]
    questions = _texts_by_language(item.get("question"), key, "question")
    keywords = _texts_by_language(item.get("keywords") or {}, key, "keywords")
    answers_in = item.get("answer")
    if not isinstance(answers_in, dict):
        raise KbError(N_("Entry “{key}” has no “answer” by language."), key=key)
    answers = {lang: _answer_from_json(value, key) for lang, value in answers_in.items()}
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise KbError(N_("The tags of “{key}” must be a list of words."), key=key)
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise KbError(N_("“enabled” of “{key}” must be true or false."), key=key)
    return EntryDraft(key, questions, answers, keywords, _tags(tags), enabled)


def _texts_by_language(value: Any, key: str, name: str) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise KbError(N_("Entry “{key}” has no “{name}” by language."), key=key, name=name)
    out: dict[str, list[str]] = {}
    for lang, texts in value.items():
        items = [texts] if isinstance(texts, str) else texts
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            raise KbError(N_("Entry “{key}”: “{name}” must be texts by language."), key=key, name=name)
        out[lang] = list(dict.fromkeys(_phrasing_text(t) for t in items))
    return out


def _answer_from_json(value: Any, key: str) -> AnswerDraft:
    if isinstance(value, str):
        return AnswerDraft(value.strip())
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise KbError(N_("An answer of “{key}” must be a text, or an object with a “text”."), key=key)
    buttons = []
    for b in value.get("buttons") or []:
        if not isinstance(b, dict) or not isinstance(b.get("text"), str):
            raise KbError(N_("A button needs a text and either an entry id or a URL."))
        buttons.append(KbButton(b["text"], b.get("entry"), b.get("url")))
    photo = value.get("photo")
    if photo is not None and not isinstance(photo, str):
        raise KbError(N_("The photo of an answer of “{key}” must be a storage key."), key=key)
    return AnswerDraft(value["text"].strip(), photo or None, tuple(buttons))


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({t.strip().lower() for t in tags if t.strip()}))


def entries_to_json(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """The export: what drafts_from_json reads back (questions as lists, answers as objects
    only when they have a photo or buttons)."""
    out = []
    for e in entries:
        item: dict[str, Any] = {"id": e.entry.key}
        item["question"] = {lang: e.questions(lang) for lang in LANGUAGES if e.questions(lang)}
        item["answer"] = {a.language: _answer_to_json(a) for a in e.answers}
        item["keywords"] = {lang: e.keywords(lang) for lang in LANGUAGES if e.keywords(lang)}
        item["tags"] = list(e.entry.tags)
        item["enabled"] = e.entry.enabled
        out.append(item)
    return out


def _answer_to_json(a: KbAnswer) -> str | dict[str, Any]:
    if a.photo_key is None and not a.buttons:
        return a.text
    buttons = [
        {k: v for k, v in (("text", b.text), ("entry", b.entry), ("url", b.url)) if v} for b in a.buttons
    ]
    return {"text": a.text, "photo": a.photo_key, "buttons": buttons}


async def export_json(conn: Conn) -> list[dict[str, Any]]:
    return entries_to_json(await list_entries(conn))


async def import_json(conn: Conn, data: Any) -> ImportReport:
    return await import_entries(conn, drafts_from_json(data))


# CSV: one row per entry and language; several questions or keywords are lines of one cell,
# buttons are lines "text | kb05" or "text | https://…"; tags and enabled on the entry's rows.


async def export_rows(conn: Conn) -> list[tuple[str, ...]]:
    """The knowledge base as CSV rows under CSV_COLUMNS: a row per entry and language (what
    `drafts_from_csv` reads back)."""
    rows: list[tuple[str, ...]] = []
    for e in await list_entries(conn):
        by_lang = {a.language: a for a in e.answers}
        for lang in LANGUAGES:
            a = by_lang.get(lang)
            if a is None and not e.questions(lang) and not e.keywords(lang):
                continue
            buttons = "\n".join(f"{b.text} | {b.entry or b.url}" for b in (a.buttons if a else ()))
            rows.append(
                (
                    e.entry.key,
                    lang,
                    "\n".join(e.questions(lang)),
                    "\n".join(e.keywords(lang)),
                    a.text if a else "",
                    (a.photo_key or "") if a else "",
                    buttons,
                    ", ".join(e.entry.tags),
                    "yes" if e.entry.enabled else "no",
                )
            )
    return rows


async def export_csv(conn: Conn) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(await export_rows(conn))
    return out.getvalue()


def drafts_from_csv(text: str) -> list[EntryDraft]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("id", "language", "questions", "answer") if c not in (reader.fieldnames or [])]
    if missing:
        raise KbError(N_("The CSV file lacks the column “{column}”."), column=missing[0])
    rows: dict[str, list[dict[str, str]]] = {}
    for row in reader:
        key = (row.get("id") or "").strip()
        if key:
            rows.setdefault(key, []).append(row)
    return [_draft_from_csv(key, group) for key, group in rows.items()]


def _draft_from_csv(key: str, rows: list[dict[str, str]]) -> EntryDraft:
    questions: dict[str, list[str]] = {}
    keywords: dict[str, list[str]] = {}
    answers: dict[str, AnswerDraft] = {}
    tags: list[str] = []
    enabled = True
    for row in rows:
        lang = (row.get("language") or "").strip()
        _check_language(lang)
        questions[lang] = _lines(row.get("questions"))
        keywords[lang] = _lines(row.get("keywords"))
        text = (row.get("answer") or "").strip()
        if text:
            buttons = tuple(_button_from_csv(line) for line in _lines(row.get("buttons")))
            answers[lang] = AnswerDraft(text, (row.get("photo") or "").strip() or None, buttons)
        tags += [t for t in (row.get("tags") or "").split(",") if t.strip()]
        flag = (row.get("enabled") or "yes").strip().lower()
        if flag not in ("yes", "no", "true", "false", "1", "0", "on", "off", ""):
            raise KbError(N_("“enabled” of “{key}” must be yes or no."), key=key)
        enabled = enabled and flag not in ("no", "false", "0", "off")
    return EntryDraft(key, questions, answers, keywords, _tags(tags), enabled)


def _lines(cell: str | None) -> list[str]:
    return list(dict.fromkeys(" ".join(line.split()) for line in (cell or "").splitlines() if line.strip()))


def _button_from_csv(line: str) -> KbButton:
    text, sep, target = line.rpartition("|")
    if not sep:
        raise KbError(N_("A button needs a text and either an entry id or a URL."))
    target = target.strip()
    return KbButton(
        text.strip(),
        None if URL_RE.fullmatch(target) else target,
        target if URL_RE.fullmatch(target) else None,
    )


async def import_csv(conn: Conn, text: str) -> ImportReport:
    return await import_entries(conn, drafts_from_csv(text))


async def is_enabled(conn: Conn, entry_id: int) -> bool:
    """Whether the entry exists and is switched on (a stale button may name one that is not)."""
    row = await q.get_entry(conn, entry_id)
    return row is not None and row.enabled


SAMPLE = Path(__file__).with_name("sample_kb.json")  # bench/data/support/kb.json, for the demo


async def load_sample(conn: Conn) -> ImportReport | None:
    """The demo's knowledge base (40 entries in three languages) when there is none yet."""
    if await q.count_entries(conn):
        return None
    return await import_json(conn, json.loads(SAMPLE.read_text(encoding="utf-8")))


async def list_enabled(conn: Conn) -> list[KbEntry]:
    """The entries an operator may answer with (ids and tags only: the ticket page lists them)."""
    return [e for e in await q.list_entries(conn) if e.enabled]
