"""The person's rights over their case: access to their data, erasure on request, and the legal
hold that stops erasure and retention (docs/retention.md).

Who may do what: the case's worker and administrators export the person's data and set a legal
hold (both keep or hand over, never destroy); only an administrator lifts a hold and erases a
case (irreversible: the request is checked against what the service must keep, the DPO's or the
management's call). Every act, and every refusal, is written to the audit log, which keeps that
an erasure happened (the case's number, who, when) and never what was erased.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.base import clock, i18n
from server.domain.case_export import ENTRY_LABELS, details
from server.domain.ids import actor_of_worker
from server.domain.models import N_, Case, Worker
from server.domain.subject_access import AppointmentData, as_json, as_zip
from server.storage.personal_data import LegalHold
from server.storage.repositories import Store

HOLD_REASON_MAX = 500


class RightsRefused(Exception):
    """An act on a person's data that is not allowed: a stable code and a plain message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


LEGAL_HOLD = N_("This case is under a legal hold: it cannot be erased. An administrator must "
                "lift the hold first.")
ADMIN_ONLY = N_("Only an administrator can do this.")


def may_destroy(worker: Worker) -> bool:
    """Erasing a case and lifting a hold (which lets retention delete it) are an
    administrator's."""
    return worker.is_admin


async def collect(store: Store, case: Case) -> dict[str, Any]:
    """Everything held about the person of ``case``, as ``donnees.json`` holds it."""
    items = []
    for a in await store.appointments.for_case(case.id):
        notes = await store.call_notes.get(a.id)
        items.append(AppointmentData(
            appointment=a, invitations=await store.personal_data.invitations(a.id),
            browsers=await store.invitations.browsers(a.id),
            consents=await store.interviews.consents(a.id),
            messages=await store.outbox.listing(None, a.id),
            tests=await store.interviews.tests(a.id), call_notes=notes[0] if notes else None,
            group=await store.groups.get(a.group_id) if a.group_id else None))
    hold = await store.personal_data.hold(case.id)
    return as_json(case, await store.entries.for_case(case.id), items,
                   hold.public() if hold else None, clock.now())


async def access_file(store: Store, case: Case, lang: str, zone: str,
                      service_name: str) -> bytes:
    """The one file for the right of access: ``donnees.json`` and ``donnees.html`` (in
    ``lang``, the person's) in a zip. The caller has audited the read (``case_for``)."""
    data = await collect(store, case)
    entries = await store.entries.for_case(case.id)
    lines = [{"entry": e, "label": ENTRY_LABELS.get(e.kind, e.kind), "details": details(e)}
             for e in entries]
    fmt = i18n.Formatter(lang, zone)
    html = i18n.render(lang, "access/donnees.html", data=data, case=case, lines=lines, fmt=fmt,
                       moment=dt.datetime.fromisoformat, service_name=service_name,
                       exported_at=clock.now())
    return as_zip(data, html)


async def set_hold(store: Store, worker: Worker, case: Case, reason: str) -> LegalHold:
    """Put the case under a legal hold (its worker or an administrator), with why."""
    hold = await store.personal_data.set_hold(case.id, actor_of_worker(worker.id), reason)
    await store.audit.record(actor_of_worker(worker.id), "set_legal_hold", "ok",
                             case_id=case.id)
    return hold


async def lift_hold(store: Store, worker: Worker, case: Case) -> None:
    """Lift the legal hold (an administrator only)."""
    actor = actor_of_worker(worker.id)
    if not may_destroy(worker):
        await store.audit.record(actor, "lift_legal_hold", "denied", case_id=case.id)
        raise RightsRefused(403, "admin_only", ADMIN_ONLY)
    lifted = await store.personal_data.lift_hold(case.id)
    await store.audit.record(actor, "lift_legal_hold", "ok" if lifted else "no_hold",
                             case_id=case.id)


async def erase(store: Store, actor: str, case_id: int) -> dict[str, int]:
    """Erase the case and everything of it (an administrator, or ``proxima cases erase``);
    refused while a legal hold is set. The WAL is emptied afterwards, so that the deleted rows
    leave the files."""
    async with store.atomic():
        counts = await store.personal_data.erase(case_id)
        if counts is not None:  # an empty count: gone meanwhile (audited as erased, 0 rows)
            await store.audit.record(actor, "erase_case", "ok", case_id=case_id,
                                     target=f"{sum(counts.values())} rows")
    if counts is None:
        await store.audit.record(actor, "erase_case", "refused:legal_hold", case_id=case_id)
        raise RightsRefused(409, "legal_hold", LEGAL_HOLD)
    await store.db.checkpoint()
    return counts


async def erase_as(store: Store, worker: Worker, case: Case) -> dict[str, int]:
    """``erase`` asked from the console or the API: an administrator's only."""
    if not may_destroy(worker):
        await store.audit.record(actor_of_worker(worker.id), "erase_case", "denied",
                                 case_id=case.id)
        raise RightsRefused(403, "admin_only", ADMIN_ONLY)
    return await erase(store, actor_of_worker(worker.id), case.id)
