"""Run the sandbox alone: python -m app.sandbox --host 127.0.0.1 --port 8081."""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

from .app import make_sandbox_app


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
    args = parser.parse_args(argv)
    app = make_sandbox_app(validate=args.validate)
    base = f"http://{args.host}:{args.port}"
    print(f"Telegram sandbox: Bot API base URL {base}  (user API {base}/api/)", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, loop=_loop())


if __name__ == "__main__":
    main()
