"""Message text formatting like Telegram's: HTML / MarkdownV2 / Markdown parsing and auto-entities."""

from __future__ import annotations

import html
import re
from typing import Any

Entity = dict[str, Any]


class ParseError(ValueError):
    """Text that Telegram would refuse with "Bad Request: can't parse entities: ..."."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every entity offset and length."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def parse(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Plain text and entities for `text` under `parse_mode` (None/"" means plain)."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown(text, v2=True)
    if mode == "markdown":
        return parse_markdown(text, v2=False)
    raise ParseError(f"Unsupported parse_mode {parse_mode!r}")


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace as Telegram does, shifting and clipping entities to fit."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    end = utf16_len(stripped)
    out: list[Entity] = []
    for e in entities:
        start = max(e["offset"] - shift, 0)
        stop = min(e["offset"] + e["length"] - shift, end)
        if stop > start:
            out.append({**e, "offset": start, "length": stop - start})
    return stripped, out


def _sorted(entities: list[Entity]) -> list[Entity]:
    entities = [e for e in entities if e["length"] > 0]
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities


# ---------------------------------------------------------------- auto-detected entities

# Top-level domains a bare "name.tld/path" needs to count as a link (Telegram checks a
# full list; these cover what the sandbox's users and bots write).
_TLDS = (
    "com|org|net|me|uz|ru|io|dev|app|info|biz|edu|gov|co|uk|de|fr|tv|us|kz|kg|tj|tm|ua|by|"
    "eu|ai|xyz|online|shop|store|site|tech|pro|cc|in|tr|cn|jp|kr|am|ge|az|su|рф"
)
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
_PATH = r"(?:[/?#][^\s<>\"]*[^\s<>\".,;:!?)\]'])?"
_AUTO_RE = re.compile(
    r"(?P<bot_command>(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<email>(?<![\w@.])[A-Za-z0-9._%+-]+@" + _HOST + r"[A-Za-z]{2,}\b)"
    r"|(?P<url>(?<![\w@/.])(?:(?:https?|tg)://[^\s<>\"]+[^\s<>\".,;:!?)\]']"
    r"|" + _HOST + r"(?:" + _TLDS + r")(?::\d{1,5})?\b" + _PATH + r"))"
    r"|(?P<mention>(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b)"
    r"|(?P<hashtag>(?<![\w#])#\w*[^\W\d_]\w*)"
)
_AUTO_TRIGGERS = ("/", "@", "#", ".")
# Entities an auto-detected one may not overlap (formatting like bold may surround it).
_EXCLUSIVE = frozenset(
    {"url", "text_link", "mention", "text_mention", "hashtag", "cashtag", "bot_command", "email",
     "phone_number", "code", "pre", "custom_emoji"}
)  # fmt: skip


def auto_entities(text: str) -> list[Entity]:
    """bot_command, email, url, mention and hashtag entities Telegram detects in plain text."""
    if not any(t in text for t in _AUTO_TRIGGERS):
        return []
    ascii_text = text.isascii()
    out: list[Entity] = []
    for m in _AUTO_RE.finditer(text):
        start, stop = m.span()
        if not ascii_text:
            start, stop = utf16_len(text[:start]), utf16_len(text[:stop])
        out.append({"type": m.lastgroup, "offset": start, "length": stop - start})
    return out


def with_auto_entities(text: str, entities: list[Entity]) -> list[Entity]:
    """`entities` plus the auto-detected ones that overlap no link, mention, command or code,
    as Telegram adds them to every message a bot sends (parse_mode or not)."""
    found = auto_entities(text)
    if not found:
        return entities
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _EXCLUSIVE]
    extra = [
        e
        for e in found
        if not any(e["offset"] < stop and start < e["offset"] + e["length"] for start, stop in taken)
    ]
    return sorted([*entities, *extra], key=lambda e: (e["offset"], -e["length"])) if extra else entities


# ---------------------------------------------------------------- HTML

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*?)?)\s*/?>")
_ATTR_RE = re.compile(r"""([A-Za-z-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def parse_html(src: str) -> tuple[str, list[Entity]]:
    """Telegram's HTML subset: plain text and entities, or ParseError."""
    parts: list[str] = []
    pos16 = 0
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[Entity] = []
    i = 0
    while True:
        lt = src.find("<", i)
        chunk = html.unescape(src[i : len(src) if lt < 0 else lt])
        if chunk:
            parts.append(chunk)
            pos16 += utf16_len(chunk)
        if lt < 0:
            break
        m = _TAG_RE.match(src, lt)
        if m is None:
            raise ParseError(f"Unexpected end of name token at byte offset {_byte_offset(src, lt)}")
        closing, name, attrs_src = m.group(1) == "/", m.group(2).lower(), m.group(3)
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise ParseError(f'Unsupported {kind} tag "{name}" at byte offset {_byte_offset(src, lt)}')
        if closing:
            if not stack or stack[-1][0] != name:
                expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
                raise ParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, lt)}, "
                    f'expected {expected}, found "</{name}>"'
                )
            tag, start, attrs = stack.pop()
            entity = _html_entity(tag, attrs, start, pos16)
            if entity is not None:
                _merge_pre_code(entities, entity)
        else:
            attrs = {
                a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or ""
                for a in _ATTR_RE.finditer(attrs_src)
            }
            stack.append((name, pos16, attrs))
        i = m.end()
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for e in entities:
        if e["type"] == "code":
            e.pop("language", None)  # only a <pre> carries a language
    return "".join(parts), _sorted(entities)


def _html_entity(tag: str, attrs: dict[str, str], start: int, stop: int) -> Entity | None:
    kind = _HTML_TAGS[tag]
    entity: Entity = {"type": kind, "offset": start, "length": stop - start}
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        return None  # a plain span carries no formatting
    if kind == "text_link":
        if not attrs.get("href"):
            return None
        entity["url"] = attrs["href"]
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"][9:]  # moved onto the enclosing <pre>
    return entity


def _merge_pre_code(entities: list[Entity], entity: Entity) -> None:
    """<pre><code class="language-x"> is one pre entity with a language, as in Telegram."""
    if entity["type"] == "pre" and entities:
        inner = entities[-1]
        if inner["type"] == "code" and (inner["offset"], inner["length"]) == (
            entity["offset"],
            entity["length"],
        ):
            entities.pop()
            if "language" in inner:
                entity["language"] = inner["language"]
    entities.append(entity)


# ---------------------------------------------------------------- Markdown / MarkdownV2

_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD_NAMES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


def parse_markdown(src: str, *, v2: bool) -> tuple[str, list[Entity]]:
    """Telegram's MarkdownV2 (or legacy Markdown with v2=False): text and entities."""
    parts: list[str] = []
    pos16 = 0
    stack: list[tuple[str, int, int]] = []  # (marker, utf16 start, source index)
    entities: list[Entity] = []
    quote_start: int | None = None
    i, n = 0, len(src)

    def emit(s: str) -> None:
        nonlocal pos16
        parts.append(s)
        pos16 += utf16_len(s)

    while i < n:
        c = src[i]
        at_line_start = i == 0 or src[i - 1] == "\n"
        if v2 and at_line_start and quote_start is not None and c != ">":
            entities.append({"type": "blockquote", "offset": quote_start, "length": pos16 - quote_start - 1})
            quote_start = None
        if c == "\\" and i + 1 < n and (v2 or src[i + 1] in "_*`[") and 0 < ord(src[i + 1]) < 127:
            emit(src[i + 1])
            i += 2
        elif c == "`":
            i = _md_code(src, i, v2, entities, emit, lambda: pos16)
        elif v2 and c == ">" and at_line_start:
            if quote_start is None:
                quote_start = pos16
            i += 1
        elif c == "[":
            stack.append(("[", pos16, i))
            i += 1
        elif c == "]" and stack and stack[-1][0] == "[":
            _, start, _src = stack.pop()
            url, i = _md_link_url(src, i + 1, v2)
            if url:
                entities.append({"type": "text_link", "offset": start, "length": pos16 - start, "url": url})
        elif (marker := _md_marker(src, i, v2)) is not None:
            if stack and stack[-1][0] == marker:
                _, start, _src = stack.pop()
                entities.append({"type": _MD_NAMES[marker], "offset": start, "length": pos16 - start})
            else:
                stack.append((marker, pos16, i))
            i += len(marker)
        elif v2 and c in _V2_RESERVED:
            raise ParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        else:
            emit(c)
            i += 1
    if quote_start is not None:
        entities.append({"type": "blockquote", "offset": quote_start, "length": pos16 - quote_start})
    if stack:
        marker, _, at = stack[-1]
        raise ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(src, at)}")
    return "".join(parts), _sorted(entities)


def _md_marker(src: str, i: int, v2: bool) -> str | None:
    c = src[i]
    if v2:
        if c in "_|" and src.startswith(c * 2, i):
            return c * 2
        if c in "*_~":
            return c
        return None
    return c if c in "*_" else None


def _md_code(src: str, i: int, v2: bool, entities: list[Entity], emit: Any, pos: Any) -> int:
    """Consume `code` or ```pre``` starting at i; return the index after it."""
    fence = "```" if src.startswith("```", i) else "`"
    j = i + len(fence)
    language = ""
    if fence == "```":
        eol = src.find("\n", j)
        close = src.find("```", j)
        if 0 <= eol < close and src[j:eol].strip() and " " not in src[j:eol].strip():
            language, j = src[j:eol].strip(), eol + 1
    body: list[str] = []
    while j < len(src):
        if src.startswith(fence, j):
            start = pos()
            emit("".join(body))
            entity: Entity = {
                "type": "pre" if fence == "```" else "code",
                "offset": start,
                "length": pos() - start,
            }
            if language:
                entity["language"] = language
            entities.append(entity)
            return j + len(fence)
        if v2 and src[j] == "\\" and j + 1 < len(src) and src[j + 1] in "`\\":
            body.append(src[j + 1])
            j += 2
            continue
        body.append(src[j])
        j += 1
    raise ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}")


def _md_link_url(src: str, i: int, v2: bool) -> tuple[str, int]:
    """The (url) after a [text]; ("", i) when there is none (the brackets stay plain text)."""
    if i >= len(src) or src[i] != "(":
        if v2:
            raise ParseError("Character ']' is reserved and must be escaped with the preceding '\\'")
        return "", i
    close = src.find(")", i)
    while v2 and close > 0 and src[close - 1] == "\\":
        close = src.find(")", close + 1)
    if close < 0:
        raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(src, i)}")
    url = src[i + 1 : close]
    if v2:
        url = re.sub(r"\\(.)", r"\1", url)
    return url, close + 1
