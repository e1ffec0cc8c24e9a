"""Settings from the environment and an optional .env file, validated once at start."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from app.urls import split

LANGUAGES = ("uz", "ru", "en")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TOKEN_RE = re.compile(r"^\d{1,15}:[A-Za-z0-9_-]{30,}$")
S3_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable."""


@dataclass(frozen=True)
class Config:
    bot_token: str | None
    database_url: str | None
    data_dir: Path
    host: str
    port: int
    public_url: str | None
    secret_key: str
    telegram_mode: str
    webhook_secret: str | None
    telegram_api_url: str | None
    s3_endpoint_url: str | None
    s3_bucket: str | None
    s3_access_key: str | None
    s3_secret_key: str | None
    s3_region: str | None
    log_level: str
    default_language: str
    chat_notice_grace: int = 30  # seconds a web chat message may stay unread before a notice
    chat_notice_interval: int = 300  # seconds between two notices about one conversation
    member_checks_per_second: float = 25.0  # getChatMember calls for tasks, per process
    metrics_token: str | None = None  # /metrics with "Authorization: Bearer <it>" from anywhere

    @property
    def sandbox(self) -> bool:
        """No bot token: the bot talks to the emulator mounted on our own web server."""
        return self.bot_token is None

    @property
    def base_url(self) -> str:
        """Where a browser reaches this server."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def create_admin_command(username: str = "admin") -> str:
    """The exact command that creates a panel admin beside this process: the same interpreter,
    and the settings that were given on the command line rather than in .env."""
    python = sys.executable
    if python.startswith(os.getcwd() + os.sep):
        python = os.path.relpath(python)
    given = [
        f"{name}={shlex.quote(os.environ[name])}"
        for name in ("DATA_DIR", "DATABASE_URL")
        if os.environ.get(name)
    ]
    return " ".join([*given, python, "run.py", "create-admin", username])


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and # comments are skipped, quotes stripped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise ConfigError(f"{path}: line {number} is not KEY=VALUE")
        values[key.strip()] = _dotenv_value(value)
    return values


def _dotenv_value(raw: str) -> str:
    """A quoted value up to its closing quote; else up to a ` # comment`, as every .env reader."""
    value = raw.strip()
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        if end > 0:
            return value[1:end]
    return re.split(r"\s#", value, maxsplit=1)[0].strip()


def _host(env: Mapping[str, str]) -> str:
    """An address of this machine to listen on: checked now, before the database starts."""
    host = env.get("HOST", "").strip() or "127.0.0.1"
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ConfigError(f"HOST must be an address or name of this machine, got {host!r}") from None
    family, kind, proto, _name, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.bind(address)  # port 0: nothing is taken
    except OSError as exc:
        raise ConfigError(f"HOST {host!r} is not an address of this machine ({exc.strerror})") from None
    return host


def _opt(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _port(env: Mapping[str, str]) -> int:
    raw = env.get("PORT", "8080").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"PORT must be a number from 1 to 65535, got {raw!r}")
    return int(raw)


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    normalised = value.upper() if name == "LOG_LEVEL" else value.lower()
    if normalised not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return normalised


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    value = _opt(env, name)
    if value is None:
        return None
    parts = split(value)
    if parts is None or parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{name} must be a {' or '.join(schemes)} URL, got {value!r}")
    return value


def _secret_key(env: Mapping[str, str], data_dir: Path) -> str:
    """Use SECRET_KEY, or generate one into DATA_DIR once and reuse it on every later start."""
    given = _opt(env, "SECRET_KEY")
    if given is not None:
        if len(given) < 16:
            raise ConfigError("SECRET_KEY must be at least 16 characters long")
        return given
    path = data_dir / "secret_key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
    except FileExistsError:  # another process wrote it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"DATA_DIR {str(data_dir)!r} is not writable: {exc.strerror}") from None
    return key


class _S3(TypedDict):
    s3_endpoint_url: str | None
    s3_bucket: str | None
    s3_access_key: str | None
    s3_secret_key: str | None
    s3_region: str | None


class _Telegram(TypedDict):
    bot_token: str | None
    telegram_mode: str
    webhook_secret: str | None
    telegram_api_url: str | None


def _s3(env: Mapping[str, str]) -> _S3:
    values: _S3 = {
        "s3_endpoint_url": _url(env, "S3_ENDPOINT_URL", ("http", "https")),
        "s3_bucket": _opt(env, "S3_BUCKET"),
        "s3_access_key": _opt(env, "S3_ACCESS_KEY"),
        "s3_secret_key": _opt(env, "S3_SECRET_KEY"),
        "s3_region": _opt(env, "S3_REGION"),
    }
    if values["s3_bucket"] and not S3_BUCKET_RE.fullmatch(values["s3_bucket"]):
        raise ConfigError(f"S3_BUCKET is not a valid bucket name: {values['s3_bucket']!r}")
    if bool(values["s3_access_key"]) != bool(values["s3_secret_key"]):
        raise ConfigError("S3_ACCESS_KEY and S3_SECRET_KEY must be set together")
    return values


def _telegram(env: Mapping[str, str], public_url: str | None) -> _Telegram:
    token = _opt(env, "BOT_TOKEN")
    if token is not None and not TOKEN_RE.match(token):
        raise ConfigError("BOT_TOKEN does not look like a token from @BotFather (digits:letters)")
    mode = _choice(env, "TELEGRAM_MODE", "polling", ("polling", "webhook"))
    secret = _opt(env, "WEBHOOK_SECRET")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    if mode == "webhook" and public_url is None:
        raise ConfigError("PUBLIC_URL must be set when TELEGRAM_MODE is webhook")
    return {
        "bot_token": token,
        "telegram_mode": mode,
        "webhook_secret": secret,
        "telegram_api_url": _url(env, "TELEGRAM_API_URL", ("http", "https")),
    }


def load_config(environ: Mapping[str, str] | None = None, dotenv: Path | None = None) -> Config:
    """Build the Config from a .env file overlaid by the environment; raise ConfigError on a bad value."""
    env: dict[str, str] = read_dotenv(dotenv or Path(".env"))
    env.update(os.environ if environ is None else environ)
    data_dir = Path(env.get("DATA_DIR", "").strip() or "./data").resolve()
    public_url = _url(env, "PUBLIC_URL", ("http", "https"))
    database_url = _url(env, "DATABASE_URL", ("postgres", "postgresql"))
    return Config(
        **_telegram(env, public_url),
        database_url=database_url,
        data_dir=data_dir,
        host=_host(env),
        port=_port(env),
        public_url=public_url,
        secret_key=_secret_key(env, data_dir),
        **_s3(env),
        log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
        default_language=_choice(env, "DEFAULT_LANGUAGE", "uz", LANGUAGES),
        chat_notice_grace=_seconds(env, "CHAT_NOTICE_GRACE_SECONDS", 30),
        chat_notice_interval=_seconds(env, "CHAT_NOTICE_INTERVAL_SECONDS", 300),
        member_checks_per_second=_rate(env, "MEMBER_CHECKS_PER_SECOND", 25.0),
        metrics_token=_metrics_token(env),
    )


def _metrics_token(env: Mapping[str, str]) -> str | None:
    raw = env.get("METRICS_TOKEN", "").strip()
    if not raw:
        return None
    if len(raw) < 16 or not raw.isascii() or not raw.isprintable() or " " in raw:
        raise ConfigError("METRICS_TOKEN must be at least 16 printable ASCII characters without spaces")
    return raw


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 0 <= int(raw) <= 86400:
        raise ConfigError(f"{name} must be a number of seconds from 0 to 86400, not {raw!r}")
    return int(raw)


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of calls per second, not {raw!r}") from None
    if not 0 < value <= 1000:
        raise ConfigError(f"{name} must be above 0 and at most 1000, not {raw!r}")
    return value
