"""Balances in the bot and the panel: a withdrawal asked in the bot and paid out in the panel,
manual adjustments as audited entries (a double submit counts once), a task credited by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.bot.ledger_messages import BotLedgerMessages
from app.domain.staff import Role
from app.domain.tasks import Verification
from app.i18n import Translator
from app.web import keys
from tests.helpers.ledger import credit
from tests.helpers.market import buttons
from tests.helpers.panel import SECRET_KEY, Panel, build_panel, csrf, login, make_staff
from tests.helpers.tasks import entries, make_task, person


@pytest.fixture
async def panel(aiohttp_client, make_config, database_url: str) -> AsyncIterator[Panel]:
    def wire(app) -> None:
        app[keys.BOT_PARTS].ledger_messages = BotLedgerMessages(Translator("en"))

    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for built in build_panel(aiohttp_client, config, database_url, extra=wire):
        yield built


async def post(panel: Panel, path: str, data: dict, page: str):
    token = await csrf(panel.client, page)
    return await panel.client.post(path, data={"csrf_token": token, **data}, allow_redirects=False)


async def test_a_withdrawal_asked_in_the_bot_is_paid_out_in_the_panel(bozor, sandbox, panel, db) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    ali = await person(sandbox, "Ali")
    await credit(db, ali.id, 150)
    await ali.press("🎯 Tasks")
    listed = await ali.wait_for_bot("Your balance: 150 points")
    assert "💸 Withdraw points" in buttons(listed)
    await ali.press("💸 Withdraw points")
    await ali.wait_for_bot("How many points")
    await ali.send("50")
    await ali.wait_for_bot("The smallest withdrawal is 100 points.")
    await ali.send("500")
    await ali.wait_for_bot("Not enough on the balance: 150 available, 500 needed.")
    await ali.send("120")
    await ali.wait_for_bot("Your request #1 to withdraw 120 points is sent")
    assert await db.fetchval("SELECT held FROM ledger_balances WHERE account = $1", ali.id) == 120

    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    queue = await panel.client.get("/panel/withdrawals")
    assert "120 points" in await queue.text()
    empty = await post(panel, "/panel/withdrawals/1/approve", {"payout_reference": " "}, "/panel/withdrawals")
    assert empty.status == 400 and "Enter the payout reference" in await empty.text()
    paid = await post(
        panel, "/panel/withdrawals/1/approve", {"payout_reference": "PAYME-778"}, "/panel/withdrawals"
    )
    assert paid.status == 200 and "Request #1 is paid out." in await paid.text()
    late = await post(
        panel, "/panel/withdrawals/1/reject", {"reason": "changed my mind"}, "/panel/withdrawals"
    )
    assert "was already decided by boss" in await late.text()
    await ali.wait_for_bot("Payout reference: PAYME-778", timeout=10)
    assert await entries(db, ali.id) == [("task_reward", 150), ("withdrawal", -120)]


async def test_a_manual_adjustment_is_an_audited_entry_and_a_double_submit_counts_once(panel, db) -> None:
    await db.execute("INSERT INTO users (id, first_name) VALUES (7301, 'Bek')")
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    page = "/panel/balances/7301"
    form = {"amount": "+25", "currency": "points", "reason": "Compensation for a lost check", "key": "k-1"}
    first = await post(panel, f"{page}/adjust", form, page)
    again = await post(panel, f"{page}/adjust", form, page)
    assert first.status == again.status == 200
    assert await entries(db, 7301) == [("manual_adjustment", 25)]
    audit = await db.fetch("SELECT target, after FROM audit_log WHERE action = 'ledger.adjust'")
    assert len(audit) == 1 and audit[0]["target"] == "user:7301"
    overdraw = await post(panel, f"{page}/adjust", {**form, "amount": "-40", "key": "k-2"}, page)
    assert (
        overdraw.status == 400
        and "Not enough on the balance: 25 available, 40 needed." in await overdraw.text()
    )
    no_reason = await post(panel, f"{page}/adjust", {**form, "reason": "", "key": "k-3"}, page)
    assert no_reason.status == 400
    assert await entries(db, 7301) == [("manual_adjustment", 25)]
    told = await db.fetchval("SELECT params->>'text' FROM outbox WHERE chat_id = 7301")
    assert "Compensation for a lost check" in told

    task = await make_task(db, None, verification=Verification.SCREENSHOT, leave_days=None, reward=10)
    credited = await post(panel, f"{page}/credit", {"task_id": str(task.id)}, page)
    assert credited.status == 200 and "The task is credited." in await credited.text()
    twice = await post(panel, f"{page}/credit", {"task_id": str(task.id)}, page)
    assert twice.status == 400 and "already done this task" in await twice.text()
    shown = await (await panel.client.get(page)).text()
    assert "Adjustment by staff" in shown and "Task reward" in shown and 'id="points">35' in shown
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'task.credit'") == 1


async def test_the_web_account_page_shows_the_linked_users_balance(
    aiohttp_client, make_config, database_url, db
) -> None:
    from tests.helpers.chat import sign_in_as_telegram_user

    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for web in build_panel(aiohttp_client, config, database_url):
        await db.execute("INSERT INTO users (id, first_name) VALUES (7401, 'Aziz')")
        await credit(db, 7401, 120)
        await sign_in_as_telegram_user(web.client, db, 7401)
        page = await (await web.client.get("/chat/account")).text()
        assert "Balance: 120 points, 0 ⭐" in page
