"""Apply sql/NNNN_name.sql files in order, each in a transaction, under an advisory lock."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from app.db import Conn

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
NAME_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
LOCK_NAME = "bozor.migrations"


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree; the message says how."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(folder: Path = SQL_DIR) -> list[Migration]:
    """Every migration file in version order; a misnamed or duplicate number is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = NAME_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, path.name, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


async def applied_checksums(conn: Conn) -> dict[int, tuple[str, str]]:
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    return {r["version"]: (r["name"], r["checksum"]) for r in rows}


async def apply(conn: Conn, migration: Migration) -> None:
    async with conn.transaction():
        await conn.execute(migration.sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            migration.version,
            migration.name,
            migration.checksum,
        )


async def migrate(conn: Conn, folder: Path = SQL_DIR) -> list[str]:
    """Apply what is new; refuse an applied file that changed. Returns the names applied."""
    migrations = discover(folder)
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LOCK_NAME)
    try:
        await conn.execute(CREATE_TABLE)
        done = await applied_checksums(conn)
        for migration in migrations:
            if migration.version in done:
                _check_unchanged(migration, *done[migration.version])
        applied = []
        for migration in migrations:
            if migration.version not in done:
                log.info("applying migration %s", migration.name)
                await apply(conn, migration)
                applied.append(migration.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK_NAME)


def _check_unchanged(migration: Migration, name: str, checksum: str) -> None:
    if checksum != migration.checksum:
        raise MigrationError(
            f"sql/{migration.name} was edited after it was applied to this database "
            f"(applied as {name}); restore it and put the change in a new migration"
        )
