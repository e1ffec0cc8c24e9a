"""`python run.py` on embedded defaults: starts, talks to its sandbox, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from app.db.embedded import _postmaster_pid
from app.main import free_port

ROOT = Path(__file__).resolve().parents[1]


async def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            assert process.poll() is None, process.stderr.read()
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("Bozor did not become healthy")


def start(data_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(DATA_DIR=str(data_dir), PORT=str(port))
    return subprocess.Popen(
        [sys.executable, "run.py"],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def test_one_command_on_embedded_defaults_serves_the_sandbox_and_stops(pg_root: Path) -> None:
    from app.sandbox.driver import Sandbox

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start(pg_root, port)
    try:
        await wait_healthy(url, process)
        async with Sandbox(f"{url}/sandbox") as sandbox:
            seller = await sandbox.user("Sardor", language_code="uz")
            await seller.send("/start")
            await seller.wait_for_bot("Assalomu alaykum, Sardor!", timeout=10)
            # The demo bot has a real name, not the emulator's "Bozor 1000000001".
            assert [(b["first_name"], b["username"]) for b in await sandbox.bots()] == [
                ("Bozor", "bozor_demo_bot")
            ]
        assert _postmaster_pid(pg_root / "pg" / "data") is not None
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    # Once: where the sandbox and the panel are, and how to create the first admin.
    assert out.count("Bozor is running") == 1 and "Bozor is ready" not in err
    assert f"sandbox (a Telegram of our own): {url}/sandbox/" in out and f"panel: {url}/panel" in out
    assert f"DATA_DIR={pg_root} " in out and "run.py create-admin admin" in out
    # INFO is for what needs attention: no line per update, no scheduler chatter.
    assert "is handled" not in err and "Adding job" not in err and "Running job" not in err
    assert _postmaster_pid(pg_root / "pg" / "data") is None  # the embedded server was stopped

    # A second start reuses the data folder.
    process = start(pg_root, port)
    try:
        await wait_healthy(url, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0
