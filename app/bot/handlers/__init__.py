"""One aiogram Router per feature; `routers()` lists them in the order they are tried."""

from aiogram import Router

from app.bot.handlers import errors, fallback, language, membership, menu, start


def routers() -> list[Router]:
    # The fallback router must stay last: it answers whatever no feature took.
    return [errors.router, membership.router, start.router, language.router, menu.router,
            fallback.router]
