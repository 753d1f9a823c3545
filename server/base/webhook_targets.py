"""Where case-record entries may be pushed: the URL rule and the endpoints named in the settings.

Personal data goes out, so an endpoint's address must be ``https://``. Plain ``http://`` is
allowed only to this machine (``localhost``, 127.x.x.x, ``[::1]``): traffic that never leaves it,
for development and the tests' receiver (docs/webhooks.md says why no TLS receiver in the tests).
This sits in base, below the settings and the domain, because both check it.
"""

from __future__ import annotations

import dataclasses
import re

SECRET_PREFIX = "whsec_"
NAME_MAX = 60
URL_MAX = 2000


@dataclasses.dataclass(frozen=True)
class ConfiguredEndpoint:
    """An endpoint named in ``PROXIMA_WEBHOOKS``: its name, its address and its signing secret."""

    name: str
    url: str
    secret: str


# The addresses and names accepted, as docs/openapi.yaml states them: ASCII only (percent-encode
# the rest), a host of letters, digits, dots and hyphens (or a loopback one for http), an
# optional port, then any printable ASCII. No user name or password: the signature
# authenticates.
URL_PATTERN = (r"^(https://[A-Za-z0-9.-]+|http://(localhost|127\.[0-9]{1,3}\.[0-9]{1,3}"
               r"\.[0-9]{1,3}|\[::1\]))"
               r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
               r"([/?#][!-~]*)?$")
NAME_PATTERN = r"^[A-Za-z0-9._-]{1,60}$"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot receive case-record entries (plain English), or None when it can."""
    if len(url) > URL_MAX:
        return f"the address is too long (at most {URL_MAX} characters)"
    if re.fullmatch(URL_PATTERN, url) is None:
        return ("the address must start with https:// (http:// only to this machine), then a "
                "host name, and hold no spaces, user name or password")
    return None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an endpoint, or None: letters, digits, ``-``, ``_``, ``.``."""
    if re.fullmatch(NAME_PATTERN, name) is None:
        return f"a name has 1 to {NAME_MAX} letters, digits, '-', '_' or '.'"
    return None


def parse_endpoints(text: str) -> list[ConfiguredEndpoint]:
    """The endpoints of ``PROXIMA_WEBHOOKS``: ``name url secret`` items separated by commas.

    Raises ValueError with a plain message naming the item that is wrong."""
    found: list[ConfiguredEndpoint] = []
    for number, item in enumerate((i.strip() for i in text.split(",")), start=1):
        if not item:
            continue
        fields = item.split()
        if len(fields) != 3:
            raise ValueError(f"item {number} must be 'name url secret' (three words)")
        name, url, secret = fields
        problem = name_problem(name) or url_problem(url)
        if problem is None and not (secret.startswith(SECRET_PREFIX) and len(secret) > 20):
            problem = (f"the secret must start with {SECRET_PREFIX} (make one with "
                       "`proxima webhooks secret`)")
        if problem is None and any(e.name == name for e in found):
            problem = "this name is given twice"
        if problem is not None:
            raise ValueError(f"item {number} ({name}): {problem}")
        found.append(ConfiguredEndpoint(name, url, secret))
    return found
