"""One aiogram Router per feature; `routers()` builds them in the order they are tried."""

from aiogram import Router

from app.bot.handlers import (
    errors,
    fallback,
    language,
    membership,
    menu,
    moderation,
    my_ads,
    post_ad,
    start,
)


def routers() -> list[Router]:
    # The fallback router must stay last: it answers whatever no feature took.
    return [
        module.create_router()
        for module in (errors, membership, start, language, menu, moderation, post_ad, my_ads, fallback)
    ]
