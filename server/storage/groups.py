"""Storage of group sessions and their members (SQLite implementation)."""

from __future__ import annotations

import secrets
import sqlite3

from server.base import clock
from server.domain.groups import AgendaItem, GroupMember, GroupSession
from server.storage.repository import Repository
from server.storage.rows import all_rows, fresh_id, inserted_id, maybe_one


class GroupRepository(Repository):
    """Group sessions (title, agenda and rules sealed) and their members."""

    def _group(self, r: sqlite3.Row) -> GroupSession:
        s = self.sealer.open(r["sealed"])
        return GroupSession(
            id=r["id"], public_id=r["public_id"], facilitator_id=r["facilitator_id"],
            status=r["status"], starts_at=clock.from_db(r["starts_at"]),
            duration_minutes=r["duration_minutes"], modality=r["modality"], title=s["title"],
            agenda=[AgendaItem(**a) for a in s["agenda"]], rule=s["rule"],
            speaking_rules=s["speaking_rules"], incident_phone=s["incident_phone"],
            created_at=clock.from_db(r["created_at"]))

    def _member(self, r: sqlite3.Row) -> GroupMember:
        s = self.sealer.open(r["sealed"])
        return GroupMember(id=r["id"], group_id=r["group_id"], role=r["role"],
                           worker_id=r["worker_id"], appointment_id=r["appointment_id"],
                           agreement=s.get("agreement"))

    async def create(self, g: GroupSession) -> GroupSession:
        g.public_id = secrets.token_urlsafe(12)
        sealed = self.sealer.seal(g.sealed())
        g.id = await self.db.run(lambda c: inserted_id(c.execute(
            "INSERT INTO group_sessions (id, public_id, facilitator_id, status, starts_at,"
            " duration_minutes, modality, sealed, created_at)"
            f" VALUES ({fresh_id('group_sessions')}, ?, ?, ?, ?, ?, ?, ?, ?)",
            (g.public_id, g.facilitator_id, g.status, clock.to_db(g.starts_at),
             g.duration_minutes, g.modality, sealed, clock.to_db(g.created_at)))))
        return g

    async def save(self, g: GroupSession) -> None:
        sealed = self.sealer.seal(g.sealed())
        await self.db.run(lambda c: c.execute(
            "UPDATE group_sessions SET status = ?, starts_at = ?, duration_minutes = ?,"
            " modality = ?, sealed = ? WHERE id = ?",
            (g.status, clock.to_db(g.starts_at), g.duration_minutes, g.modality, sealed, g.id)))

    async def get(self, group_id: int) -> GroupSession | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM group_sessions WHERE id = ?", (group_id,))))
        return self._group(r) if r else None

    async def by_public_id(self, public_id: str) -> GroupSession | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM group_sessions WHERE public_id = ?", (public_id,))))
        return self._group(r) if r else None

    async def for_worker(self, worker_id: int | None) -> list[GroupSession]:
        """The groups a worker leads or is a member of (all of them when ``worker_id`` is None)."""
        if worker_id is None:
            rows = await self.db.run(lambda c: all_rows(c.execute(
                "SELECT * FROM group_sessions ORDER BY starts_at")))
        else:
            rows = await self.db.run(lambda c: all_rows(c.execute(
                "SELECT * FROM group_sessions WHERE facilitator_id = ? OR id IN"
                " (SELECT group_id FROM group_members WHERE worker_id = ?) ORDER BY starts_at",
                (worker_id, worker_id))))
        return [self._group(r) for r in rows]

    async def add_member(self, m: GroupMember) -> GroupMember:
        sealed = self.sealer.seal({"agreement": m.agreement})
        m.id = await self.db.run(lambda c: inserted_id(c.execute(
            "INSERT INTO group_members (group_id, worker_id, appointment_id, role, sealed)"
            " VALUES (?, ?, ?, ?, ?)",
            (m.group_id, m.worker_id, m.appointment_id, m.role, sealed))))
        return m

    async def members(self, group_id: int) -> list[GroupMember]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM group_members WHERE group_id = ? ORDER BY id", (group_id,))))
        return [self._member(r) for r in rows]

    async def remove_member(self, member_id: int) -> None:
        await self.db.run(lambda c: c.execute(
            "DELETE FROM group_members WHERE id = ?", (member_id,)))
