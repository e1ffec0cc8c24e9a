"""run.py in a child process, as an operator runs it: a clean environment, no stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bozor(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=ROOT,
        env=clean,
        text=True,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
