"""/metrics: Prometheus text from this machine or with the bearer token; 403 otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.domain import outbox
from tests.helpers.panel import SECRET_KEY, Panel, build_panel

TOKEN = "metrics-token-0123456789"
OUTSIDE = {"X-Forwarded-For": "203.0.113.7"}  # as nginx forwards a visitor from elsewhere


@pytest.fixture
async def panel(aiohttp_client, make_config, database_url: str) -> AsyncIterator[Panel]:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en", METRICS_TOKEN=TOKEN)
    async for built in build_panel(aiohttp_client, config, database_url):
        yield built


async def test_metrics_answer_this_machine_and_the_token_only(panel: Panel, db: asyncpg.Connection) -> None:
    async with db.transaction():
        await outbox.enqueue(db, "sendMessage", {"chat_id": 5, "text": "hi"}, ref_kind="ticket", ref_id=1)

    local = await panel.client.get("/metrics")
    assert local.status == 200 and local.content_type == "text/plain"
    text = await local.text()
    for name in (
        "bozor_updates_total",
        "bozor_update_handler_seconds_bucket",
        "bozor_outbox_sends_total",
        "bozor_websocket_connections",
        "bozor_db_pool_connections",
        "bozor_job_runs_total",
        "bozor_job_failures_total",
    ):
        assert f"# TYPE {name.removesuffix('_bucket').removesuffix('_total')}" in text, name
    assert 'bozor_outbox_queue_depth{kind="ticket",priority="0"} 1.0' in text

    assert (await panel.client.get("/metrics", headers=OUTSIDE)).status == 403
    wrong = {**OUTSIDE, "Authorization": "Bearer not-the-token-at-all"}
    assert (await panel.client.get("/metrics", headers=wrong)).status == 403
    right = {**OUTSIDE, "Authorization": f"Bearer {TOKEN}"}
    assert (await panel.client.get("/metrics", headers=right)).status == 200
