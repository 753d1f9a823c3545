"""Pushing case-record entries to the organisation's software: the payload, when to try again,
and what an answer means (docs/webhooks.md). No I/O: the job (jobs/webhooks.py) claims and sends.

The payload says of an entry what the record's JSON export says (``CaseEntry.public()``, the items
of ``record`` in GET /api/cases/{id}/record.json), so the two never disagree; of the case, only
its number and the organisation's own reference (what its software files the entry under).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any, Literal

from server.base import webhook_targets
from server.domain.models import N_, Case, CaseEntry, Invalid

SCHEMA = "proxima.case-entry"
VERSION = 1  # a field changes meaning only with a new version (docs/schemas/)
EVENT_TYPE = "case.entry"

DeliveryStatus = Literal["pending", "delivered", "failed", "stopped", "dropped"]

# What a failed try was, as a stable code kept in clear (never the receiver's body).
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
TLS_ERROR = "tls_error"
INVALID_URL = "invalid_url"  # the address cannot be used as it is: stopped, not retried
ENTRY_GONE = "entry_gone"


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between tries (doubling, capped, with jitter) and when to give up."""

    first_delay: float
    max_delay: float
    give_up_after: dt.timedelta

    def __post_init__(self) -> None:
        if not 0 < self.first_delay <= self.max_delay:
            raise ValueError(f"retry delays must satisfy 0 < first ({self.first_delay}) <= "
                             f"max ({self.max_delay})")

    def next_try(self, attempts: int, first_failed_at: dt.datetime, now: dt.datetime,
                 rand: Callable[[], float]) -> dt.datetime | None:
        """When to try again after ``attempts`` failed tries, or None to give up.

        The delay doubles from ``first_delay`` up to ``max_delay``; half of it is random ("equal
        jitter", ``rand()`` in [0, 1)), so that receivers coming back are not hit by every
        sender at once. Giving up happens once the entry has failed for ``give_up_after``."""
        ceiling = min(self.max_delay, self.first_delay * 2 ** min(max(attempts - 1, 0), 40))
        delay = ceiling / 2 + ceiling / 2 * rand()
        when = now + dt.timedelta(seconds=delay)
        if when - first_failed_at > self.give_up_after:
            return None
        return when


def http_outcome(status: int) -> Literal["delivered", "retry", "stop"]:
    """What an HTTP answer means: 2xx delivered; 408, 429 and 5xx try later; anything else
    (the other 4xx, a redirect) stops that entry: the receiver refused it as it is."""
    if 200 <= status < 300:
        return "delivered"
    if status in (408, 429) or status >= 500:
        return "retry"
    return "stop"


def http_reason(status: int) -> str:
    return f"http_{status}"


def payload(case: Case, entry: CaseEntry) -> dict[str, Any]:
    """The JSON pushed for one entry (docs/schemas/case-entry.v1.schema.json)."""
    return {"schema": SCHEMA, "version": VERSION, "type": EVENT_TYPE,
            "case": {"id": case.id, "reference": case.reference},
            "entry": entry.public()}


def body(case: Case, entry: CaseEntry) -> str:
    """The payload as the exact text that is signed and sent (UTF-8, compact)."""
    return json.dumps(payload(case, entry), ensure_ascii=False, separators=(",", ":"))


@dataclasses.dataclass
class Endpoint:
    """An address that receives every case-record entry; ``secret`` signs what is sent to it."""

    id: int
    name: str
    url: str
    source: Literal["console", "settings"]
    paused: bool
    created_at: dt.datetime
    last_success_at: dt.datetime | None
    last_error: str
    last_error_at: dt.datetime | None
    secret: str = dataclasses.field(repr=False)

    def public(self) -> dict[str, Any]:
        """What the administrator sees (never the secret)."""
        def moment(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None
        return {"id": self.id, "name": self.name, "url": self.url, "source": self.source,
                "paused": self.paused, "created_at": self.created_at.isoformat(),
                "last_success_at": moment(self.last_success_at), "last_error": self.last_error,
                "last_error_at": moment(self.last_error_at)}


@dataclasses.dataclass
class Delivery:
    """One entry on its way to one endpoint."""

    id: int
    endpoint_id: int
    entry_id: int
    case_id: int
    webhook_id: str
    status: DeliveryStatus
    attempts: int
    last_error: str
    created_at: dt.datetime
    first_failed_at: dt.datetime | None
    next_attempt_at: dt.datetime
    kind: str = ""  # the entry's kind, when read with it (kept in clear in case_entries)


def check_endpoint(name: object, url: object) -> tuple[str, str]:
    """A name and an address typed by an administrator, or Invalid naming the field."""
    if not isinstance(name, str) or webhook_targets.name_problem(name):
        raise Invalid("name", N_("Please give a short name: letters, digits, '-', '_' or '.' "
                                 "(at most 60)."))
    if not isinstance(url, str) or webhook_targets.url_problem(url):
        raise Invalid("url", N_("Please give an address that starts with https:// (http:// "
                                "only to this machine)."))
    return name, url
