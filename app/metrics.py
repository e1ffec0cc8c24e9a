"""Prometheus metrics of this process, served at /metrics (app/web/metrics.py).

Counters and histograms are updated where things happen (the bot's updates, the outbox sender,
the scheduler); gauges that describe state (the outbox queue, WebSockets, the pool) are read
when Prometheus scrapes. Every process has its own: scrape each one.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPDATES = Counter("bozor_updates_total", "Telegram updates handled, by outcome", ["outcome"])
UPDATE_SECONDS = Histogram(
    "bozor_update_handler_seconds",
    "Time to handle one Telegram update (journal, handlers, direct replies)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SENDS = Counter(
    "bozor_outbox_sends_total",
    "Outbox deliveries by result: ok, 429, 403, 5xx, uncertain, failed, retry (network)",
    ["result"],
)
OUTBOX_DEPTH = Gauge(
    "bozor_outbox_queue_depth",
    "Unfinished outbox rows, by kind (ref_kind) and priority",
    ["kind", "priority"],
)
WEBSOCKETS = Gauge("bozor_websocket_connections", "Open WebSockets (panel, web chat, sandbox)")
POOL = Gauge("bozor_db_pool_connections", "Database pool connections: in_use, idle, max", ["state"])
JOB_RUNS = Counter("bozor_job_runs_total", "Scheduled job ticks run by this process", ["job"])
JOB_FAILURES = Counter("bozor_job_failures_total", "Scheduled job ticks that failed", ["job"])
