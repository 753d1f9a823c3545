"""Case records: opening one, changing its details, giving it to another worker.

Each act is written to the case record and audited; a case given to another worker ends the
former worker's live connections to its appointments at once (``LiveAccess``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.base import clock
from server.domain.ids import actor_of_worker
from server.domain.models import N_, Case, Invalid, Worker
from server.services.live_access import LiveAccess
from server.storage.repositories import Store

CASE_FIELDS = ("reference", "person_name", "email", "mobile", "language", "modality",
               "accessibility")


def case_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The case's fields in a form (``worker_id`` aside); anything else is refused by name."""
    unknown = set(data) - set(CASE_FIELDS) - {"worker_id"}
    if unknown:
        raise Invalid(sorted(unknown)[0], N_("Unknown field."))
    return {k: data[k] for k in CASE_FIELDS if k in data}  # Case checks each value is text


class Cases:
    """Opening and changing case records."""

    def __init__(self, store: Store, access: LiveAccess) -> None:
        self.store = store
        self.access = access

    async def open(self, worker: Worker, fields: dict[str, Any],
                   assignee: int | None) -> Case:
        """Open a case (assigned to ``assignee``); its record starts with who opened it."""
        values: dict[str, Any] = {"email": "", "mobile": "", "accessibility": "",
                                  "reference": "", "person_name": "", "language": "fr",
                                  "modality": "video", **fields}
        case = Case(id=0, worker_id=assignee, created_at=clock.now(), **values)
        async with self.store.atomic():
            case = await self.store.cases.create(case)
            await self.store.entries.add(case.id, "case_opened", {"by": worker.display_name})
            await self.store.audit.record(actor_of_worker(worker.id), "create_case", "ok",
                                          case_id=case.id)
        return case

    async def change(self, case: Case, fields: dict[str, Any], assignee: int | None) -> Case:
        """Change a case's details and its assignee; the record says which fields changed."""
        updated = Case(**{**dataclasses.asdict(case), **fields, "worker_id": assignee})
        changed = sorted(k for k in fields if fields[k] != getattr(case, k))
        if assignee != case.worker_id:
            changed.append("worker_id")
        async with self.store.atomic():
            await self.store.cases.save(updated)
            await self.store.entries.add(case.id, "case_updated", {"fields": changed})
        if assignee != case.worker_id:  # the former worker's live connections end now
            await self.access.recheck_appointments(
                await self.store.appointments.for_case(case.id))
        return updated
