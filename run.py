"""Bozor's entry point: runs a sub-command of app.cli (serve by default) on uvloop."""

from __future__ import annotations

import sys

import uvloop

from app.cli import main

if __name__ == "__main__":
    sys.exit(main(run=uvloop.run))
