"""A URL from outside (a form, a header, a setting) split into its parts, or None: urllib raises
on some ("http://[::1", a port past 65535), which must be a refusal, never a crash."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def split(value: str) -> SplitResult | None:
    """The parts of `value`, with its port checked; None when it is no URL."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        return None
    return parts
