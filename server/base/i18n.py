"""Translations: gettext catalogs (``server/translations/<lang>/LC_MESSAGES/messages.po``).

Message ids are in English; French is the default language. Catalogs are compiled in memory at
start with Babel, so no compiled file is kept in the tree. ``make messages`` extracts new strings
and updates the catalogs.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import importlib.resources
import io
from typing import Any

import jinja2
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server.base import clock
from server.base.settings import WEB_DIR

LANGUAGES = ("fr", "en")
DEFAULT = "fr"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog for ``lang`` (French when ``lang`` is unknown)."""
    lang = lang if lang in LANGUAGES else DEFAULT
    po = importlib.resources.files("server.translations") / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def pick(requested: str | None, accept_language: str | None = None) -> str:
    """The language to use: an explicit choice, else the browser's preference, else French."""
    if requested in LANGUAGES:
        return requested
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT


class Formatter:
    """Dates and times the way people read them in ``lang``, in the service's time zone.

    On a day the clocks change, every time carries its offset from UTC ("02:30 (UTC+2)"): going
    back, 02:30 happens twice and an end can read earlier than its start ("02:30 (UTC+2) to
    02:15 (UTC+1)" is 45 minutes); the offset says which one is meant."""

    def __init__(self, lang: str, zone: str) -> None:
        self.lang = lang
        self.zone = zone

    def date(self, moment: dt.datetime) -> str:
        return format_date(clock.to_local(moment, self.zone), "full", locale=self.lang)

    def time(self, moment: dt.datetime) -> str:
        local = clock.to_local(moment, self.zone)
        return self._with_offset(format_time(local, "short", locale=self.lang), moment)

    def datetime(self, moment: dt.datetime) -> str:
        local = clock.to_local(moment, self.zone)
        return self._with_offset(format_datetime(local, "medium", locale=self.lang), moment)

    def clock_change(self, moment: dt.datetime) -> bool:
        """Whether the clocks change on the local day of ``moment``."""
        return clock.changes_on(clock.to_local(moment, self.zone).date(), self.zone)

    def _with_offset(self, text: str, moment: dt.datetime) -> str:
        if not self.clock_change(moment):
            return text
        return f"{text} ({clock.utc_offset(moment, self.zone)})"


# Tables of catalog ids the templates read as ``labels`` (the entry kinds' names, why a message
# was not sent, ...): filled by the edge from the domain, which says them once for every output.
LABELS: dict[str, dict[str, str]] = {}


@functools.cache
def environment(lang: str) -> jinja2.Environment:
    """A Jinja2 environment for ``lang`` with the i18n extension and autoescaping."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(WEB_DIR / "templates")),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # install_gettext_translations is added by the i18n extension, which mypy cannot see.
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["labels"] = LABELS
    return env


def render(lang: str, template: str, **context: Any) -> str:
    return environment(lang).get_template(template).render(lang=lang, **context)
