"""gettext catalogs for uz, ru and en; texts are English msgids translated per user."""

from __future__ import annotations

import gettext
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "bozor"
LANGUAGES = ("uz", "ru", "en")
LANGUAGE_NAMES = {"uz": "O'zbekcha", "ru": "Русский", "en": "English"}

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Mark a text for the catalogs where it is translated later, in the user's language."""
    return message


class Text:
    """A text to say later in the reader's language: an English msgid and the values that fill
    it in. The domain returns these (what to say); bot and panel say them (`text(_)`)."""

    __slots__ = ("message", "values")

    def __init__(self, message: str, **values: object) -> None:
        self.message = message
        self.values = values

    def text(self, _: Gettext) -> str:
        return _(self.message).format(**self.values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.message, self.values) == (other.message, other.values)

    def __repr__(self) -> str:
        return f"Text({self.message!r}, **{self.values!r})"


class UserError(ValueError):
    """Input a person must correct. `message` is an English msgid and `values` fill it in:
    `text(_)` says it in the reader's language; str() is the English (logs, the CLI)."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values))
        self.message = message
        self.values = values

    def text(self, _: Gettext) -> str:
        return _(self.message).format(**self.values)


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> None:
    """Compile each .po into its .mo when the .mo is missing or older (make does it at install)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        with mo.open("wb") as target:
            write_mo(target, catalog)
        log.info("compiled %s", mo)


class Translator:
    """One gettext function per language, loaded once."""

    def __init__(self, default: str, locales_dir: Path = LOCALES_DIR) -> None:
        compile_catalogs(locales_dir)
        self.default = default
        self._gettext: dict[str, Gettext] = {}
        for language in LANGUAGES:
            catalog = gettext.translation(DOMAIN, locales_dir, [language], fallback=True)
            if type(catalog) is gettext.NullTranslations and language != "en":
                log.warning("no compiled catalog for %s: texts will be in English", language)
            self._gettext[language] = catalog.gettext

    def __call__(self, language: str | None) -> Gettext:
        """The gettext function for a language, falling back to the default one."""
        return self._gettext.get(language or self.default) or self._gettext[self.default]
