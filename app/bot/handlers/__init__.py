"""One aiogram Router per feature; `routers()` builds them in the order they are tried."""

from aiogram import Router

from app.bot.handlers import errors, fallback, language, membership, menu, start


def routers() -> list[Router]:
    # The fallback router must stay last: it answers whatever no feature took.
    return [module.create_router() for module in (errors, membership, start, language, menu,
                                                  fallback)]
