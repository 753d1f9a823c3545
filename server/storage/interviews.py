"""Storage of live interviews: consent records and sessions (SQLite implementation).

Admissions are kept with the session, so a participant let in stays let in across a server restart.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from server.base import clock
from server.domain.models import ConsentRecord, InterviewSession
from server.domain.room import RoomRef
from server.domain.session_log import SessionLog
from server.storage.repository import Repository
from server.storage.rows import all_rows, inserted_id, maybe_one, one


class InterviewRepository(Repository):
    """Consent records and live sessions (admissions are kept here, so they survive a restart)."""

    async def add_consent(self, r: ConsentRecord) -> ConsentRecord:
        sealed = self.sealer.seal({"others": r.others})
        r.id = await self.db.run(lambda c: inserted_id(c.execute(
            "INSERT INTO consent_records (appointment_id, guest_browser_id, at, kind, modality,"
            " audio_fallback, others_present, language, text_hash, sealed)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.appointment_id, r.guest_browser_id, clock.to_db(r.at), r.kind, r.modality,
             int(r.audio_fallback), int(r.others_present), r.language, r.text_hash,
             sealed))))
        return r

    async def consents(self, appointment_id: int) -> list[ConsentRecord]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM consent_records WHERE appointment_id = ? ORDER BY at, id",
            (appointment_id,))))
        return [ConsentRecord(
            id=r["id"], appointment_id=r["appointment_id"],
            guest_browser_id=r["guest_browser_id"], at=clock.from_db(r["at"]), kind=r["kind"],
            modality=r["modality"], audio_fallback=bool(r["audio_fallback"]),
            others_present=bool(r["others_present"]),
            others=self.sealer.open(r["sealed"])["others"], language=r["language"],
            text_hash=r["text_hash"]) for r in rows]

    def _session(self, r: sqlite3.Row) -> InterviewSession:
        return InterviewSession(
            id=r["id"], appointment_id=r["appointment_id"], status=r["status"],
            started_at=clock.from_db(r["started_at"]),
            ended_at=clock.from_db_or_none(r["ended_at"]),
            admitted=[a for a in r["admitted"].split(",") if a],
            log=SessionLog.from_json(self.sealer.open(r["sealed"])), group_id=r["group_id"])

    async def active(self, appointment_id: int) -> InterviewSession | None:
        """The active session of a 1:1 appointment."""
        return await self._one("appointment_id", appointment_id, active=True)

    async def latest(self, appointment_id: int) -> InterviewSession | None:
        return await self._one("appointment_id", appointment_id, active=False)

    async def active_in(self, room: RoomRef) -> InterviewSession | None:
        """The active session of a room (a 1:1 appointment or a group)."""
        return await self._one(*_key(room), active=True)

    async def latest_in(self, room: RoomRef) -> InterviewSession | None:
        return await self._one(*_key(room), active=False)

    async def _one(self, column: str, key: int, active: bool) -> InterviewSession | None:
        assert column in ("appointment_id", "group_id")
        status = " AND status = 'active'" if active else ""
        r = await self.db.run(lambda c: maybe_one(c.execute(
            f"SELECT * FROM interview_sessions WHERE {column} = ?{status}"
            " ORDER BY id DESC LIMIT 1", (key,))))
        return self._session(r) if r else None

    async def all_active(self) -> list[InterviewSession]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM interview_sessions WHERE status = 'active'")))
        return [self._session(r) for r in rows]

    async def start(self, room: RoomRef, log: SessionLog) -> InterviewSession:
        """The active session of a room, created if there is none (one at a time)."""
        sealed = self.sealer.seal(log.to_json())
        now = clock.to_db(clock.now())
        column, key = _key(room)

        def q(c: sqlite3.Connection) -> sqlite3.Row:
            row = maybe_one(c.execute(f"SELECT * FROM interview_sessions WHERE {column} = ?"
                                      " AND status = 'active'", (key,)))
            if row is None:
                cur = c.execute(
                    f"INSERT INTO interview_sessions ({column}, status, started_at,"
                    " sealed) VALUES (?, 'active', ?, ?)", (key, now, sealed))
                row = one(c.execute("SELECT * FROM interview_sessions WHERE id = ?",
                                    (inserted_id(cur),)))
            return row
        return self._session(await self.db.transaction(q))

    async def save(self, s: InterviewSession) -> None:
        sealed = self.sealer.seal(s.log.to_json())
        await self.db.run(lambda c: c.execute(
            "UPDATE interview_sessions SET admitted = ?, sealed = ? WHERE id = ?",
            (",".join(s.admitted), sealed, s.id)))

    async def finish(self, s: InterviewSession) -> bool:
        """End a session; False when another process (or call) ended it first."""
        sealed = self.sealer.seal(s.log.to_json())
        return await self.db.run(lambda c: c.execute(
            "UPDATE interview_sessions SET status = 'ended', ended_at = ?, sealed = ?"
            " WHERE id = ? AND status = 'active'",
            (clock.to_db(s.ended_at or clock.now()), sealed, s.id)).rowcount == 1)

    async def amend(self, s: InterviewSession) -> None:
        sealed = self.sealer.seal(s.log.to_json())
        await self.db.run(lambda c: c.execute(
            "UPDATE interview_sessions SET sealed = ? WHERE id = ?", (sealed, s.id)))

    async def decline_browser(self, guest_browser_id: int) -> None:
        await self.db.run(lambda c: c.execute(
            "UPDATE guest_browsers SET declined_at = ? WHERE id = ?",
            (clock.to_db(clock.now()), guest_browser_id)))

    async def browser_declined(self, guest_browser_id: int) -> bool:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT declined_at FROM guest_browsers WHERE id = ?", (guest_browser_id,))))
        return bool(r and r[0])

    async def add_test(self, appointment_id: int, guest_browser_id: int, recommendation: str,
                       result: dict[str, Any]) -> None:
        sealed = self.sealer.seal(result)
        await self.db.run(lambda c: c.execute(
            "INSERT INTO connection_tests (appointment_id, guest_browser_id, at, recommendation,"
            " sealed) VALUES (?, ?, ?, ?, ?)",
            (appointment_id, guest_browser_id, clock.to_db(clock.now()), recommendation, sealed)))

    async def tests(self, appointment_id: int) -> list[dict[str, Any]]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM connection_tests WHERE appointment_id = ? ORDER BY at, id",
            (appointment_id,))))
        return [{"at": clock.from_db(r["at"]).isoformat(), "recommendation": r["recommendation"],
                 "participant": f"g:{r['guest_browser_id']}", **self.sealer.open(r["sealed"])}
                for r in rows]


def _key(room: RoomRef) -> tuple[str, int]:
    """The column and value a room's sessions are kept under."""
    if room.group_id is not None:
        return "group_id", room.group_id
    assert room.appointment_id is not None
    return "appointment_id", room.appointment_id
