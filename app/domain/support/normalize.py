"""What people really type, reduced to the terms the matcher compares: one Latin form for every script."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.domain.support import lexicon

# Bump when the rules below or the lexicon change: stored phrasings of an older version are
# re-analysed by kb.reindex_stale (the terms of the KB and of a question must come from one analyser).
VERSION = 1

NEGATION = "NEG"  # the pseudo-term a negated phrase carries (see negated())
# Many entries are about something not happening, so NEG is common and its IDF small; but the
# polarity is what tells "reposted" from "not reposted", so it weighs at least this much.
NEGATION_WEIGHT = 1.5
# Concepts that name no topic of their own (a place, an item, "how many", "today") weigh this
# fraction of their IDF, and cannot alone make an entry confident (is_topic).
WEAK_FACTOR = 0.4
# A lexicon topic no entry's phrasings use (instalments, a receipt) weighs this many unknown
# words: the question is about something the knowledge base does not cover.
UNCOVERED_TOPIC_FACTOR = 1.6

# Every apostrophe people use for the Uzbek tutuq and o'/g' (and the Russian soft sign in
# transliteration): dropped, so o'zgartirish, o`zgartirish, oʻzgartirish and ozgartirish are one word.
APOSTROPHES = "'`ʻʼ’‘´′ʹ‛ʽ\u02bf\u02be"

# One transliteration for Russian and Uzbek Cyrillic. ё after a consonant is the Russian "e"
# (звёзды ~ zvezdy); elsewhere it is the Uzbek yo (ёзиш ~ yozish).
CYRILLIC = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c",
        "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya", "ў": "o", "қ": "q", "ғ": "g", "ҳ": "h", "і": "i", "ї": "yi", "є": "ye",
        "ґ": "g", "ә": "a", "ө": "o", "ү": "u", "ұ": "u", "ң": "ng", "һ": "h",
        # Turkish-keyboard Uzbek (ş ç ğ ı) and its undotted i
        "ş": "sh", "ç": "ch", "ğ": "g", "ı": "i",
    }
)  # fmt: skip
SOFT_YO = re.compile(r"(?<=[бвгджзклмнпрстфхцчшщ])ё")

# Latin spellings that stand for one sound, so the Russian and Uzbek ways of typing it meet:
# щ shch/sch, ж zh/j, х kh/x/h, қ q/k, and English ph, ck, w. (ц stays c: Latin "ts" is
# too often t+s in Uzbek, sot-sa-m, to be read as one sound.)
LATIN_RULES: Sequence[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r)
    for p, r in (
        (r"shch|sch", "sh"),
        (r"zh", "j"),
        (r"kh|x", "h"),
        (r"q", "k"),
        (r"w", "v"),
        (r"ph", "f"),
        (r"ck", "k"),
        (r"ye", "e"),  # Russian/Uzbek word-initial е is written e or ye
        (r"y", "i"),  # й ы and the y of ya yu yo: Russians type i, y and j for them
        (r"([a-ce-z])\1+", r"\1"),  # doubled and stretched letters: "spasiboooo", "kassa" (not "add")
    )
]
NOT_WORD = re.compile(r"[^a-z0-9]+")


def canonical(text: str) -> str:
    """The one Latin form: lower case, Cyrillic transliterated, apostrophes and punctuation gone."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = s.translate(_DROP_APOSTROPHES)
    s = SOFT_YO.sub("е", s).translate(CYRILLIC)
    s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    s = NOT_WORD.sub(" ", s)
    for pattern, replacement in LATIN_RULES:
        s = pattern.sub(replacement, s)
    return " ".join(s.split())


_DROP_APOSTROPHES = str.maketrans("", "", APOSTROPHES)


def words(text: str) -> list[str]:
    return canonical(text).split()


def stem(word: str) -> str:
    """A light stemmer over the Latin form for all three languages: Uzbek is agglutinative
    and Russian inflected, so strip the longest known ending (up to three times, keeping four
    letters) and cut to six letters; typos are left to trigram similarity in the database."""
    for _ in range(3):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        else:
            break
    return word[:6]


def negated(word: str, language: str | None = None) -> bool:
    if word in _NEGATORS or (word == "no" and language == "en"):  # Russian "но" is "but"
        return True
    return _negative_verb(word) is not None


@dataclass(frozen=True, slots=True)
class Analysis:
    """A text as the matcher sees it."""

    norm: str  # the canonical form (stored beside each phrasing, for reading and debugging)
    terms: tuple[str, ...]  # distinct, in order: concept ids (upper case), stems, and NEG


def analyse(text: str, language: str | None = None) -> Analysis:
    """The terms of a phrasing or a question: lexicon phrases become their concepts, other words
    their stems (greetings, particles and other fillers dropped), and NEG if it is negated.
    `language` (uz, ru, en) only settles words two languages spell alike."""
    tokens = words(text)
    terms: list[str] = []
    negative = False
    i = 0
    while i < len(tokens):
        found = lexicon_match(tokens, i, language)
        if found is not None:
            length, concepts = found
            # A phrase with a negating word says its own polarity ("not allowed", "mumkin emas");
            # a negated verb in it still negates ("javob bermasam": if I do not answer).
            negative |= (
                negated(tokens[i], language)
                if length == 1
                else any(_negative_verb(t) is not None for t in tokens[i : i + length])
            )
            terms.extend(concepts)
            i += length
            continue
        word = tokens[i]
        i += 1
        if negated(word, language):
            negative = True
            root = _negative_verb(word)
            if root is None or len(root) < 3 or root in _STOP_ROOTS:
                continue  # "ne", "not", "kilmaiapti" (did not do) carry no topic of their own
            word = root
        if word in _STOPWORDS or word.isdigit() or _ORDINAL.fullmatch(word) or len(word) < 2:
            continue
        terms.append(stem(word))
    if negative:
        terms.append(NEGATION)
    return Analysis(" ".join(tokens), tuple(dict.fromkeys(t for t in terms if t)))


def _negative_verb(word: str) -> str | None:
    """The root of an Uzbek verb negated with -ma-/-me- (chikmaiapti -> chik), else None."""
    match = _UZ_NEGATIVE_VERB.match(word)
    if match is None or word.startswith(_NOT_NEGATIVE_ROOTS):
        return None
    return match.group(1)


def weight_factor(term: str) -> float:
    """How much a question term no entry explains weighs, relative to an unknown word: a weak
    concept little, a topic of the lexicon more (a question about "instalments" or "my name"
    names something the knowledge base does not cover), NEG nothing extra."""
    if term in WEAK:
        return WEAK_FACTOR
    return UNCOVERED_TOPIC_FACTOR if term.isupper() and is_topic(term) else 1.0


def is_topic(term: str) -> bool:
    """A term that names what a question is about: a word or a concept, not a weak concept
    (a place, "how many") and not NEG."""
    return term not in WEAK and term != NEGATION


Phrase = tuple[tuple[tuple[str, bool], ...], tuple[str, ...], str | None]  # words, concepts, language


def lexicon_match(
    tokens: Sequence[str], i: int, language: str | None = None
) -> tuple[int, tuple[str, ...]] | None:
    """The longest lexicon phrase starting at tokens[i]: (tokens used, concepts); None if none."""
    best: tuple[int, int, tuple[str, ...]] | None = None  # (tokens, letters matched, concepts)
    for pattern, concepts, only in _PHRASES.get(tokens[i][:2], ()):
        if len(pattern) > len(tokens) - i or (only is not None and only != language):
            continue
        letters = 0
        for part, token in zip(pattern, tokens[i:], strict=False):
            word, prefix = part
            if not (token.startswith(word) if prefix else token == word):
                break
            letters += len(word)
        else:
            key = (len(pattern), letters)
            if best is None or key > best[:2]:
                best = (len(pattern), letters, concepts)
    return None if best is None else (best[0], best[2])


def _compile_phrases(table: Iterable[tuple[tuple[str, ...], Sequence[str]]]) -> dict[str, list[Phrase]]:
    """Index the lexicon by the first two letters of its first word, in canonical form."""
    index: dict[str, list[Phrase]] = {}
    for concepts, patterns in table:
        for pattern in patterns:
            only, _, text = pattern.rpartition(":") if _LANGUAGE_TAG.match(pattern) else ("", "", pattern)
            parts = tuple((canonical(w.rstrip("*")), w.endswith("*")) for w in text.split())
            if not parts or not all(p[0] for p in parts):
                continue
            index.setdefault(parts[0][0][:2], []).append((parts, concepts, only or None))
    return index


_LANGUAGE_TAG = re.compile(r"^(uz|ru|en):")
_PHRASES = _compile_phrases(lexicon.concepts())
WEAK = frozenset(lexicon.WEAK_CONCEPTS.split())
WEAK_FACTORS = {concept: WEAK_FACTOR for concept in sorted(WEAK)}
_STOPWORDS = frozenset(canonical(w) for w in lexicon.STOPWORDS.split())
_NEGATORS = frozenset(canonical(w) for w in lexicon.NEGATORS.split())
_SUFFIXES = sorted({canonical(s) for s in lexicon.SUFFIXES.split()}, key=len, reverse=True)
# Uzbek negates a verb with -ma-/-me- before its ending: chiqmadi, kelmayapti, qilolmayman.
_UZ_NEGATIVE_VERB = re.compile(
    r"^([a-z]{2,}?)m[ae](di|dim|ding|dik|dingiz|dimi|gan|ganman|ganmi|gansiz|idi|idimi|iapti|iaptimi"
    r"|iapman|iapmiz|iapsiz|iman|imanmi|isiz|imiz|s|slik|sa|sam|sak|sangiz|sin|ng|ngiz|i|ib|iotgan"
    r"|ksiz|idilar|shdi|shadi|ibdi|ibman|gunch[a-z]*)$"
)
_NOT_NEGATIVE_ROOTS = tuple(canonical(w) for w in lexicon.NOT_NEGATIVE.split())
# Uzbek auxiliary verbs: qil (do), ol (can/take), bo'l (be), et (do), ket/qol (aspect), ber (give).
_STOP_ROOTS = frozenset(
    {"kil", "ol", "bol", "et", "ket", "kol", "ber", "tur", "iubor", "kel", "kilol", "olol", "hohla", "bilol"}
)
_ORDINAL = re.compile(r"\d+(st|nd|rd|th|ta|chi|i|go|ii|oi|ei)?")
