"""Case records and their chronological entries (SQLite); personal data sealed."""

from __future__ import annotations

import sqlite3
from typing import Any

from server.base import clock
from server.domain.models import Case, CaseEntry
from server.storage import webhooks
from server.storage.repository import Repository
from server.storage.rows import all_rows, fresh_id, inserted_id, maybe_one


class CaseRepository(Repository):
    def _case(self, r: sqlite3.Row) -> Case:
        s = self.sealer.open(r["sealed"])
        return Case(id=r["id"], worker_id=r["worker_id"], language=r["language"],
                    modality=r["modality"], created_at=clock.from_db(r["created_at"]), **s)

    async def create(self, case: Case) -> Case:
        sealed = self.sealer.seal(case.sealed())

        def q(c: sqlite3.Connection) -> int:
            return inserted_id(c.execute(
                "INSERT INTO cases (id, worker_id, language, modality, sealed, created_at)"
                f" VALUES ({fresh_id('cases')}, ?, ?, ?, ?, ?)",
                (case.worker_id, case.language, case.modality, sealed,
                 clock.to_db(case.created_at))))
        case.id = await self.db.run(q)
        return case

    async def save(self, case: Case) -> None:
        sealed = self.sealer.seal(case.sealed())
        await self.db.run(lambda c: c.execute(
            "UPDATE cases SET worker_id = ?, language = ?, modality = ?, sealed = ? WHERE id = ?",
            (case.worker_id, case.language, case.modality, sealed, case.id)))

    async def get(self, case_id: int) -> Case | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM cases WHERE id = ?", (case_id,))))
        return self._case(r) if r else None

    async def assignee(self, case_id: int) -> tuple[bool, int | None]:
        """Whether the case exists, and the worker it is assigned to (nothing unsealed)."""
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT worker_id FROM cases WHERE id = ?", (case_id,))))
        return (False, None) if r is None else (True, r["worker_id"])

    async def for_worker(self, worker_id: int | None) -> list[Case]:
        """The cases assigned to a worker (all cases when ``worker_id`` is None)."""
        if worker_id is None:
            rows = await self.db.run(lambda c: all_rows(c.execute("SELECT * FROM cases")))
        else:
            rows = await self.db.run(lambda c: all_rows(c.execute(
                "SELECT * FROM cases WHERE worker_id = ?", (worker_id,))))
        return sorted((self._case(r) for r in rows), key=lambda k: k.person_name.lower())


class CaseEntryRepository(Repository):
    async def add(self, case_id: int, kind: str, data: dict[str, Any],
                  appointment_id: int | None = None) -> None:
        """Write an entry and, in the same transaction, queue it for every webhook endpoint."""
        sealed = self.sealer.seal(data)
        at = clock.to_db(clock.now())

        def q(c: sqlite3.Connection) -> None:
            entry_id = inserted_id(c.execute(
                "INSERT INTO case_entries (id, case_id, at, kind, appointment_id, sealed)"
                f" VALUES ({fresh_id('case_entries')}, ?, ?, ?, ?, ?)",
                (case_id, at, kind, appointment_id, sealed)))
            webhooks.enqueue(c, entry_id, case_id, at)
        await self.db.transaction(q)

    async def get(self, entry_id: int) -> CaseEntry | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM case_entries WHERE id = ?", (entry_id,))))
        return self._entry(r) if r else None

    def _entry(self, r: sqlite3.Row) -> CaseEntry:
        return CaseEntry(id=r["id"], case_id=r["case_id"], at=clock.from_db(r["at"]),
                         kind=r["kind"], appointment_id=r["appointment_id"],
                         data=self.sealer.open(r["sealed"]))

    async def for_case(self, case_id: int) -> list[CaseEntry]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM case_entries WHERE case_id = ? ORDER BY at, id", (case_id,))))
        return [self._entry(r) for r in rows]
