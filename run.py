"""Bozor's entry point: installs uvloop and runs a sub-command (serve by default)."""

from __future__ import annotations

import argparse
import logging
import sys

import uvloop

from app.cli import add_parsers as add_data_parsers
from app.config import ConfigError, load_config
from app.web.admin_cli import add_parser as add_auth_parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run.py", description="Bozor: a Telegram marketplace in one process."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="run the bot, the web server and the scheduler (default)")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    add_data_parsers(commands)
    add_auth_parser(commands)
    return parser.parse_args(argv)


def fail(message: str, code: int) -> int:
    print(f"bozor: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config()
    except ConfigError as exc:
        return fail(f"configuration error: {exc}", 2)
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from app.db.embedded import EmbeddedPostgresError
    from app.db.migrations import MigrationError
    from app.domain.channels import ChannelError
    from app.main import StartupError, run_data_command, run_migrations, serve

    try:
        if args.command == "create-admin":
            from app.web.admin_cli import cli_create_admin

            return cli_create_admin(args, config)
        if args.command in ("channel", "demo"):
            print(uvloop.run(run_data_command(config, args)))
        elif args.command == "migrate":
            applied = uvloop.run(run_migrations(config))
            print("applied: " + (", ".join(applied) if applied else "nothing, all up to date"))
        else:
            uvloop.run(serve(config))
    except ChannelError as exc:
        return fail(str(exc), 2)
    except (StartupError, EmbeddedPostgresError, MigrationError) as exc:
        return fail(str(exc), 1)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
