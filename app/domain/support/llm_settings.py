"""LLM help for operators (E6): which OpenAI-compatible endpoint, and whether drafts are made on
their own. Off by default; the key is a secret encrypted at rest (`llm_api_key`)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from app.crypto import SecretError
from app.db import Conn
from app.db.queries import panel_admin as settings_q
from app.domain import staff as staff_domain
from app.i18n import N_, UserError
from app.llm import Endpoint
from app.urls import split

PREFIX = "llm_"
KEY_SECRET = "llm_api_key"
MODEL_RE = re.compile(r"[\w.:/@+-]{1,100}")
MIN_SECONDS, MAX_SECONDS = 0.1, 120.0


class LlmSettingsError(UserError):
    """An LLM setting that cannot be saved."""


class LlmKeyError(UserError):
    def __init__(self) -> None:
        super().__init__(
            N_("The stored LLM key cannot be read (was SECRET_KEY changed?): type it again in Settings.")
        )


@dataclass
class LlmSettings:
    """One per process, kept current like the desk's settings (the panel updates it in place
    after a save, other processes on the settings notification)."""

    enabled: bool = False
    base_url: str = ""  # e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1
    model: str = ""
    timeout: float = 15.0  # seconds for one answer, in all
    auto_draft: bool = False  # the knowledge base has nothing: a draft waits for an operator

    def update(self, other: LlmSettings) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))

    @property
    def drafts_on_their_own(self) -> bool:
        return self.enabled and self.auto_draft


def from_stored(stored: Mapping[str, str]) -> LlmSettings:
    """The stored settings (keys llm_*); unreadable ones keep their default, and without an
    endpoint and a model the LLM stays off."""
    out = LlmSettings(base_url=stored.get(PREFIX + "base_url", ""), model=stored.get(PREFIX + "model", ""))
    with contextlib.suppress(LlmSettingsError):
        out.timeout = _seconds(stored.get(PREFIX + "timeout", str(out.timeout)))
    out.enabled = stored.get(PREFIX + "enabled") == "1" and bool(out.base_url and out.model)
    out.auto_draft = stored.get(PREFIX + "auto_draft") == "1"
    return out


async def load(conn: Conn) -> LlmSettings:
    return from_stored(await settings_q.get_settings(conn))


@dataclass(frozen=True)
class LlmForm:
    settings: LlmSettings
    api_key: str  # typed: replaces the stored one; empty: keeps it
    forget_key: bool


def parse_form(form: Mapping[str, str]) -> LlmForm:
    """Check the fields as typed in the panel; raise LlmSettingsError naming the first bad one."""
    base_url = form.get("llm_base_url", "").strip()
    model = form.get("llm_model", "").strip()
    enabled = form.get("llm_enabled") == "on"
    if base_url and not _is_base_url(base_url):
        raise LlmSettingsError(N_("The LLM's base URL looks like https://api.example.com/v1."))
    if model and not MODEL_RE.fullmatch(model):
        raise LlmSettingsError(N_("A model name has up to 100 letters, digits and . : / @ + - _."))
    if enabled and not (base_url and model):
        raise LlmSettingsError(N_("To switch the LLM on, give its base URL and a model."))
    key = form.get("llm_api_key", "").strip()
    if len(key) > 500:
        raise LlmSettingsError(N_("An API key has at most 500 characters."))
    settings = LlmSettings(
        enabled=enabled,
        base_url=base_url,
        model=model,
        timeout=_seconds(form.get("llm_timeout", "")),
        auto_draft=form.get("llm_auto_draft") == "on",
    )
    return LlmForm(settings, key, form.get("llm_forget_key") == "on")


async def save(conn: Conn, staff_id: int, form: LlmForm, *, secret_key: str) -> LlmSettings:
    """Store checked settings (the key encrypted); audited without the key; other processes
    reload them. Call in a transaction."""
    stored = await settings_q.get_settings(conn)
    s = form.settings
    values = {
        "enabled": "1" if s.enabled else "0",
        "base_url": s.base_url,
        "model": s.model,
        "timeout": f"{s.timeout:g}",
        "auto_draft": "1" if s.auto_draft else "0",
    }
    before = {PREFIX + k: stored.get(PREFIX + k) for k in values}
    for name, value in values.items():
        await settings_q.put_setting(conn, PREFIX + name, value, staff_id)
    if form.api_key:
        await staff_domain.set_secret(conn, KEY_SECRET, form.api_key, staff_id, secret_key=secret_key)
    elif form.forget_key:
        await staff_domain.forget_secret(conn, KEY_SECRET, staff_id)
    await staff_domain.audit(
        conn, staff_id, "settings.llm", "settings:llm", before, {PREFIX + k: v for k, v in values.items()}
    )
    await settings_q.notify_settings(conn, {"event": "llm"})
    return await load(conn)


async def endpoint(conn: Conn, settings: LlmSettings, *, secret_key: str) -> Endpoint:
    """Where to ask, with the key decrypted (for the call only); LlmKeyError when it cannot be read."""
    try:
        key = await staff_domain.get_secret(conn, KEY_SECRET, secret_key=secret_key)
    except SecretError:
        raise LlmKeyError() from None
    return Endpoint(settings.base_url, settings.model, key)


def _is_base_url(url: str) -> bool:
    """http(s), a host, a port that exists, no spaces: an address the client can call."""
    if len(url) > 300 or any(ch.isspace() for ch in url):
        return False
    parts = split(url)  # None: "http://[::1", a port past 65535
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)


def _seconds(value: str) -> float:
    try:
        seconds = float(value.strip().replace(",", "."))
    except ValueError:
        seconds = -1.0
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise LlmSettingsError(
            N_("The LLM's time-out is a number of seconds from {low} to {high}."),
            low=f"{MIN_SECONDS:g}",
            high=f"{MAX_SECONDS:g}",
        )
    return seconds
