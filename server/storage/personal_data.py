"""A person's data under one case, as a whole (SQLite): the legal hold that keeps it, the
invitations sent for it, and its erasure.

``erase`` deletes every row that belongs to the case, in one transaction, children first; the
database overwrites deleted rows with zeros (``secure_delete``, set in ``db.py``) and the caller
checkpoints the WAL afterwards (``Database.checkpoint``), so the bytes leave the files too. The
audit log keeps its entries about the case: they hold ids, never what was erased.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from typing import Any

from server.base import clock
from server.domain.erasure import scrub_group_log
from server.domain.models import Invitation
from server.storage.repository import Repository
from server.storage.rows import all_rows, maybe_one


@dataclasses.dataclass(frozen=True)
class LegalHold:
    """A case kept whatever retention says, and never erased, until the hold is lifted."""

    case_id: int
    set_at: dt.datetime
    set_by: str
    reason: str

    def public(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "set_at": self.set_at.isoformat(),
                "set_by": self.set_by, "reason": self.reason}


# A case's rows, children first (foreign keys), each as a WHERE clause over the case's ids:
# :case, and the temporary tables erase_appointments, erase_invitations, erase_browsers.
_IN_APPOINTMENTS = "appointment_id IN (SELECT id FROM erase_appointments)"
_DELETIONS = (
    ("webhook_deliveries", "case_id = :case"),  # the queue of its entries (also ON DELETE CASCADE)
    ("consent_records", _IN_APPOINTMENTS),
    ("connection_tests", _IN_APPOINTMENTS),
    ("call_notes", _IN_APPOINTMENTS),
    ("outbox", f"{_IN_APPOINTMENTS} OR invitation_id IN (SELECT id FROM erase_invitations)"),
    ("interview_sessions", _IN_APPOINTMENTS),
    ("group_members", _IN_APPOINTMENTS),
    ("guest_browsers", "id IN (SELECT id FROM erase_browsers)"),
    ("invitations", "id IN (SELECT id FROM erase_invitations)"),
    ("appointments", "id IN (SELECT id FROM erase_appointments)"),
    ("case_entries", "case_id = :case"),
    ("cases", "id = :case"),
)


class PersonalDataRepository(Repository):
    """Legal holds, a case's invitations, and erasing a case whole."""

    async def hold(self, case_id: int) -> LegalHold | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM legal_holds WHERE case_id = ?", (case_id,))))
        return None if r is None else self._hold(r)

    def _hold(self, r: sqlite3.Row) -> LegalHold:
        return LegalHold(r["case_id"], clock.from_db(r["set_at"]), r["set_by"],
                         str(self.sealer.open(r["sealed"])["reason"]))

    async def held_cases(self) -> set[int]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT case_id FROM legal_holds")))
        return {r[0] for r in rows}

    async def set_hold(self, case_id: int, by: str, reason: str) -> LegalHold:
        """Set (or replace) the hold on a case, with who set it and why."""
        now = clock.now()
        sealed = self.sealer.seal({"reason": reason})
        await self.db.run(lambda c: c.execute(
            "INSERT INTO legal_holds (case_id, set_at, set_by, sealed) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (case_id) DO UPDATE SET set_at = excluded.set_at,"
            " set_by = excluded.set_by, sealed = excluded.sealed",
            (case_id, clock.to_db(now), by, sealed)))
        return LegalHold(case_id, now, by, reason)

    async def lift_hold(self, case_id: int) -> bool:
        """Lift the hold; False when there was none."""
        return bool(await self.db.run(lambda c: c.execute(
            "DELETE FROM legal_holds WHERE case_id = ?", (case_id,)).rowcount))

    async def invitations(self, appointment_id: int) -> list[Invitation]:
        """Every invitation of an appointment, the first one first (never a token: only its
        hash is kept, and it is left out)."""
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM invitations WHERE appointment_id = ? ORDER BY id",
            (appointment_id,))))
        return [Invitation(id=r["id"], appointment_id=r["appointment_id"],
                           issued_at=clock.from_db(r["issued_at"]),
                           expires_at=clock.from_db(r["expires_at"]),
                           revoked_at=clock.from_db_or_none(r["revoked_at"])) for r in rows]

    async def erase(self, case_id: int) -> dict[str, int] | None:
        """Delete the case and everything of it, in one transaction; how many rows went, per
        table. None when the case is under a legal hold: nothing is deleted. A case that is
        gone already gives no rows."""
        return await self.db.transaction(lambda c: self._erase(c, case_id))

    def _erase(self, c: sqlite3.Connection, case_id: int) -> dict[str, int] | None:
        if maybe_one(c.execute("SELECT 1 FROM legal_holds WHERE case_id = ?", (case_id,))):
            return None
        if not maybe_one(c.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,))):
            return {}
        for name, select in (
                ("erase_appointments", "SELECT id FROM appointments WHERE case_id = ?"),
                ("erase_invitations", ("SELECT id FROM invitations WHERE appointment_id IN"
                                       " (SELECT id FROM appointments WHERE case_id = ?)")),
                ("erase_browsers", ("SELECT b.id FROM guest_browsers b JOIN invitations i"
                                    " ON i.id = b.invitation_id JOIN appointments a"
                                    " ON a.id = i.appointment_id WHERE a.case_id = ?"))):
            c.execute(f"DROP TABLE IF EXISTS temp.{name}")
            c.execute(f"CREATE TEMP TABLE {name} AS {select}", (case_id,))
        self._scrub_groups(c)
        counts: dict[str, int] = {}
        for table, where in _DELETIONS:
            counts[table] = c.execute(f"DELETE FROM {table} WHERE {where}",
                                      {"case": case_id}).rowcount
        for name in ("erase_appointments", "erase_invitations", "erase_browsers"):
            c.execute(f"DROP TABLE temp.{name}")
        return counts

    def _scrub_groups(self, c: sqlite3.Connection) -> None:
        """The group sessions the person took part in keep that someone came, not who."""
        people = {f"g:{r[0]}" for r in c.execute("SELECT id FROM erase_browsers")}
        people |= {f"a:{r[0]}" for r in c.execute("SELECT id FROM erase_appointments")}
        members = {r[0] for r in c.execute(
            f"SELECT id FROM group_members WHERE {_IN_APPOINTMENTS}")}
        for r in all_rows(c.execute(
                "SELECT id, sealed FROM interview_sessions WHERE group_id IN (SELECT group_id"
                " FROM appointments WHERE id IN (SELECT id FROM erase_appointments))")):
            log = scrub_group_log(self.sealer.open(r["sealed"]), people, members)
            c.execute("UPDATE interview_sessions SET sealed = ? WHERE id = ?",
                      (self.sealer.seal(log), r["id"]))

