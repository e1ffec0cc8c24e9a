"""The broadcast page in Chromium on a 360 px phone: while the real outbox sender delivers to
the sandbox, the progress bar and the counters move over the WebSocket without a reload; when
the broadcast is done the page reloads once into its final report; nothing scrolls sideways."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiogram import Bot

from app.bot.dispatcher import create_bot
from app.bot.outbox import OutboxSender, SendLimits
from app.db.pool import create_pool
from app.domain import broadcasts
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.broadcasts import Audience
from app.domain.staff import Role
from app.domain.users import Languages
from app.sandbox.driver import Sandbox
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.panel import PASSWORD, Panel
from tests.helpers.polling import eventually
from tests.helpers.servers import TEST_TOKEN, SandboxServer

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"
)
PHONE = 360
PEOPLE = 50
# A slow bot (8 messages a second): the page reads the progress once a second, so the bar
# shows several steps on its way to 100 %.
SLOW = SendLimits(per_second=8.0, burst=1.0)

# Every change of the counter and the bar, kept where a reload does not wipe it.
WATCH = """() => {
  const box = document.getElementById("progress");
  const sent = box.querySelector('[data-field="sent"]');
  const bar = box.querySelector('[data-field="bar"]');
  const seen = () => JSON.parse(sessionStorage.getItem("seen") || "[]");
  const note = () => {
    const all = seen();
    const now = [Number(sent.textContent), bar.style.width];
    const prev = all[all.length - 1];
    if (!prev || prev[0] !== now[0] || prev[1] !== now[1]) all.push(now);
    sessionStorage.setItem("seen", JSON.stringify(all));
  };
  note();
  new MutationObserver(note).observe(box, {subtree: true, childList: true, characterData: true,
                                           attributes: true, attributeFilter: ["style"]});
  window.sameLoad = true;  // gone after a reload
}"""


@pytest.fixture
async def sender(database_url: str, sandbox_server: SandboxServer) -> AsyncIterator[OutboxSender]:
    """What app.main runs beside the panel: the outbox's sender, against the sandbox."""
    sandbox_server.world.add_bot(TEST_TOKEN)
    pool = await create_pool(database_url)
    bot: Bot = create_bot(TEST_TOKEN, sandbox_server.url, wait_on_flood=False)
    sender = OutboxSender(
        pool, bot, limits=SLOW, request_timeout=2.0, backoff=0.05, backoff_cap=0.2, tick=0.2
    )
    await sender.start()
    yield sender
    await sender.stop(drain=2.0)
    await bot.session.close()
    await pool.close()


@contextlib.asynccontextmanager
async def scheduler_ticks(database_url: str) -> AsyncIterator[None]:
    """The scheduler's broadcasts tick, often: it closes a broadcast once every row is out."""
    conn = await asyncpg.connect(database_url)

    async def run() -> None:
        while True:
            await broadcasts.feed_running(conn, Languages())
            await asyncio.sleep(0.3)

    ticking = asyncio.create_task(run())
    try:
        yield
    finally:
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking
        await conn.close()


# The elements that reach past the phone's right edge (what makes it scroll sideways).
TOO_WIDE = f"""() => [...document.querySelectorAll("body *")]
  .map(el => [el, Math.round(el.getBoundingClientRect().right)])
  .filter(([el, right]) => right > {PHONE})
  .map(([el, right]) => `${{el.tagName.toLowerCase()}}.${{el.className}} ${{right}}`)"""


async def no_sideways_scroll(tab: Any) -> None:
    width, inner = await tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert (inner, width) == (PHONE, PHONE), (
        f"{width} px wide on a {PHONE} px phone: {await tab.evaluate(TOO_WIDE)}"
    )


async def test_the_progress_bar_moves_live_and_the_page_ends_on_the_final_report(
    panel: Panel, db: asyncpg.Connection, sandbox: Sandbox, sender: OutboxSender, database_url: str
) -> None:
    boss = await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    for n in range(PEOPLE):
        person = await sandbox.user(f"Xaridor {n}")
        await person.send("/start")
        await db.execute("INSERT INTO users (id, first_name, language) VALUES ($1, $2, 'uz')", person.id, "x")
    made = await broadcasts.create(
        db, StaffMember(boss), {"default": "Chegirma", "uz": "Bugun <b>chegirma</b>!"}, [], Audience()
    )
    base = str(panel.client.make_url("")).rstrip("/")

    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(
                viewport={"width": PHONE, "height": 740}, is_mobile=True, has_touch=True, locale="en-US"
            )
            tab = await context.new_page()
            await tab.goto(base + "/panel/login")
            await tab.fill("input[name=username]", "boss")
            await tab.fill("input[name=password]", PASSWORD)
            async with tab.expect_navigation():
                await tab.click("button[type=submit]")
            loads: list[str] = []
            tab.on("load", lambda page: loads.append(page.url))
            await tab.goto(f"{base}/panel/broadcasts/{made.id}")
            await tab.wait_for_function(
                "() => document.querySelector('[data-field=label]').textContent === 'Draft'"
            )
            await tab.evaluate(WATCH)
            await no_sideways_scroll(tab)

            async with scheduler_ticks(database_url):
                assert await broadcasts.start(db, StaffMember(boss), made.id, languages=Languages()) == PEOPLE
                # Part of the way: the counter and the bar moved while the page stayed put.
                await tab.wait_for_function(
                    "() => { const n = Number(document.querySelector('[data-field=sent]').textContent);"
                    f" return n > 0 && n < {PEOPLE} && window.sameLoad; }}",
                    timeout=20_000,
                )
                await no_sideways_scroll(tab)
                # Done: the page loads again, once, with the final report.
                await tab.wait_for_selector("#report", timeout=30_000)
            await tab.wait_for_load_state()
            assert await tab.evaluate("window.sameLoad === undefined")  # it was a reload
            seen = await tab.evaluate("JSON.parse(sessionStorage.getItem('seen'))")
            await no_sideways_scroll(tab)

            assert await tab.text_content("[data-report=sent]") == str(PEOPLE)
            assert await tab.text_content("[data-field=label]") == "Finished"
            assert await tab.evaluate("document.querySelector('[data-field=bar]').style.width") == "100%"
            assert loads == [f"{base}/panel/broadcasts/{made.id}"] * 2  # opened, then one reload
        finally:
            await browser.close()

    counts = [n for n, _width in seen]
    widths = [float(width.rstrip("%")) for _n, width in seen if width]
    assert counts[0] == 0 and counts[-1] == PEOPLE
    assert counts == sorted(counts) and widths == sorted(widths)  # only ever forward
    middle = [n for n in counts if 0 < n < PEOPLE]
    assert len(middle) >= 2, f"the counter jumped instead of moving: {counts}"
    assert any(0 < w < 100 for w in widths) and widths[-1] == 100
    # Every recipient got it once, in their language.
    await eventually(lambda: sender_done(db, made.id), what="every message sent")


async def sender_done(db: asyncpg.Connection, broadcast_id: int) -> bool:
    rows = await db.fetch(
        "SELECT status, params->>'text' AS text FROM outbox WHERE ref_kind = 'broadcast' AND ref_id = $1",
        broadcast_id,
    )
    return len(rows) == PEOPLE and all(
        r["status"] == "sent" and r["text"] == "Bugun <b>chegirma</b>!" for r in rows
    )
