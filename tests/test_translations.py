"""Every text a user reads is in the catalogs, translated into French, placeholders intact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "server" / "translations"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


def catalog(lang: str):
    with open(CATALOGS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def test_catalogs_hold_every_extracted_message(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "--quiet", "extract", "-F",
                    str(CATALOGS / "babel.cfg"), "-k", "N_", "-o", str(pot), "."], cwd=ROOT,
                   check=True, capture_output=True)
    with open(pot, "rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    assert len(extracted) > 200
    for lang in ("fr", "en"):
        missing = extracted - {m.id for m in catalog(lang) if m.id}
        assert not missing, f"run `make messages`: {lang} lacks {sorted(missing)[:5]}"


def test_french_is_complete_and_keeps_placeholders():
    for message in catalog("fr"):
        if not message.id:
            continue
        assert message.string, f"no French for {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)), message.id
        assert not message.fuzzy, message.id
