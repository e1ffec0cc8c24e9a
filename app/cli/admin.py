"""`run.py create-admin`: the first panel admin, with a password typed twice or a one-time link."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import TYPE_CHECKING, TextIO

from app.config import Config
from app.db import Conn
from app.domain import staff as staff_domain
from app.domain.staff import Role, StaffError

if TYPE_CHECKING:
    from app.cli import Runner

NO_TERMINAL = (
    "create-admin asks for the password on a terminal (never from arguments or a "
    "pipe), and there is none; run it in a terminal, or add --one-time-link to print "
    "a login link that works once within an hour"
)


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register `create-admin` on run.py's sub-command parser."""
    parser = commands.add_parser("create-admin", help="create a panel admin account")
    parser.set_defaults(handler=create_admin)
    parser.add_argument("username")
    parser.add_argument(
        "--one-time-link",
        action="store_true",
        help="print a one-time login link (1 hour) instead of asking a password",
    )


def create_admin(args: argparse.Namespace, config: Config, run: Runner) -> int:
    return cli_create_admin(args, config, run=run)


async def create_admin_command(
    conn: Conn, username: str, password: str | None, *, one_time_link: bool, base_url: str
) -> str:
    """Create the admin; with one_time_link, also (or, for an existing admin, only) make a link."""
    existing = await staff_domain.find_staff(conn, username)
    if existing is not None and one_time_link and existing.role is Role.ADMIN:
        admin = existing
    else:
        admin = await staff_domain.create_admin(conn, username, password)
    lines = [] if admin is existing else [f"admin #{admin.id} {admin.username} created"]
    if one_time_link:
        link = await staff_domain.issue_login_link(conn, admin.id, base_url)
        lines.append(f"log in once, within an hour, at: {link}")
    return "\n".join(lines)


def read_password(stream: TextIO) -> str:
    password = getpass.getpass("Password: ", stream=stream)
    staff_domain.validate_password(password)
    if getpass.getpass("Repeat the password: ", stream=stream) != password:
        raise StaffError("the passwords differ")
    return password


def cli_create_admin(
    args: argparse.Namespace,
    config: Config | None = None,
    *,
    stdin: TextIO | None = None,
    run: Runner = asyncio.run,
) -> int:
    """`run.py create-admin USERNAME [--one-time-link]`; returns the exit code."""
    stdin = stdin or sys.stdin
    try:
        staff_domain.validate_username(args.username)
        password = None
        if not args.one_time_link:
            if not stdin.isatty():
                print(f"bozor: {NO_TERMINAL}", file=sys.stderr)
                return 2
            password = read_password(sys.stderr)
        if config is None:
            from app.config import load_config

            config = load_config()
        print(run(_create_admin_in_database(config, args.username, password, args.one_time_link)))
    except StaffError as exc:
        print(f"bozor: {exc}", file=sys.stderr)
        return 2
    return 0


async def _create_admin_in_database(
    config: Config, username: str, password: str | None, one_time_link: bool
) -> str:
    from app.main import open_database

    async with open_database(config) as pool, pool.acquire() as conn, conn.transaction():
        return await create_admin_command(
            conn, username, password, one_time_link=one_time_link, base_url=config.base_url
        )
