"""Telegram Bot API emulator ("the sandbox"): a World, its Bot API, a user API and a driver."""
