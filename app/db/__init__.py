"""The database floor: the pool, migrations, FSM storage and the query modules (typed records out)."""

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# What every query takes: a connection of its own, or one acquired from the pool.
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

# Errors that say the values of a statement cannot be stored, not that the database cannot be
# reached: a cast or encoding that fails (class 22, and asyncpg's own "invalid input for query
# argument", a ValueError, for a number out of bigint's range or a lone surrogate), a constraint
# (class 23), an index row over btree's limit (54000). Trying the same values again fails the same
# way; a lost connection (or a missing table) is none of these and is worth retrying as it is.
UNFIT_VALUES: tuple[type[Exception], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
    ValueError,
)
