"""The embedded PostgreSQL: first start, reuse, crash recovery, stop, and Uzbek/Russian text."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest

from app.db.embedded import EmbeddedPostgres, EmbeddedPostgresError, _postmaster_pid

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server(pg_root: Path):
    pg = EmbeddedPostgres(pg_root, fast=True)
    yield pg
    pg.stop()


async def test_data_survives_a_restart_and_the_server_stops(server: EmbeddedPostgres) -> None:
    conn = await asyncpg.connect(server.start())
    await conn.execute("CREATE TABLE ads (title text); INSERT INTO ads VALUES ('Velosiped')")
    await conn.close()
    pid = _postmaster_pid(server.pgdata)
    server.stop()
    assert _postmaster_pid(server.pgdata) is None
    assert not Path(f"/proc/{pid}/cmdline").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes()

    conn = await asyncpg.connect(server.start())
    assert await conn.fetchval("SELECT title FROM ads") == "Velosiped"
    await conn.close()


async def test_cyrillic_and_uzbek_case_rules_work(server: EmbeddedPostgres) -> None:
    conn = await asyncpg.connect(server.start())
    row = await conn.fetchrow(
        "SELECT upper('велосипед') AS up, 'ВЕЛОСИПЕД продаю' ILIKE '%велосипед%' AS found, "
        "lower('OʻZBEKISTON') AS uz"
    )
    await conn.close()
    assert row["up"] == "ВЕЛОСИПЕД" and row["found"] is True and row["uz"] == "oʻzbekiston"


async def test_a_server_left_running_by_a_killed_process_is_recovered(pg_root: Path) -> None:
    root = pg_root
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from app.db.embedded import EmbeddedPostgres
        EmbeddedPostgres(Path({str(root)!r}), fast=True).start()
        os.kill(os.getpid(), signal.SIGKILL)  # a crash: nothing is stopped or cleaned up
    """)
    crashed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=60)
    assert crashed.returncode == -signal.SIGKILL
    orphan = _postmaster_pid(root / "data")
    assert orphan is not None

    pg = EmbeddedPostgres(root, fast=True)
    try:
        conn = await asyncpg.connect(pg.start())
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
        assert _postmaster_pid(root / "data") != orphan
    finally:
        pg.stop()


async def test_a_stale_pid_file_is_recovered(server: EmbeddedPostgres) -> None:
    server.start()
    server.stop()
    dead = subprocess.Popen(["true"])
    dead.wait()
    # What a power cut leaves: a postmaster.pid naming a process that no longer exists.
    (server.pgdata / "postmaster.pid").write_text(f"{dead.pid}\n{server.pgdata}\n")
    conn = await asyncpg.connect(server.start())
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()


def test_a_second_bozor_on_the_same_data_dir_is_refused(server: EmbeddedPostgres) -> None:
    server.start()
    with pytest.raises(EmbeddedPostgresError, match="another Bozor"):
        EmbeddedPostgres(server.root, fast=True).start()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root has a server user to switch to")
def test_as_root_the_server_runs_unprivileged_and_parents_keep_their_modes(server: EmbeddedPostgres) -> None:
    parent = server.root.parent
    before = parent.stat().st_mode, parent.stat().st_uid
    server.start()
    pid = _postmaster_pid(server.pgdata)
    assert os.stat(f"/proc/{pid}").st_uid != 0
    assert (parent.stat().st_mode, parent.stat().st_uid) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="only root has a server user to switch to")
def test_as_root_a_closed_parent_folder_is_reported_not_opened(tmp_path: Path) -> None:
    # pytest's tmp_path lives under a 0700 folder: we must say so, not chmod it.
    closed = tmp_path.parent.stat().st_mode
    pg = EmbeddedPostgres(tmp_path / "pg", fast=True)
    try:
        with pytest.raises(EmbeddedPostgresError, match="not searchable"):
            pg.start()
    finally:
        pg.stop()
    assert tmp_path.parent.stat().st_mode == closed


async def test_a_command_uses_the_running_server_without_stopping_it(server: EmbeddedPostgres) -> None:
    dsn = server.start()
    command = EmbeddedPostgres(server.root, fast=True)
    assert command.start(attach=True) == dsn
    conn = await asyncpg.connect(dsn)
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()
    command.stop()
    assert _postmaster_pid(server.pgdata) is not None  # still the serving process's server
