"""The panel's language: the visitor's choice, else the browser's, else the default; its gettext."""

from __future__ import annotations

from aiohttp import web

from app.i18n import LANGUAGES, Gettext, Translator
from app.web import keys

LANG_COOKIE = "bozor_lang"
LANGUAGE_NAMES = (("uz", "O‘zbekcha"), ("ru", "Русский"), ("en", "English"))
PANEL_TRANSLATOR = web.AppKey("panel_translator", Translator)


def language(request: web.Request) -> str:
    """The language chosen in the panel's footer, else the first of the browser's languages
    we speak, else the configured default."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    header = request.headers.get("Accept-Language", "")
    ranked = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.split("-")[0].lower()))
    for _q, _i, tag in sorted(ranked):
        if tag in LANGUAGES:
            return tag
    return request.app[keys.RUNNING_SETTINGS].languages.default  # as saved in the panel


def gettext(request: web.Request) -> Gettext:
    return request.app[PANEL_TRANSLATOR](language(request))
