"""`run.py settings clear`: forget what was saved in the panel's Settings (bot token, S3,
languages) — e.g. a bot token that no longer works — without the panel or psql."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.config import Config
from app.domain import settings as settings_domain

if TYPE_CHECKING:
    from app.cli import Runner


def add_parsers(commands: argparse._SubParsersAction) -> None:
    settings = commands.add_parser("settings", help="clear what was saved in the panel's Settings")
    sub = settings.add_subparsers(dest="action", metavar="ACTION", required=True)
    clear = sub.add_parser(
        "clear", help="forget the saved bot token, S3 and languages (the environment's apply)"
    )
    clear.add_argument(
        "--only",
        action="append",
        choices=settings_domain.CLEARABLE,
        help="clear only this part (repeatable); all of them by default",
    )
    clear.set_defaults(handler=clear_command)


def clear_command(args: argparse.Namespace, config: Config, run: Runner) -> int:
    cleared = run(_clear(config, args.only or settings_domain.CLEARABLE))
    print("cleared: " + (", ".join(cleared) if cleared else "nothing, none was saved"))
    if cleared:
        print("restart Bozor for it to take effect")
    return 0


async def _clear(config: Config, parts: tuple[str, ...] | list[str]) -> list[str]:
    from app.main import open_database

    async with open_database(config) as pool, pool.acquire() as conn, conn.transaction():
        return await settings_domain.clear_stored(conn, parts)
