"""Workers' accounts and their login sessions (SQLite)."""

from __future__ import annotations

import sqlite3
from typing import Any

from server.base import clock
from server.domain.models import Worker
from server.storage.repository import Repository


def _worker(r: sqlite3.Row) -> Worker:
    return Worker(id=r["id"], email=r["email"], display_name=r["display_name"], phone=r["phone"],
                  role=r["role"], must_change_password=bool(r["must_change_password"]),
                  disabled=bool(r["disabled"]), created_at=clock.from_db(r["created_at"]),
                  language=r["language"])


class WorkerRepository(Repository):
    async def create(self, email: str, display_name: str, phone: str, role: str,
                     password_hash: str, must_change_password: bool) -> Worker:
        def q(c: sqlite3.Connection) -> Worker:
            cur = c.execute(
                "INSERT INTO workers (email, display_name, phone, role, password_hash,"
                " must_change_password, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (email, display_name, phone, role, password_hash, int(must_change_password),
                 clock.to_db(clock.now())))
            return _worker(c.execute("SELECT * FROM workers WHERE id = ?",
                                     (cur.lastrowid,)).fetchone())
        return await self.db.run(q)

    async def get(self, worker_id: int) -> Worker | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM workers WHERE id = ?", (worker_id,)).fetchone())
        return _worker(r) if r else None

    async def by_email(self, email: str) -> tuple[Worker, str] | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM workers WHERE email = ?", (email.strip(),)).fetchone())
        return (_worker(r), r["password_hash"]) if r else None

    async def all(self) -> list[Worker]:
        rows = await self.db.run(lambda c: c.execute(
            "SELECT * FROM workers ORDER BY display_name").fetchall())
        return [_worker(r) for r in rows]

    async def count(self) -> int:
        return await self.db.run(lambda c: c.execute("SELECT count(*) FROM workers").fetchone()[0])

    async def update(self, worker_id: int, **fields: Any) -> None:
        allowed = {"display_name", "phone", "role", "disabled", "password_hash",
                   "must_change_password", "language"}
        assert set(fields) <= allowed, fields
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        await self.db.run(lambda c: c.execute(
            f"UPDATE workers SET {sets} WHERE id = ?", (*values, worker_id)))


class SessionRepository(Repository):
    """Workers' login sessions, kept by the hash of the cookie's value."""

    async def create(self, id_hash: str, worker_id: int) -> None:
        now = clock.to_db(clock.now())
        await self.db.run(lambda c: c.execute(
            "INSERT INTO worker_sessions (id_hash, worker_id, created_at, last_seen_at)"
            " VALUES (?, ?, ?, ?)", (id_hash, worker_id, now, now)))

    async def get(self, id_hash: str) -> dict[str, Any] | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM worker_sessions WHERE id_hash = ?", (id_hash,)).fetchone())
        if r is None:
            return None
        return {"worker_id": r["worker_id"], "created_at": clock.from_db(r["created_at"]),
                "last_seen_at": clock.from_db(r["last_seen_at"])}

    async def touch(self, id_hash: str) -> None:
        await self.db.run(lambda c: c.execute(
            "UPDATE worker_sessions SET last_seen_at = ? WHERE id_hash = ?",
            (clock.to_db(clock.now()), id_hash)))

    async def delete(self, id_hash: str) -> None:
        await self.db.run(lambda c: c.execute(
            "DELETE FROM worker_sessions WHERE id_hash = ?", (id_hash,)))

    async def delete_for_worker(self, worker_id: int) -> None:
        await self.db.run(lambda c: c.execute(
            "DELETE FROM worker_sessions WHERE worker_id = ?", (worker_id,)))
