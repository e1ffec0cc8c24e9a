"""aiogram imported lazily (app/lazy_aiogram.py): every Telegram type and method still builds."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel

from app.lazy_aiogram import all_models


@pytest.mark.parametrize("kind", ["types", "methods"])
def test_every_aiogram_model_builds_on_first_use(kind: str) -> None:
    """A model the bot has not used yet can be built when a rare update or call needs it."""
    models = [m for m in all_models() if m.__module__.startswith(f"aiogram.{kind}")]
    assert len(models) > 150
    broken = [m.__name__ for m in models if not _builds(m)]
    assert broken == []


def _builds(model: type[BaseModel]) -> bool:
    model.model_rebuild()
    return model.__pydantic_complete__


def test_run_py_imports_aiogram_without_building_its_types() -> None:
    """The memory and start-up saving is real: after run.py's import, no type is built yet."""
    code = (
        "import run, aiogram.types as t;"
        "print(sum(1 for n in t.__all__ if getattr(getattr(t, n), '__pydantic_complete__', False)))"
    )
    built = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(built.stdout) < 20
