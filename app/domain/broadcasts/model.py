"""What a broadcast says: the safe text subset (bold, italic, links) and its URL buttons."""

from __future__ import annotations

import html
import re

from app.db.queries.broadcasts import BroadcastStatus
from app.i18n import N_, Gettext, UserError

LANGUAGES = ("uz", "ru", "en")  # a variant each; "default" for everyone else
MAX_TEXT = 4096  # Telegram's limit for a message
MAX_CAPTION = 1024  # … and for a photo's caption
MAX_BUTTONS = 5

# After escaping everything, only these come back as tags: <b>, <i>, <a href="http(s)://…">.
_SIMPLE = re.compile(r"&lt;(/?)(b|i)&gt;")
_LINK = re.compile(r"&lt;a href=&quot;(https?://[^\s<>]*?)&quot;&gt;")
_LINK_END = re.compile(r"&lt;/a&gt;")
_TAG = re.compile(r"<(/?)(b|i|a)\b[^>]*>")
BAD_BUTTON = N_('A button is one line: a label, "|" and an http(s) link.')
_URL = re.compile(r"^https?://[^\s<>\"]+\.[^\s<>\"]+$")


# One label table for every reader: the panel's list and page, and the live progress.
STATUS_LABELS: dict[BroadcastStatus, str] = {
    BroadcastStatus.DRAFT: N_("Draft"),
    BroadcastStatus.RUNNING: N_("Sending"),
    BroadcastStatus.PAUSED: N_("Paused"),
    BroadcastStatus.DONE: N_("Finished"),
    BroadcastStatus.CANCELLED: N_("Cancelled"),
}
FINISHED = (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)  # their page is the final report


def status_label(status: BroadcastStatus, _: Gettext) -> str:
    return _(STATUS_LABELS[status])


class BroadcastError(UserError):
    """A broadcast refused as asked; nothing was changed or sent."""


def render_text(text: str, *, caption: bool = False) -> str:
    """The text as Telegram HTML: everything escaped except <b>, <i> and <a href="http(s)…">,
    which must nest properly. Raises BroadcastError on an empty, too long or unbalanced text
    (a photo's caption: at most MAX_CAPTION characters as shown)."""
    text = text.strip().replace("\r\n", "\n")
    if not text:
        raise BroadcastError(N_("Write the message text."))
    out = html.escape(text, quote=True)
    out = _SIMPLE.sub(r"<\1\2>", out)
    out = _LINK.sub(lambda m: f'<a href="{m.group(1)}">', out)
    out = _LINK_END.sub("</a>", out)
    stack: list[str] = []
    for match in _TAG.finditer(out):
        closing, name = match.group(1), match.group(2)
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            raise BroadcastError(N_('Tags must be closed in order: <b>…</b>, <i>…</i>, <a href="…">…</a>.'))
    if stack:
        raise BroadcastError(N_('Tags must be closed in order: <b>…</b>, <i>…</i>, <a href="…">…</a>.'))
    shown = len(html.unescape(re.sub(r"<[^>]+>", "", out)))
    if caption and shown > MAX_CAPTION:
        raise BroadcastError(
            N_("With a photo the text is its caption: at most {limit} characters."), limit=MAX_CAPTION
        )
    if shown > MAX_TEXT:
        raise BroadcastError(N_("A message is at most {limit} characters."), limit=MAX_TEXT)
    return out


def parse_buttons(lines: str) -> list[dict[str, str]]:
    """URL buttons, one a line as "Label | https://…"; at most MAX_BUTTONS."""
    buttons = []
    for line in lines.splitlines():
        if not line.strip():
            continue
        label, sep, url = line.partition("|")
        if not sep:
            raise BroadcastError(BAD_BUTTON)
        buttons.append({"text": label.strip(), "url": url.strip()})
    return check_buttons(buttons)


def check_buttons(buttons: list[dict[str, str]]) -> list[dict[str, str]]:
    """URL buttons Telegram takes (a label, an http(s) link to a dotted host); at most
    MAX_BUTTONS. A link Telegram refuses would fail the message for every recipient."""
    for button in buttons:
        label, url = button.get("text", ""), button.get("url", "")
        if set(button) != {"text", "url"} or not label or len(label) > 64:
            raise BroadcastError(BAD_BUTTON)
        if not _URL.match(url) or len(url) > 512:
            raise BroadcastError(BAD_BUTTON)
    if len(buttons) > MAX_BUTTONS:
        raise BroadcastError(N_("At most {count} buttons."), count=MAX_BUTTONS)
    return buttons
