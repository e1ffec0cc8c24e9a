"""Web chat (W1-W5): accounts, conversations about ads, messages, offline notices.

Callers (web pages, the JSON API, the bot, the scheduler) use these modules: `accounts`
(registration, sessions, sign-in through the bot, API tokens), `conversations` (starting,
sending, reading, blocking, reporting) and `notices` (what reaches Telegram when someone is away).
"""
