"""Bozor's command line: every sub-command of run.py, parsed here and dispatched to its module.

Each module adds its sub-commands with `add_parsers(commands)` and names the function that runs
one (`set_defaults(handler=...)`, called with the arguments, the config and the loop runner; it
returns the exit code). A new area's commands go in `app/cli/<area>.py` plus one line in MODULES.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from app.cli import admin, channels, media, server, settings
from app.config import ConfigError, load_config

Runner = Callable[[Coroutine[Any, Any, Any]], Any]  # asyncio.run, or uvloop.run from run.py
# Libraries that log a line per update or per scheduler tick at INFO: at INFO only their
# warnings count (DEBUG shows everything).
CHATTY_LOGGERS = ("aiogram.event", "aiogram.dispatcher", "apscheduler")
MODULES = (server, channels, admin, settings, media)  # in the order `run.py --help` lists their commands


class OneLineHelp(argparse.HelpFormatter):
    """Each sub-command and its help on one line: argparse measures sub-commands without their
    indent, so a long name (create-admin) would push its help to the next line."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        for sub in self._iter_indented_subactions(action):
            width = len(self._format_action_invocation(sub)) + self._current_indent
            self._action_max_length = max(self._action_max_length, width)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose sub-command parsers (made with its class) list one line each too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", OneLineHelp)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="run.py", description="Bozor: a Telegram marketplace in one process.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in MODULES:
        module.add_parsers(commands)
    return parser


def fail(message: str, code: int) -> int:
    print(f"bozor: {message}", file=sys.stderr)
    return code


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def main(argv: list[str] | None = None, *, run: Runner = asyncio.run) -> int:
    """Parse, load the config, set up logging and run one sub-command (serve by default).

    Exit codes: 0 done, 1 cannot start (database, migrations, port), 2 bad configuration or
    input, 130 interrupted."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config()
    except ConfigError as exc:
        return fail(f"configuration error: {exc}", 2)
    setup_logging(config.log_level)
    from app.db.embedded import EmbeddedPostgresError
    from app.db.migrations import MigrationError
    from app.domain.channels import ChannelError
    from app.main import StartupError

    handler = getattr(args, "handler", server.serve_command)
    try:
        return handler(args, config, run)
    except ChannelError as exc:
        return fail(str(exc), 2)
    except (StartupError, EmbeddedPostgresError, MigrationError) as exc:
        return fail(str(exc), 1)
    except KeyboardInterrupt:
        return 130
