"""`run.py serve` (the default: bot, web server and scheduler) and `run.py migrate`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.config import Config

if TYPE_CHECKING:
    from app.cli import Runner


def add_parsers(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the bot, the web server and the scheduler (default)")
    serve.set_defaults(handler=serve_command)
    migrate = commands.add_parser("migrate", help="apply pending database migrations and exit")
    migrate.set_defaults(handler=migrate_command)


def serve_command(args: argparse.Namespace, config: Config, run: Runner) -> int:
    from app.main import serve

    run(serve(config))
    return 0


def migrate_command(args: argparse.Namespace, config: Config, run: Runner) -> int:
    from app.main import run_migrations

    applied = run(run_migrations(config))
    print("applied: " + (", ".join(applied) if applied else "nothing, all up to date"))
    return 0
