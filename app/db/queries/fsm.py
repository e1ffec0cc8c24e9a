"""Queries on the bot's conversation state (aiogram's FSM): one row per key, state and data apart."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg

from app.db import Conn

GET_STATE = "SELECT state FROM fsm_state WHERE key = $1"
GET_DATA = "SELECT data FROM fsm_state WHERE key = $1"
SET_STATE = """
INSERT INTO fsm_state (key, state) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = now()
"""
SET_DATA = """
INSERT INTO fsm_state (key, data) VALUES ($1, $2::jsonb)
ON CONFLICT (key) DO UPDATE SET data = excluded.data, updated_at = now()
"""
SET_BOTH = """
INSERT INTO fsm_state (key, state, data) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = now()
"""

# A pool runs one statement on a connection it lends for just that (no acquire around it).
Executor: TypeAlias = "asyncpg.Pool[asyncpg.Record] | Conn"


async def get_state(db: Executor, key: str) -> str | None:
    state: str | None = await db.fetchval(GET_STATE, key)
    return state


async def set_state(db: Executor, key: str, state: str | None) -> None:
    await db.execute(SET_STATE, key, state)


async def set_state_and_data(db: Executor, key: str, state: str | None, data_json: str) -> None:
    await db.execute(SET_BOTH, key, state, data_json)


async def get_data(db: Executor, key: str) -> dict[str, Any]:
    data = await db.fetchval(GET_DATA, key)
    return dict(data) if data else {}


async def set_data(db: Executor, key: str, data: dict[str, Any]) -> None:
    await db.execute(SET_DATA, key, data)
