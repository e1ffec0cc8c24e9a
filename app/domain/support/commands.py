"""The bot's commands and texts edited in the panel (S1): the greeting (/start), the help text
(/help) and any number of admin-defined commands, each with a text per language.

Every process keeps them all in one CommandBook, loaded at start; a save updates the saving
process's book in place and notifies the others (app/web/live.py reloads theirs), so the bot
answers a command from memory, without a database round trip per update.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.db import Conn
from app.db.queries import bot_commands as q
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.i18n import N_, UserError

LANGUAGES = ("en", "ru", "uz")
NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")  # what Telegram's setMyCommands accepts
TEXT_LIMIT = 4096  # a Telegram message
DESCRIPTION_LIMIT = 256  # a command's description in the menu
EDITABLE_TEXTS = ("start", "help")  # their texts replace the greeting and the help text
BUILT_IN = ("start", "help", "language")  # the bot's own commands: not for admin-defined ones
MAX_CUSTOM = 90  # Telegram takes at most 100 commands in the menu, with the bot's own

# Today's texts: what /start and /help say in a language an admin did not edit.
DEFAULT_GREETING = N_("Hello, {name}! I am Bozor, the marketplace bot. Choose what you want to do:")
DEFAULT_HELP = N_(
    "Bozor helps you sell and buy through our channel.\n\n"
    "/start - main menu\n"
    "/language - change the language\n"
    "/help - this help\n\n"
    "Post an ad: answer a few questions, and the channel admins will review it."
)


class CommandError(UserError):
    """A command or text that cannot be saved; nothing was saved."""


@dataclass(frozen=True, slots=True)
class BotCommandText:
    """An admin-defined command, as the bot answers it and the menu shows it."""

    name: str
    descriptions: dict[str, str]
    texts: dict[str, str]

    def text(self, language: str) -> str:
        return _pick(self.texts, language)

    def description(self, language: str) -> str:
        return _pick(self.descriptions, language) or self.name


def _pick(values: Mapping[str, str], language: str) -> str:
    """The value in this language, else English, else any language that has one."""
    for lang in (language, "en", *LANGUAGES):
        if values.get(lang):
            return values[lang]
    return ""


@dataclass
class CommandBook:
    """One per process: what the bot answers to /start, /help and the admins' commands."""

    commands: dict[str, BotCommandText] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # "start"/"help" → per language

    def update(self, other: CommandBook) -> None:
        self.commands, self.texts = other.commands, other.texts

    def custom(self, name: str) -> BotCommandText | None:
        return self.commands.get(name)

    def edited_text(self, name: str, language: str) -> str | None:
        """The greeting or help text an admin saved for this language; None: today's default."""
        return self.texts.get(name, {}).get(language) or None


async def load(conn: Conn) -> CommandBook:
    book = CommandBook()
    for row in await q.list_commands(conn):
        if row.name in EDITABLE_TEXTS:
            book.texts[row.name] = dict(row.texts)
        else:
            book.commands[row.name] = BotCommandText(row.name, dict(row.descriptions), dict(row.texts))
    return book


def _clean(values: Mapping[str, str]) -> dict[str, str]:
    return {lang: values[lang].strip() for lang in LANGUAGES if values.get(lang, "").strip()}


def _check_texts(texts: dict[str, str]) -> None:
    for lang, text in texts.items():
        if len(text) > TEXT_LIMIT:
            raise CommandError(
                N_("The text in {language} is {length} characters long; Telegram takes at most 4096."),
                language=lang,
                length=len(text),
            )


async def save_command(
    conn: Conn, by: StaffMember, name: str, descriptions: Mapping[str, str], texts: Mapping[str, str]
) -> CommandBook:
    """Add or change an admin-defined command; returns the fresh book (to apply after commit)."""
    name = name.strip().removeprefix("/")
    if not NAME_RE.match(name):
        raise CommandError(
            N_("A command name is 1 to 32 characters: small Latin letters, digits and underscores.")
        )
    if name in BUILT_IN:
        raise CommandError(N_("/{name} is a command of the bot itself; choose another name."), name=name)
    clean_texts, clean_descriptions = _clean(texts), _clean(descriptions)
    if not clean_texts:
        raise CommandError(N_("Write the answer in at least one language."))
    if not clean_descriptions:
        raise CommandError(N_("Write the description for the menu in at least one language."))
    _check_texts(clean_texts)
    for lang, text in clean_descriptions.items():
        if len(text) > DESCRIPTION_LIMIT:
            raise CommandError(
                N_("The description in {language} is longer than 256 characters."), language=lang
            )
    before = await q.get_command(conn, name)
    if before is None and await q.count_commands(conn) >= MAX_CUSTOM:
        raise CommandError(N_("The bot has 90 commands already: delete one first."))
    await q.upsert_command(conn, name, clean_descriptions, clean_texts)
    after = {"descriptions": clean_descriptions, "texts": clean_texts}
    await _audit(conn, by, "command.save", name, before, after)
    await q.notify_changed(conn)
    return await load(conn)


async def save_text(conn: Conn, by: StaffMember, name: str, texts: Mapping[str, str]) -> CommandBook:
    """The greeting (start) or the help text (help); a language left empty keeps today's text."""
    if name not in EDITABLE_TEXTS:
        raise CommandError(N_("This text does not exist."))
    clean = _clean(texts)
    _check_texts(clean)
    before = await q.get_command(conn, name)
    await q.upsert_command(conn, name, {}, clean)
    await _audit(conn, by, "command.text", name, before, {"texts": clean})
    await q.notify_changed(conn)
    return await load(conn)


async def delete_command(conn: Conn, by: StaffMember, name: str) -> CommandBook:
    before = await q.get_command(conn, name)
    if before is None or name in EDITABLE_TEXTS:
        raise CommandError(N_("This command does not exist (any more)."))
    await q.delete_command(conn, name)
    await _audit(conn, by, "command.delete", name, before, None)
    await q.notify_changed(conn)
    return await load(conn)


async def _audit(
    conn: Conn, by: StaffMember, action: str, name: str, before: q.CommandRow | None, after: object
) -> None:
    snapshot = None if before is None else {"descriptions": before.descriptions, "texts": before.texts}
    await staff_domain.audit(conn, by.staff.id, action, f"command:{name}", snapshot, after)
