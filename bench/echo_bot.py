"""The baselines: a bare aiogram echo bot polling the same sandbox with the same settings.

ECHO_SESSION=stock is aiogram as anyone writes it; ECHO_SESSION=tuned uses Bozor's HTTP session
(app.bot.dispatcher.Session), so the difference between the two is the session's alone.
Every message is echoed; every button press edits its message (one reply per update, as Bozor).
"""

from __future__ import annotations

import os

import uvloop
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message

router = Router(name="echo")
POLLING_CONCURRENCY = 64  # as Bozor's (app.bot.dispatcher), not imported: the stock bot imports no app code


@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")


@router.callback_query()
async def pressed(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(f"{query.data} {query.id}")


def bot() -> Bot:
    token, url = os.environ["BOT_TOKEN"], os.environ["TELEGRAM_API_URL"]
    if os.environ.get("ECHO_SESSION", "stock") == "tuned":
        from app.bot.dispatcher import create_bot  # only here: importing app imports aiogram lazily

        return create_bot(token, url)
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))


async def main() -> None:
    dp = Dispatcher()
    dp.include_router(router)
    await dp.start_polling(
        bot(), handle_signals=True, polling_timeout=25, tasks_concurrency_limit=POLLING_CONCURRENCY
    )


if __name__ == "__main__":
    uvloop.run(main())
