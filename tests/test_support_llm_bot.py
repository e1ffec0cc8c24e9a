"""LLM drafts end to end (E6): real aiogram polling the sandbox, the whole app, and a small
OpenAI-compatible server of our own. With drafts on their own, a question the knowledge base has
nothing for gets a draft that waits in the ticket; the operator edits and sends it, approves it
as drafted, or discards it, and the user gets exactly what was sent. A slow endpoint leaves a
note on the ticket; the user and the desk never wait for it."""

from __future__ import annotations

import html

from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.main import Bozor
from tests.helpers.llm import FakeLlm, llm_form, staff_session, submit
from tests.helpers.panel import PASSWORD
from tests.helpers.polling import eventually, outbox_settled


async def draft_of(db, ticket_id: int, status: str, after: int = 0) -> dict:
    """Wait for the ticket's newest draft (newer than `after`) to reach `status`."""

    async def newest() -> dict | None:
        row = await db.fetchrow(
            "SELECT * FROM support_drafts WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1", ticket_id
        )
        return dict(row) if row is not None and row["status"] == status and row["id"] > after else None

    return await eventually(newest, what=f"a draft {status} in ticket {ticket_id}")


async def setup(bozor: Bozor, db) -> None:
    for name, role in (("boss", Role.ADMIN), ("nigora", Role.OPERATOR)):
        await staff_domain.create_staff(db, name, PASSWORD, role)


async def configure(bozor: Bozor, fake: FakeLlm, **form) -> None:
    async with staff_session(bozor, "boss") as boss:
        status, page = await submit(boss, "/panel/settings", llm_form(fake, **form), "/panel/settings")
    assert status == 200 and "Saved." in page


async def test_a_draft_waits_for_approval_and_the_user_gets_what_the_operator_sent(
    bozor, sandbox, db, fake_llm
) -> None:
    await setup(bozor, db)
    ivan = await sandbox.user("Ivan", language_code="ru")

    # LLM off: a ticket as ever, and nobody asks the LLM.
    await ivan.send("Здравствуйте, у меня вопрос")
    await ivan.wait_for_bot("передан оператору")
    ticket_id = int(await db.fetchval("SELECT id FROM support_tickets WHERE user_id = $1", ivan.id))
    page_url = f"/panel/support/tickets/{ticket_id}"

    await configure(bozor, fake_llm, auto=True)
    await ivan.send("Можно оформить рассрочку на товар?")
    pending = await draft_of(db, ticket_id, "pending")
    assert pending["text"] == fake_llm.text and len(fake_llm.requests) == 1
    assert fake_llm.conversation()[-1] == ("user", "Можно оформить рассрочку на товар?")
    assert len(await ivan.bot_messages()) == 1  # the user was not kept waiting, nor told more

    async with staff_session(bozor, "nigora") as nigora:
        async with nigora.get("/panel/support?view=all") as response:
            assert "🤖 draft waiting" in await response.text()  # the queue says which tickets have one
        async with nigora.get(page_url) as response:
            page = await response.text()
        assert "Drafted by the LLM: it waits for an operator&#39;s approval" in page
        assert html.escape(fake_llm.text) in page and "Approve and send" in page
        # "Edit before sending" (without JS): the answer box holds the draft, the form sends it.
        async with nigora.get(f"{page_url}?draft={pending['id']}") as response:
            page = await response.text()
        assert f'name="draft_id" id="reply-draft" value="{pending["id"]}"' in page
        edited = "Рассрочки нет, но продавец может уступить в цене."
        fields = {"text": edited, "draft_id": str(pending["id"])}
        status, _page = await submit(nigora, f"{page_url}/reply", fields, page_url)
        assert status == 200
        got = await ivan.wait_for_bot("💬 Поддержка:")
        assert got["text"] == f"💬 Поддержка: {edited}"
        sent = await draft_of(db, ticket_id, "sent")
        assert sent["edited"] is True and sent["reply_id"] is not None

        # Approved as drafted.
        fake_llm.text = "Доставку продавец обсуждает с вами сам."
        await ivan.send("А доставка есть?")
        pending = await draft_of(db, ticket_id, "pending")
        status, _page = await submit(nigora, f"/panel/support/drafts/{pending['id']}/send", {}, page_url)
        assert status == 200
        await ivan.wait_for_bot("💬 Поддержка: Доставку продавец")
        assert (await draft_of(db, ticket_id, "sent"))["edited"] is False
        status, page = await submit(nigora, f"/panel/support/drafts/{pending['id']}/send", {}, page_url)
        assert status == 200 and "already sent, discarded or replaced" in html.unescape(page)

        # Discarded: nothing goes to the user.
        await ivan.send("А гарантия?")
        pending = await draft_of(db, ticket_id, "pending")
        status, _page = await submit(nigora, f"/panel/support/drafts/{pending['id']}/discard", {}, page_url)
        assert status == 200 and "Draft discarded." in _page
        await draft_of(db, ticket_id, "discarded")
        await outbox_settled(db)
        assert len(await ivan.bot_messages()) == 3

        # The operator asks for a draft in the ticket: it fills the answer box.
        fake_llm.text = "Гарантию даёт продавец."
        status, page = await submit(nigora, f"{page_url}/draft", {}, page_url)
        assert status == 200 and "Гарантию даёт продавец.</textarea>" in page

        # A waiting draft the operator answers past, in words of their own, leaves the ticket.
        await ivan.send("Последний вопрос: торг уместен?")
        await draft_of(db, ticket_id, "pending")
        async with nigora.get(page_url) as response:
            assert "Approve and send" in await response.text()
        status, _page = await submit(nigora, f"{page_url}/reply", {"text": "Да, торг уместен."}, page_url)
        assert status == 200
        async with nigora.get(page_url) as response:
            assert "Approve and send" not in await response.text()


async def test_a_slow_llm_leaves_a_note_on_the_ticket_and_nothing_else_stops(
    bozor, sandbox, db, fake_llm
) -> None:
    await setup(bozor, db)
    await configure(bozor, fake_llm, auto=True, timeout="0.2")
    fake_llm.mode = "slow"
    olga = await sandbox.user("Olga", language_code="en")
    await olga.send("Can I pay for an ad with a card?")
    await olga.wait_for_bot("is with an operator")  # as ever, while the LLM is being asked
    ticket_id = int(await db.fetchval("SELECT id FROM support_tickets WHERE user_id = $1", olga.id))
    failed = await draft_of(db, ticket_id, "failed")
    assert (failed["problem"], failed["text"]) == ("timeout", "")

    page_url = f"/panel/support/tickets/{ticket_id}"
    async with staff_session(bozor, "nigora") as nigora:
        async with nigora.get(page_url) as response:
            page = await response.text()
        assert "The LLM did not answer within 0.2 s: no draft. Write the answer yourself." in page
        status, _page = await submit(nigora, f"{page_url}/reply", {"text": "Yes, by card."}, page_url)
        assert status == 200
        await olga.wait_for_bot("💬 Support: Yes, by card.")
        async with nigora.get(page_url) as response:
            assert "did not answer within" not in await response.text()  # answered: the note goes

        # The endpoint fails outright: the next message's note says so; the user writes on.
        fake_llm.mode = "fail"
        await olga.send("And can I pay in cash?")
        failed = await draft_of(db, ticket_id, "failed", after=failed["id"])
        assert failed["problem"] == "refused" and "503" in failed["detail"]
    await outbox_settled(db)
    assert len(await olga.bot_messages()) == 2
    assert await db.fetchval("SELECT status FROM support_tickets WHERE id = $1", ticket_id) == "open"
