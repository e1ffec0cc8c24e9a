-- The support knowledge base (S2): entries with per-language phrasings and answers, and the
-- matcher's index over them.
--
-- How matching works (app/domain/support/): every phrasing and every user question goes through
-- one analyser in Python (normalize.analyse) that turns Uzbek Latin and Cyrillic, Russian and
-- Russian typed in Latin letters into one Latin form and then into terms: concept ids from a
-- domain lexicon (PHOTO for rasm/фото/pictures), a light stemmer's stems, and NEG for a negated
-- phrase. PostgreSQL's own text search is not used for these terms: its Russian snowball stemmer
-- only reads Cyrillic (half the Russian we get is typed in Latin letters), there is no Uzbek
-- dictionary, and ts_rank has no notion of how rare a word is. So the terms are indexed here as
-- postings, weighted by inverse document frequency (support_kb_vocab), and pg_trgm finds
-- misspelled words among the known ones.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE support_kb_entries (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        text NOT NULL UNIQUE CHECK (key ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    tags       text[] NOT NULL DEFAULT '{}',
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The answer in each language: text, an optional photo (a storage key) and buttons, each
-- {"text": ..., "entry": "kb05"} (another entry) or {"text": ..., "url": "https://..."}.
-- `terms`: the answer text analysed like a phrasing; the matcher takes them as weak evidence
-- that the entry is about a word (an answer explains more than its questions say).
CREATE TABLE support_kb_answers (
    entry_id  bigint NOT NULL REFERENCES support_kb_entries ON DELETE CASCADE,
    language  text NOT NULL CHECK (language IN ('uz', 'ru', 'en')),
    text      text NOT NULL CHECK (length(text) BETWEEN 1 AND 4096),
    photo_key text CHECK (length(photo_key) BETWEEN 1 AND 300),
    buttons   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(buttons) = 'array'),
    terms     text[] NOT NULL,
    analyser  integer NOT NULL,
    PRIMARY KEY (entry_id, language)
);

-- Question phrasings (the first of a language is the one shown in "Did you mean…?") and
-- keywords. `norm` and `terms` are the analyser's output, `analyser` its version: rows of an
-- older version are re-analysed at start (kb.reindex_stale).
CREATE TABLE support_kb_phrasings (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id   bigint NOT NULL REFERENCES support_kb_entries ON DELETE CASCADE,
    language   text NOT NULL CHECK (language IN ('uz', 'ru', 'en')),
    kind       text NOT NULL CHECK (kind IN ('question', 'keyword')),
    text       text NOT NULL CHECK (length(text) BETWEEN 1 AND 500),
    norm       text NOT NULL,
    terms      text[] NOT NULL,
    analyser   integer NOT NULL,
    source     text NOT NULL DEFAULT 'kb' CHECK (source IN ('kb', 'desk')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (entry_id, language, kind, text)
);

-- Which phrasing carries which term; kept by the trigger below, so no writer can forget it.
CREATE TABLE support_kb_postings (
    term        text NOT NULL,
    entry_id    bigint NOT NULL,
    phrasing_id bigint NOT NULL REFERENCES support_kb_phrasings ON DELETE CASCADE,
    PRIMARY KEY (term, entry_id, phrasing_id)
);
CREATE INDEX support_kb_postings_phrasing_idx ON support_kb_postings (phrasing_id);
CREATE INDEX support_kb_postings_entry_idx ON support_kb_postings (entry_id, phrasing_id, term);

CREATE FUNCTION support_kb_post_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM support_kb_postings WHERE phrasing_id = NEW.id;
    INSERT INTO support_kb_postings (term, phrasing_id, entry_id)
    SELECT DISTINCT t, NEW.id, NEW.entry_id FROM unnest(NEW.terms) t;
    RETURN NULL;
END $$;

CREATE TRIGGER support_kb_phrasings_post AFTER INSERT OR UPDATE OF terms ON support_kb_phrasings
    FOR EACH ROW EXECUTE FUNCTION support_kb_post_terms();

CREATE TABLE support_kb_answer_postings (
    term     text NOT NULL,
    entry_id bigint NOT NULL,
    language text NOT NULL,
    PRIMARY KEY (term, entry_id, language),
    FOREIGN KEY (entry_id, language) REFERENCES support_kb_answers ON DELETE CASCADE
);
CREATE INDEX support_kb_answer_postings_entry_idx ON support_kb_answer_postings (entry_id, language);

CREATE FUNCTION support_kb_post_answer_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM support_kb_answer_postings WHERE entry_id = NEW.entry_id AND language = NEW.language;
    INSERT INTO support_kb_answer_postings (term, entry_id, language)
    SELECT DISTINCT t, NEW.entry_id, NEW.language FROM unnest(NEW.terms) t;
    RETURN NULL;
END $$;

CREATE TRIGGER support_kb_answers_post AFTER INSERT OR UPDATE OF terms ON support_kb_answers
    FOR EACH ROW EXECUTE FUNCTION support_kb_post_answer_terms();

-- The matcher's entry-level index, rebuilt for the entries a change touches: which terms each
-- enabled entry uses, in its phrasings or only in its answers. A disabled entry has no rows here,
-- so it is never a candidate.
CREATE TABLE support_kb_entry_terms (
    term     text NOT NULL,
    entry_id bigint NOT NULL REFERENCES support_kb_entries ON DELETE CASCADE,
    phrased  boolean NOT NULL,
    PRIMARY KEY (term, entry_id)
);
CREATE INDEX support_kb_entry_terms_entry_idx ON support_kb_entry_terms (entry_id);

-- In how many enabled entries each term occurs, counted over phrasings (a word only answers use
-- is counted over answers); its weight is ln((N+1)/(df+0.5)). Recounted after every change. The
-- trigram index finds "obyavleniya" when the knowledge base says "obyavlenie".
CREATE TABLE support_kb_vocab (
    term    text PRIMARY KEY,
    df      integer NOT NULL CHECK (df > 0),
    idf     double precision NOT NULL,
    phrased boolean NOT NULL  -- false: only answers use it
);
CREATE INDEX support_kb_vocab_trgm_idx ON support_kb_vocab USING gin (term gin_trgm_ops);
