"""Settings admins change in the panel: the languages the bot offers, and the S3 storage to use."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.config import S3_BUCKET_RE
from app.crypto import SecretError
from app.db import Conn
from app.db.queries import panel_admin as q
from app.domain import staff as staff_domain
from app.domain.support.commands import CommandBook
from app.domain.support.llm_settings import LlmSettings
from app.domain.support.menus import MenuTree
from app.domain.support.settings import DeskSettings
from app.domain.users import LANGUAGES, Languages
from app.i18n import N_, UserError
from app.storage import S3CheckError, S3Settings, check_s3
from app.urls import split

S3_PLAIN = ("s3_endpoint", "s3_bucket", "s3_region")
S3_KEYS = ("s3_access_key", "s3_secret_key")
REGION_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")

# What the admin reads when the bucket check fails, by S3CheckError.problem.
S3_PROBLEMS = {
    "unreachable": N_(
        "The S3 endpoint cannot be reached ({detail}). Check the endpoint URL and that the server is up."
    ),
    "keys": N_("S3 refused the keys: check the access key and the secret key ({detail})."),
    "bucket": N_("There is no bucket “{bucket}” there. Create it first, or check its name."),
    "denied": N_("The keys are valid but may not write to the bucket “{bucket}” ({detail})."),
    "region": N_("The bucket “{bucket}” is in another region: set its region ({detail})."),
    "other": N_("S3 did not accept the settings: {detail}"),
}


class SettingsError(UserError):
    """A setting that cannot be saved."""


# Languages --------------------------------------------------------------------------------


def languages_from(stored: Mapping[str, str], env_default: str) -> Languages:
    """The stored choice; all languages and DEFAULT_LANGUAGE (the environment's) when none."""
    wanted = set((stored.get("languages") or "").split(","))
    enabled = tuple(lang for lang in LANGUAGES if lang in wanted) or LANGUAGES
    default = stored.get("default_language") or env_default
    return Languages(enabled, default if default in enabled else enabled[0])


async def load_languages(conn: Conn, env_default: str) -> Languages:
    return languages_from(await q.get_settings(conn), env_default)


async def save_languages(conn: Conn, staff_id: int, enabled: Iterable[str], default: str) -> Languages:
    """Store the languages offered and the default (among them); audited. Call in a transaction."""
    wanted = set(enabled)
    chosen = tuple(lang for lang in LANGUAGES if lang in wanted)
    if not chosen or default not in chosen:
        raise SettingsError(N_("Enable at least one language and choose the default among them."))
    before = await q.get_settings(conn)
    await q.put_setting(conn, "languages", ",".join(chosen), staff_id)
    await q.put_setting(conn, "default_language", default, staff_id)
    await staff_domain.audit(
        conn,
        staff_id,
        "settings.languages",
        "settings:languages",
        {"languages": before.get("languages"), "default_language": before.get("default_language")},
        {"languages": ",".join(chosen), "default_language": default},
    )
    await q.notify_settings(conn, {"event": "languages"})  # other processes reload them
    return Languages(chosen, default)


# S3 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Form:
    """S3 settings as the admin typed them; a key left empty keeps the stored one."""

    endpoint: str
    bucket: str
    region: str
    access_key: str
    secret_key: str

    @property
    def plain(self) -> dict[str, str]:
        return {"s3_endpoint": self.endpoint, "s3_bucket": self.bucket, "s3_region": self.region}


def parse_s3_form(form: Mapping[str, str]) -> S3Form:
    """Check the shape of each field; raise SettingsError naming the first bad one."""
    values = {
        name: str(form.get(name, "")).strip() for name in ("s3_endpoint", "s3_bucket", "s3_region", *S3_KEYS)
    }
    endpoint, bucket, region = values["s3_endpoint"], values["s3_bucket"], values["s3_region"]
    if endpoint:
        parts = split(endpoint)
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(endpoint) > 300:
            raise SettingsError(
                N_("The endpoint is a URL like https://s3.example.com (empty for Amazon S3).")
            )
    if not S3_BUCKET_RE.fullmatch(bucket):
        raise SettingsError(N_("A bucket name has 3 to 63 lowercase letters, digits, dots and hyphens."))
    if region and not REGION_RE.fullmatch(region):
        raise SettingsError(N_("A region looks like us-east-1 (empty for us-east-1)."))
    if any(len(values[name]) > 300 for name in S3_KEYS):
        raise SettingsError(N_("An S3 key has at most 300 characters."))
    return S3Form(endpoint, bucket, region, values["s3_access_key"], values["s3_secret_key"])


async def s3_to_check(conn: Conn, form: S3Form, *, secret_key: str) -> S3Settings:
    """The settings the form would give: the keys typed, else the ones stored."""
    keys = []
    for name, typed in zip(S3_KEYS, (form.access_key, form.secret_key), strict=True):
        try:
            keys.append(typed or await staff_domain.get_secret(conn, name, secret_key=secret_key))
        except SecretError as exc:
            raise SettingsError(
                N_("The stored S3 keys cannot be read (was SECRET_KEY changed?): type both keys again.")
            ) from exc
    if bool(keys[0]) != bool(keys[1]):
        raise SettingsError(N_("Give both the access key and the secret key."))
    return S3Settings(
        bucket=form.bucket,
        endpoint_url=form.endpoint or None,
        access_key=keys[0],
        secret_key=keys[1],
        region=form.region or None,
    )


async def verify_s3(settings: S3Settings) -> None:
    """Write and delete a small object in the bucket; raise SettingsError saying what is wrong."""
    try:
        await check_s3(settings)
    except S3CheckError as exc:
        raise SettingsError(
            S3_PROBLEMS[exc.problem], bucket=settings.bucket, detail=exc.detail[:300]
        ) from exc


async def save_s3(conn: Conn, staff_id: int, form: S3Form, *, secret_key: str) -> None:
    """Store checked S3 settings (used from the next start); audited. Call in a transaction."""
    before = await q.get_settings(conn)
    for name, value in form.plain.items():
        await q.put_setting(conn, name, value, staff_id)
    for name, value in zip(S3_KEYS, (form.access_key, form.secret_key), strict=True):
        if value:
            await staff_domain.set_secret(conn, name, value, staff_id, secret_key=secret_key)
    await staff_domain.audit(
        conn, staff_id, "settings.s3", "settings:s3", {n: before.get(n) for n in S3_PLAIN}, form.plain
    )


async def clear_s3(conn: Conn, staff_id: int | None) -> None:
    """Back to disk storage from the next start; the keys are deleted too, so no credential
    outlives its use."""
    before = await q.get_settings(conn)
    for name in S3_PLAIN:
        await q.put_setting(conn, name, "", staff_id)
    for name in S3_KEYS:
        await staff_domain.forget_secret(conn, name, staff_id)
    await staff_domain.audit(
        conn,
        staff_id,
        "settings.s3",
        "settings:s3",
        {n: before.get(n) for n in S3_PLAIN},
        dict.fromkeys(S3_PLAIN, ""),
    )


# Clearing (run.py settings clear) -----------------------------------------------------------

CLEARABLE = ("bot", "s3", "languages")


async def clear_stored(conn: Conn, parts: Iterable[str]) -> list[str]:
    """Forget what the panel saved — the bot token, the S3 storage, the languages — so the next
    start uses the environment's settings alone (e.g. after a token that stops Bozor working).
    Audited without a staff member (the operator at the terminal); returns what was cleared.
    Call in a transaction."""
    cleared = []
    wanted = set(parts)
    if "bot" in wanted and await staff_domain.secret_is_set(conn, "bot_token"):
        await staff_domain.forget_secret(conn, "bot_token", None)
        cleared.append("bot")
    stored = await q.get_settings(conn)
    if "s3" in wanted and any(stored.get(n) for n in S3_PLAIN):
        await clear_s3(conn, None)
        cleared.append("s3")
    if "languages" in wanted and (stored.get("languages") or stored.get("default_language")):
        for name in ("languages", "default_language"):
            await q.put_setting(conn, name, "", None)
        await staff_domain.audit(conn, None, "settings.languages", "settings:languages", None, None)
        await q.notify_settings(conn, {"event": "languages"})
        cleared.append("languages")
    return cleared


async def stored_s3(conn: Conn, *, secret_key: str) -> S3Settings | None:
    """The S3 storage saved in the panel, keys decrypted; None when no bucket is saved."""
    values = await q.get_settings(conn)
    if not values.get("s3_bucket"):
        return None
    access, secret = [await staff_domain.get_secret(conn, name, secret_key=secret_key) for name in S3_KEYS]
    return S3Settings(
        bucket=values["s3_bucket"],
        endpoint_url=values.get("s3_endpoint") or None,
        access_key=access,
        secret_key=secret,
        region=values.get("s3_region") or None,
    )


# What this process runs with ----------------------------------------------------------------


@dataclass
class RunningSettings:
    """What this process took from the settings: the languages (kept current by the panel) and
    the storage opened at start (S3 changes need a restart: storage is opened once)."""

    languages: Languages = field(default_factory=Languages)
    storage: str = "disk"  # "disk", "s3-environment" or "s3-panel"
    s3: S3Settings | None = None  # the bucket in use, when storage is S3
    storage_problem: str | None = None  # why the S3 saved in the panel could not be opened
    bot_problem: str | None = None  # why the bot token saved in the panel was not used at start
    desk: DeskSettings = field(default_factory=DeskSettings)  # support: thresholds, hours (kept current)
    commands: CommandBook = field(default_factory=CommandBook)  # the bot's edited commands (kept current)
    llm: LlmSettings = field(default_factory=LlmSettings)  # LLM help for operators (kept current)
    menu: MenuTree = field(default_factory=MenuTree)  # the bot's main menu, a tree of buttons (kept current)


# The running server's address ------------------------------------------------------------


async def remember_server_url(conn: Conn, url: str) -> None:
    """`serve` records where browsers reach it, so a command run beside it (create-admin,
    login-link) prints links to the server that runs, not to its own defaults."""
    await q.put_setting(conn, "server_url", url, None)


async def server_url(conn: Conn, public_url: str | None, fallback: str) -> str:
    """Where a link must point: PUBLIC_URL, else the address the last `serve` recorded, else
    the command's own settings."""
    if public_url:
        return public_url.rstrip("/")
    return (await q.get_settings(conn)).get("server_url") or fallback
