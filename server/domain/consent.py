"""The consent statement shown to the person, and its fingerprint.

The exact text shown (in the person's language) is what the consent record points to, by its
SHA-256: change a word and the hash changes, so a record always says which text was agreed to.
"""

from __future__ import annotations

import functools
import hashlib

from server.base import i18n
from server.domain.models import N_

STATEMENT = (
    N_("Nothing is recorded: no image, no sound."),
    N_("You choose how we talk: video, sound only, or a phone call."),
    N_("Tell us if other people are with you."),
    N_("You can change your choice or stop at any time."),
)


def consent_lines(lang: str) -> list[str]:
    tr = i18n.translations(lang)
    return [tr.gettext(line) for line in STATEMENT]


def consent_hash(lang: str) -> str:
    return hashlib.sha256("\n".join(consent_lines(lang)).encode("utf-8")).hexdigest()


@functools.cache
def consent_hashes() -> dict[str, str]:
    """Every known statement's hash, with its language."""
    return {consent_hash(lang): lang for lang in i18n.LANGUAGES}
