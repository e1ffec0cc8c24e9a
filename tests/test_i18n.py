"""Every text a user sees exists in Uzbek and Russian, with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory):
    """The texts in the code today, extracted the way `make messages` does."""
    pot = tmp_path_factory.mktemp("i18n") / "bozor.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [
            str(pybabel),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "N_",
            "-o",
            str(pot),
            "--no-location",
            "--omit-header",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("language", ["uz", "ru"])
def test_every_text_is_translated_with_its_placeholders(template, language: str) -> None:
    with (ROOT / "locales" / language / "LC_MESSAGES" / "bozor.po").open("rb") as handle:
        catalog = read_po(handle)
    assert "Choose your language:" in template  # the extraction really read the code
    missing, broken = [], []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        if translated is None or not translated.string:
            missing.append(message.id)
        elif sorted(PLACEHOLDER.findall(translated.string)) != sorted(PLACEHOLDER.findall(message.id)):
            broken.append(message.id)
    assert missing == [], f"untranslated in {language}: run `make messages` and translate"
    assert broken == [], f"placeholders differ in {language}"
