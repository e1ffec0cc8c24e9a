"""Run the sandbox alone: python -m app.sandbox --port 8081 [--data world.sqlite3] [--http-webhooks]."""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

from .app import make_sandbox_app
from .world import World


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--validate", action="store_true", help="check every result against the spec")
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="keep the world (chats, messages, files, ids) in this SQLite file across restarts",
    )
    parser.add_argument(
        "--http-webhooks",
        action="store_true",
        help="also accept http:// webhooks on any port and local addresses (Telegram takes "
        "only HTTPS on ports 443, 80, 88 and 8443)",
    )
    args = parser.parse_args(argv)
    world = World(path=args.data) if args.data else World()
    app = make_sandbox_app(world, validate=args.validate, http_webhooks=args.http_webhooks)
    base = f"http://{args.host}:{args.port}"
    print(f"Telegram sandbox: Bot API base URL {base}  (user API {base}/api/)", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, loop=_loop())


if __name__ == "__main__":
    main()
