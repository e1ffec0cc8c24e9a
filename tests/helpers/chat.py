"""The web chat in tests: CSRF tokens of its pages, registering and signing in over HTTP."""

from __future__ import annotations

import re
from typing import Any

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


async def csrf(client: Any, path: str = "/chat/login") -> str:
    """The CSRF token a web chat page carries (its <meta name="csrf-token">)."""
    response = await client.get(path, allow_redirects=False)
    assert response.status == 200, f"{path}: {response.status}"
    match = CSRF_RE.search(await response.text())
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def register(client: Any, username: str, name: str | None = None, password: str = PASSWORD) -> Any:
    """Create an account through the form (the client is signed in after it)."""
    token = await csrf(client, "/chat/register")
    fields = {"csrf_token": token, "username": username, "display_name": name or username.title()}
    fields |= {"password": password, "repeat": password}
    return await client.post("/chat/register", data=fields, allow_redirects=False)


async def sign_in(client: Any, username: str, password: str = PASSWORD) -> Any:
    token = await csrf(client)
    fields = {"csrf_token": token, "username": username, "password": password, "next": "/chat"}
    return await client.post("/chat/login", data=fields, allow_redirects=False)


async def post(client: Any, path: str, page: str, **fields: Any) -> Any:
    """A form on `page` posted to `path`, with the page's CSRF token."""
    token = await csrf(client, page)
    return await client.post(path, data={"csrf_token": token, **fields}, allow_redirects=False)


async def ad_for_sale(db: Any, title: str = "Velosiped Stels") -> int:
    """A published ad by Ali (Telegram user SELLER) in a channel; its id."""
    from tests.helpers.ads import SELLER, market_channel

    channel_id = await market_channel(db)
    return int(
        await db.fetchval(
            """INSERT INTO ads (seller_id, channel_id, title, description, price, currency, negotiable,
                                district, contact, status, text_key, published_at)
               VALUES ($1, $2, $3, 'Yaxshi', 1500000, 'UZS', false, 'Chilonzor', '+998901234567',
                       'published', 'k-' || $3, now()) RETURNING id""",
            SELLER,
            channel_id,
            title,
        )
    )


async def sign_in_as_telegram_user(
    client: Any, db: Any, telegram_user_id: int, next_path: str = "/chat"
) -> Any:
    """What "Open the web chat" in the bot does: a one-time link, opened and confirmed."""
    from app.domain.chat import accounts

    token = await accounts.web_link(db, telegram_user_id, next_path)
    return await post(client, f"/chat/login/once/{token}", f"/chat/login/once/{token}")


async def write(client: Any, conversation_id: int, body: str, **extra: Any) -> Any:
    """Send a message from a conversation page as its script does (JSON back)."""
    import aiohttp

    token = await csrf(client, f"/chat/c/{conversation_id}")
    form = aiohttp.FormData({"body": body})
    for name, value in extra.items():
        if isinstance(value, bytes):
            form.add_field(name, value, filename=f"{name}.bin")
        else:
            form.add_field(name, value)
    return await client.post(
        f"/chat/c/{conversation_id}/send",
        data=form,
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )


async def start_about(client: Any, ad_id: int) -> int:
    """The signed-in buyer writes to the seller of an ad: the conversation's id."""
    response = await post(client, f"/chat/ads/{ad_id}/write", "/chat")
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


def with_media(media_dir: Any) -> Any:
    """The panel fixture's app plus a Storage on disk (photos) — what app.main gives it."""
    from app.storage.disk import DiskStorage
    from app.web import keys
    from tests.helpers.panel import with_ad_messages

    def extra(app: Any) -> None:
        with_ad_messages(app)
        app[keys.STORAGE] = DiskStorage(media_dir, "/media")

    return extra
