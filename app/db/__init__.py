"""The database floor: the pool, migrations, FSM storage and the query modules (typed records out)."""

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# What every query takes: a connection of its own, or one acquired from the pool.
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
