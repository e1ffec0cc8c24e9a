"""Any OpenAI-compatible chat endpoint, through the official `openai` package's async client.

One call, bounded by a time-out: an answer's text, or an LlmFailure that says what went wrong
(the panel turns it into a note for the operator). The package is imported on first use, in a
thread (it takes over half a second), so a Bozor with the LLM off never loads it and the loop
goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NO_KEY = "none"  # many local endpoints take no key; the client insists on one


@dataclass(frozen=True, slots=True)
class Endpoint:
    base_url: str
    model: str
    api_key: str | None

    def __repr__(self) -> str:  # never the key in a log line
        return f"Endpoint({self.base_url!r}, {self.model!r})"


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # system, user, assistant
    content: str


class LlmFailure(Exception):
    """The endpoint gave no usable answer. `problem`: timeout, unreachable, refused, empty, other."""

    def __init__(self, problem: str, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}")
        self.problem = problem
        self.detail = detail[:300]


async def complete(
    endpoint: Endpoint, turns: Sequence[Turn], *, seconds: float, max_tokens: int = 800
) -> str:
    """The model's reply to the conversation, within `seconds` seconds in all (no retries)."""
    openai = sys.modules.get("openai") or await _import_openai()
    client = await _client(openai, endpoint)
    try:
        async with asyncio.timeout(seconds):
            response = await client.chat.completions.create(
                model=endpoint.model,
                messages=[{"role": t.role, "content": t.content} for t in turns],
                max_tokens=max_tokens,
                temperature=0.3,
                timeout=seconds,
            )
    except (TimeoutError, openai.APITimeoutError):
        raise LlmFailure("timeout") from None
    except openai.APIConnectionError as exc:
        raise LlmFailure("unreachable", str(exc.__cause__ or exc)) from None
    except openai.APIStatusError as exc:
        raise LlmFailure("refused", f"HTTP {exc.status_code}: {_message(exc)}") from None
    except openai.OpenAIError as exc:
        raise LlmFailure("other", str(exc)) from None
    except Exception as exc:  # e.g. a stored URL whose port is past 65535: a note, not a crash
        raise LlmFailure("other", f"{type(exc).__name__}: {exc}") from None
    choices = response.choices or []
    text = _clean(choices[0].message.content or "") if choices else ""
    if not text:
        raise LlmFailure("empty")
    return text


async def _import_openai() -> Any:
    return await asyncio.to_thread(importlib.import_module, "openai")


# One client, kept while the endpoint and the loop stay the same: making one loads TLS
# certificates (some 30 ms), done in a thread; its connections are reused.
_kept: tuple[tuple[object, str, str], Any] | None = None


async def _client(openai: Any, endpoint: Endpoint) -> Any:
    global _kept
    wanted = (asyncio.get_running_loop(), endpoint.base_url, endpoint.api_key or NO_KEY)
    if _kept is not None and _kept[0] == wanted:
        return _kept[1]
    if _kept is not None and _kept[0][0] is wanted[0]:
        await _kept[1].close()  # another endpoint or key now (one of another loop died with it)
    client = await asyncio.to_thread(
        functools.partial(openai.AsyncOpenAI, api_key=wanted[2], base_url=wanted[1], max_retries=0)
    )
    _kept = (wanted, client)
    return client


_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins pairs: these stand alone
_CONTROLS = {n: None for n in (*range(32), 127) if chr(n) not in "\n\t"}


def _clean(text: str) -> str:
    """Text PostgreSQL, a form and Telegram take: a lone surrogate becomes U+FFFD, NUL and the
    other control characters (but line breaks and tabs) go. An answer is not trusted input."""
    text = _SURROGATE.sub("\ufffd", text).replace("\r\n", "\n")
    return text.translate(_CONTROLS).strip()


def _message(exc: object) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", "") or exc)
