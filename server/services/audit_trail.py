"""The audit trail for the data-protection officer: checking its hash chain and exporting it.

The export is CSV, filtered by case, worker and dates (local days in the service's time zone,
both included); each export is itself written to the audit log. Used by ``proxima audit`` and
``GET /api/audit/export``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from server.base import clock
from server.domain.attendance import spreadsheet_cell
from server.domain.audit_chain import ChainBreak
from server.domain.models import N_, Invalid
from server.storage.repositories import Store

PRUNE_ACTION = "prune_audit"  # retention's deletion of the oldest entries (docs/audit.md)
HEADER = ["id", "at_utc", "actor", "action", "case_id", "target", "outcome", "hash"]


@dataclass(frozen=True)
class AuditFilter:
    """Which entries an export holds; None: no restriction."""

    case_id: int | None = None
    worker_id: int | None = None
    since: dt.date | None = None  # first local day included
    until: dt.date | None = None  # last local day included

    def describe(self) -> str:
        """The filter as the export's audit entry names it."""
        parts = [f"{name}:{value}" for name, value in (
            ("case", self.case_id), ("worker", self.worker_id), ("since", self.since),
            ("until", self.until)) if value is not None]
        return " ".join(parts) or "all"


def parse_day(field: str, text: str) -> dt.date:
    """A day given as ``YYYY-MM-DD`` (``--since``, ``?since=``), or ``Invalid`` naming
    ``field``."""
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise Invalid(field, N_("Please give the date as YYYY-MM-DD."))


def _day_start(day: dt.date | None, zone: str) -> str | None:
    """The database time at which local ``day`` begins (None: no bound; a day beyond what
    datetimes hold is no bound either)."""
    if day is None:
        return None
    try:
        start = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(zone))
        return clock.to_db(start)
    except (OverflowError, ValueError):
        return None


def _after_day(day: dt.date | None, zone: str) -> str | None:
    if day is None:
        return None
    try:
        return _day_start(day + dt.timedelta(days=1), zone)
    except OverflowError:  # the last day datetimes hold: no upper bound
        return None


async def export_csv(store: Store, actor: str, wanted: AuditFilter, zone: str) -> str:
    """The entries ``wanted`` as CSV text (a header, then one line per entry, oldest first); the
    export is audited (after the entries are read, so it is not in itself)."""
    entries = await store.audit.select(
        case_id=wanted.case_id,
        actor=None if wanted.worker_id is None else f"worker:{wanted.worker_id}",
        since=_day_start(wanted.since, zone), until=_after_day(wanted.until, zone))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for e in entries:
        writer.writerow([e.id, e.at, spreadsheet_cell(e.actor), spreadsheet_cell(e.action),
                         "" if e.case_id is None else e.case_id, spreadsheet_cell(e.target),
                         spreadsheet_cell(e.outcome), e.hash])
    await store.audit.record(actor, "export_audit", "ok", case_id=wanted.case_id,
                             target=f"{wanted.describe()} ({len(entries)} entries)")
    return out.getvalue()


@dataclass(frozen=True)
class Verdict:
    """What ``proxima audit verify`` says: one plain line, and whether the trail holds."""

    ok: bool
    line: str


async def verify(store: Store, head: tuple[int, str] | None = None) -> Verdict:
    """Check every entry's hash in id order; with ``head`` (an entry id and the hash the logs
    gave for it), also check that the trail still holds that entry unchanged."""
    walk = await store.audit.walk()
    if walk.broken is not None:
        return _broken(walk.broken)
    anchor = walk.anchor
    if anchor is not None:
        prune = await store.audit.latest(PRUNE_ACTION)
        if prune is None or prune.target.split(" ")[0] != anchor.describe():
            return _broken(ChainBreak(anchor.first_id, "the trail starts at entry "
                                      f"{anchor.first_id}, but no retention prune recorded in "
                                      "the trail says so: the anchor was changed by hand"))
    if head is not None and anchor is not None and head[0] < anchor.first_id:
        return _broken(ChainBreak(head[0], f"entry {head[0]}, logged as a head, was deleted "
                                           "by retention (the trail now starts at entry "
                                           f"{anchor.first_id}): check against a head logged "
                                           "since"))
    if head is not None:
        found = await store.audit.entry(head[0])
        if found is None:
            return _broken(ChainBreak(head[0], f"entry {head[0]}, logged as a head of the "
                                               "trail, is missing"))
        if found.hash != head[1].lower():
            return _broken(ChainBreak(head[0], f"entry {head[0]} does not have the hash the logs "
                                               "gave for it: the trail was rewritten"))
    if walk.head is None:
        return Verdict(True, "The audit trail is intact: it is empty.")
    since = (f" (from entry {anchor.first_id}: the older ones were deleted by retention)"
             if anchor is not None else "")
    return Verdict(True, f"The audit trail is intact: {walk.count} entries{since}, the last is "
                         f"entry {walk.head.id} with hash {walk.head.hash}.")


def _broken(found: ChainBreak) -> Verdict:
    return Verdict(False, f"The audit trail is broken at entry {found.entry_id}: {found.reason}.")
