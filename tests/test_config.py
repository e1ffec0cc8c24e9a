"""Configuration: bad values stop start-up with one clear line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load_config
from tests.helpers.processes import run_bozor


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("TELEGRAM_MODE", "carrier-pigeon"),
        ("DEFAULT_LANGUAGE", "fr"),
        ("LOG_LEVEL", "LOUD"),
        ("BOT_TOKEN", "not-a-token"),
        ("DATABASE_URL", "mysql://x"),
        ("PUBLIC_URL", "example.org"),
        ("HOST", "not a host!"),
        ("HOST", "192.0.2.1"),  # TEST-NET: not an address of this machine
    ],
)
def test_bad_value_exits_2_with_one_line_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    result = run_bozor({name: value, "DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_webhook_mode_without_public_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        load_config({"TELEGRAM_MODE": "webhook", "DATA_DIR": str(tmp_path)}, dotenv=tmp_path / "none")


def test_defaults_mean_sandbox_embedded_database_and_disk_media(tmp_path: Path) -> None:
    config = load_config({"DATA_DIR": str(tmp_path)}, dotenv=tmp_path / "none")
    assert config.sandbox and config.database_url is None and config.s3_bucket is None
    assert (config.host, config.port, config.default_language) == ("127.0.0.1", 8080, "uz")
    assert config.telegram_mode == "polling" and config.base_url == "http://127.0.0.1:8080"


def test_secret_key_is_generated_once_and_reused(tmp_path: Path) -> None:
    first = load_config({"DATA_DIR": str(tmp_path)}, dotenv=tmp_path / "none").secret_key
    second = load_config({"DATA_DIR": str(tmp_path)}, dotenv=tmp_path / "none").secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# local settings\nPORT=9090\nDEFAULT_LANGUAGE='ru'\nHOST=0.0.0.0\n")
    config = load_config({"DATA_DIR": str(tmp_path), "PORT": "9191"}, dotenv=dotenv)
    assert (config.port, config.default_language, config.host) == (9191, "ru", "0.0.0.0")


def test_dotenv_comments_after_a_value_are_ignored(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "PORT=9090   # the panel's port\nDEFAULT_LANGUAGE=ru # Russian\n"
        "SECRET_KEY='a # inside quotes is kept' # but not this\nLOG_LEVEL=debug#no space: part of it\n"
    )
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_config({"DATA_DIR": str(tmp_path)}, dotenv=dotenv)
    dotenv.write_text(dotenv.read_text().replace("debug#no space: part of it", "warning"))
    config = load_config({"DATA_DIR": str(tmp_path)}, dotenv=dotenv)
    assert (config.port, config.default_language, config.log_level) == (9090, "ru", "WARNING")
    assert config.secret_key == "a # inside quotes is kept"


def test_help_lists_every_sub_command_on_one_line_each() -> None:
    result = run_bozor({}, "--help")
    assert result.returncode == 0
    commands = ("serve", "migrate", "channel", "demo", "create-admin", "login-link")
    for command in commands:
        (line,) = [line for line in result.stdout.splitlines() if line.strip().startswith(command + " ")]
        assert len(line.split(None, 1)) == 2, line  # its help on the same line
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for command in commands:
        assert f"`{command}`" in readme, command
