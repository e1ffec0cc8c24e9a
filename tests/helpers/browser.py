"""Debian's Chromium for browser tests, driven by Playwright (never a browser of its own)."""

from __future__ import annotations

import pytest

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home, and these machines
# refuse those connections many at a time.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
