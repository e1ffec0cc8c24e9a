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
