"""`run.py media copy-to-s3`: copy the photos kept on disk (DATA_DIR/media) into the S3 storage
in use, so the disk can be retired after a switch to S3. Resumable: a key already in the bucket
is skipped, so after a crash (or Ctrl-C) the same command goes on where it stopped."""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING

from app.config import Config

if TYPE_CHECKING:
    from app.cli import Runner

PROGRESS_EVERY = 100


def add_parsers(commands: argparse._SubParsersAction) -> None:
    media = commands.add_parser("media", help="copy the photos on disk into the S3 storage in use")
    sub = media.add_subparsers(dest="action", metavar="ACTION", required=True)
    copy = sub.add_parser("copy-to-s3", help="copy DATA_DIR/media into S3 (S3_* or the panel's); resumable")
    copy.set_defaults(handler=copy_command)


def copy_command(args: argparse.Namespace, config: Config, run: Runner) -> int:
    return int(run(copy_to_s3(config)))


async def copy_to_s3(config: Config) -> int:
    """Copy every key on disk that the bucket lacks, printing progress; returns the exit code."""
    from app.domain import settings as settings_domain
    from app.main import open_database, s3_settings
    from app.storage import DiskStorage
    from app.storage.s3 import open_s3

    s3 = s3_settings(config)
    if s3 is None:
        async with open_database(config) as pool, pool.acquire() as conn:
            s3 = await settings_domain.stored_s3(conn, secret_key=config.secret_key)
    if s3 is None:
        print("bozor: no S3 storage is set (S3_BUCKET, or S3 in the panel's Settings)")
        return 2
    disk = DiskStorage(config.data_dir / "media", f"{config.base_url}/media")
    keys = disk.keys()
    copied = 0
    async with contextlib.AsyncExitStack() as stack:
        bucket = await open_s3(stack, s3)
        for number, key in enumerate(keys, start=1):
            if not await bucket.exists(key):
                stored = await disk.get(key)
                await bucket.put(key, stored.data, stored.content_type)
                copied += 1
            if number % PROGRESS_EVERY == 0 or number == len(keys):
                print(f"{number}/{len(keys)} checked, {copied} copied", flush=True)
    print(f"done: {copied} copied to S3 bucket {s3.bucket}, {len(keys) - copied} were there already")
    return 0
