"""Bozor's entry point: runs a sub-command of app.cli (serve by default) on uvloop."""

from __future__ import annotations

import sys

import uvloop

from app.lazy_aiogram import import_aiogram

import_aiogram()  # before anything imports aiogram: its types are then built on first use

from app.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(run=uvloop.run))
