"""One aiogram Router per feature, and the one routing of free messages (app.bot.routing)."""

from aiogram import Router

from app.bot.handlers import (
    chat,
    commands,
    errors,
    fallback,
    language,
    membership,
    menu,
    moderation,
    my_ads,
    post_ad,
    promotions,
    start,
    support,
    tasks,
)
from app.bot.routing import MessageRouting

# Each area that takes free messages registers its destinations here (support, chat, tasks…).
MESSAGE_AREAS = (promotions, post_ad, moderation, tasks, support, chat, fallback)


def message_routing() -> MessageRouting:
    routing = MessageRouting()
    for area in MESSAGE_AREAS:
        area.route(routing)
    return routing


def routers() -> list[Router]:
    """Commands and buttons by feature, then the routed messages; the fallback's buttons last."""
    features = [
        m.create_router()
        for m in (
            errors,
            membership,
            support,
            start,
            commands,
            language,
            menu,
            moderation,
            post_ad,
            my_ads,
            chat,
            promotions,
            tasks,
        )
    ]
    return [*features, message_routing().router(), fallback.create_router()]
