"""Bozor's test suite; aiogram is imported lazily first, as run.py does (app/lazy_aiogram.py)."""

from app.lazy_aiogram import import_aiogram

import_aiogram()
