"""The worker's notes typed during an interview: one sealed draft per appointment (SQLite)."""

from __future__ import annotations

import datetime as dt

from server.base import clock
from server.storage.repository import Repository
from server.storage.rows import maybe_one


class CallNotesRepository(Repository):
    """A draft of notes per appointment, sealed at rest; replaced whole at each save."""

    async def get(self, appointment_id: int) -> tuple[str, dt.datetime] | None:
        """The draft's text and when it was last saved; None when there is none."""
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM call_notes WHERE appointment_id = ?", (appointment_id,))))
        if r is None:
            return None
        return str(self.sealer.open(r["sealed"])["notes"]), clock.from_db(r["updated_at"])

    async def save(self, appointment_id: int, worker_id: int, notes: str) -> dt.datetime:
        """Replace the draft (an empty text keeps an empty draft); returns when it was saved."""
        sealed = self.sealer.seal({"notes": notes})
        now = clock.now()
        await self.db.run(lambda c: c.execute(
            "INSERT INTO call_notes (appointment_id, worker_id, updated_at, sealed)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (appointment_id) DO UPDATE SET"
            " worker_id = excluded.worker_id, updated_at = excluded.updated_at,"
            " sealed = excluded.sealed", (appointment_id, worker_id, clock.to_db(now), sealed)))
        return now

    async def clear(self, appointment_id: int) -> None:
        """The draft is gone (its text is in the case record now)."""
        await self.db.run(lambda c: c.execute(
            "DELETE FROM call_notes WHERE appointment_id = ?", (appointment_id,)))
