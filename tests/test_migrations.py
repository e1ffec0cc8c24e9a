"""Migrations: applied once in order, recorded with a checksum, edited files refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest

from app.db.migrations import SQL_DIR, MigrationError, migrate
from tests.helpers.processes import run_bozor


async def test_migrating_twice_applies_nothing_the_second_time(db: asyncpg.Connection) -> None:
    # The template database was migrated once already; running again must be a no-op.
    assert await migrate(db) == []
    rows = await db.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [r["name"] for r in rows] == sorted(p.name for p in SQL_DIR.glob("*.sql"))


async def test_an_edited_applied_migration_is_refused(db: asyncpg.Connection, tmp_path: Path) -> None:
    folder = tmp_path / "sql"
    shutil.copytree(SQL_DIR, folder)
    (folder / "0999_extra.sql").write_text("CREATE TABLE extra (id int);")
    assert await migrate(db, folder) == ["0999_extra.sql"]
    (folder / "0999_extra.sql").write_text("CREATE TABLE extra (id bigint);")
    with pytest.raises(MigrationError, match=r"0999_extra\.sql was edited"):
        await migrate(db, folder)


async def test_a_failing_migration_leaves_nothing_half_applied(
    db: asyncpg.Connection, tmp_path: Path
) -> None:
    folder = tmp_path / "sql"
    shutil.copytree(SQL_DIR, folder)
    (folder / "0998_broken.sql").write_text("CREATE TABLE half (id int); SELECT * FROM nowhere;")
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(db, folder)
    assert await db.fetchval("SELECT to_regclass('half')") is None
    assert await db.fetchval("SELECT count(*) FROM schema_migrations WHERE version = 998") == 0


def test_migrate_command_reports_up_to_date(database_url: str, tmp_path: Path) -> None:
    result = run_bozor({"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path)}, "migrate")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
