"""`run.py create-admin` (a panel admin, with a password typed twice or a one-time link) and
`run.py login-link` (a one-time login link for an existing account, e.g. a forgotten password)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

from app.config import Config
from app.db import Conn
from app.domain import settings as settings_domain
from app.domain import staff as staff_domain
from app.domain.staff import StaffError

if TYPE_CHECKING:
    from app.cli import Runner

NO_TERMINAL = (
    "create-admin asks for the password on a terminal (never from arguments or a "
    "pipe), and there is none; run it in a terminal, or add --one-time-link to print "
    "a login link that works once within an hour"
)


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register `create-admin` and `login-link` on run.py's sub-command parser."""
    parser = commands.add_parser("create-admin", help="create a panel admin account")
    parser.set_defaults(handler=create_admin)
    parser.add_argument("username")
    parser.add_argument(
        "--one-time-link",
        action="store_true",
        help="print a one-time login link (1 hour) instead of asking a password",
    )
    link = commands.add_parser("login-link", help="print a one-time panel login link for an existing account")
    link.set_defaults(handler=login_link)
    link.add_argument("username")


def create_admin(args: argparse.Namespace, config: Config, run: Runner) -> int:
    return cli_create_admin(args, config, run=run)


def login_link(args: argparse.Namespace, config: Config, run: Runner) -> int:
    try:
        print(run(_in_database(config, lambda conn, url: login_link_command(conn, args.username, url))))
    except StaffError as exc:
        print(f"bozor: {exc}", file=sys.stderr)
        return 2
    return 0


async def create_admin_command(
    conn: Conn, username: str, password: str | None, *, one_time_link: bool, base_url: str
) -> str:
    """Create the admin (with one_time_link, and print a link); an existing name is refused
    with the command that gives its owner a link."""
    await refuse_taken_name(conn, username)
    admin = await staff_domain.create_admin(conn, username, password)
    lines = [f"admin #{admin.id} {admin.username} created"]
    if one_time_link:
        link = await staff_domain.issue_login_link(conn, admin.id, base_url)
        lines.append(f"log in once, within an hour, at: {link}")
    return "\n".join(lines)


async def refuse_taken_name(conn: Conn, username: str) -> None:
    if await staff_domain.find_any_staff(conn, username) is not None:
        raise StaffError(
            f"a staff account named {username!r} already exists; for a one-time login link "
            f"to it run: run.py login-link {username}"
        )


async def _name_is_free(conn: Conn, username: str) -> str:
    await refuse_taken_name(conn, username)
    return ""


async def login_link_command(conn: Conn, username: str, base_url: str) -> str:
    """A one-time login link for an existing, active account (a forgotten password)."""
    staff = await staff_domain.find_staff(conn, username)
    if staff is None:
        raise StaffError(
            f"there is no active staff account named {username!r}; "
            f"create one with: run.py create-admin {username}"
        )
    link = await staff_domain.issue_login_link(conn, staff.id, base_url)
    return f"{staff.username} ({staff.role}) can log in once, within an hour, at: {link}"


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
        if not args.one_time_link and not stdin.isatty():
            print(f"bozor: {NO_TERMINAL}", file=sys.stderr)
            return 2
        if config is None:
            from app.config import load_config

            config = load_config()
        if not args.one_time_link:
            # A taken name is refused before the password is typed twice for nothing; the
            # creation checks again in its own transaction (someone may take it meanwhile).
            run(_in_database(config, lambda conn, url: _name_is_free(conn, args.username)))
            password = read_password(sys.stderr)
        print(
            run(
                _in_database(
                    config,
                    lambda conn, url: create_admin_command(
                        conn, args.username, password, one_time_link=args.one_time_link, base_url=url
                    ),
                )
            )
        )
    except StaffError as exc:
        print(f"bozor: {exc}", file=sys.stderr)
        return 2
    return 0


async def _in_database(config: Config, command: Callable[[Conn, str], Awaitable[str]]) -> str:
    """Run one command in a transaction, with the address links must point at: PUBLIC_URL, else
    the one the running (or last) server recorded, else this command's own settings."""
    from app.main import open_database

    async with open_database(config) as pool, pool.acquire() as conn, conn.transaction():
        base_url = await settings_domain.server_url(conn, config.public_url, config.base_url)
        return await command(conn, base_url)
