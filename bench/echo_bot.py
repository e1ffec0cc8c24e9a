"""The baseline: a bare aiogram echo bot polling the same sandbox with the same settings."""

from __future__ import annotations

import os

import uvloop
from aiogram import Dispatcher, Router
from aiogram.types import Message

from app.bot.dispatcher import POLLING_CONCURRENCY, create_bot

router = Router(name="echo")


@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")


async def main() -> None:
    bot = create_bot(os.environ["BOT_TOKEN"], os.environ["TELEGRAM_API_URL"])
    dp = Dispatcher()
    dp.include_router(router)
    await dp.start_polling(
        bot, handle_signals=True, polling_timeout=25, tasks_concurrency_limit=POLLING_CONCURRENCY
    )


if __name__ == "__main__":
    uvloop.run(main())
