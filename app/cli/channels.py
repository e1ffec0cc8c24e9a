"""`run.py channel …` and `run.py demo`: operator commands that change data, in one transaction."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from app.config import Config
from app.db import Conn
from app.db.queries import channels as q
from app.db.queries.channels import Channel
from app.domain import channels
from app.domain.demo import seed_demo

if TYPE_CHECKING:
    from app.cli import Runner

Command = Callable[[Conn, argparse.Namespace], Awaitable[str]]


def yes_no(value: str) -> bool:
    if value.lower() in ("yes", "y", "true", "1", "on"):
        return True
    if value.lower() in ("no", "n", "false", "0", "off"):
        return False
    raise argparse.ArgumentTypeError("answer yes or no")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register `channel …` and `demo` on run.py's parser."""
    channel = commands.add_parser("channel", help="create and configure marketplace channels")
    channel.set_defaults(handler=data_command)
    sub = channel.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="add a channel the bot publishes to")
    add.add_argument("--title", required=True)
    add.add_argument("--chat", required=True, help="@username or numeric chat id (-100…)")
    add.add_argument("--language", default="uz", choices=channels.LANGUAGES)

    sub.add_parser("list", help="list channels with their settings")

    settings = sub.add_parser("set", help="change a channel's settings")
    settings.add_argument("channel", help="id, chat id or @username")
    settings.add_argument("--title")
    settings.add_argument("--language", choices=channels.LANGUAGES)
    settings.add_argument("--timezone")
    settings.add_argument("--repost-minutes", type=int)
    settings.add_argument("--quiet-hours", help="e.g. 23:00-07:00; '' for none")
    settings.add_argument("--keep-old-posts", type=yes_no)
    settings.add_argument("--checkin-days", type=float)
    settings.add_argument("--checkin-max-asks", type=int)
    settings.add_argument("--ads-per-day", type=int)
    settings.add_argument(
        "--over-limit", choices=channels.OVER_LIMIT, help="past --ads-per-day: flag the ad or refuse it"
    )
    settings.add_argument("--active", type=yes_no)

    category = sub.add_parser("category", help="add a category (names in uz, ru, en)")
    category.add_argument("channel")
    category.add_argument("--hashtag", required=True)
    for lang in channels.LANGUAGES:
        category.add_argument(f"--{lang}", required=True, help=f"name in {lang}")

    admin = sub.add_parser("admin", help="give (or take) the admin role for a channel")
    admin.add_argument("channel")
    admin.add_argument("user_id", type=int, help="the admin's Telegram user id")
    admin.add_argument("--remove", action="store_true")

    banned = sub.add_parser("banned-words", help="replace the channel's banned words")
    banned.add_argument("channel")
    banned.add_argument("words", nargs="*")

    reason = sub.add_parser("reason", help="add a canned rejection reason")
    reason.add_argument("channel")
    for lang in channels.LANGUAGES:
        reason.add_argument(f"--{lang}", required=True, help=f"text in {lang}")

    demo = commands.add_parser("demo", help="create the demo channel with categories and reasons")
    demo.add_argument(
        "--admin", type=int, action="append", default=[], help="Telegram user id of a demo admin (repeatable)"
    )
    demo.set_defaults(handler=data_command)


def data_command(args: argparse.Namespace, config: Config, run: Runner) -> int:
    """Change data in one transaction and print what was done; ChannelError on bad input."""
    print(run(_in_database(config, args)))
    return 0


async def _in_database(config: Config, args: argparse.Namespace) -> str:
    from app.main import open_database

    async with open_database(config) as pool, pool.acquire() as conn, conn.transaction():
        return await run_command(conn, args)


async def run_command(conn: Conn, args: argparse.Namespace) -> str:
    """Run one data command; returns the line to print. Raises ChannelError on bad input."""
    if args.command == "demo":
        channel = await seed_demo(conn, args.admin)
        return f"demo channel ready: #{channel.id} {channel.title} (@{channel.username})"
    return await ACTIONS[args.action](conn, args)


async def _add(conn: Conn, args: argparse.Namespace) -> str:
    row = await channels.create_channel(conn, title=args.title, chat_ref=args.chat, language=args.language)
    return f"channel #{row.id} added: {row.title}"


async def _list(conn: Conn, args: argparse.Namespace) -> str:
    rows = await q.list_channels(conn)
    if not rows:
        return "no channels yet; add one with `run.py channel add --title … --chat @…`"
    return "\n".join(_describe(row) for row in rows)


def _describe(row: Channel) -> str:
    where = f"@{row.username}" if row.username else str(row.chat_id)
    quiet = f", quiet {row.quiet_from:%H:%M}-{row.quiet_to:%H:%M}" if row.quiet_from else ""
    minutes = int(row.repost_every.total_seconds() // 60)
    state = "" if row.active else " (inactive)"
    return (
        f"#{row.id} {row.title} {where} [{row.language}]{state}: re-post every "
        f"{minutes} min{quiet}, check-in every {row.checkin_every.days} d, "
        f"{row.checkin_max_asks} asks, {row.ads_per_day} ads/day per seller (then {row.over_limit})"
    )


async def _set(conn: Conn, args: argparse.Namespace) -> str:
    channel = await channels.require_channel(conn, args.channel)
    row = await channels.update_settings(
        conn,
        channel.id,
        title=args.title,
        language=args.language,
        timezone=args.timezone,
        repost_minutes=args.repost_minutes,
        quiet_hours=args.quiet_hours,
        keep_old_posts=args.keep_old_posts,
        checkin_days=args.checkin_days,
        checkin_max_asks=args.checkin_max_asks,
        ads_per_day=args.ads_per_day,
        over_limit=args.over_limit,
        active=args.active,
    )
    return _describe(row)


async def _category(conn: Conn, args: argparse.Namespace) -> str:
    channel = await channels.require_channel(conn, args.channel)
    row = await channels.add_category(
        conn, channel.id, args.hashtag, {"uz": args.uz, "ru": args.ru, "en": args.en}
    )
    return f"category #{row.hashtag} added to {channel.title}"


async def _admin(conn: Conn, args: argparse.Namespace) -> str:
    channel = await channels.require_channel(conn, args.channel)
    if args.remove:
        done = await channels.remove_admin(conn, channel.id, args.user_id)
        return f"user {args.user_id} {'is no longer' if done else 'was not'} an admin of {channel.title}"
    added = await channels.add_admin(conn, channel.id, args.user_id)
    return f"user {args.user_id} {'is now' if added else 'was already'} an admin of {channel.title}"


async def _banned(conn: Conn, args: argparse.Namespace) -> str:
    channel = await channels.require_channel(conn, args.channel)
    words = await channels.set_banned_words(conn, channel.id, args.words)
    return f"{len(words)} banned word(s) for {channel.title}: {', '.join(words) or '-'}"


async def _reason(conn: Conn, args: argparse.Namespace) -> str:
    channel = await channels.require_channel(conn, args.channel)
    await channels.add_reason(conn, channel.id, {"uz": args.uz, "ru": args.ru, "en": args.en})
    return f"rejection reason added to {channel.title}"


ACTIONS: dict[str, Command] = {
    "add": _add,
    "list": _list,
    "set": _set,
    "category": _category,
    "admin": _admin,
    "banned-words": _banned,
    "reason": _reason,
}
