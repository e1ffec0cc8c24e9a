"""The panel's one CSV export: a list's rows streamed as they are read, then audited.

UTF-8 with a byte-order mark (Excel then reads Uzbek and Russian right), written in chunks of
~64 KiB as `exports.batches` reads them from a server-side cursor: memory stays flat however
many rows there are, and a slow client slows the reading (each write waits for the socket).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from contextlib import aclosing
from typing import Any

from aiohttp import web

from app.db.queries import exports as q
from app.db.queries.exports import Export
from app.domain import exports
from app.domain.actors import StaffMember
from app.web import keys
from app.web.panel.auth.sessions import STAFF

CHUNK = 64 * 1024
BOM = "\ufeff"


async def stream_csv(request: web.Request, export: Export, filters: Mapping[str, str]) -> web.StreamResponse:
    """Send a list's `export` as a CSV download; the audit entry says how many rows went out."""
    pool = request.app[keys.POOL]

    async def rows() -> AsyncGenerator[Sequence[Iterable[Any]]]:
        async with pool.acquire() as conn, aclosing(q.batches(conn, export)) as source:
            async for batch in source:
                yield batch

    return await send_csv(request, export.name, export.columns, rows(), filters)


async def send_csv(
    request: web.Request,
    name: str,
    columns: Sequence[str],
    source: AsyncGenerator[Sequence[Iterable[Any]]],
    filters: Mapping[str, str],
) -> web.StreamResponse:
    """Stream `source`'s batches of rows as CSV, then audit the export (also one cut short)."""
    pool = request.app[keys.POOL]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="bozor-{name}-{stamp}.csv"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(columns)
    rows, complete = 0, False
    try:
        async with aclosing(source) as batches:
            async for batch in batches:
                writer.writerows(batch)
                rows += len(batch)
                if buffer.tell() >= CHUNK:
                    await response.write(buffer.getvalue().encode())
                    buffer.seek(0)
                    buffer.truncate()
        await response.write(buffer.getvalue().encode())
        complete = True
    finally:
        async with pool.acquire() as conn:
            await exports.record(conn, StaffMember(request[STAFF]), name, filters, rows, complete)
    await response.write_eof()
    return response
